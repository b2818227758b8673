// The output side of one archive: tar pack → gzip on every core → sha256 and byte count → `<name>.tar.gz.partial`.
import {createHash} from 'node:crypto';
import {closeSync, createWriteStream, openSync, readSync} from 'node:fs';
import {chmod} from 'node:fs/promises';
import {Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import tar from 'tar-stream';
import {ParallelGzip} from './gzip.js';
import {BEHIND, StreamCheck} from './verify.js';

/** Write buffers: the archive file and the database captures are written in large pieces. */
export const WRITE_CHUNK = 1024 * 1024;

/**
 * A local file's content in WRITE_CHUNK pieces, read on the main thread: a read queued on the threadpool waits behind
 * the blocks being deflated there, and the pipeline waits on it; a read from the page cache takes a fraction of a ms.
 */
export async function * readChunks(path: string): AsyncGenerator<Buffer> {
	const fd = openSync(path, 'r');
	try {
		for (;;) {
			const chunk = Buffer.allocUnsafe(WRITE_CHUNK);
			const n = readSync(fd, chunk, 0, WRITE_CHUNK, null);
			if (n === 0) {
				return;
			}

			yield n === WRITE_CHUNK ? chunk : chunk.subarray(0, n);
		}
	} finally {
		closeSync(fd);
	}
}

/** Write one chunk, waiting for the sink to drain when its buffer is full; `stop` ends the wait. */
export async function writeChunk(sink: NodeJS.WritableStream, chunk: Buffer, stop: AbortSignal): Promise<void> {
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

/** End a tar entry's sink and wait until it is flushed into the pack (streamx's end() takes no callback). */
export async function endSink(sink: NodeJS.WritableStream & {once: any}, stop: AbortSignal): Promise<void> {
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

export interface ArchiveOutput {
	pack: tar.Pack;
	/** Settles when the last byte is on the disk (the file stream fsyncs before it closes). */
	writing: Promise<void>;
	/** Valid once `writing` has settled. */
	sha256(): string;
	compressedBytes(): number;
	/** Valid once `writing` has settled: the entries the read-back check walked, or why the bytes do not read back. */
	checked(): Promise<{entries: number; error: string | null}>;
	close(): void;
}

/** Open `partial` (0600 whatever the umask) and the pipeline into it. A failure anywhere aborts `stop`. */
export async function openArchive(partial: string, gzipLevel: number, stop: AbortController): Promise<ArchiveOutput> {
	// Its writes wait in the threadpool's queue behind the deflates too: buffered as deep as the check's (verify.ts).
	const file = createWriteStream(partial, {mode: 0o600, flush: true, highWaterMark: BEHIND});
	try {
		await new Promise<void>((resolve, reject) => {
			file.once('open', () => resolve());
			file.once('error', reject);
		});
		// Explicit: a create mode is filtered by the umask.
		await chmod(partial, 0o600);
	} catch (error) {
		file.destroy();
		throw error;
	}

	const hash = createHash('sha256');
	let compressedBytes = 0;
	// The read-back check runs on the bytes as they go out (verify.ts); its result waits for the end of the write.
	const check = new StreamCheck(stop.signal);
	let checked: Promise<{entries: number; error: string | null}> | undefined;
	const tap = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			hash.update(chunk);
			compressedBytes += chunk.length;
			this.push(chunk);
			check.write(chunk).then(() => done(), done);
		},
		flush(done) {
			checked = check.end();
			done();
		},
	});
	const pack = tar.pack();
	// pigz-style: blocks compressed on all cores, one ordinary gzip member out (gzip.ts).
	const gzip = new ParallelGzip({level: gzipLevel});
	// Failures surface through the pipeline and `stop`; a late error from a torn-down stream must not crash the process.
	for (const stream of [file, tap, gzip, pack as unknown as NodeJS.EventEmitter]) {
		stream.on('error', () => {});
	}

	const writing = pipeline(pack as unknown as NodeJS.ReadableStream, gzip, tap, file, {signal: stop.signal});
	writing.catch(error => stop.abort(error));
	let digest: string | undefined;
	return {
		pack,
		writing,
		sha256: () => (digest ??= hash.digest('hex')),
		compressedBytes: () => compressedBytes,
		checked: async () => checked ?? {entries: 0, error: 'the archive was not written to its end'},
		close: () => file.destroy(),
	};
}
