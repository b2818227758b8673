import {existsSync} from 'node:fs';
import {mkdtemp, rm, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, posix} from 'node:path';
import type Docker from 'dockerode';
import type {ContainerFacts, DatabaseReport, LegacyStorageReport, Location} from '../core/types.js';
import {statInContainer} from '../docker/archive.js';
import type {Engine} from '../docker/engine.js';
import {countLocalDatabase, explainSqliteError, oneLine} from './count.js';
import {DEFAULT_LIMITS, walk, walkRoots, type DiscoveryLimits} from './discover.js';
import {snapshotDatabase, SnapshotError} from './snapshot.js';

export {snapshotDatabase} from './snapshot.js';
export {compareCounts, databaseFindings} from './findings.js';
export {countLocalDatabase, totalRows} from './count.js';

export type DatabaseEvent =
	| {type: 'discovered'; databases: string[]; skipped: string[]}
	| {type: 'counting'; path: string; index: number; total: number}
	| {type: 'counted'; report: DatabaseReport};

export interface CountOptions {
	/** Container paths added by hand (--db PATH). */
	extra?: string[];
	signal?: AbortSignal;
	limits?: DiscoveryLimits;
	/** Skip PRAGMA quick_check (it reads every page). */
	integrity?: boolean;
	onEvent?: (event: DatabaseEvent) => void;
}

function emptyReport(path: string): DatabaseReport {
	return {path, engine: 'sqlite', sizeBytes: null, journalMode: null, walBytes: null, schemaVersion: null, tables: {}, integrity: null, error: null};
}

/** Snapshot one database into `tempRoot`, count the copy, delete the copy. Never throws but for an abort. */
export async function reportDatabase(container: Docker.Container, path: string, tempRoot: string, options: {signal?: AbortSignal; integrity?: boolean} = {}): Promise<DatabaseReport> {
	const report = emptyReport(path);
	const dir = await mkdtemp(join(tempRoot, 'db-'));
	try {
		const snap = await snapshotDatabase(container, path, dir, options.signal);
		report.sizeBytes = (await stat(snap.main)).size;
		report.walBytes = snap.wal ? (await stat(snap.wal)).size : null;
		// A copied hot journal must be rolled back, which a read-only connection cannot do; the copy is ours to write.
		const counted = countLocalDatabase(snap.main, {integrity: options.integrity, readonly: !existsSync(`${snap.main}-journal`)});
		Object.assign(report, counted);
	} catch (error) {
		if (options.signal?.aborted) {
			throw error;
		}

		report.error = error instanceof SnapshotError ? error.message : (error as {statusCode?: number}).statusCode ? `the engine could not copy it: ${oneLine((error as {json?: {message?: string}}).json?.message ?? error)}` : explainSqliteError(error);
	} finally {
		await rm(dir, {recursive: true, force: true});
	}

	return report;
}

/** The profile's database paths that exist (or that the user named), plus every file the walk found with a SQLite header. */
async function databasePaths(container: Docker.Container, locations: Location[], found: string[], extra: string[], skipped: string[]): Promise<string[]> {
	const paths = new Set(found);
	for (const location of locations.filter(l => l.kind === 'sqlite')) {
		if (location.storage === 'tmpfs') {
			skipped.push(`${location.path} (tmpfs: the archive API cannot reach it)`);
			continue;
		}

		try {
			if ((await statInContainer(container, location.path))?.isFile) {
				paths.add(location.path);
			}
		} catch (error) {
			skipped.push(`${location.path} (${oneLine(error)})`);
		}
	}

	for (const path of extra) {
		paths.add(posix.normalize(path));
	}

	return [...paths].sort();
}

/**
 * Find and count every SQLite database of a container (see docs/databases.md), and opencode's legacy JSON storage.
 * Reads only: each database is copied through the archive API into a private temp dir and counted there.
 */
export async function countDatabases(engine: Engine, facts: ContainerFacts, locations: Location[], options: CountOptions = {}): Promise<{databases: DatabaseReport[]; legacyStorage: LegacyStorageReport[]; skipped: string[]}> {
	const container = engine.docker.getContainer(facts.id);
	const {roots, skipped} = walkRoots(locations, engine.target.local);
	const found = await walk(container, roots, options.limits ?? DEFAULT_LIMITS, options.signal);
	skipped.push(...found.skipped);
	const paths = await databasePaths(container, locations, found.sqlite, options.extra ?? [], skipped);
	options.onEvent?.({type: 'discovered', databases: paths, skipped});
	const legacyStorage = [...found.storage].map(([path, counts]) => ({path, counts}));
	if (paths.length === 0) {
		return {databases: [], legacyStorage, skipped};
	}

	// 0700: the copies hold the user's sessions and credentials.
	const tempRoot = await mkdtemp(join(tmpdir(), 'occ-doctor-db-'));
	const databases: DatabaseReport[] = [];
	try {
		for (const [index, path] of paths.entries()) {
			options.onEvent?.({type: 'counting', path, index, total: paths.length});
			const report = await reportDatabase(container, path, tempRoot, options);
			databases.push(report);
			options.onEvent?.({type: 'counted', report});
		}
	} finally {
		await rm(tempRoot, {recursive: true, force: true});
	}

	return {databases, legacyStorage, skipped};
}
