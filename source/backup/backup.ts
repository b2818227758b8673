// `backup` as a service: plan the archives, optionally stop the container, re-pack each mount into a .tar.gz with
// consistent database snapshots, verify, then rename everything to its final name at once. No React, no printing.
import {chmod, mkdir, readdir, rename, rm, rmdir, stat, writeFile} from 'node:fs/promises';
import {gzipSync} from 'node:zlib';
import {dirname, join, resolve} from 'node:path';
import type Docker from 'dockerode';
import {runCheck} from '../check/check.js';
import {connect, DoctorError, explainEngineError, type Engine} from '../docker/engine.js';
import {interrupted} from '../docker/abort.js';
import {refuseBindsAtRisk} from '../docker/bind-guard.js';
import {startContainer, stopContainer, stopTimeoutOf} from '../docker/lifecycle.js';
import {clearUndone, dockerOn, noteUndone} from '../left-undone.js';
import {SnapshotError} from '../sqlite/snapshot.js';
import {databaseWorkDir, snapshotForArchive} from './database.js';
import {IndexBuilder} from './file-index.js';
import {engineReadsHere, HostReadFailed, hostDirOf, sameDirectory} from './host-read.js';
import {packUnit} from './pack.js';
import {defaultBackupDir, planUnits, selectUnits} from './plan.js';
import {estimateSizes} from './sizes.js';
import type {ContainerFacts, Report} from '../core/types.js';
import type {ArchiveRecord, BackupEmit, BackupOptions, BackupUnit, DatabaseRecord, Manifest, VerifyResult} from './types.js';
import {MANIFEST, verifyWritten} from './verify.js';

/** zlib level 6 is gzip's default, what `tar czf` and the seeds' recipe use; see docs/backup.md for the measurements. */
export const DEFAULT_GZIP_LEVEL = 6;
/** Progress events per location are at most this often (plus one at the end of each). */
export const PROGRESS_INTERVAL_MS = 100;
export const CREDENTIALS_NOTICE = 'the backup holds credentials and SSH keys: its directory is 0700 and its files 0600, keep it private';
const WORK_DIR = '.snapshots.partial';

/** Name the real cause of a failure mid-stream: our disk, the engine, the container, or the engine's own error. */
async function explainFailure(error: unknown, engine: Engine, container: Docker.Container, dir: string, what: string): Promise<Error> {
	if (error instanceof DoctorError) {
		return error;
	}

	if (error instanceof SnapshotError) {
		return new DoctorError(error.message);
	}

	const code = (error as NodeJS.ErrnoException).code;
	if (code === 'ENOSPC' || code === 'EDQUOT') {
		return new DoctorError(`no space left in ${dir} while writing ${what}: free some space or pass --out on a bigger disk`);
	}

	if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
		return new DoctorError(`cannot write ${what} in ${dir} (${code}): pass --out with a writable directory`);
	}

	try {
		await engine.docker.ping();
	} catch (pingError) {
		const explained = explainEngineError(pingError, engine.target);
		return new DoctorError(`the engine went away while reading ${what}: ${explained.message}`);
	}

	try {
		await container.inspect();
	} catch (inspectError) {
		if ((inspectError as {statusCode?: number}).statusCode === 404) {
			return new DoctorError(`the container was removed while reading ${what}: nothing was kept; back up its volumes with a new container`);
		}
	}

	return explainEngineError(error, engine.target);
}

/**
 * Whether the engine's clock also stamps the mount's mtimes, as proving a database capture unchanged needs
 * (database.ts): binds and local-driver volumes live on the engine's own kernel; a volume plugin's may not.
 */
function trustsMtimes(unit: BackupUnit, facts: ContainerFacts): boolean {
	if (unit.source.type === 'bind') {
		return true;
	}

	return unit.source.name !== null && facts.volumes[unit.source.name]?.driver === 'local';
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir spins forever when a parent exists but the leaf
 * cannot be made there (ENOENT under /proc, for one), so a bad --out would hang instead of failing.
 */
async function makeDirectory(dir: string): Promise<void> {
	const parent = dirname(dir);
	if (parent !== dir) {
		try {
			await stat(parent);
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				throw error;
			}

			await makeDirectory(parent);
		}
	}

	await mkdir(dir, {mode: 0o700});
}

async function prepareDir(dir: string): Promise<boolean> {
	let created = false;
	try {
		const st = await stat(dir);
		if (!st.isDirectory()) {
			throw new DoctorError(`${dir} exists and is not a directory: pass --out with a new or empty directory`);
		}

		const entries = await readdir(dir);
		if (entries.includes(MANIFEST)) {
			throw new DoctorError(`${dir} already holds a backup: pass --out with a new or empty directory`);
		}

		// It is made 0700 below: a home directory or /tmp given as --out must not be, nor hold the archives among other files.
		if (entries.length > 0) {
			throw new DoctorError(`${dir} is not empty: pass --out with a new or empty directory (the backup makes it private, 0700)`);
		}
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
			throw error instanceof DoctorError ? error : new DoctorError(`cannot use ${dir} (${(error as NodeJS.ErrnoException).code}): pass --out with a writable directory`);
		}

		try {
			await makeDirectory(dir);
		} catch (mkdirError) {
			throw new DoctorError(`cannot create ${dir} (${(mkdirError as NodeJS.ErrnoException).code}): pass --out with a writable directory`);
		}

		created = true;
	}

	// Explicit: a mkdir mode is filtered by the umask, and an existing directory keeps whatever it had.
	try {
		await chmod(dir, 0o700);
	} catch (error) {
		throw new DoctorError(`cannot use ${dir} (${(error as NodeJS.ErrnoException).code ?? 'unwritable'}): pass --out with a writable directory`);
	}

	return created;
}

function sumOrNull(values: Array<number | null>): number | null {
	return values.some(v => v === null) ? null : values.reduce<number>((a, b) => a + b!, 0);
}

export interface BackupPlan {
	engine: Engine;
	facts: ContainerFacts;
	report: Report;
	/** Every volume and bind mount, with size estimates (the TUI preselects by priority from these). */
	all: BackupUnit[];
	/** The ones --only/--priority select. */
	units: BackupUnit[];
}

/** Inspect the container and list what a backup would write, with size estimates. Reads only. */
export async function planBackup(options: BackupOptions, engine?: Engine): Promise<BackupPlan> {
	engine ??= await connect(options);
	// No database counting here: each database is snapshotted and counted when its archive is written.
	const {facts, report} = await runCheck({host: options.host, container: options.container, profile: options.profile, databases: false, signal: options.signal}, engine);
	// Before anything goes through the archive API: it would create a missing or unseen bind source on the host.
	refuseBindsAtRisk(facts.bindsAtRisk, {verb: 'backup', name: facts.name, command: `backup --container ${facts.name}`, target: engine.target, only: '--only cannot avoid it'});
	const all = planUnits(facts, report.locations);
	const units = chooseUnits(all, facts.name, options);
	await estimateSizes(engine, all, options.signal);
	return {engine, facts, report, all, units};
}

/** --only/--priority over every unit; an empty choice is an error naming what there is. */
function chooseUnits(all: BackupUnit[], name: string, options: Pick<BackupOptions, 'only' | 'priority'>): BackupUnit[] {
	const units = selectUnits(all, options.only, options.priority);
	if (units.length === 0) {
		const names = all.map(u => u.name).join(', ');
		throw new DoctorError(all.length === 0
			? `${name} has no volume or bind mount to back up: its data lives in the container layer (see occ-doctor check)`
			: `no location of ${name} matches --only/--priority: choose from ${names}`);
	}

	return units;
}

/** Pack from `hostDir` with tar when given; where tar fails there (an unreadable file), through the engine instead. */
async function packOnHostOrEngine<T>(pack: (hostDir: string | null) => Promise<T>, hostDir: string | null, onFallback: (reason: string) => Promise<void>, signal?: AbortSignal): Promise<T> {
	if (hostDir) {
		try {
			return await pack(hostDir);
		} catch (error) {
			if (!(error instanceof HostReadFailed) || signal?.aborted) {
				throw error;
			}

			await onFallback(error.message);
		}
	}

	return pack(null);
}

export interface BackupResult {
	dir: string;
	manifest: Manifest;
}

/**
 * Run a backup and emit its events. Throws a DoctorError; whatever it throws, no file is left under a final name.
 * Given a plan (the TUI made one to offer the choices), it runs that plan with options' --only/--priority and never
 * inspects and estimates again.
 */
export async function runBackup(options: BackupOptions, emit: BackupEmit, engine?: Engine, given?: BackupPlan): Promise<BackupResult> {
	const {signal} = options;
	const plan = given ? {...given, units: chooseUnits(given.all, given.facts.name, options)} : await planBackup(options, engine);
	engine = plan.engine;
	const {facts, report, units} = plan;
	const dir = resolve(options.out ?? defaultBackupDir(facts.name));
	const gzipLevel = options.gzipLevel ?? DEFAULT_GZIP_LEVEL;
	const container = engine.docker.getContainer(facts.id);
	emit({type: 'plan', container: report.container, dir, units});
	signal?.throwIfAborted();
	const createdDir = await prepareDir(dir);
	emit({type: 'notice', message: CREDENTIALS_NOTICE});

	const partials: string[] = [];
	const workRoot = join(dir, WORK_DIR);
	let stopped = false;
	// Each archive is read back from the moment it is written, while the next one is packed; all are awaited below.
	const verifyStop = new AbortController();
	const onAbort = () => verifyStop.abort(signal!.reason);
	signal?.addEventListener('abort', onAbort, {once: true});
	const verifying: Array<Promise<VerifyResult>> = [];
	try {
		if (options.stop && facts.state.running) {
			emit({type: 'container', action: 'stopping', name: facts.name});
			// The container's own stop timeout: an agent that flushes on SIGTERM gets the time it asked for.
			noteUndone(`backup-stop-${facts.id}`, `${facts.name} was stopped for the backup: start it again with \`${dockerOn(engine.target)} start ${facts.name}\``);
			await stopContainer(engine, facts.id, facts.name, stopTimeoutOf(await container.inspect()));
			stopped = true;
			emit({type: 'container', action: 'stopped', name: facts.name});
		}

		const readsHere = options.reader !== 'archive-api' && units.some(u => hostDirOf(u, facts)) && await engineReadsHere(engine);
		const records: ArchiveRecord[] = [];
		const overallTotal = sumOrNull(units.map(u => u.estimate.bytes));
		let doneBytes = 0;
		for (const unit of units) {
			signal?.throwIfAborted();
			const file = `${unit.name}.tar.gz`;
			const partial = join(dir, `${file}.partial`);
			partials.push(partial);
			emit({type: 'start', location: unit.name, total: unit.estimate.bytes});
			let last = 0;
			let seen = 0;
			const progress = (bytes: number, files: number, force = false) => {
				seen = bytes;
				const now = Date.now();
				if (force || now - last >= PROGRESS_INTERVAL_MS) {
					last = now;
					emit({type: 'progress', location: unit.name, bytes, total: unit.estimate.bytes, files, overall: {bytes: doneBytes + bytes, total: overallTotal}});
				}
			};

			let databases: DatabaseRecord[] = [];
			let index = new IndexBuilder();
			const pack = async (hostDir: string | null) => {
				databases = [];
				index = new IndexBuilder();
				return packUnit({
					hostDir,
					container,
					unit,
					partial,
					gzipLevel,
					signal,
					onProgress: progress,
					onEntry: header => index.onEntry(header),
					captureDir: trustsMtimes(unit, facts)
						? async index => {
							const captureDir = databaseWorkDir(workRoot, index);
							await mkdir(captureDir, {recursive: true, mode: 0o700});
							return captureDir;
						}
						: undefined,
					snapshot: async (containerPath, archivePath, capture) => {
						const db = await snapshotForArchive(container, containerPath, archivePath, databaseWorkDir(workRoot, databases.length), capture, signal);
						databases.push(db.record);
						emit({type: 'snapshot', location: unit.name, database: archivePath, attempts: db.record.attempts, tables: db.record.tables});
						return db;
					},
				});
			};

			let result;
			try {
				const dir = readsHere ? hostDirOf(unit, facts) : null;
				result = await packOnHostOrEngine(pack, dir && await sameDirectory(container, unit.containerPath, dir) ? dir : null, async reason => {
					emit({type: 'notice', message: `${unit.name}: ${reason}; reading it through the engine instead`});
					// A new file, not the same one truncated: a write of the first attempt still in flight lands in the old one.
					await rm(partial, {force: true});
					await rm(workRoot, {recursive: true, force: true});
				}, signal);
			} catch (error) {
				throw signal?.aborted ? interrupted(signal) : await explainFailure(error, engine, container, dir, file);
			} finally {
				await rm(workRoot, {recursive: true, force: true});
			}

			progress(seen, result.fileCount, true);
			doneBytes += seen;
			const indexFile = `${unit.name}.index.json.gz`;
			partials.push(join(dir, `${indexFile}.partial`));
			try {
				await writeFile(join(dir, `${indexFile}.partial`), gzipSync(JSON.stringify(index.toJSON())), {mode: 0o600});
				await chmod(join(dir, `${indexFile}.partial`), 0o600);
			} catch (error) {
				throw await explainFailure(error, engine, container, dir, indexFile);
			}

			const volume = unit.source.type === 'volume' && unit.source.name ? facts.volumes[unit.source.name] : undefined;
			const record: ArchiveRecord = {
				file,
				label: unit.label,
				source: unit.source,
				containerPath: unit.containerPath,
				storage: unit.storage,
				priority: unit.priority,
				bytes: result.bytes,
				fileCount: result.fileCount,
				entries: result.entries,
				compressedBytes: result.compressedBytes,
				sha256: result.sha256,
				databases,
				excluded: unit.excluded,
				index: indexFile,
				reader: result.reader,
				volume: volume ? {driver: volume.driver, labels: volume.labels} : null,
			};
			records.push(record);
			emit({type: 'written', location: unit.name, archive: record});
			const job = verifyWritten(partial, {sha256: record.sha256, entries: record.entries}, result.checked, verifyStop.signal);
			job.catch(() => {});
			verifying.push(job);
		}

		// Read back what the disk holds, not what we meant to write.
		for (const [i, record] of records.entries()) {
			const check = await verifying[i]!;
			emit({type: 'verify', location: record.file.replace(/\.tar\.gz$/, ''), ok: check.ok, error: check.error});
			if (!check.ok) {
				throw new DoctorError(`the archive just written does not read back: ${check.error}; the disk at ${dir} may be failing`);
			}
		}

		try {
			await container.inspect();
		} catch (error) {
			throw await explainFailure(error, engine, container, dir, 'the last archive');
		}

		const now = new Date().toISOString();
		const manifest: Manifest = {
			format: 'occ-doctor-backup',
			version: 2,
			createdAt: now,
			container: {...report.container, imageId: facts.imageId},
			profile: report.profile.name,
			stopped,
			gzipLevel,
			archives: records,
			verified: true,
			verifiedAt: now,
		};
		const manifestPartial = join(dir, `${MANIFEST}.partial`);
		partials.push(manifestPartial);
		try {
			await writeFile(manifestPartial, JSON.stringify(manifest, null, '\t') + '\n', {mode: 0o600});
			await chmod(manifestPartial, 0o600);
		} catch (error) {
			throw await explainFailure(error, engine, container, dir, MANIFEST);
		}

		signal?.throwIfAborted();
		// All or nothing: archives first, the manifest last, so a manifest always names complete archives.
		for (const record of records) {
			await rename(join(dir, `${record.file}.partial`), join(dir, record.file));
			await rename(join(dir, `${record.index}.partial`), join(dir, record.index!));
		}

		await rename(manifestPartial, join(dir, MANIFEST));
		partials.length = 0;
		emit({type: 'done', dir, manifest});
		return {dir, manifest};
	} catch (error) {
		verifyStop.abort(error);
		await Promise.allSettled(verifying);
		await Promise.all(partials.map(async p => rm(p, {force: true})));
		await rm(workRoot, {recursive: true, force: true});
		if (createdDir) {
			await rmdir(dir).catch(() => {});
		}

		throw error;
	} finally {
		signal?.removeEventListener('abort', onAbort);
		if (stopped) {
			// Started again whatever happened, Ctrl+C included: --stop promises the container comes back.
			emit({type: 'container', action: 'starting', name: facts.name});
			try {
				await startContainer(engine, facts.id, facts.name);
				clearUndone(`backup-stop-${facts.id}`);
				emit({type: 'container', action: 'started', name: facts.name});
			} catch (error) {
				emit({type: 'notice', message: `could not start ${facts.name} again (${(error as Error).message.split('\n')[0]}): run docker start ${facts.name}`});
			}
		}
	}
}
