// A live SQLite database seen in the backup's own stream: recognised by its header, and its files (main, then
// -journal and -wal, which the engine lists after it) teed into a private directory while they stream, to be proven
// unchanged once the stream has closed (database.ts) or thrown away for a snapshot.
import {createWriteStream} from 'node:fs';
import {join} from 'node:path';
import type tar from 'tar-stream';
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
		if (first && first.length > 0) {
			size += first.length;
			await writeChunk(sink, first, stop);
		}

		for await (const chunk of body) {
			size += chunk.length;
			await writeChunk(sink, chunk, stop);
			onBytes(chunk.length);
		}

		await endSink(sink as unknown as NodeJS.WritableStream & {once: any}, stop);
	} finally {
		sink.destroy();
	}

	capture.files.push({suffix, path, size, mtime: header.mtime});
}
