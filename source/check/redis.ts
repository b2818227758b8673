import {posix} from 'node:path';
import type Docker from 'dockerode';
import {mergeSettings, parseCommandLine, parseConfigFile, type RedisValues} from '../core/redis.js';
import type {ContainerFacts, RedisSettings} from '../core/types.js';
import {readFileFromContainer} from '../docker/archive.js';
import type {Engine} from '../docker/engine.js';
import {execIn} from '../probe/exec.js';

const SETTINGS = ['appendonly', 'save', 'dir'] as const;

function firstLine(text: string): string {
	return text.trim().split('\n')[0] ?? '';
}

/** The running server's values through `redis-cli CONFIG GET` in the container; null (with a note) when it cannot say. */
async function configGet(container: Docker.Container, port: string | null, notes: string[]): Promise<RedisValues | null> {
	const values: RedisValues = {};
	for (const name of SETTINGS) {
		let result;
		try {
			result = await execIn(container, ['redis-cli', ...(port ? ['-p', port] : []), '--raw', 'CONFIG', 'GET', name], {timeoutMs: 10_000});
		} catch (error) {
			notes.push(`CONFIG GET not asked: ${firstLine((error as Error).message)}`);
			return null;
		}

		const lines = result.stdout.replace(/\n$/, '').split('\n');
		if (result.exitCode === 126 || result.exitCode === 127) {
			notes.push('CONFIG GET not asked: the image has no redis-cli');
			return null;
		}

		if (result.exitCode !== 0 || lines[0] !== name) {
			const said = firstLine(result.stdout || result.stderr);
			notes.push(/NOAUTH|WRONGPASS/.test(said) ? 'CONFIG GET refused: the server wants a password (not read by occ-doctor)' : `CONFIG GET failed: ${said || `exit code ${result.exitCode}`}`);
			return null;
		}

		values[name] = lines.slice(1).join(' ');
	}

	return values;
}

/** The config file named on the command line, read through the archive API only when that cannot change the host. */
async function configFile(container: Docker.Container, facts: ContainerFacts, path: string, notes: string[]): Promise<RedisValues | null> {
	if (facts.archiveRisk) {
		notes.push(`config file ${path} not read: ${facts.archiveRisk}`);
		return null;
	}

	try {
		const content = await readFileFromContainer(container, path);
		if (content === null) {
			notes.push(`config file ${path} is missing`);
			return null;
		}

		return parseConfigFile(content.toString('utf8'));
	} catch (error) {
		notes.push(`config file ${path} not read: ${firstLine((error as Error).message)}`);
		return null;
	}
}

/**
 * Redis's persistence settings: the running server's (CONFIG GET through exec, when redis-cli is there), its
 * command line, its config file, then the defaults. Reads only.
 */
export async function gatherRedis(engine: Engine, facts: ContainerFacts): Promise<RedisSettings> {
	const container = engine.docker.getContainer(facts.id);
	const command = parseCommandLine(facts.command ?? []);
	const notes: string[] = [];
	const layers: Array<{from: string; values: RedisValues}> = [];
	if (facts.state.running) {
		const live = await configGet(container, command.port, notes);
		if (live) {
			layers.push({from: 'CONFIG GET', values: live});
		}
	} else {
		notes.push(`${facts.name} is ${facts.state.status}: settings read from its command line and config file`);
	}

	layers.push({from: 'command line', values: command.values});
	const file = command.configFile ? posix.resolve(facts.workingDir || '/', command.configFile) : null;
	if (file) {
		const values = await configFile(container, facts, file, notes);
		if (values) {
			layers.push({from: file, values});
		}
	}

	return mergeSettings(layers, facts.workingDir ?? '', file, notes);
}
