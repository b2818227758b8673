// Re-pack the engine's archive of one mount into `<name>.tar.gz.partial`: entries renamed to `./…` (as `tar -C /data .`
// writes them), nested mounts left out, live SQLite files replaced by consistent snapshots, gzip and sha256 on the way.
import {createHash} from 'node:crypto';
import {createReadStream, createWriteStream} from 'node:fs';
import {chmod} from 'node:fs/promises';
import {join, posix} from 'node:path';
import {Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {getArchiveStream} from '../docker/archive.js';
import {ParallelGzip} from './gzip.js';
import type {BackupUnit} from './types.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** The smallest SQLite database with content is one 512-byte page. */
const SQLITE_MIN_BYTES = 512;

export interface SnapshotFile {
	/** Local files to put in place of the live ones, keyed by the suffix ('' for the main file, '-wal' …). */
	files: Array<{suffix: string; path: string; size: number}>;
}

/** One database file as the backup's own stream delivered it, teed into the private work directory. */
export interface CapturedFile {
	/** '' for the main file, '-wal', '-journal'. */
	suffix: string;
	path: string;
	/** Bytes written to `path` (the tar header's size). */
	size: number;
	/** The tar header's mtime (whole seconds). */
	mtime: Date | undefined;
}

/** A database's files captured from the stream, to be proven unchanged (database.ts) or thrown away for a snapshot. */
export interface StreamCapture {
	dir: string;
	files: CapturedFile[];
	/** The engine's clock when it began sending the stream (its Date header, whole seconds); null when not sent. */
	streamStart: Date | null;
}

export interface PackInput {
	container: Docker.Container;
	unit: BackupUnit;
	/** The .partial file to write (created 0600). */
	partial: string;
	gzipLevel: number;
	signal?: AbortSignal;
	onProgress: (bytes: number, files: number) => void;
	/**
	 * A new private (0700) directory for the database numbered `index`, to tee its live files into while they stream.
	 * Without it, databases are dropped from the stream and only snapshotted.
	 */
	captureDir?: (index: number) => Promise<string>;
	/**
	 * Called after the engine's stream has closed (it holds the container's lock while open): make one database's
	 * consistent copy, from the capture when it can be proven unchanged, else by snapshot.
	 */
	snapshot: (containerPath: string, archivePath: string, capture: StreamCapture | null) => Promise<SnapshotFile>;
	/** Sees every entry as it is written (its header, then its content's chunks): how backup builds the file index. */
	onEntry?: (header: tar.Header) => {data: (chunk: Buffer) => void; end: () => void} | undefined;
}

export interface PackResult {
	bytes: number;
	fileCount: number;
	entries: number;
	compressedBytes: number;
	sha256: string;
	/** Archive paths of the SQLite databases replaced by snapshots. */
	databases: string[];
}

/** The archive path of an engine entry: `base/x/y` → `./x/y`; a single-file mount keeps its base name. */
export function rewriteName(name: string, base: string, isFile: boolean): string {
	const clean = name.replace(/\/+$/, '').replace(/^\.\//, '');
	if (isFile) {
		return `./${posix.basename(clean)}`;
	}

	if (clean === base || clean === '') {
		return '.';
	}

	return clean.startsWith(`${base}/`) ? `./${clean.slice(base.length + 1)}` : `./${clean}`;
}

/** True when an archive path lies strictly inside one of the excluded (relative) directories. */
/**
 * Is this entry another mount's (archived on its own)? Below a nested mount point, always. The mount point itself
 * stays as an empty directory, but a bind-mounted file shows the bind's content there: that entry is left out too.
 */
export function isExcluded(path: string, excluded: string[], isDirectory = true): boolean {
	return excluded.some(e => path.startsWith(`${e}/`) || (!isDirectory && path === e));
}

function paxWithout(pax: Record<string, string> | null | undefined): Record<string, string> | undefined {
	if (!pax) {
		return undefined;
	}

	const rest = Object.fromEntries(Object.entries(pax).filter(([k]) => !['path', 'linkpath', 'size'].includes(k)));
	return Object.keys(rest).length > 0 ? rest : undefined;
}

async function writeChunk(sink: NodeJS.WritableStream, chunk: Buffer, stop: AbortSignal): Promise<void> {
	if (!sink.write(chunk)) {
		await new Promise<void>((resolve, reject) => {
			const onAbort = () => reject(stop.reason);
			sink.once('drain', () => {
				stop.removeEventListener('abort', onAbort);
				resolve();
			});
			stop.addEventListener('abort', onAbort, {once: true});
		});
	}
}

/** Write buffers: the archive file and the database captures are written in large pieces. */
const WRITE_CHUNK = 1024 * 1024;

async function endSink(sink: NodeJS.WritableStream & {once: any}, stop: AbortSignal): Promise<void> {
	// streamx's end() takes no callback: wait for the entry to be flushed into the pack.
	await new Promise<void>((resolve, reject) => {
		const onAbort = () => reject(stop.reason);
		const settle = (error?: Error) => {
			stop.removeEventListener('abort', onAbort);
			if (error) {
				reject(error);
			} else {
				resolve();
			}
		};

		stop.addEventListener('abort', onAbort, {once: true});
		sink.once('finish', () => settle());
		sink.once('close', () => settle());
		sink.once('error', (error: Error) => settle(error));
		sink.end();
	});
}

export async function packUnit(input: PackInput): Promise<PackResult> {
	const {container, unit, partial, gzipLevel, onProgress} = input;
	// One controller tears every stream down when any part fails: the engine, the disk or the user.
	const stop = new AbortController();
	const onUserAbort = () => stop.abort(input.signal!.reason);
	input.signal?.addEventListener('abort', onUserAbort, {once: true});
	input.signal?.throwIfAborted();

	const file = createWriteStream(partial, {mode: 0o600, flush: true, highWaterMark: WRITE_CHUNK});
	try {
		await new Promise<void>((resolve, reject) => {
			file.once('open', () => resolve());
			file.once('error', reject);
		});
		// Explicit: a create mode is filtered by the umask.
		await chmod(partial, 0o600);
		const hash = createHash('sha256');
		let compressedBytes = 0;
		const tap = new Transform({
			transform(chunk: Buffer, _encoding, done) {
				hash.update(chunk);
				compressedBytes += chunk.length;
				done(null, chunk);
			},
		});
		const pack = tar.pack();
		// pigz-style: blocks compressed on all cores, one ordinary gzip member out (gzip.ts).
		const gzip = new ParallelGzip({level: gzipLevel});
		// Failures surface through the pipelines and `stop`; a late error from a torn-down stream must not crash the process.
		for (const stream of [file, tap, gzip, pack as unknown as NodeJS.EventEmitter]) {
			stream.on('error', () => {});
		}

		const writing = pipeline(pack as unknown as NodeJS.ReadableStream, gzip, tap, file, {signal: stop.signal});
		writing.catch(error => stop.abort(error));

		const base = posix.basename(unit.containerPath);
		const excluded = unit.excluded.map(e => `./${posix.relative(unit.containerPath, e)}`);
		const skip = new Set<string>();
		const found: Array<{path: string; header: tar.Header; capture: StreamCapture | null}> = [];
		/** Archive paths of a captured database's -wal and -journal, to their capture. */
		const companions = new Map<string, StreamCapture>();
		let bytes = 0;
		let files = 0;
		let entries = 0;
		let sourceBytes = 0;

		const source = await getArchiveStream(container, unit.containerPath);
		const date = (source as unknown as {headers?: Record<string, string | undefined>}).headers?.date;
		const streamStart = date && Number.isFinite(Date.parse(date)) ? new Date(Date.parse(date)) : null;
		const extract = tar.extract();
		source.on('error', () => {});
		extract.on('error', () => {});
		const reading = pipeline(source, extract, {signal: stop.signal});
		reading.catch(error => stop.abort(error));

		const put = async (header: tar.Header, body: AsyncIterable<Buffer> | null, first?: Buffer, counted = true) => {
			const sink = pack.entry(header) as unknown as NodeJS.WritableStream & {once: any};
			sink.on('error', () => {});
			const seen = input.onEntry?.(header);
			if (first) {
				seen?.data(first);
				await writeChunk(sink, first, stop.signal);
			}

			if (body) {
				for await (const chunk of body) {
					seen?.data(chunk);
					await writeChunk(sink, chunk, stop.signal);
					if (counted) {
						sourceBytes += chunk.length;
						onProgress(sourceBytes, files);
					}
				}
			}

			await endSink(sink, stop.signal);
			seen?.end();
			entries++;
		};

		/** Write one live database file, as it streams, into the capture's private directory. */
		const tee = async (capture: StreamCapture, suffix: string, header: tar.Header, body: AsyncIterable<Buffer>, first?: Buffer) => {
			const path = join(capture.dir, `db${suffix}`);
			const sink = createWriteStream(path, {mode: 0o600, highWaterMark: WRITE_CHUNK});
			sink.on('error', () => {});
			let size = 0;
			try {
				if (first && first.length > 0) {
					size += first.length;
					await writeChunk(sink, first, stop.signal);
				}

				for await (const chunk of body) {
					size += chunk.length;
					sourceBytes += chunk.length;
					await writeChunk(sink, chunk, stop.signal);
					onProgress(sourceBytes, files);
				}

				await new Promise<void>((resolve, reject) => {
					sink.once('error', reject);
					sink.end(() => resolve());
				});
			} finally {
				sink.destroy();
			}

			capture.files.push({suffix, path, size, mtime: header.mtime});
		};

		for await (const entry of extract as unknown as AsyncIterable<{header: tar.Header} & AsyncIterable<Buffer>>) {
			const header = entry.header;
			(entry as unknown as NodeJS.EventEmitter).on('error', () => {});
			const path = rewriteName(header.name, base, unit.isFile);
			const drain = async () => {
				for await (const chunk of entry) {
					sourceBytes += (chunk as Buffer).length;
				}

				onProgress(sourceBytes, files);
			};

			const owner = companions.get(path);
			if (owner && header.type === 'file' && !isExcluded(path, excluded, false)) {
				await tee(owner, path.slice(path.lastIndexOf('-')), header, entry);
				onProgress(sourceBytes, files);
				continue;
			}

			if (isExcluded(path, excluded, header.type === 'directory') || skip.has(path)) {
				await drain();
				continue;
			}

			const out: tar.Header = {
				name: header.type === 'directory' && path !== '.' ? `${path}/` : (path === '.' ? './' : path),
				mode: header.mode,
				uid: header.uid,
				gid: header.gid,
				uname: header.uname,
				gname: header.gname,
				mtime: header.mtime,
				type: header.type,
				size: header.size,
				linkname: header.type === 'link' && header.linkname ? rewriteName(header.linkname, base, unit.isFile) : header.linkname,
				devmajor: header.devmajor,
				devminor: header.devminor,
				pax: paxWithout(header.pax as Record<string, string> | null),
			};

			if (header.type !== 'file') {
				await put(out, null);
				await drain();
				continue;
			}

			files++;
			const iterator = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
			let first: Buffer = Buffer.alloc(0);
			if ((header.size ?? 0) >= SQLITE_MIN_BYTES) {
				// Peek at the header: a SQLite database is copied by snapshot, not from this live stream.
				while (first.length < SQLITE_MAGIC.length) {
					const next = await iterator.next();
					if (next.done) {
						break;
					}

					first = first.length === 0 ? next.value : Buffer.concat([first, next.value]);
				}

				sourceBytes += first.length;
				if (first.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
					for (const suffix of ['-wal', '-shm', '-journal']) {
						skip.add(path + suffix);
					}

					// The engine lists `x.db` before `x.db-journal` and `x.db-wal` (names in byte order): tee all three.
					// A single-file mount has no companions in its stream, so it is always snapshotted.
					if (input.captureDir && !unit.isFile) {
						const capture: StreamCapture = {dir: await input.captureDir(found.length), files: [], streamStart};
						found.push({path, header: out, capture});
						companions.set(`${path}-wal`, capture);
						companions.set(`${path}-journal`, capture);
						await tee(capture, '', header, {[Symbol.asyncIterator]: () => iterator}, first);
						onProgress(sourceBytes, files);
					} else {
						found.push({path, header: out, capture: null});
						await drain();
					}

					continue;
				}
			}

			bytes += header.size ?? 0;
			await put(out, {[Symbol.asyncIterator]: () => iterator}, first.length > 0 ? first : undefined);
		}

		await reading;
		onProgress(sourceBytes, files);

		// The engine's stream is closed now, so the snapshot's own archive requests can take the container's lock.
		const databases: string[] = [];
		for (const db of found) {
			const containerPath = unit.isFile ? unit.containerPath : posix.join(unit.containerPath, db.path);
			const snap = await input.snapshot(containerPath, db.path, db.capture);
			for (const file of snap.files) {
				if (file.suffix !== '') {
					files++;
				}

				bytes += file.size;
				await put({...db.header, name: db.path + file.suffix, size: file.size, pax: undefined}, createReadStream(file.path) as AsyncIterable<Buffer>, undefined, false);
			}

			databases.push(db.path);
		}

		pack.finalize();
		// The stream fsyncs (flush) before it closes, so a verified archive is on the disk.
		await writing;
		return {bytes, fileCount: files, entries, compressedBytes, sha256: hash.digest('hex'), databases};
	} catch (error) {
		stop.abort(error);
		throw stop.signal.reason ?? error;
	} finally {
		input.signal?.removeEventListener('abort', onUserAbort);
		file.destroy();
	}
}
