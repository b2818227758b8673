import {accessSync, constants, existsSync} from 'node:fs';
import {mkdtemp, rm, stat} from 'node:fs/promises';
import {coveringMount, hostPathOf} from '../core/model.js';
import {normalisePath} from '../core/profiles.js';
import {tmpdir} from 'node:os';
import {join, posix} from 'node:path';
import type Docker from 'dockerode';
import type {ContainerFacts, DatabaseReport, LegacyStorageReport, Location} from '../core/types.js';
import type {Engine} from '../docker/engine.js';
import type {PathStat} from '../docker/archive.js';
import {countLocalDatabase, explainSqliteError, oneLine, sessionIdsOf} from './count.js';
import {DEFAULT_LIMITS, walk, walkRoots, type DiscoveryLimits, type LegacySessions} from './discover.js';
import {archiveSource, hostSource, snapshotDatabase, SnapshotError, withFirstStats, type FileSource, type TempSpace} from './snapshot.js';
import {formatBytes} from '../report/text.js';
import {symlinkBelow} from '../docker/exists.js';
import {mountedHostFiles, shellSource} from './shell-source.js';
import {channelDatabaseName, selectedChannel} from './findings.js';

export {snapshotDatabase} from './snapshot.js';
export {compareCounts, databaseFindings, notCountedFinding} from './findings.js';
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
	/**
	 * PRAGMA quick_check reads every page: true runs it on every database, false on none; unset, on databases up to
	 * INTEGRITY_BUDGET_BYTES (main + -wal), so a default check stays fast on a big one and says it skipped it.
	 */
	integrity?: boolean;
	/** ms per phase, added to: discover, copy, count, integrity. */
	phases?: Record<string, number>;
	/** Stats through the archive API already on their way (check over a link): a snapshot's first stat of a file takes them. */
	firstStats?: Map<string, Promise<PathStat | null>>;
	onEvent?: (event: DatabaseEvent) => void;
}

/** quick_check reads about 0.5 GB/s from a warm cache: 32 MB keeps the default check's share near 60 ms. */
export const INTEGRITY_BUDGET_BYTES = 32 * 1024 * 1024;

/** Add the ms since `started` to `phases[name]`. */
export function addPhase(phases: Record<string, number> | undefined, name: string, started: number): void {
	if (phases) {
		phases[name] = (phases[name] ?? 0) + Math.round(performance.now() - started);
	}
}

function emptyReport(path: string): DatabaseReport {
	return {path, engine: 'sqlite', sizeBytes: null, journalMode: null, walBytes: null, schemaVersion: null, tables: {}, integrity: null, error: null};
}

/** Snapshot one database into `tempRoot`, count the copy, delete the copy. Never throws but for an abort. */
export async function reportDatabase(from: Docker.Container | FileSource, path: string, tempRoot: string, options: Pick<CountOptions, 'signal' | 'integrity' | 'phases'> & {onCopy?: (main: string, readonly: boolean) => void | Promise<void>; space?: TempSpace} = {}): Promise<DatabaseReport> {
	const report = emptyReport(path);
	const dir = await mkdtemp(join(tempRoot, 'db-'));
	try {
		const started = performance.now();
		const snap = await snapshotDatabase(from, path, dir, options.signal, options.space);
		addPhase(options.phases, 'copy', started);
		report.sizeBytes = (await stat(snap.main)).size;
		report.walBytes = snap.wal ? (await stat(snap.wal)).size : null;
		const bytes = report.sizeBytes + (report.walBytes ?? 0);
		const integrity = options.integrity ?? bytes <= INTEGRITY_BUDGET_BYTES;
		// A copied hot journal must be rolled back, which a read-only connection cannot do; the copy is ours to write
		// (a linked file never is: its source refuses a hot journal).
		const readonly = ('linked' in from && from.linked === true) || !existsSync(`${snap.main}-journal`);
		Object.assign(report, countLocalDatabase(snap.main, {integrity, readonly, phases: options.phases}));
		if (report.error === null) {
			await options.onCopy?.(snap.main, readonly);
		}

		if (!integrity && options.integrity === undefined && !report.error) {
			report.integritySkipped = `${formatBytes(bytes)} is over the ${formatBytes(INTEGRITY_BUDGET_BYTES)} a check reads by default: pass --integrity`;
		}
	} catch (error) {
		if (options.signal?.aborted) {
			throw error;
		}

		report.error = error instanceof SnapshotError ? error.message : (error as {statusCode?: number}).statusCode ? `the engine could not copy it: ${oneLine((error as {json?: {message?: string}}).json?.message ?? error)}` : explainSqliteError(error);
	} finally {
		const started = performance.now();
		await rm(dir, {recursive: true, force: true});
		addPhase(options.phases, 'cleanup', started);
	}

	return report;
}

/** How many ids to name in a report; the count says the rest. */
const IDS_SHOWN = 5;

function some(ids: string[]): {count: number; ids: string[]} {
	return {count: ids.length, ids: ids.sort().slice(0, IDS_SHOWN)};
}

/** opencode's migration skips a session whose project/<id>.json is missing (json-migration.ts): it never reaches the database. */
function migrationOrphans(legacy: LegacySessions | undefined): Pick<LegacyStorageReport, 'orphans'> {
	const orphans = [...legacy?.sessions ?? []].filter(([, project]) => !legacy!.projects.has(project)).map(([id]) => id);
	return orphans.length > 0 ? {orphans: some(orphans)} : {};
}

/** The migratable sessions of storage/ that the database does not hold. */
function notMigrated(legacy: LegacySessions, inDatabase: Set<string> | null): Pick<LegacyStorageReport, 'notInDatabase'> {
	if (!inDatabase) {
		return {};
	}

	return {notInDatabase: some([...legacy.sessions].filter(([id, project]) => legacy.projects.has(project) && !inDatabase.has(id)).map(([id]) => id))};
}

/** The legacy storage/ beside the database of the channel this container's opencode migrates into. */
function besideStorage(path: string, wanted: string, legacy: LegacyStorageReport[], sessions: Map<string, LegacySessions>): {report: LegacyStorageReport; sessions: LegacySessions} | null {
	if (posix.basename(path) !== wanted) {
		return null;
	}

	const report = legacy.find(l => l.path === `${posix.dirname(path)}/storage`);
	const found = report ? sessions.get(report.path) : undefined;
	return report && found ? {report, sessions: found} : null;
}

/**
 * Where check reads a database from. A local engine's host paths first: no engine call, so nothing it could create.
 * The archive API only when no missing bind source makes it unsafe (facts.archiveRisk); else null and the reason.
 */
export function readerFor(engine: Engine, facts: ContainerFacts, path: string): {source: FileSource | null; reason: string | null} {
	const onHost = engine.target.local ? hostFiles(facts, path) : null;
	if (onHost) {
		return {source: hostSource(p => onHost.get(p) ?? null), reason: null};
	}

	if (facts.archiveRisk) {
		return {source: null, reason: `not read: ${facts.archiveRisk}`};
	}

	// Over ssh:// through the forwarded socket, a snapshot's copies and re-stat share one round trip.
	const ssh = engine.target.ssh;
	const archive = archiveSource(engine.docker.getContainer(facts.id), ssh ? async requests => ssh.channel(requests) : undefined);
	// Over ssh://, the engine's host itself where it lets the SSH user read the files (shell-source.ts).
	const shell = ssh?.hostShellNow;
	return {source: shell && mountedHostFiles(facts, path) ? shellSource(shell, facts, path, archive) : archive, reason: null};
}

/**
 * The host paths of a database and its -wal/-journal, when we can read them all. The main file must be behind a mount;
 * a sidecar may also be on the container's layer, where a file the container made sits in overlay2's UpperDir.
 */
function hostFiles(facts: ContainerFacts, path: string): Map<string, string> | null {
	const main = hostPathOf(path, facts);
	if (!main || !hostReadable(main) || symlinkOnTheWay(path, facts)) {
		return null;
	}

	const files = new Map([[path, main]]);
	for (const sidecar of [`${path}-wal`, `${path}-journal`]) {
		const mounted = hostPathOf(sidecar, facts);
		if (mounted && hostReadable(mounted)) {
			files.set(sidecar, mounted);
		} else if (!mounted && coveringMount(sidecar, facts) === null && facts.layerDir && parentReadable(`${facts.layerDir}/.`)) {
			// Absent from the layer (its directory too) means the container never made it.
			files.set(sidecar, facts.layerDir + sidecar);
		} else {
			return null;
		}
	}

	return files;
}

/**
 * Is a part of the path below its mount a symlink on the host (its directories, the file, its -wal or -journal)?
 * Then the database is read through the archive API, where that is safe, as over ssh:// (exists.ts, symlinkBelow).
 */
function symlinkOnTheWay(path: string, facts: ContainerFacts): boolean {
	return [path, `${path}-wal`, `${path}-journal`].some(file => {
		const mount = coveringMount(file, facts);
		if (!mount?.source || (mount.type !== 'bind' && mount.type !== 'volume')) {
			return false;
		}

		const destination = normalisePath(mount.destination);
		return symlinkBelow(mount.source, file.slice(destination === '/' ? 0 : destination.length));
	});
}

function hostReadable(path: string): boolean {
	try {
		accessSync(path, constants.R_OK);
		return true;
	} catch (error) {
		// A missing file is readable in the sense that matters: the host says it is not there.
		return (error as NodeJS.ErrnoException).code === 'ENOENT' && parentReadable(path);
	}
}

function parentReadable(path: string): boolean {
	try {
		accessSync(posix.dirname(path), constants.R_OK | constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

/** The profile's database paths that exist (or that the user named), plus every file the walk found with a SQLite header. */
async function databasePaths(engine: Engine, facts: ContainerFacts, locations: Location[], found: string[], extra: string[], skipped: string[]): Promise<string[]> {
	const paths = new Set(found);
	for (const location of locations.filter(l => l.kind === 'sqlite')) {
		if (location.storage === 'tmpfs') {
			skipped.push(`${location.path} (tmpfs: the archive API cannot reach it)`);
			continue;
		}

		const {source, reason} = readerFor(engine, facts, location.path);
		if (!source) {
			skipped.push(`${location.path} (${reason})`);
			continue;
		}

		// Whether it exists was asked moments ago (facts.pathExists): over a slow link, one request fewer.
		const known = facts.pathExists[location.path];
		if (typeof known === 'boolean') {
			if (known) {
				paths.add(location.path);
			}

			continue;
		}

		try {
			const st = await source.stat(location.path);
			if (st?.isFile) {
				paths.add(location.path);
			} else if (st) {
				// A directory where the database should be: the engine made one for a missing bind source. Say so.
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

/** Databases copied and counted at once: over a link their steps overlap; the engine and this process do the rest. */
export const COPIES_AT_ONCE = 3;

/** Run at most `n` of the tasks given to it at once, the others in the order given. */
function atMost(n: number): <T>(task: () => Promise<T>) => Promise<T> {
	let running = 0;
	const waiting: Array<() => void> = [];
	return async task => {
		if (running >= n) {
			await new Promise<void>(resolve => waiting.push(resolve));
		}

		running++;
		try {
			return await task();
		} finally {
			running--;
			waiting.shift()?.();
		}
	};
}

/** The databases known before any walk: the profile's that exist (facts.pathExists) and can be read, and --db paths. */
function knownDatabases(engine: Engine, facts: ContainerFacts, locations: Location[], extra: string[]): string[] {
	const profile = locations.filter(l => l.kind === 'sqlite' && l.storage !== 'tmpfs' && facts.pathExists[l.path] === true && readerFor(engine, facts, l.path).source);
	return [...new Set([...profile.map(l => l.path), ...extra.map(p => posix.normalize(p))])];
}

/**
 * Find and count every SQLite database of a container (see docs/databases.md), and opencode's legacy JSON storage.
 * Reads only: each database is copied (from the host path when the engine is local, else through the archive API)
 * into a private temp dir and counted there. Nothing goes through the engine while a missing bind source makes it unsafe.
 */
export async function countDatabases(engine: Engine, facts: ContainerFacts, locations: Location[], options: CountOptions = {}): Promise<{databases: DatabaseReport[]; legacyStorage: LegacyStorageReport[]; skipped: string[]}> {
	const started = performance.now();
	const container = engine.docker.getContainer(facts.id);
	// Over ssh:// the engine's host is walked through the login's shell, as a local engine's is with readdir.
	const shell = facts.archiveRisk ? undefined : engine.target.ssh?.hostShellNow;
	const {roots, skipped} = walkRoots(locations, engine.target.local || shell !== undefined, engine.target.local);
	// 0700: the copies hold the user's sessions and credentials.
	const tempRoot = await mkdtemp(join(tmpdir(), 'occ-doctor-db-'));
	const counting = new Map<string, Promise<DatabaseReport>>();
	try {
		const walked = walk(container, roots, options.limits ?? DEFAULT_LIMITS, options.signal, facts.archiveRisk, engine.target.local ? undefined : shell).then(found => ({
			found,
			legacyStorage: [...found.storage].map(([path, counts]): LegacyStorageReport => ({path, counts, ...migrationOrphans(found.sessions.get(path))})),
		}));
		walked.catch(() => {}); // Awaited below; the counts started meanwhile wait for it too.
		const wanted = channelDatabaseName(selectedChannel(facts.env));
		const slot = atMost(COPIES_AT_ONCE);
		const space: TempSpace = {promised: 0};
		const count = (path: string): Promise<DatabaseReport> => {
			const {source: reader, reason} = readerFor(engine, facts, path);
			const source = reader && options.firstStats ? withFirstStats(reader, options.firstStats) : reader;
			// The channel's database tells which sessions of the storage/ beside it were migrated: known once the walk is.
			const onCopy = async (main: string, readonly: boolean) => {
				const {found, legacyStorage} = await walked;
				const legacy = besideStorage(path, wanted, legacyStorage, found.sessions);
				if (legacy) {
					Object.assign(legacy.report, notMigrated(legacy.sessions, sessionIdsOf(main, readonly)));
				}
			};

			const report = source ? slot(async () => reportDatabase(source, path, tempRoot, {...options, onCopy, space})) : Promise.resolve({...emptyReport(path), error: reason});
			counting.set(path, report);
			return report;
		};

		// Databases known before the walk need no walk to be found: their copies start with it (over a link the stat,
		// the -wal, the main file and the re-stat are a round trip each, in that order).
		for (const path of knownDatabases(engine, facts, locations, options.extra ?? [])) {
			count(path).catch(() => {});
		}

		const {found, legacyStorage} = await walked;
		skipped.push(...found.skipped);
		const paths = await databasePaths(engine, facts, locations, found.sqlite, options.extra ?? [], skipped);
		addPhase(options.phases, 'discover', started);
		options.onEvent?.({type: 'discovered', databases: paths, skipped});
		// The others start now, COPIES_AT_ONCE at a time; the reports are taken in the walk's order.
		for (const path of paths.filter(p => !counting.has(p))) {
			count(path).catch(() => {});
		}

		const databases: DatabaseReport[] = [];
		for (const [index, path] of paths.entries()) {
			options.onEvent?.({type: 'counting', path, index, total: paths.length});
			const report = await counting.get(path)!;
			databases.push(report);
			options.onEvent?.({type: 'counted', report});
		}

		return {databases, legacyStorage, skipped};
	} finally {
		// A copy started early is still writing into tempRoot when the walk failed (an abort): let it end first.
		await Promise.allSettled(counting.values());
		await rm(tempRoot, {recursive: true, force: true});
	}
}
