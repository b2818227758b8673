// Re-pack the engine's archive of one mount into `<name>.tar.gz.partial`: entries renamed to `./…` (as `tar -C /data .`
// writes them), nested mounts left out, live SQLite files replaced by consistent snapshots. Three parts: the output
// pipeline (output.ts: tar pack, gzip, sha256, the file), the header rewrite (rewriteHeader, below), and the SQLite
// capture (capture.ts); packUnit only walks the engine's entries and sends each to one of them.
import {posix} from 'node:path';
import {pipeline} from 'node:stream/promises';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {getArchiveStream} from '../docker/archive.js';
import {HostReadFailed, readOnHost, type HostStream} from './host-read.js';
import {peekHeader, SQLITE_MIN_BYTES, teeFile, type StreamCapture} from './capture.js';
import {endSink, openArchive, readChunks, writeChunk, type ArchiveOutput} from './output.js';
import type {BackupUnit} from './types.js';

export type {CapturedFile, StreamCapture} from './capture.js';

export interface SnapshotFile {
	/** Local files to put in place of the live ones, keyed by the suffix ('' for the main file, '-wal' …). */
	files: Array<{suffix: string; path: string; size: number}>;
}

/** Sees every entry as it is written (its header, then its content's chunks): how backup builds the file index. */
export type EntryObserver = (header: tar.Header) => {data: (chunk: Buffer) => void; end: () => void} | undefined;

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
	onEntry?: EntryObserver;
	/** The mount's directory on this host, to read with tar instead of the engine's archive API (host-read.ts). */
	hostDir?: string | null;
}

export interface PackResult {
	bytes: number;
	fileCount: number;
	entries: number;
	compressedBytes: number;
	sha256: string;
	/** Archive paths of the SQLite databases replaced by snapshots. */
	databases: string[];
	/** The read-back check of the bytes written: the entries it walked, or why they do not gunzip and walk. */
	checked: {entries: number; error: string | null};
	/** Who read the mount: tar on this host, or the engine's archive API. */
	reader: 'host-tar' | 'archive-api';
}

/** The archive path of an engine entry: `base/x/y` → `./x/y`; a single-file mount keeps its base name. */
export function rewriteName(name: string, base: string, isFile: boolean): string {
	// `./x` and tar's root `./` (the host's tar, host-read.ts) lose their `./`.
	const clean = name.replace(/\/+$/, '').replace(/^\.(?:\/|$)/, '');
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

/** The entry as the archive stores it: renamed to `./…`, a hard link's target too, PAX path/size left to tar-stream. */
export function rewriteHeader(header: tar.Header, path: string, base: string, isFile: boolean): tar.Header {
	return {
		name: header.type === 'directory' && path !== '.' ? `${path}/` : (path === '.' ? './' : path),
		mode: header.mode,
		uid: header.uid,
		gid: header.gid,
		uname: header.uname,
		gname: header.gname,
		mtime: header.mtime,
		type: header.type,
		size: header.size,
		linkname: header.type === 'link' && header.linkname ? rewriteName(header.linkname, base, isFile) : header.linkname,
		devmajor: header.devmajor,
		devminor: header.devminor,
		pax: paxWithout(header.pax as Record<string, string> | null),
	};
}

/** Write one entry into the pack, its content as it streams, each chunk shown to the observer. */
async function putEntry(output: ArchiveOutput, header: tar.Header, body: AsyncIterable<Buffer> | null, first: Buffer | undefined, stop: AbortSignal, observe: EntryObserver | undefined, onChunk: (n: number) => void): Promise<void> {
	const sink = output.pack.entry(header) as unknown as NodeJS.WritableStream & {once: any};
	sink.on('error', () => {});
	const seen = observe?.(header);
	if (first) {
		seen?.data(first);
		await writeChunk(sink, first, stop);
	}

	for await (const chunk of body ?? []) {
		seen?.data(chunk);
		await writeChunk(sink, chunk, stop);
		onChunk(chunk.length);
	}

	await endSink(sink, stop);
	seen?.end();
}

type EngineEntry = {header: tar.Header} & AsyncIterable<Buffer>;

/** How tar failed, if it did. Never waited on for long: a tar stuck in the kernel (a dead NFS or FUSE bind) is killed. */
async function tarFailure(onHost: HostStream): Promise<unknown> {
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<null>(resolve => {
		timer = setTimeout(() => {
			onHost.kill();
			resolve(null);
		}, 2000);
	});
	try {
		return await Promise.race([onHost.finished.then(() => null, (failure: unknown) => failure), late]);
	} finally {
		clearTimeout(timer);
	}
}

export async function packUnit(input: PackInput): Promise<PackResult> {
	const {container, unit, onProgress} = input;
	// One controller tears every stream down when any part fails: the engine, the disk or the user.
	const stop = new AbortController();
	const onUserAbort = () => stop.abort(input.signal!.reason);
	input.signal?.addEventListener('abort', onUserAbort, {once: true});
	input.signal?.throwIfAborted();
	let output: ArchiveOutput | undefined;
	let onHost: HostStream | null = null;
	try {
		output = await openArchive(input.partial, input.gzipLevel, stop);
		const out = output;
		// The engine names entries after the mount's base name (`data/x`); tar on the host, `./x`.
		const base = input.hostDir ? '' : posix.basename(unit.containerPath);
		const excluded = unit.excluded.map(e => `./${posix.relative(unit.containerPath, e)}`);
		const skip = new Set<string>();
		const found: Array<{path: string; header: tar.Header; capture: StreamCapture | null}> = [];
		/** Archive paths of a captured database's -wal and -journal, to their capture. */
		const companions = new Map<string, StreamCapture>();
		let bytes = 0;
		let files = 0;
		let entries = 0;
		let sourceBytes = 0;
		const read = (n: number) => {
			sourceBytes += n;
			onProgress(sourceBytes, files);
		};

		const put = async (header: tar.Header, body: AsyncIterable<Buffer> | null, first?: Buffer, counted = true) => {
			await putEntry(out, header, body, first, stop.signal, input.onEntry, counted ? read : () => {});
			entries++;
		};

		onHost = input.hostDir ? readOnHost(input.hostDir, stop.signal, excluded) : null;
		const source = onHost?.stream ?? await getArchiveStream(container, unit.containerPath);
		const date = (source as unknown as {headers?: Record<string, string | undefined>}).headers?.date;
		const streamStart = onHost?.started ?? (date && Number.isFinite(Date.parse(date)) ? new Date(Date.parse(date)) : null);
		const extract = tar.extract();
		source.on('error', () => {});
		extract.on('error', () => {});
		const reading = pipeline(source, extract, {signal: stop.signal});
		reading.catch(error => stop.abort(error));

		for await (const entry of extract as unknown as AsyncIterable<EngineEntry>) {
			const {header} = entry;
			(entry as unknown as NodeJS.EventEmitter).on('error', () => {});
			const path = rewriteName(header.name, base, unit.isFile);
			const drain = async () => {
				for await (const chunk of entry) {
					sourceBytes += chunk.length;
				}

				onProgress(sourceBytes, files);
			};

			const owner = companions.get(path);
			if (owner && header.type === 'file' && !isExcluded(path, excluded, false)) {
				await teeFile(owner, path.slice(path.lastIndexOf('-')), header, entry, undefined, stop.signal, read);
				onProgress(sourceBytes, files);
				continue;
			}

			if (isExcluded(path, excluded, header.type === 'directory') || skip.has(path)) {
				await drain();
				continue;
			}

			const rewritten = rewriteHeader(header, path, base, unit.isFile);
			if (header.type !== 'file') {
				await put(rewritten, null);
				await drain();
				continue;
			}

			files++;
			const iterator = entry[Symbol.asyncIterator]();
			const rest = {[Symbol.asyncIterator]: () => iterator};
			let first: Buffer | undefined;
			if ((header.size ?? 0) >= SQLITE_MIN_BYTES) {
				// Peek at the header: a SQLite database is copied by snapshot, not from this live stream.
				const peeked = await peekHeader(iterator);
				first = peeked.first;
				sourceBytes += first.length;
				if (peeked.sqlite) {
					for (const suffix of ['-wal', '-shm', '-journal']) {
						skip.add(path + suffix);
					}

					// The engine lists `x.db` before `x.db-journal` and `x.db-wal` (names in byte order): tee all three.
					// A single-file mount has no companions in its stream, so it is always snapshotted.
					if (input.captureDir && !unit.isFile) {
						const capture: StreamCapture = {dir: await input.captureDir(found.length), files: [], streamStart};
						found.push({path, header: rewritten, capture});
						companions.set(`${path}-wal`, capture);
						companions.set(`${path}-journal`, capture);
						await teeFile(capture, '', header, rest, first, stop.signal, read);
						onProgress(sourceBytes, files);
					} else {
						found.push({path, header: rewritten, capture: null});
						await drain();
					}

					continue;
				}
			}

			bytes += header.size ?? 0;
			await put(rewritten, rest, first && first.length > 0 ? first : undefined);
		}

		await reading;
		await onHost?.finished;
		if (onHost && entries === 0) {
			// Even an empty directory is one entry (`./`): a tar that wrote none did not read it.
			throw new HostReadFailed('tar wrote no entries');
		}

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
				await put({...db.header, name: db.path + file.suffix, size: file.size, pax: undefined}, readChunks(file.path), undefined, false);
			}

			databases.push(db.path);
		}

		out.pack.finalize();
		// The stream fsyncs (flush) before it closes, so a verified archive is on the disk.
		await out.writing;
		return {bytes, fileCount: files, entries, compressedBytes: out.compressedBytes(), sha256: out.sha256(), databases, checked: await out.checked(), reader: input.hostDir ? 'host-tar' : 'archive-api'};
	} catch (error) {
		stop.abort(error);
		// A tar that failed on its own (an unreadable file) explains a stream cut short: the caller asks the engine instead.
		const tarFailed = onHost && !input.signal?.aborted ? await tarFailure(onHost) : null;
		throw tarFailed ?? stop.signal.reason ?? error;
	} finally {
		input.signal?.removeEventListener('abort', onUserAbort);
		output?.close();
	}
}
