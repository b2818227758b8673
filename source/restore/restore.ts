// `restore` as a service: run the plan it is given (plan.ts) as a preview, a rehearsal into scratch volumes, or a
// restore in place (stop, safety copy, empty, extract, verify, count, start) that rolls itself back on any failure
// or Ctrl+C once a target was touched. No React, no printing: it emits events.
import {existsSync, mkdirSync, rmSync} from 'node:fs';
import {chmod, mkdir, mkdtemp, readdir, rename, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join, posix} from 'node:path';
import type Docker from 'dockerode';
import {readIndex, type IndexEntry} from '../backup/file-index.js';
import {runBackup} from '../backup/backup.js';
import type {Manifest} from '../backup/types.js';
import {MANIFEST} from '../backup/verify.js';
import {sanitise} from '../backup/plan.js';
import {checkAbort, interrupted} from '../docker/abort.js';
import {defaultStateDir} from '../docker/journal.js';
import {DoctorError, type Engine} from '../docker/engine.js';
import {DEFAULT_READY_TIMEOUT_MS, startContainer, stopContainer, stopTimeoutOf, waitReady} from '../docker/lifecycle.js';
import {reportDatabase} from '../sqlite/index.js';
import {hostSource, type FileSource} from '../sqlite/snapshot.js';
import {compareTrees, describeDiff} from './compare.js';
import {AT, createHelper, describeTarget, emptyTarget, extractInto, listTarget, removeHelper, ROLE_LABEL, RUN_LABEL, type Target} from './engine-side.js';
import {listHostDir, moveAside, moveBack, moveIn, rootOf, stageArchive, type HostWork} from './local.js';
import {removeRestoreJournal, writeRestoreJournal, type JournalTarget, type RestoreJournal} from './journal.js';
import {archiveName, type PlanItem, type RestorePlan} from './plan.js';
import type {DatabaseRows, Phase, RestoreEmit, RestoreOptions, RestoreResult} from './types.js';

export const PROGRESS_INTERVAL_MS = 100;

/** Verification failed after extracting: the restore is rolled back and the exit code is 1. */
class VerifyFailure extends Error {}

function throttled(emit: RestoreEmit, archive: string, phase: Phase, total: number | null): (bytes: number) => void {
	let last = 0;
	return bytes => {
		const now = Date.now();
		if (now - last >= PROGRESS_INTERVAL_MS || bytes === total) {
			last = now;
			emit({type: 'progress', archive, phase, bytes, total});
		}
	};
}

/** `occ-doctor-pre-restore-<container>-<UTC time>` next to the backup, made with mkdir: unique even within a second. */
export async function claimSafetyDir(backupDir: string, container: string, now = new Date()): Promise<string> {
	const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
	const base = join(dirname(backupDir), `occ-doctor-pre-restore-${sanitise(container)}-${stamp}`);
	for (let i = 1; ; i++) {
		const dir = i === 1 ? base : `${base}-${i}`;
		try {
			await mkdir(dir, {mode: 0o700});
			return dir;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
				throw new DoctorError(`cannot create the safety copy ${dir} (${(error as NodeJS.ErrnoException).code}): make the backup's parent directory writable; nothing was changed`);
			}
		}
	}
}

function result(plan: RestorePlan, outcome: RestoreResult['outcome'], extra: Partial<RestoreResult> = {}): RestoreResult {
	return {
		schemaVersion: 1,
		backup: plan.dir,
		container: plan.container.name,
		archives: [...plan.items.map(i => i.outcome), ...plan.skipped],
		safetyCopy: null,
		rollbackCommand: null,
		outcome,
		error: null,
		...extra,
	};
}

/** Row counts of each of the archive's databases as the helper's /target (or its host directory) holds them, beside the manifest's. */
async function countRows(helper: Docker.Container | FileSource, item: PlanItem, present: Set<string>, integrity: boolean, signal?: AbortSignal, tempRoot = tmpdir()): Promise<DatabaseRows[]> {
	const rows: DatabaseRows[] = [];
	const temp = await mkdtemp(join(tempRoot, 'occ-doctor-restore-'));
	try {
		for (const db of item.record.databases) {
			if (!present.has(db.path)) {
				rows.push({path: db.path, now: null, backup: db.tables});
				continue;
			}

			const report = await reportDatabase(helper, posix.join(AT, db.path), temp, {signal, integrity});
			rows.push({path: db.path, now: report.error ? null : report.tables, backup: db.tables, ...(integrity ? {integrity: report.error ?? report.integrity} : {})});
		}
	} finally {
		await rm(temp, {recursive: true, force: true});
	}

	return rows;
}

/**
 * The databases of a host target counted where they were restored, after the walk verified them: hard links in the
 * staging directory beside the target (its file system; no byte copied), opened read-only. Copies in the temp dir
 * when a link cannot do (a hot journal SQLite must roll back, a file system without hard links).
 */
async function countOnHost(work: HostWork, item: PlanItem, present: Set<string>, signal?: AbortSignal): Promise<DatabaseRows[]> {
	const at = (path: string) => posix.join(work.dir, posix.relative(AT, path));
	mkdirSync(work.staged, {recursive: true, mode: 0o700});
	try {
		const linked = await countRows(hostSource(at, {link: true}), item, present, false, signal, work.staged);
		if (linked.every(db => db.now !== null || !present.has(db.path))) {
			return linked;
		}
	} finally {
		rmSync(work.staged, {recursive: true, force: true});
	}

	return countRows(hostSource(at), item, present, false, signal);
}

function sameRows(a: Record<string, number> | null, b: Record<string, number> | null): boolean {
	return a !== null && b !== null && JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}

/** Files now vs the backup, and rows now vs the backup, for each archive. Reads only. */
async function preview(plan: RestorePlan, options: RestoreOptions, emit: RestoreEmit): Promise<RestoreResult> {
	for (const item of plan.items) {
		let live: IndexEntry[] = [];
		let helper: Docker.Container | undefined;
		try {
			if (item.exists) {
				helper = await createHelper(plan.engine, {image: plan.image, runId: plan.runId, role: 'restore-helper', mounts: [{target: item.target, at: AT}]});
				live = await listTarget(helper, options.signal);
			}

			const diff = compareTrees(item.index, live);
			item.outcome.preview = {
				added: diff.added.length,
				changed: diff.changed.length,
				removed: diff.removed.length,
				samples: {added: diff.added.slice(0, 5), changed: diff.changed.slice(0, 5), removed: diff.removed.slice(0, 5)},
			};
			item.outcome.databases = helper ? await countRows(helper, item, new Set(live.filter(e => e.type === 'file').map(e => e.path)), false, options.signal) : item.record.databases.map(db => ({path: db.path, now: null, backup: db.tables}));
		} finally {
			if (helper) {
				await removeHelper(helper);
			}
		}
	}

	return result(plan, 'dry-run');
}

/** Extract into the helper's /target and compare what is there with the index; the databases counted too. */
async function extractAndVerify(plan: RestorePlan, item: PlanItem, helper: Docker.Container, phaseOf: 'extracting' | 'rehearsing', emit: RestoreEmit, signal: AbortSignal | undefined, integrity: boolean): Promise<string | null> {
	const name = archiveName(item.record);
	emit({type: 'phase', phase: phaseOf, archive: name});
	await extractInto(helper, item.file, signal, throttled(emit, name, phaseOf, item.record.compressedBytes));
	emit({type: 'phase', phase: 'verifying', archive: name});
	const have = await listTarget(helper, signal);
	const diff = compareTrees(item.index, have);
	let problem = diff.added.length + diff.changed.length + diff.removed.length > 0 ? `${item.record.file} does not verify in ${describeTarget(item.target)}: ${describeDiff(diff)}` : null;
	if (!problem && item.record.databases.length > 0) {
		emit({type: 'phase', phase: 'counting', archive: name});
		item.outcome.databases = await countRows(helper, item, new Set(have.filter(e => e.type === 'file').map(e => e.path)), integrity, signal);
		const bad = item.outcome.databases.find(db => (db.backup !== null && !sameRows(db.now, db.backup)) || (integrity && db.integrity !== 'ok'));
		if (bad) {
			problem = `${item.record.file}: database ${bad.path} ${bad.integrity && bad.integrity !== 'ok' ? `fails quick_check (${bad.integrity})` : `has ${JSON.stringify(bad.now)} rows, the manifest says ${JSON.stringify(bad.backup)}`}`;
		}
	}

	item.outcome.verify = {ok: problem === null, error: problem};
	emit({type: 'verify', archive: name, ok: problem === null, error: problem});
	return problem;
}

/** Restore each archive into a scratch volume, verify and count, remove the volume. The live container is not touched. */
async function rehearse(plan: RestorePlan, options: RestoreOptions, emit: RestoreEmit): Promise<RestoreResult> {
	const {docker} = plan.engine;
	for (const [i, item] of plan.items.entries()) {
		const started = Date.now();
		if (item.damage) {
			item.outcome.status = 'failed';
			item.outcome.verify = {ok: false, error: item.damage};
			continue;
		}

		const volume = `occ-doctor-rehearse-${plan.runId}-${i + 1}`;
		item.target = {kind: 'volume', name: volume};
		let helper: Docker.Container | undefined;
		try {
			await docker.createVolume({Name: volume, Labels: {[ROLE_LABEL]: 'rehearse', [RUN_LABEL]: plan.runId}});
			helper = await createHelper(plan.engine, {image: plan.image, runId: plan.runId, role: 'restore-helper', mounts: [{target: item.target, at: AT}]});
			await emptyTarget(plan.engine, plan.image, plan.runId, item.target, item.index.find(e => e.path === '.'));
			const problem = await extractAndVerify(plan, item, helper, 'rehearsing', emit, options.signal, true);
			item.outcome.status = problem ? 'failed' : 'rehearsed';
		} catch (error) {
			checkAbort(options.signal);

			item.outcome.status = 'failed';
			item.outcome.verify = {ok: false, error: `${item.record.file}: ${(error as Error).message.split('\n')[0]}`};
		} finally {
			if (helper) {
				await removeHelper(helper);
			}

			await docker.getVolume(volume).remove({force: true}).catch(() => {});
			item.outcome.target = 'a scratch volume (removed)';
			item.outcome.seconds = (Date.now() - started) / 1000;
		}
	}

	const failed = plan.items.filter(i => i.outcome.status === 'failed');
	return result(plan, failed.length > 0 ? 'damaged' : 'rehearsed', {error: failed.length > 0 ? `not restorable: ${failed.map(f => f.outcome.verify?.error ?? f.record.file).join('; ')}` : null});
}

/** Put one target back as the journal recorded it before the restore: its safety copy, or empty (or gone) as it was. */
export async function putBack(engine: Engine, image: string, runId: string, t: JournalTarget): Promise<void> {
	if (t.host && t.swap && existsSync(t.host.dir) && (t.swap !== 'moving-in' || existsSync(t.host.aside))) {
		// The old contents are beside the target, as they were: renames put them back, no engine needed.
		moveBack(t.host, t.swap, t.rootBefore ?? null);
		return;
	}

	if (t.createdVolume) {
		await engine.docker.getVolume(t.target.name).remove({force: true}).catch(async () => emptyTarget(engine, image, runId, t.target));
		return;
	}

	if (!t.safetyFile || !t.safetyIndex) {
		await emptyTarget(engine, image, runId, t.target);
		return;
	}

	const index = (await readIndex(t.safetyIndex)).entries;
	await emptyTarget(engine, image, runId, t.target, index.find(e => e.path === '.'));
	const helper = await createHelper(engine, {image, runId, role: 'restore-helper', mounts: [{target: t.target, at: AT}]});
	try {
		await extractInto(helper, t.safetyFile, undefined, () => {});
		const diff = compareTrees(index, await listTarget(helper));
		if (diff.added.length + diff.changed.length + diff.removed.length > 0) {
			throw new DoctorError(`the rollback of ${describeTarget(t.target)} does not verify (${describeDiff(diff)}): its old contents are in ${t.safetyFile}`);
		}
	} finally {
		await removeHelper(helper);
	}
}

/** Stop the container again (Ctrl+C as it started), so the rollback can put the old data back under it. */
async function stopAgain(plan: RestorePlan, journal: RestoreJournal, stateDir: string): Promise<void> {
	journal.stopped = true;
	writeRestoreJournal(stateDir, journal);
	await stopContainer(plan.engine, plan.container.id, plan.container.name, stopTimeoutOf(plan.container.info));
}

/** Start the container again if the restore stopped it, and wait until it runs (and is healthy). */
async function startAgain(plan: RestorePlan, journal: RestoreJournal, emit: RestoreEmit): Promise<void> {
	if (!journal.stopped) {
		return;
	}

	emit({type: 'phase', phase: 'starting', archive: null});
	await startContainer(plan.engine, plan.container.id, plan.container.name);
	await waitReady(plan.engine, plan.container.id, plan.container.name, DEFAULT_READY_TIMEOUT_MS);
	journal.stopped = false;
}

/**
 * The safety copy was read through a helper, so its manifest names the helper: name the container the data belongs
 * to instead (atomically), so `restore <safety-dir>` goes back to it without --container.
 */
async function nameTheContainer(dir: string, manifest: Manifest, plan: RestorePlan): Promise<void> {
	const {info} = plan.container;
	const labels = info.Config?.Labels ?? {};
	const project = labels['com.docker.compose.project'];
	const container = {
		...manifest.container,
		id: plan.container.id,
		name: plan.container.name,
		image: String(info.Config?.Image ?? manifest.container.image),
		imageId: String(info.Image ?? manifest.container.imageId),
		compose: project ? {project, service: labels['com.docker.compose.service'] ?? ''} : null,
	};
	const temp = join(dir, `${MANIFEST}.partial`);
	await writeFile(temp, JSON.stringify({...manifest, container}, null, '\t') + '\n', {mode: 0o600});
	await chmod(temp, 0o600);
	await rename(temp, join(dir, MANIFEST));
}

/** A copy of each non-empty target, with the backup machinery (verified, 0600 in 0700), through a helper with the targets at their paths. */
async function safetyCopy(plan: RestorePlan, options: RestoreOptions, journal: RestoreJournal, emit: RestoreEmit): Promise<string | null> {
	const items = plan.items.filter(i => i.state && !i.state.empty);
	if (items.length === 0) {
		return null;
	}

	emit({type: 'phase', phase: 'safety-copy', archive: null});
	const dir = await claimSafetyDir(plan.dir, plan.container.name);
	journal.safetyCopy = dir;
	writeRestoreJournal(options.stateDir ?? defaultStateDir(), journal);
	const helper = await createHelper(plan.engine, {image: plan.image, runId: plan.runId, role: 'restore-helper', mounts: items.map(i => ({target: i.target, at: i.record.containerPath}))});
	try {
		const {manifest} = await runBackup({host: options.host, container: helper.id, only: items.map(i => i.record.containerPath), out: dir, signal: options.signal}, event => emit({type: 'safety', event}), plan.engine);
		await nameTheContainer(dir, manifest, plan);
		for (const item of items) {
			const record = manifest.archives.find(a => a.containerPath === item.record.containerPath);
			const entry = journal.targets.find(t => t.file === item.record.file)!;
			entry.safetyFile = record ? join(dir, record.file) : null;
			entry.safetyIndex = record?.index ? join(dir, record.index) : null;
		}
	} catch (error) {
		// An unfinished safety copy is not a backup: nothing under its name may stay.
		if (!(await readdir(dir).catch(() => [] as string[])).includes('manifest.json')) {
			await rm(dir, {recursive: true, force: true});
			journal.safetyCopy = null;
		}

		throw error;
	} finally {
		await removeHelper(helper);
	}

	writeRestoreJournal(options.stateDir ?? defaultStateDir(), journal);
	return dir;
}

/**
 * The one pass of a host target, before anything is stopped: the archive read once, checked and written into the
 * staging directory beside the target. A damaged or unsafe archive leaves the target as it was (exit 2).
 */
async function stage(plan: RestorePlan, item: PlanItem, options: RestoreOptions, journal: RestoreJournal, emit: RestoreEmit): Promise<Map<number, string>> {
	const name = archiveName(item.record);
	const entry = journal.targets.find(t => t.file === item.record.file)!;
	entry.host = item.host;
	entry.swap = 'staged';
	writeRestoreJournal(options.stateDir ?? defaultStateDir(), journal);
	emit({type: 'phase', phase: 'extracting', archive: name});
	const staged = await stageArchive(item.file, {sha256: item.record.sha256, entries: item.record.entries}, item.index, item.host!.staged, options.signal, throttled(emit, name, 'extracting', item.record.compressedBytes));
	if (staged.damage) {
		throw new DoctorError(`${staged.damage}: nothing was changed; check the backup with occ-doctor backup --verify ${plan.dir}`);
	}

	if (staged.unsafe) {
		throw new DoctorError(`${staged.unsafe}: refused, nothing was changed; restore it by hand only if you trust it`);
	}

	return staged.written;
}

/**
 * Swap the staged contents in (old ones aside, new ones in: renames), then verify what the target holds: the tree,
 * owners, modes and mtimes from the target itself, each file's content by the hash taken as it was written.
 */
async function swapIn(plan: RestorePlan, item: PlanItem, options: RestoreOptions, journal: RestoreJournal, emit: RestoreEmit, written: Map<number, string>): Promise<string | null> {
	const stateDir = options.stateDir ?? defaultStateDir();
	const name = archiveName(item.record);
	const work = item.host!;
	const entry = journal.targets.find(t => t.file === item.record.file)!;
	entry.touched = true;
	entry.rootBefore = rootOf(work.dir);
	entry.swap = 'moving-aside';
	writeRestoreJournal(stateDir, journal);
	emit({type: 'phase', phase: 'emptying', archive: name});
	moveAside(work);
	entry.swap = 'moving-in';
	writeRestoreJournal(stateDir, journal);
	emit({type: 'phase', phase: 'moving-in', archive: name});
	moveIn(work, item.index.find(e => e.path === '.'));
	emit({type: 'phase', phase: 'verifying', archive: name});
	const have = listHostDir(work.dir, written);
	const diff = compareTrees(item.index, have);
	let problem = diff.added.length + diff.changed.length + diff.removed.length > 0 ? `${item.record.file} does not verify in ${describeTarget(item.target)}: ${describeDiff(diff)}` : null;
	if (!problem && item.record.databases.length > 0) {
		emit({type: 'phase', phase: 'counting', archive: name});
		item.outcome.databases = await countOnHost(work, item, new Set(have.filter(e => e.type === 'file').map(e => e.path)), options.signal);
		const bad = item.outcome.databases.find(db => db.backup !== null && !sameRows(db.now, db.backup));
		problem = bad ? `${item.record.file}: database ${bad.path} has ${JSON.stringify(bad.now)} rows, the manifest says ${JSON.stringify(bad.backup)}` : null;
	}

	item.outcome.verify = {ok: problem === null, error: problem};
	emit({type: 'verify', archive: name, ok: problem === null, error: problem});
	return problem;
}

/** Empty and extract each target, then verify all: the new data, all of it, or an error. */
async function replaceAll(plan: RestorePlan, options: RestoreOptions, journal: RestoreJournal, emit: RestoreEmit, helpers: Docker.Container[], written: Map<string, Map<number, string>>): Promise<void> {
	const stateDir = options.stateDir ?? defaultStateDir();
	const {signal} = options;
	for (const item of plan.items) {
		signal?.throwIfAborted();
		if (item.host) {
			const problem = await swapIn(plan, item, options, journal, emit, written.get(item.record.file)!);
			if (problem) {
				throw new VerifyFailure(problem);
			}

			continue;
		}

		const entry = journal.targets.find(t => t.file === item.record.file)!;
		entry.touched = true;
		entry.createdVolume = item.target.kind === 'volume' && !item.exists;
		journal.step = `replacing ${item.record.file}`;
		writeRestoreJournal(stateDir, journal);
		if (entry.createdVolume) {
			// With the recorded labels, a restored compose volume still belongs to its project.
			await plan.engine.docker.createVolume({Name: item.target.name, Labels: item.record.volume?.labels ?? {}});
		}

		// A missing bind directory is made by the engine (the -v form), as `docker run -v` would.
		const helper = await createHelper(plan.engine, {image: plan.image, runId: plan.runId, role: 'restore-helper', mounts: [{target: item.target, at: AT}], create: true});
		helpers.push(helper);
		emit({type: 'phase', phase: 'emptying', archive: archiveName(item.record)});
		await emptyTarget(plan.engine, plan.image, plan.runId, item.target, item.index.find(e => e.path === '.'));
		signal?.throwIfAborted();
		const problem = await extractAndVerify(plan, item, helper, 'extracting', emit, signal, false);
		if (problem) {
			throw new VerifyFailure(problem);
		}
	}
}

function rollbackCommand(plan: RestorePlan, safetyDir: string | null): string | null {
	if (!safetyDir) {
		return null;
	}

	const to = plan.items.filter(i => !i.current && i.state && !i.state.empty).map(i => ` --to ${i.record.containerPath}=${i.target.name}`).join('');
	return `occ-doctor restore ${safetyDir} --container ${plan.container.name}${to} --yes`;
}

async function restoreInPlace(plan: RestorePlan, options: RestoreOptions, emit: RestoreEmit): Promise<RestoreResult> {
	const stateDir = options.stateDir ?? defaultStateDir();
	const {signal} = options;
	const running = Boolean(plan.container.info.State?.Running);
	const journal: RestoreJournal = {
		version: 1,
		runId: plan.runId,
		engine: plan.engine.target.label,
		pid: process.pid,
		startedAt: new Date().toISOString(),
		updatedAt: new Date().toISOString(),
		container: {id: plan.container.id, name: plan.container.name},
		before: {running},
		stopped: false,
		image: plan.image,
		backup: plan.dir,
		safetyCopy: null,
		targets: plan.items.map(i => ({file: i.record.file, target: i.target, touched: false, createdVolume: false, safetyFile: null, safetyIndex: null})),
		step: 'stopping',
	};
	writeRestoreJournal(stateDir, journal);
	const helpers: Docker.Container[] = [];
	let safetyDir: string | null = null;
	const written = new Map<string, Map<number, string>>();
	try {
		// Host targets first, while the container still runs: the one pass checks each archive as it stages it. All
		// at once: each inflates on its own threadpool thread. Every pass ends before a failure is acted on.
		const staging = plan.items.filter(i => i.host);
		const staged = await Promise.allSettled(staging.map(async item => stage(plan, item, options, journal, emit)));
		for (const [i, outcome] of staged.entries()) {
			if (outcome.status === 'rejected') {
				throw outcome.reason;
			}

			written.set(staging[i]!.record.file, outcome.value);
		}

		signal?.throwIfAborted();
		if (running && plan.items.some(i => i.current)) {
			emit({type: 'phase', phase: 'stopping', archive: null});
			journal.stopped = true;
			writeRestoreJournal(stateDir, journal);
			await stopContainer(plan.engine, plan.container.id, plan.container.name, stopTimeoutOf(plan.container.info));
		}

		signal?.throwIfAborted();
		safetyDir = await safetyCopy(plan, options, journal, emit);
		await replaceAll(plan, options, journal, emit, helpers, written);
		await Promise.all(helpers.splice(0).map(removeHelper));
		signal?.throwIfAborted();
		const starts = journal.stopped;
		await startAgain(plan, journal, emit);
		if (signal?.aborted && starts) {
			// Ctrl+C while it started: the restore is not done until the container runs, so it is rolled back.
			await stopAgain(plan, journal, stateDir);
		}

		signal?.throwIfAborted();
	} catch (error) {
		await Promise.all(helpers.splice(0).map(removeHelper));
		return rollBack(plan, journal, emit, error, {signal, stateDir, safetyDir});
	}

	for (const item of plan.items) {
		item.outcome.status = 'restored';
	}

	for (const t of journal.targets) {
		if (t.host) {
			rmSync(t.host.aside, {recursive: true, force: true});
		}
	}

	removeRestoreJournal(stateDir, plan.runId);
	return result(plan, 'restored', {safetyCopy: safetyDir, rollbackCommand: rollbackCommand(plan, safetyDir)});
}

/** After a failure: put every touched target back, start the container, and say why. Throws unless it was a verification failure. */
async function rollBack(plan: RestorePlan, journal: RestoreJournal, emit: RestoreEmit, error: unknown, context: {signal?: AbortSignal; stateDir: string; safetyDir: string | null}): Promise<RestoreResult> {
	const {signal, stateDir, safetyDir} = context;
	const cause = signal?.aborted ? interrupted(signal).message : (error as Error).message.split('\n')[0]!;
	const touched = journal.targets.filter(t => t.touched);
	for (const t of journal.targets.filter(t => !t.touched && t.host)) {
		// Staged only: the target itself was not touched.
		rmSync(t.host!.staged, {recursive: true, force: true});
	}

	try {
		for (const t of touched.reverse()) {
			emit({type: 'phase', phase: 'rolling-back', archive: t.file.replace(/\.tar\.gz$/, '')});
			await putBack(plan.engine, plan.image, plan.runId, t);
		}

		await startAgain(plan, journal, emit);
	} catch (rollbackError) {
		journal.step = 'rollback failed';
		writeRestoreJournal(stateDir, journal);
		throw new DoctorError(`${cause}, and the rollback failed (${(rollbackError as Error).message.split('\n')[0]}): the old data is in ${safetyDir ?? 'the targets'}; when the engine answers, run occ-doctor restore --cleanup`, 'failed', {code: 'rollback-failed'});
	}

	removeRestoreJournal(stateDir, plan.runId);
	for (const item of plan.items) {
		item.outcome.status = touched.some(t => t.file === item.record.file) ? 'rolled-back' : 'skipped';
	}

	if (signal?.aborted) {
		throw new DoctorError(`${cause}: ${touched.length > 0 ? 'the restore was rolled back, the old data is back' : 'nothing was changed'}`, 'interrupted');
	}

	if (touched.length === 0) {
		// Nothing was touched: the backup's failure as it is (a full disk for the safety copy, the engine).
		throw error;
	}

	if (error instanceof VerifyFailure) {
		return result(plan, 'rolled-back', {safetyCopy: safetyDir, error: `${error.message}: the restore was rolled back, the old data is back`});
	}

	throw new DoctorError(`${cause}: the restore was rolled back, the old data is back`, 'failed');
}

/** Run the plan as given: never plans again. */
export async function runRestore(plan: RestorePlan, options: RestoreOptions, emit: RestoreEmit): Promise<RestoreResult> {
	const safety = options.dryRun || options.rehearse ? null : '(made when the restore starts)';
	emit({type: 'plan', backup: plan.dir, container: plan.container.name, archives: [...plan.items.map(i => i.outcome), ...plan.skipped], stop: !options.dryRun && !options.rehearse && Boolean(plan.container.info.State?.Running) && plan.items.some(i => i.current), safetyCopy: safety});
	const out = options.dryRun ? await preview(plan, options, emit) : (options.rehearse ? await rehearse(plan, options, emit) : await restoreInPlace(plan, options, emit));
	emit({type: 'done', result: out});
	return out;
}
