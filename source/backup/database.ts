// A live SQLite database goes into the archive as one self-contained file: a consistent main + wal pair, checkpointed
// into the main file of our private copy, then counted. The pair is the one the backup's own stream delivered when
// that is proven unchanged while it streamed (no second read), else a snapshot copied by snapshotDatabase (source/sqlite).
import {mkdir, rename, rm, stat} from 'node:fs/promises';
import {join, posix} from 'node:path';
import Database from 'better-sqlite3';
import type Docker from 'dockerode';
import {statInContainer, type PathStat} from '../docker/archive.js';
import {countLocalDatabase, explainSqliteError} from '../sqlite/count.js';
import {snapshotDatabase} from '../sqlite/snapshot.js';
import type {SnapshotFile, StreamCapture} from './pack.js';
import type {DatabaseRecord} from './types.js';

export interface ArchivedDatabase extends SnapshotFile {
	record: DatabaseRecord;
}

/**
 * How long before the stream began a captured file must have been written last. The engine's Date header is whole
 * seconds (≤ the moment it began sending), it opens the files after that (the directory's own entry comes first),
 * and a write stamps mtime at most one timestamp granule early (a few ms on Linux, 2 s on FAT): 3 s covers all three.
 */
export const QUIET_MS = 3000;
const COMPANIONS = ['', '-wal', '-journal'];

/** Milliseconds since the epoch of the engine's RFC 3339 mtime (nanoseconds rounded up to the next ms); NaN if unreadable. */
export function mtimeMs(text: string): number {
	const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
	if (!match) {
		return Number.NaN;
	}

	const whole = Date.parse(`${match[1]}${match[3]}`);
	const fraction = match[2] ? Number(`0.${match[2]}`) * 1000 : 0;
	return whole + Math.ceil(fraction);
}

/**
 * Why a database captured from the stream may not be a consistent state, or null when it provably is: every file
 * (main, -wal, -journal) is present after the stream exactly when it was captured, with the captured size and its
 * tar header's mtime (whole seconds, rounded or cut), and was last written at least QUIET_MS before the stream
 * began. Then no write touched any of them while they were read, so the pair is the state of one instant, whatever
 * order the engine read them in.
 * `after` is keyed by suffix: the engine's stat of each file once the stream closed (null: absent).
 */
export function captureProblem(capture: StreamCapture, after: Record<string, PathStat | null>): string | null {
	if (!capture.streamStart) {
		return 'the engine sent no Date header';
	}

	const limit = capture.streamStart.getTime() - QUIET_MS;
	for (const suffix of COMPANIONS) {
		const captured = capture.files.find(f => f.suffix === suffix);
		const now = after[suffix] ?? null;
		if (!captured && !now) {
			continue;
		}

		if (!captured || !now) {
			return `${suffix || 'main'} ${captured ? 'vanished' : 'appeared'} while streaming`;
		}

		const mtime = mtimeMs(now.mtime);
		if (!now.isFile || now.size !== captured.size || !Number.isFinite(mtime) || (captured.mtime && Math.abs(mtime - captured.mtime.getTime()) >= 1000)) {
			return `${suffix || 'main'} changed while streaming`;
		}

		if (mtime >= limit) {
			return `${suffix || 'main'} was written within ${QUIET_MS / 1000} s of the stream`;
		}
	}

	return null;
}

/** Fold the copy's -wal into its main file. Only ever run on our private copy, never on the user's files. */
function checkpointCopy(main: string): void {
	const db = new Database(main, {fileMustExist: true});
	try {
		db.pragma('wal_checkpoint(TRUNCATE)');
	} finally {
		// The last connection closing removes -wal and -shm of a WAL database.
		db.close();
	}
}

/** The captured files, when the engine's stat after the stream proves them a consistent state; else null (removed). */
async function provenCapture(container: Docker.Container, containerPath: string, capture: StreamCapture): Promise<{main: string; wal: string | null} | null> {
	const stats = await Promise.all(COMPANIONS.map(async suffix => statInContainer(container, `${containerPath}${suffix}`)));
	const problem = captureProblem(capture, Object.fromEntries(COMPANIONS.map((suffix, i) => [suffix, stats[i]!])));
	if (problem !== null) {
		await rm(capture.dir, {recursive: true, force: true});
		return null;
	}

	// SQLite finds the -wal (and a hot -journal) beside the main file by name: give them the database's own name.
	const name = posix.basename(containerPath);
	const main = join(capture.dir, name);
	for (const file of capture.files) {
		await rename(file.path, `${main}${file.suffix}`);
	}

	return {main, wal: capture.files.some(f => f.suffix === '-wal') ? `${main}-wal` : null};
}

export async function snapshotForArchive(container: Docker.Container, containerPath: string, archivePath: string, workDir: string, capture: StreamCapture | null, signal?: AbortSignal): Promise<ArchivedDatabase> {
	let snap: {main: string; wal: string | null; attempts: number};
	let method: DatabaseRecord['method'] = 'snapshot';
	const proven = capture ? await provenCapture(container, containerPath, capture) : null;
	if (proven) {
		snap = {...proven, attempts: 1};
		method = 'stream';
	} else {
		await mkdir(workDir, {recursive: true, mode: 0o700});
		snap = await snapshotDatabase(container, containerPath, workDir, signal);
	}

	const record: DatabaseRecord = {path: archivePath, tables: null, method, attempts: snap.attempts, error: null};
	const sized = async (suffix: string, path: string) => ({suffix, path, size: (await stat(path)).size});
	try {
		checkpointCopy(snap.main);
	} catch (error) {
		// Not readable as SQLite after all (encrypted, corrupt): archive the consistent copies exactly as copied.
		record.error = explainSqliteError(error);
		const files = [await sized('', snap.main)];
		if (snap.wal) {
			files.push(await sized('-wal', snap.wal));
		}

		return {files, record};
	}

	const counted = countLocalDatabase(snap.main, {integrity: false});
	record.tables = counted.error && Object.keys(counted.tables).length === 0 ? null : counted.tables;
	record.error = counted.error;
	return {files: [await sized('', snap.main)], record};
}

export function databaseWorkDir(root: string, index: number): string {
	return join(root, `db-${index}`);
}
