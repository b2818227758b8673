// A live SQLite database seen in the backup's own stream: recognised by its header, and its files (main, then
// -journal and -wal, which the engine lists after it) teed into a private directory while they stream, to be proven
// unchanged once the stream has closed (database.ts) or thrown away for a snapshot. The main file is also deflated
// as it streams, on the cores the stream leaves idle, so that a proven capture's blocks are spliced into the archive
// instead of deflated after the stream (gzip.ts).
import {createHash} from 'node:crypto';
import {createWriteStream, type WriteStream} from 'node:fs';
import {join} from 'node:path';
import {pipeline} from 'node:stream/promises';
import type tar from 'tar-stream';
import {type DeflatedRun, ParallelGzip} from './gzip.js';
import {WRITE_CHUNK, endSink, writeChunk} from './output.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** The smallest SQLite database with content is one 512-byte page. */
export const SQLITE_MIN_BYTES = 512;

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
	/** The zlib level to deflate the main file at while it streams; without it, it is not deflated ahead. */
	gzipLevel?: number;
	/**
	 * The main file deflated while it streamed, and the sha256 of the bytes it was deflated from: settles once its
	 * last blocks are on the disk, while the stream goes on; undefined when it failed (the file is deflated again).
	 */
	deflated?: Promise<(DeflatedRun & {sha256: string}) | undefined>;
}

/** Read the first bytes of a file entry: enough to tell a SQLite database by its header. */
export async function peekHeader(iterator: AsyncIterator<Buffer>): Promise<{first: Buffer; sqlite: boolean}> {
	let first: Buffer = Buffer.alloc(0);
	while (first.length < SQLITE_MAGIC.length) {
		const next = await iterator.next();
		if (next.done) {
			break;
		}

		first = first.length === 0 ? next.value : Buffer.concat([first, next.value]);
	}

	return {first, sqlite: first.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)};
}

/** Write one live database file, as it streams, into the capture's private directory. `onBytes` counts what passed. */
export async function teeFile(capture: StreamCapture, suffix: string, header: tar.Header, body: AsyncIterable<Buffer>, first: Buffer | undefined, stop: AbortSignal, onBytes: (n: number) => void): Promise<void> {
	const path = join(capture.dir, `db${suffix}`);
	const sink = createWriteStream(path, {mode: 0o600, highWaterMark: WRITE_CHUNK});
	sink.on('error', () => {});
	const ahead = suffix === '' && capture.gzipLevel !== undefined ? new DeflateAhead(`${path}.deflate`, capture.gzipLevel, stop) : undefined;
	let size = 0;
	try {
		const write = async (chunk: Buffer) => {
			size += chunk.length;
			await writeChunk(sink, chunk, stop);
			await ahead?.write(chunk);
		};

		if (first && first.length > 0) {
			await write(first);
		}

		for await (const chunk of body) {
			await write(chunk);
			onBytes(chunk.length);
		}

		await endSink(sink as unknown as NodeJS.WritableStream & {once: any}, stop);
		capture.deflated = ahead?.end().catch(() => undefined);
	} catch (error) {
		ahead?.close();
		throw error;
	} finally {
		sink.destroy();
	}

	capture.files.push({suffix, path, size, mtime: header.mtime});
}

/** Raw deflate blocks of a file's bytes as they stream, into a side file, and their sha256 (gzip.ts `raw`). */
class DeflateAhead {
	private readonly gzip: ParallelGzip;
	private readonly file: WriteStream;
	private readonly writing: Promise<void>;
	private readonly hash = createHash('sha256');
	private length = 0;

	constructor(private readonly path: string, level: number, private readonly stop: AbortSignal) {
		this.gzip = new ParallelGzip({level, raw: true});
		this.file = createWriteStream(path, {mode: 0o600, highWaterMark: WRITE_CHUNK});
		for (const stream of [this.gzip, this.file]) {
			stream.on('error', () => {});
		}

		this.writing = pipeline(this.gzip, this.file, {signal: stop});
		this.writing.catch(() => {});
	}

	async write(chunk: Buffer): Promise<void> {
		this.hash.update(chunk);
		this.length += chunk.length;
		await writeChunk(this.gzip, chunk, this.stop);
	}

	async end(): Promise<DeflatedRun & {sha256: string}> {
		this.gzip.end();
		await this.writing;
		return {path: this.path, length: this.length, size: this.file.bytesWritten, sha256: this.hash.digest('hex')};
	}

	close(): void {
		this.gzip.destroy();
		this.file.destroy();
	}
}
