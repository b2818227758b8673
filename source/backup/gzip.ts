// gzip on every core, as pigz does, writing one ordinary gzip member that any gunzip reads: the input is cut into
// blocks, each compressed as raw deflate on the threadpool with the previous block's last 32 KiB as its dictionary
// (so back-references span blocks and the ratio stays gzip's), ended by a sync flush (byte-aligned, not final); the
// blocks are written in order behind one gzip header, then an empty final block and the CRC-32 and length trailer.
import {availableParallelism} from 'node:os';
import {Transform, type TransformCallback} from 'node:stream';
import {promisify} from 'node:util';
import {constants, crc32, deflateRaw} from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw) as (buffer: Buffer, options: object) => Promise<Buffer>;
export const GZIP_BLOCK = 1024 * 1024;
const WINDOW = 32 * 1024;
/** ID1 ID2, deflate, no flags, no mtime (as `tar czf` writes it through gzip -n… or close enough), XFL 0, OS unix. */
const HEADER = Buffer.from([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
/** BFINAL=1, fixed Huffman, end-of-block at once: the empty last block after the sync-flushed ones. */
const LAST_BLOCK = Buffer.from([0x03, 0x00]);

export interface ParallelGzipOptions {
	level: number;
	/** Uncompressed bytes per block (default 1 MiB). */
	blockSize?: number;
	/** Blocks compressed at once (default: the cores, at most 4, the threadpool's size). */
	parallel?: number;
}

export class ParallelGzip extends Transform {
	private readonly level: number;
	private readonly blockSize: number;
	private readonly parallel: number;
	private parts: Buffer[] = [];
	private size = 0;
	private readonly inFlight: Array<Promise<Buffer>> = [];
	private dictionary: Buffer | undefined;
	private crc = 0;
	private length = 0;
	private started = false;

	constructor(options: ParallelGzipOptions) {
		const blockSize = options.blockSize ?? GZIP_BLOCK;
		super({writableHighWaterMark: blockSize, readableHighWaterMark: blockSize});
		this.level = options.level;
		this.blockSize = blockSize;
		this.parallel = Math.max(1, options.parallel ?? Math.min(4, availableParallelism()));
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
		this.parts.push(chunk);
		this.size += chunk.length;
		if (this.size < this.blockSize) {
			done();
			return;
		}

		this.dispatch();
		this.settle(this.parallel - 1).then(() => done(), done);
	}

	override _flush(done: TransformCallback): void {
		this.dispatch();
		this.settle(0).then(() => {
			this.begin();
			const trailer = Buffer.alloc(8);
			trailer.writeUInt32LE(this.crc >>> 0, 0);
			trailer.writeUInt32LE(this.length % 0x1_00_00_00_00, 4);
			this.push(Buffer.concat([LAST_BLOCK, trailer]));
			done();
		}, done);
	}

	private begin(): void {
		if (!this.started) {
			this.started = true;
			this.push(HEADER);
		}
	}

	/** Start compressing what is buffered as one block. */
	private dispatch(): void {
		if (this.size === 0) {
			return;
		}

		const block = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
		this.parts = [];
		this.size = 0;
		this.crc = crc32(block, this.crc);
		this.length += block.length;
		const job = deflateRawAsync(block, {level: this.level, finishFlush: constants.Z_SYNC_FLUSH, ...(this.dictionary ? {dictionary: this.dictionary} : {})});
		// A stream torn down with blocks in flight must not leave an unhandled rejection behind.
		job.catch(() => {});
		this.inFlight.push(job);
		// A copy: the block is released once compressed, the window stays for the next one.
		this.dictionary = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW)));
	}

	/** Write finished blocks, in order, until at most `keep` are in flight. */
	private async settle(keep: number): Promise<void> {
		while (this.inFlight.length > keep) {
			const out = await this.inFlight.shift()!;
			this.begin();
			this.push(out);
		}
	}
}
