// A live SQLite database goes into the archive as one self-contained file: a consistent main + wal pair copied by
// snapshotDatabase (source/sqlite), checkpointed into the main file of our private copy, then counted.
import {mkdir, stat} from 'node:fs/promises';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import type Docker from 'dockerode';
import {countLocalDatabase, explainSqliteError} from '../sqlite/count.js';
import {snapshotDatabase} from '../sqlite/snapshot.js';
import type {SnapshotFile} from './pack.js';
import type {DatabaseRecord} from './types.js';

export interface ArchivedDatabase extends SnapshotFile {
	record: DatabaseRecord;
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

export async function snapshotForArchive(container: Docker.Container, containerPath: string, archivePath: string, workDir: string, signal?: AbortSignal): Promise<ArchivedDatabase> {
	await mkdir(workDir, {recursive: true, mode: 0o700});
	const snap = await snapshotDatabase(container, containerPath, workDir, signal);
	const record: DatabaseRecord = {path: archivePath, tables: null, method: 'snapshot', attempts: snap.attempts, error: null};
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
