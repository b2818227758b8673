import {existsSync, readdirSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {homedir} from 'node:os';
import {join} from 'node:path';
import {DoctorError} from './errors.js';

/** What the user asked for: `--context` and `--host` (both optional). */
export interface EngineChoice {
	host?: string;
	context?: string;
}

/** TLS material of a context (or DOCKER_CERT_PATH). */
export interface TlsFiles {
	ca?: Buffer;
	cert?: Buffer;
	key?: Buffer;
	skipVerify: boolean;
}

/** The engine the docker CLI would use, and why: the context's name (null when a host was given) and its address. */
export interface ChosenEngine {
	context: string | null;
	host: string;
	/** From the context's TLS directory; undefined for DOCKER_HOST/--host (DOCKER_TLS_VERIFY applies there). */
	tls?: TlsFiles;
}

export const DEFAULT_HOST = 'unix:///var/run/docker.sock';

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
	return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** The docker CLI keys a context's files by the sha256 of its name. */
function contextId(name: string): string {
	// node:crypto loads only here: a check of the default engine has no use for its ~3 ms.
	const {createHash} = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
	return createHash('sha256').update(name).digest('hex');
}

function readJson(path: string): Record<string, unknown> | null {
	try {
		return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
	} catch {
		return null;
	}
}

/** Names of the contexts in the config dir, `default` first, as `docker context ls` shows them. */
export function contextNames(configDir: string): string[] {
	const metaDir = join(configDir, 'contexts', 'meta');
	const names = existsSync(metaDir) ? readdirSync(metaDir).map(id => readJson(join(metaDir, id, 'meta.json'))?.Name).filter((n): n is string => typeof n === 'string') : [];
	return ['default', ...names.sort()];
}

function readTls(configDir: string, id: string, skipVerify: boolean): TlsFiles | undefined {
	const dir = join(configDir, 'contexts', 'tls', id, 'docker');
	const file = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name)) : undefined);
	const tls = {ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem'), skipVerify};
	return tls.ca || tls.cert || skipVerify ? tls : undefined;
}

/** One named context: its docker endpoint from meta.json and its TLS files. `default` is the engine without a context. */
function readContext(name: string, configDir: string, env: NodeJS.ProcessEnv, from: string): ChosenEngine {
	if (name === 'default') {
		return {context: 'default', host: env.DOCKER_HOST || DEFAULT_HOST};
	}

	const id = contextId(name);
	const meta = readJson(join(configDir, 'contexts', 'meta', id, 'meta.json'));
	const endpoint = (meta?.Endpoints as Record<string, {Host?: string; SkipTLSVerify?: boolean}> | undefined)?.docker;
	if (!meta || !endpoint?.Host) {
		const known = contextNames(configDir).join(', ');
		throw new DoctorError(`no Docker context "${name}" (${from}) in ${configDir}: the contexts there are ${known}; pick one with --context NAME or make it with \`docker context create ${name} --docker host=ssh://HOST\``);
	}

	return {context: name, host: endpoint.Host, tls: readTls(configDir, id, Boolean(endpoint.SkipTLSVerify))};
}

/**
 * Choose the engine as the docker CLI does: `--context`, `--host`, DOCKER_HOST, DOCKER_CONTEXT, then
 * `currentContext` in $DOCKER_CONFIG/config.json, else the default socket.
 */
export function chooseEngine(choice: EngineChoice = {}, env: NodeJS.ProcessEnv = process.env): ChosenEngine {
	const configDir = dockerConfigDir(env);
	if (choice.context && choice.host) {
		throw new DoctorError('both --context and --host were given: pass only one of them (as with the docker CLI)');
	}

	if (choice.context) {
		return readContext(choice.context, configDir, env, '--context');
	}

	if (choice.host) {
		return {context: null, host: choice.host};
	}

	if (env.DOCKER_HOST) {
		return {context: null, host: env.DOCKER_HOST};
	}

	if (env.DOCKER_CONTEXT) {
		return readContext(env.DOCKER_CONTEXT, configDir, env, 'DOCKER_CONTEXT');
	}

	const current = readJson(join(configDir, 'config.json'))?.currentContext;
	if (typeof current === 'string' && current !== '') {
		return readContext(current, configDir, env, `currentContext in ${join(configDir, 'config.json')}`);
	}

	return {context: null, host: DEFAULT_HOST};
}
