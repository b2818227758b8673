// A live SQLite database seen in the backup's own stream: recognised by its header, and its files (main, then
// -journal and -wal, which the engine lists after it) teed into a private directory while they stream, to be proven
// unchanged once the stream has closed (database.ts) or thrown away for a snapshot. Once captured, a main file with
// nothing to fold in is also deflated while the rest of the stream goes on, on the cores it leaves idle, so that a
// proven capture's blocks are spliced into the archive instead of deflated after the stream (gzip.ts).
import {createHash} from 'node:crypto';
import {closeSync, createWriteStream, openSync, readSync} from 'node:fs';
import {join} from 'node:path';
import {pipeline} from 'node:stream/promises';
import {crc32} from 'node:zlib';
import type tar from 'tar-stream';
import {type DeflatedRun, ParallelGzip, WINDOW} from './gzip.js';
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
	 * The main file deflated while the rest of the stream goes on: settles once its last blocks are on the disk;
	 * undefined when it failed (the file is deflated again as it is appended).
	 */
	deflated?: Promise<DeflatedRun | undefined>;
	/** Stop deflating ahead: the capture is thrown away. */
	dropDeflated?: () => void;
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
	let size = 0;
	try {
		const write = async (chunk: Buffer) => {
			size += chunk.length;
			await writeChunk(sink, chunk, stop);
		};

		if (first && first.length > 0) {
			await write(first);
		}

		for await (const chunk of body) {
			await write(chunk);
			onBytes(chunk.length);
		}

		await endSink(sink as unknown as NodeJS.WritableStream & {once: any}, stop);
	} finally {
		sink.destroy();
	}

	capture.files.push({suffix, path, size, mtime: header.mtime});
}

/**
 * Once the stream has passed a captured database's files (the engine lists `-journal` and `-wal` right after the
 * main file), start deflating its main file while the rest of the stream goes on, not in step with the tee (the engine
 * streams the database at the disk's pace). Only when the checkpoint can leave the main file as captured: no hot
 * `-journal` and no `-wal` with frames to fold in (a database closed cleanly); otherwise the work would be thrown away.
 */
export function startDeflateAhead(capture: StreamCapture, stop: AbortSignal): void {
	const main = capture.files.find(f => f.suffix === '');
	if (!main || capture.gzipLevel === undefined || capture.deflated || capture.files.some(f => f.suffix !== '' && f.size > 0)) {
		return;
	}

	const drop = new AbortController();
	capture.dropDeflated = () => drop.abort();
	capture.deflated = deflateAhead(main.path, capture.gzipLevel, AbortSignal.any([stop, drop.signal])).catch(() => undefined);
}

/**
 * Raw deflate blocks of a captured file into a side file beside it (gzip.ts `raw`), with the CRC-32, sha256 and tail
 * of what was read: the splice and the index take those instead of reading the file again.
 */
async function deflateAhead(path: string, level: number, stop: AbortSignal): Promise<DeflatedRun> {
	// Two blocks in flight, not one per core and one more: it works beside the archive's own deflates, and memory counts.
	const gzip = new ParallelGzip({level, raw: true, parallel: 2});
	const file = createWriteStream(`${path}.deflate`, {mode: 0o600, highWaterMark: WRITE_CHUNK});
	for (const stream of [gzip, file]) {
		stream.on('error', () => {});
	}

	const writing = pipeline(gzip, file, {signal: stop});
	writing.catch(() => {});
	const hash = createHash('sha256');
	let crc = 0;
	let length = 0;
	// One buffer, read into again once the gzip has copied it into its block: no 1 MiB of garbage per MiB read.
	const buffer = Buffer.allocUnsafe(WRITE_CHUNK);
	const fd = openSync(path, 'r');
	try {
		for (let n = 0; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
			const chunk = buffer.subarray(0, n);
			hash.update(chunk);
			crc = crc32(chunk, crc);
			length += n;
			// eslint-disable-next-line no-await-in-loop
			await new Promise<void>((resolve, reject) => {
				gzip.write(chunk, error => error ? reject(error) : resolve());
			});
			stop.throwIfAborted();
		}

		gzip.end();
		await writing;
		const tail = Buffer.alloc(Math.min(length, WINDOW));
		readSync(fd, tail, 0, tail.length, length - tail.length);
		return {path: `${path}.deflate`, length, size: file.bytesWritten, crc, sha256: hash.digest('hex'), tail};
	} finally {
		closeSync(fd);
		gzip.destroy();
		file.destroy();
	}
}
