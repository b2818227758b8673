import {chmod, copyFile, link, rename, statfs, rm, stat as statHost} from 'node:fs/promises';
import {basename, join} from 'node:path';
import type Docker from 'dockerode';
import type {Duplex} from 'node:stream';
import {copyFileFromContainer, copyThenStatInContainer, statInContainer, type PathStat} from '../docker/archive.js';
import {PipelineError} from '../docker/pipeline.js';
import {formatBytes} from '../report/text.js';

// A consistent copy of a live SQLite database through the archive API, without touching the live files.
// Order matters: -wal first, then the main file. A checkpoint that runs after the -wal copy only moves pages we
// already hold into the main file; the re-stat below catches every other write. See docs/databases.md.

export const SNAPSHOT_ATTEMPTS = 5;
/** Room kept free in the temp dir beyond the copies (SQLite's -shm on open, the filesystem's own slack). */
export const TEMP_HEADROOM = 16 * 1024 * 1024;

export class SnapshotError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SnapshotError';
	}
}

/** Where a database's files are read from: the container through the archive API, or the host paths behind its mounts. */
export interface FileSource {
	stat(path: string): Promise<{size: number; mtime: string; isFile: boolean} | null>;
	copy(path: string, destination: string, signal?: AbortSignal): Promise<number>;
	/** The "copies" are hard links to the very files: they take no room, and must only be opened read-only. */
	linked?: boolean;
	/**
	 * The copies in order, then the stats, in one round trip; null when this source cannot now (the caller copies
	 * one by one and stats after). Throws as `copy` does.
	 */
	copyThenStat?(copies: Array<{path: string; destination: string}>, stats: string[], signal?: AbortSignal): Promise<Array<{size: number; mtime: string; isFile: boolean} | null> | null>;
}

/**
 * The archive API. With `connection` (a raw connection to the engine for that many requests, or null when there is
 * none: ssh:// through its forwarded socket), a snapshot's copies and its re-stat go out together (copyThenStatInContainer).
 */
export function archiveSource(container: Docker.Container, connection?: (requests: number) => Promise<Duplex | null>): FileSource {
	// Answers the pipeline cannot read (an old engine, a proxy between) end it for this source: one request at a time.
	let pipelining = connection !== undefined;
	return {
		stat: async path => statInContainer(container, path),
		copy: async (path, destination, signal) => copyFileFromContainer(container, path, destination, signal),
		...(connection ? {
			async copyThenStat(copies: Array<{path: string; destination: string}>, stats: string[], signal?: AbortSignal) {
				const socket = pipelining ? await connection(copies.length + stats.length) : null;
				if (!socket) {
					return null;
				}

				try {
					return await copyThenStatInContainer(socket, container.id, copies, stats, signal);
				} catch (error) {
					if (!(error instanceof PipelineError) || signal?.aborted) {
						throw error;
					}

					pipelining = false;
					return null;
				}
			},
		} : {}),
	};
}

/**
 * The host files behind the container's mounts (a local engine): no engine call, so nothing the engine could create.
 * `hostPath` maps a container path to its host path; a path it cannot map is an error, never a guess.
 * `link`: hard links instead of copies, for files nothing writes (a restored target, its container stopped) read
 * on the same file system: no bytes copied; the caller must open them read-only (no hot journal to roll back).
 */
export function hostSource(hostPath: (containerPath: string) => string | null, options: {link?: boolean} = {}): FileSource {
	const resolve = (path: string) => {
		const host = hostPath(path);
		if (!host) {
			throw new SnapshotError(`${path} has no host path to read`);
		}

		return host;
	};

	return {
		linked: options.link === true,
		async stat(path) {
			try {
				const st = await statHost(resolve(path));
				// A link changes the file's ctime (its link count), so linked files are fingerprinted by mtime alone.
				return {size: st.size, mtime: options.link ? `${st.mtimeMs}` : `${st.mtimeMs}/${st.ctimeMs}`, isFile: st.isFile()};
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
					return null;
				}

				throw error;
			}
		},
		async copy(path, destination, signal) {
			const partial = `${destination}.partial`;
			try {
				signal?.throwIfAborted();
				if (options.link) {
					await link(resolve(path), destination);
					return (await statHost(destination)).size;
				}

				// The kernel copies it (copy_file_range, a reflink where the filesystem can): it only reads the source.
				await copyFile(resolve(path), partial);
				await chmod(partial, 0o600);
				await rename(partial, destination);
				return (await statHost(destination)).size;
			} catch (error) {
				await rm(partial, {force: true});
				if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
					// The archive source says 404 for a file that vanished; the retry loop below treats both alike.
					throw Object.assign(new Error(`${path} vanished during the copy`), {statusCode: 404});
				}

				throw error;
			}
		},
	};
}

/**
 * A source whose first stat of each file is one already asked (with the paths' existence, over a link): each is
 * taken once, so it can only be a snapshot's first stat, never the re-stat after the copy, which asks again. An
 * earlier first stat only widens the window the re-stat proves unchanged.
 */
export function withFirstStats(source: FileSource, first: Map<string, Promise<{size: number; mtime: string; isFile: boolean} | null>>): FileSource {
	return {
		async stat(path) {
			const asked = first.get(path);
			first.delete(path);
			return asked ?? source.stat(path);
		},
		copy: source.copy,
		linked: source.linked,
		...(source.copyThenStat ? {copyThenStat: source.copyThenStat} : {}),
	};
}

type Fingerprint = string;
function fingerprint(stat: {size: number; mtime: string} | null): Fingerprint {
	return stat ? `${stat.size}@${stat.mtime}` : 'absent';
}

async function statFile(source: FileSource, path: string): Promise<{size: number; mtime: string; isFile: boolean} | null> {
	return regularFile(await source.stat(path), path);
}

function regularFile<T extends {isFile: boolean}>(stat: T | null, path: string): T | null {
	if (stat && !stat.isFile) {
		throw new SnapshotError(`${path} is not a regular file but a directory: the engine makes one when a bind source is missing, and SQLite cannot open the database then`);
	}

	return stat;
}

/** Bytes free for us in `dir`. */
export async function freeBytes(dir: string): Promise<number> {
	const s = await statfs(dir);
	return s.bavail * s.bsize;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener('abort', () => {
			clearTimeout(timer);
			reject(signal.reason);
		}, {once: true});
	});
}

/** Bytes promised to copies still in flight into the same temp filesystem (databases copied at once): not free. */
export interface TempSpace {
	promised: number;
}

/**
 * Copy a live SQLite database (main file, and its -wal or hot -journal when present) from the container into
 * `destDir` so that the copies form one committed state. Retries while a writer changes either file during the copy.
 * Returns local paths: open `main` and SQLite picks up `wal` beside it. Throws a one-line SnapshotError when the
 * database is missing, bigger than the free space in `destDir` (less `space.promised`: copies in flight beside it),
 * or kept changing on every attempt.
 */
export async function snapshotDatabase(from: Docker.Container | FileSource, dbPath: string, destDir: string, signal?: AbortSignal, space: TempSpace = {promised: 0}): Promise<{main: string; wal: string | null; attempts: number}> {
	const source = 'getArchive' in from ? archiveSource(from) : from;
	const name = basename(dbPath);
	const main = join(destDir, name);
	const walLocal = `${main}-wal`;
	const journalLocal = `${main}-journal`;
	const removeCopies = async () => {
		await Promise.all([main, walLocal, journalLocal, `${main}-shm`].map(async f => rm(f, {force: true})));
	};

	// Stat before and after in this order: main, -wal, -journal.
	const files = [dbPath, `${dbPath}-wal`, `${dbPath}-journal`];
	for (let attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt++) {
		signal?.throwIfAborted();
		const before = await Promise.all(files.map(async file => statFile(source, file)));
		const [mainStat, walStat, journalStat] = before;
		if (!mainStat) {
			throw new SnapshotError(`${dbPath} does not exist in the container`);
		}

		if (source.linked && journalStat) {
			// SQLite rolls a hot journal back into the main file: only a real copy may be written.
			throw new SnapshotError(`${dbPath} has a hot journal: it needs a copy, not a link`);
		}

		const needed = mainStat.size + (walStat?.size ?? 0) + (journalStat?.size ?? 0);
		const free = await freeBytes(destDir) - space.promised;
		if (!source.linked && needed + TEMP_HEADROOM > free) {
			throw new SnapshotError(`${dbPath} needs ${formatBytes(needed)} in ${destDir} but only ${formatBytes(Math.max(free, 0))} is free${space.promised > 0 ? ' beside the copies in flight' : ''}: set TMPDIR to a bigger disk`);
		}

		// Promised until the copy is done: then the copy itself is what the filesystem no longer has free. A link takes none.
		const promised = source.linked ? 0 : needed;
		space.promised += promised;
		await removeCopies();
		// A hot journal (a rollback-mode writer mid-commit, or one that crashed) is needed to roll the copy back.
		const copies = [
			...(journalStat ? [{path: `${dbPath}-journal`, destination: journalLocal}] : []),
			...(walStat ? [{path: `${dbPath}-wal`, destination: walLocal}] : []),
			{path: dbPath, destination: main},
		];
		let after: Array<{size: number; mtime: string; isFile: boolean} | null> | null = null;
		try {
			after = await source.copyThenStat?.(copies, files, signal) ?? null;
			if (!after) {
				for (const copy of copies) {
					// eslint-disable-next-line no-await-in-loop
					await source.copy(copy.path, copy.destination, signal);
				}
			}
		} catch (error) {
			await removeCopies();
			// A -wal or -journal that vanished mid-copy means a checkpoint or commit finished: try again.
			if ((error as {statusCode?: number}).statusCode === 404 && attempt < SNAPSHOT_ATTEMPTS) {
				continue;
			}

			throw error;
		} finally {
			space.promised -= promised;
		}

		after = after ? after.map((stat, i) => regularFile(stat, files[i]!)) : await Promise.all(files.map(async file => statFile(source, file)));
		if (before.every((s, i) => fingerprint(s) === fingerprint(after![i]!))) {
			return {main, wal: walStat ? walLocal : null, attempts: attempt};
		}

		await removeCopies();
		await delay(50 * attempt, signal);
	}

	throw new SnapshotError(`${dbPath} changed during each of ${SNAPSHOT_ATTEMPTS} copies (a busy writer): try again when the agent is idle, or use backup --stop`);
}
