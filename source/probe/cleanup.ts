import {existsSync} from 'node:fs';
import {readdir, readFile} from 'node:fs/promises';
import {posix} from 'node:path';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {runCheck} from '../check/check.js';
import {coveringMount} from '../core/model.js';
import {getArchiveStream, readFileFromContainer} from '../docker/archive.js';
import {refuseBindsAtRisk, refuseContainerAtRisk} from '../docker/bind-guard.js';
import {connect, explainEngineError, type Engine} from '../docker/engine.js';
import {findCandidates, gatherFacts} from '../docker/inspect.js';
import {statInContainer as statPath} from '../docker/archive.js';
import {execIn} from './exec.js';
import {defaultStateDir, ownerAlive, readJournals, removeJournal, type ProbeJournal} from './journal.js';
import {DEFAULT_READY_TIMEOUT_MS, startContainer, stopContainer, stopTimeoutOf, waitReady} from '../docker/lifecycle.js';
import {removeSentinels, type RemoveEntry} from './sentinel.js';
import {hostPathOf, initialTargets, sameStorageAncestors} from './targets.js';
import {listHelpers, removeHelper, removeWithHelper} from './twin.js';
import {OF_LABEL, SENTINEL_PREFIX, type ProbeListener} from './types.js';

export interface CleanupResult {
	/** What was done to put a container back in the state an interrupted probe found it in (from its journal). */
	restored: string[];
	helpersRemoved: string[];
	sentinelsRemoved: string[];
	/** What could not be removed or looked at, one line each. */
	left: string[];
}

const SENTINEL_RE = /^\.occ-doctor-probe-[0-9a-z]+$/;
/** What every sentinel holds (sentinelContent): a file with the name but not this content is the user's, and stays. */
const CONTENT_RE = /^occ-doctor probe [0-9a-z]+ [0-9a-f]+\n$/;

/** Does the file hold a sentinel's content? Read from the host when we can, else through exec (tmpfs) or the archive API. */
async function holdsSentinel(container: Docker.Container, running: boolean, path: string, hostPath: string | null, tmpfs: boolean): Promise<boolean | null> {
	if (hostPath) {
		try {
			return CONTENT_RE.test(await readFile(hostPath, 'utf8'));
		} catch {
			// Not reachable from here: ask the engine.
		}
	}

	try {
		if (tmpfs) {
			if (!running) {
				return null;
			}

			const r = await execIn(container, ['cat', path], {user: '0'});
			return r.exitCode === 0 ? CONTENT_RE.test(r.stdout) : null;
		}

		const data = await readFileFromContainer(container, path);
		return data ? CONTENT_RE.test(data.toString('utf8')) : null;
	} catch {
		return null;
	}
}

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
	// Its sentinels are looked for through the engine: not while that would make a missing bind source a directory.
	refuseBindsAtRisk(facts.bindsAtRisk, {verb: 'probe --cleanup', name: facts.name, command: `probe --cleanup --container ${facts.name}`, target: engine.target});
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
	const skipped: string[] = [];
	for (const dir of dirs) {
		const host = hostPathOf(dir, facts);
		for (const name of await sentinelsIn(container, running, dir, host)) {
			const mount = coveringMount(dir, facts);
			const isTmpfs = report.locations.some(l => l.path === dir && l.storage === 'tmpfs');
			const ours = await holdsSentinel(container, running, posix.join(dir, name), host ? posix.join(host, name) : null, isTmpfs);
			if (ours === null) {
				skipped.push(`${facts.name}:${posix.join(dir, name)}: not removed, its content could not be read`);
			}

			if (!ours) {
				continue;
			}

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

	return {removed: removed.map(s => `${facts.name}:${s}`), left: [...left.map(s => `${facts.name}:${s}`), ...skipped]};
}

/**
 * Put one journal's container back as the interrupted probe found it, and remove the sentinels it recorded.
 * Running before → started again (after an engine death without a restart policy it is Exited); stopped before and
 * started by the probe → stopped again. Anything else about the container is left alone. The journal goes when done.
 */
async function restoreFromJournal(engine: Engine, journal: ProbeJournal, stateDir: string, labels: Record<string, string>, result: CleanupResult, readyTimeoutMs: number, onEvent?: ProbeListener): Promise<void> {
	const {id, name} = journal.container;
	const container = engine.docker.getContainer(id);
	const tag = `${name} (probe run ${journal.runId})`;
	let info: any;
	try {
		info = await container.inspect();
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode !== 404) {
			throw error;
		}

		// Removed since: its layer and tmpfs went with it; sentinels on binds and volumes can still be reached from the host.
		const reachable = journal.sentinels.filter(e => e.mount !== null && !(e.hostPath && existsSync(posix.dirname(e.hostPath)) && !existsSync(e.hostPath)));
		const left = await removeSentinels(reachable, {container: null, running: false});
		result.sentinelsRemoved.push(...reachable.filter(e => !left.includes(e.sentinel)).map(e => `${name}:${e.sentinel}`));
		result.left.push(...left.map(s => `${name}:${s}: the container was removed and the file is not reachable from here`));
		result.restored.push(`${tag}: the container was removed since; nothing to restore`);
		if (left.length === 0) {
			removeJournal(stateDir, journal.runId);
		}

		return;
	}

	onEvent?.({type: 'step', step: 'cleanup', detail: `restoring ${name} from probe run ${journal.runId}`});
	const running = () => Boolean(info.State?.Running) && !info.State?.Restarting;
	let stateOk = true;
	if (journal.before.running && !running()) {
		try {
			await startContainer(engine, id, name);
			info = await waitReady(engine, id, name, readyTimeoutMs);
			result.restored.push(`${tag}: started again, it was running before the probe`);
		} catch (error) {
			stateOk = false;
			result.left.push(`${tag}: was running before the probe and could not be started again: ${(error as Error).message.split('\n')[0]}`);
		}
	}

	let left: string[] = [];
	// Only what is still there: the interrupted run may have removed some (through host paths) before it ended.
	const present: RemoveEntry[] = [];
	for (const entry of journal.sentinels) {
		if (entry.hostPath && existsSync(posix.dirname(entry.hostPath))) {
			if (existsSync(entry.hostPath)) {
				present.push(entry);
			}
		} else if (entry.channel === 'exec') {
			// tmpfs: gone with a stop; in a running container ask it.
			if (running() && (await execIn(container, ['test', '-e', entry.sentinel], {user: '0'}).then(r => r.exitCode !== 1, () => true))) {
				present.push(entry);
			}
		} else if (await statPath(container, entry.sentinel).then(st => st !== null, () => true)) {
			present.push(entry);
		}
	}

	if (present.length > 0) {
		const facts = await gatherFacts(engine, id);
		left = await removeSentinels(present, {
			container,
			running: running(),
			helper: async paths => removeWithHelper(engine, facts.imageId, facts, paths, 'cleanup', labels),
		});
		const removed = present.map(e => e.sentinel).filter(s => !left.includes(s));
		for (const s of removed) {
			onEvent?.({type: 'sentinel', dir: posix.dirname(s), action: 'removed'});
		}

		result.sentinelsRemoved.push(...removed.map(s => `${name}:${s}`));
		result.left.push(...left.map(s => `${name}:${s}`));
	}

	if (!journal.before.running && journal.startedByUs && running()) {
		try {
			await stopContainer(engine, id, name, stopTimeoutOf(info));
			result.restored.push(`${tag}: stopped again, the probe had started it`);
		} catch (error) {
			stateOk = false;
			result.left.push(`${tag}: was stopped before the probe and could not be stopped again: ${(error as Error).message.split('\n')[0]}`);
		}
	}

	if (stateOk && left.length === 0) {
		if (!result.restored.some(r => r.startsWith(tag))) {
			result.restored.push(`${tag}: already as found (${journal.before.running ? 'running' : journal.before.status})`);
		}

		removeJournal(stateDir, journal.runId);
	}
}

/**
 * `probe --cleanup`: remove what an interrupted probe left. Twins and helpers by their label (with their anonymous
 * volumes), and sentinels in the locations of the given container, or of every candidate and every container a twin
 * was made of.
 */
export async function runProbeCleanup(options: {host?: string; context?: string; container?: string; labels?: Record<string, string>; stateDir?: string; readyTimeoutMs?: number; onEvent?: ProbeListener}, engine?: Engine): Promise<CleanupResult> {
	engine ??= await connect(options);
	const result: CleanupResult = {restored: [], helpersRemoved: [], sentinelsRemoved: [], left: []};
	const subjects = new Set<string>(options.container ? [options.container] : []);
	const stateDir = options.stateDir ?? defaultStateDir();
	try {
		// Journals of runs against this engine whose process is gone: the state before, and what they put in place.
		let journals = readJournals(stateDir).filter(j => j.engine === engine!.target.label && !ownerAlive(j));
		if (options.container) {
			const ref = options.container;
			const id = await engine.docker.getContainer(ref).inspect().then(i => i.Id as string, () => null);
			journals = journals.filter(j => j.container.id === id || j.container.name === ref.replace(/^\//, '') || (ref.length >= 12 && j.container.id.startsWith(ref)));
		}

		// Before anything is done: a container this run would start again or read through the engine, with a `-v` bind
		// source missing or unseen, is refused (the engine would create the source as a directory).
		for (const ref of new Set([...journals.map(j => j.container.id), ...(options.container ? [options.container] : [])])) {
			const info = await engine.docker.getContainer(ref).inspect().catch(() => null);
			if (info) {
				await refuseContainerAtRisk(engine, info, {verb: 'probe --cleanup', command: name => `probe --cleanup --container ${name}`});
			}
		}

		for (const journal of journals) {
			options.onEvent?.({type: 'step', step: 'cleanup', detail: `journal of probe run ${journal.runId}`});
			await restoreFromJournal(engine, journal, stateDir, options.labels ?? {}, result, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, options.onEvent);
			if (!options.container) {
				subjects.add(journal.container.id);
			}
		}

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
