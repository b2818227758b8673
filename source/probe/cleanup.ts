import {readdir} from 'node:fs/promises';
import {posix} from 'node:path';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {runCheck} from '../check/check.js';
import {coveringMount} from '../core/model.js';
import {getArchiveStream} from '../docker/archive.js';
import {connect, explainEngineError, type Engine} from '../docker/engine.js';
import {findCandidates} from '../docker/inspect.js';
import {execIn} from './exec.js';
import {removeSentinels, type RemoveEntry} from './sentinel.js';
import {hostPathOf, initialTargets, sameStorageAncestors} from './targets.js';
import {listHelpers, removeHelper, removeWithHelper} from './twin.js';
import {OF_LABEL, SENTINEL_PREFIX, type ProbeListener} from './types.js';

export interface CleanupResult {
	helpersRemoved: string[];
	sentinelsRemoved: string[];
	/** What could not be removed or looked at, one line each. */
	left: string[];
}

const SENTINEL_RE = /^\.occ-doctor-probe-[0-9a-z]+$/;

/** Names of sentinels directly in a directory: exec `ls` when it can, else the host dir, else the archive stream (bounded). */
async function sentinelsIn(container: Docker.Container, running: boolean, dir: string, hostDir: string | null): Promise<string[]> {
	if (running) {
		try {
			const r = await execIn(container, ['ls', '-1a', dir], {user: '0'});
			if (r.exitCode === 0) {
				return r.stdout.split('\n').filter(n => SENTINEL_RE.test(n));
			}
		} catch {
			// No ls: the next way.
		}
	}

	if (hostDir) {
		try {
			return (await readdir(hostDir)).filter(n => SENTINEL_RE.test(n));
		} catch {
			// Not reachable from here.
		}
	}

	return archiveScan(container, dir);
}

/** Look at the first entries of a directory's tar stream for sentinels; stop after a bound so a big tree costs little. */
async function archiveScan(container: Docker.Container, dir: string, limit = 5000): Promise<string[]> {
	let stream: NodeJS.ReadableStream & {destroy?: () => void};
	try {
		stream = await getArchiveStream(container, dir) as typeof stream;
	} catch {
		return [];
	}

	const base = posix.basename(dir) || '.';
	const found: string[] = [];
	const extract = tar.extract();
	let seen = 0;
	await new Promise<void>(resolve => {
		const done = () => {
			stream.destroy?.();
			extract.destroy();
			resolve();
		};

		extract.on('entry', (header, entry, next) => {
			const rel = header.name.replace(/\/$/, '').split('/');
			if (rel.length === 2 && rel[0] === base && SENTINEL_RE.test(rel[1]!)) {
				found.push(rel[1]!);
			}

			entry.on('end', next);
			entry.resume();
			if (++seen >= limit) {
				done();
			}
		});
		extract.on('finish', done);
		extract.on('error', done);
		stream.on('error', done);
		stream.pipe(extract as unknown as NodeJS.WritableStream);
	});
	return found;
}

/** Remove the sentinels one container holds in its locations (and their parents on the same storage). */
async function cleanContainer(engine: Engine, ref: string, labels: Record<string, string>, onEvent?: ProbeListener): Promise<{removed: string[]; left: string[]}> {
	const {facts, report} = await runCheck({container: ref}, engine);
	const container = engine.docker.getContainer(facts.id);
	const info: any = await container.inspect();
	const running = Boolean(info.State?.Running);
	const dirs = new Set<string>();
	for (const target of initialTargets(report.locations, 'x')) {
		if (target.sentinel) {
			dirs.add(target.dir);
			for (const parent of sameStorageAncestors(target.dir, facts)) {
				dirs.add(parent);
			}
		}
	}

	const upper = info.GraphDriver?.Name === 'overlay2' ? info.GraphDriver.Data?.UpperDir as string | undefined : undefined;
	const entries: RemoveEntry[] = [];
	for (const dir of dirs) {
		const host = hostPathOf(dir, facts);
		for (const name of await sentinelsIn(container, running, dir, host)) {
			const mount = coveringMount(dir, facts);
			const isTmpfs = report.locations.some(l => l.path === dir && l.storage === 'tmpfs');
			entries.push({
				sentinel: posix.join(dir, name),
				channel: isTmpfs ? 'exec' : 'archive',
				mount: mount?.type === 'volume' || mount?.type === 'bind' ? mount.type : null,
				hostPath: host ? posix.join(host, name) : null,
				layerHostPath: !host && upper ? posix.join(upper, dir, name) : null,
			});
		}
	}

	const unique = [...new Map(entries.map(e => [e.sentinel, e])).values()];
	const left = await removeSentinels(unique, {container, running, helper: async paths => removeWithHelper(engine, facts.imageId, facts, paths, 'cleanup', labels)});
	const removed = unique.map(e => e.sentinel).filter(s => !left.includes(s));
	for (const s of removed) {
		onEvent?.({type: 'sentinel', dir: posix.dirname(s), action: 'removed'});
	}

	return {removed: removed.map(s => `${facts.name}:${s}`), left: left.map(s => `${facts.name}:${s}`)};
}

/**
 * `probe --cleanup`: remove what an interrupted probe left. Twins and helpers by their label (with their anonymous
 * volumes), and sentinels in the locations of the given container, or of every candidate and every container a twin
 * was made of.
 */
export async function runProbeCleanup(options: {host?: string; container?: string; labels?: Record<string, string>; onEvent?: ProbeListener}, engine?: Engine): Promise<CleanupResult> {
	engine ??= await connect(options.host);
	const result: CleanupResult = {helpersRemoved: [], sentinelsRemoved: [], left: []};
	const subjects = new Set<string>(options.container ? [options.container] : []);
	try {
		options.onEvent?.({type: 'step', step: 'cleanup', detail: 'twins'});
		for (const helper of await listHelpers(engine)) {
			if (!options.container && helper.Labels?.[OF_LABEL]) {
				subjects.add(helper.Labels[OF_LABEL]);
			}

			await removeHelper(engine, helper.Id);
			result.helpersRemoved.push(`${(helper.Names?.[0] ?? helper.Id).replace(/^\//, '')}`);
		}

		if (!options.container) {
			for (const c of await findCandidates(engine)) {
				subjects.add(c.id);
			}
		}
	} catch (error) {
		throw explainEngineError(error, engine.target);
	}

	options.onEvent?.({type: 'step', step: 'cleanup', detail: 'sentinels'});
	for (const ref of subjects) {
		try {
			const {removed, left} = await cleanContainer(engine, ref, options.labels ?? {}, options.onEvent);
			result.sentinelsRemoved.push(...removed);
			result.left.push(...left);
		} catch (error) {
			if ((error as {statusCode?: number}).statusCode === 404 || /no container/.test((error as Error).message)) {
				continue;
			}

			if (options.container) {
				throw error;
			}

			result.left.push(`${ref.slice(0, 12)}: ${(error as Error).message.split('\n')[0]}`);
		}
	}

	return result;
}

export {SENTINEL_PREFIX};
