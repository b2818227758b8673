// gzip on every core, as pigz does, writing one ordinary gzip member that any gunzip reads: the input is cut into
// blocks, each compressed as raw deflate on the threadpool with the previous block's last 32 KiB as its dictionary
// (so back-references span blocks and the ratio stays gzip's), ended by a sync flush (byte-aligned, not final); the
// blocks are written in order behind one gzip header, then an empty final block and the CRC-32 and length trailer.
// A block of data that is already compressed (git packs, images, archives) costs a deflate at level 6 and gains
// nothing: a few samples of its bytes decide, and such a block is stored (level 0) or deflated at level 1 instead.
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

/** Bytes per sample, samples per block: 32 KiB of a 1 MiB block looked at, a few microseconds. */
const SAMPLE = 4096;
const SAMPLES = 8;
/**
 * Bits per byte above which a sample is taken as incompressible. Deflated, JPEG and random data measure about 7.95 on
 * 4 KiB (the finite sample keeps it under 8); source code and JSON 4.5-5.5, base64 6, SQLite pages well under 7.
 */
const INCOMPRESSIBLE_BITS = 7.5;

/** Shannon entropy of the byte values in `data`, in bits per byte. */
export function entropy(data: Buffer): number {
	const counts = new Uint32Array(256);
	for (let i = 0; i < data.length; i++) {
		counts[data[i]!]!++;
	}

	let bits = 0;
	for (const n of counts) {
		if (n > 0) {
			const p = n / data.length;
			bits -= p * Math.log2(p);
		}
	}

	return bits;
}

/**
 * The zlib level for one block: `level` when it looks compressible, 0 (stored) when every sample looks like
 * compressed data, 1 when most do (a block that mixes both keeps most of its text's gain at a fraction of the cost).
 */
export function blockLevel(block: Buffer, level: number): number {
	if (level <= 1 || block.length < SAMPLE * SAMPLES) {
		return level;
	}

	const step = Math.floor((block.length - SAMPLE) / (SAMPLES - 1));
	let incompressible = 0;
	for (let i = 0; i < SAMPLES; i++) {
		if (entropy(block.subarray(i * step, (i * step) + SAMPLE)) > INCOMPRESSIBLE_BITS) {
			incompressible++;
		}
	}

	return incompressible === SAMPLES ? 0 : (incompressible * 2 > SAMPLES ? 1 : level);
}

export interface ParallelGzipOptions {
	level: number;
	/** Uncompressed bytes per block (default 1 MiB). */
	blockSize?: number;
	/**
	 * Blocks in flight at once (default: one more than the cores, at most 4, the threadpool's size): while the main
	 * thread fills the next block, every core still has one to deflate.
	 */
	parallel?: number;
}

export class ParallelGzip extends Transform {
	private readonly level: number;
	private readonly blockSize: number;
	private readonly parallel: number;
	/** The block being filled, and blocks whose deflate has finished, to fill again: no new 1 MiB buffer per block. */
	private block: Buffer | undefined;
	private size = 0;
	private readonly spare: Buffer[] = [];
	private readonly inFlight: Array<Promise<Buffer>> = [];
	private dictionary: Buffer | undefined;
	private crc = 0;
	private length = 0;
	/** Compressed ÷ uncompressed size of the last deflated block. */
	private ratio = 1;
	private started = false;

	constructor(options: ParallelGzipOptions) {
		const blockSize = options.blockSize ?? GZIP_BLOCK;
		super({writableHighWaterMark: blockSize, readableHighWaterMark: blockSize});
		this.level = options.level;
		this.blockSize = blockSize;
		this.parallel = Math.max(1, options.parallel ?? Math.min(4, availableParallelism() + 1));
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
		this.fill(chunk).then(() => done(), done);
	}

	/** Copy a chunk into blocks, starting each one as it fills (waiting, in order, while too many are in flight). */
	private async fill(chunk: Buffer): Promise<void> {
		let at = 0;
		while (at < chunk.length) {
			this.block ??= this.spare.pop() ?? Buffer.allocUnsafe(this.blockSize);
			const n = chunk.copy(this.block, this.size, at);
			this.size += n;
			at += n;
			if (this.size === this.blockSize) {
				this.dispatch();
				// eslint-disable-next-line no-await-in-loop
				await this.settle(this.parallel - 1);
			}
		}
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

	/** Start compressing the filled part of the block as one deflate block. */
	private dispatch(): void {
		const buffer = this.block;
		if (!buffer || this.size === 0) {
			return;
		}

		const block = buffer.subarray(0, this.size);
		this.block = undefined;
		this.size = 0;
		this.crc = crc32(block, this.crc);
		this.length += block.length;
		const level = blockLevel(block, this.level);
		const job = deflateRawAsync(block, {level, finishFlush: constants.Z_SYNC_FLUSH, chunkSize: this.outputSize(block.length, level), ...(this.dictionary ? {dictionary: this.dictionary} : {})});
		// A stream torn down with blocks in flight must not leave an unhandled rejection behind.
		job.catch(() => {});
		// zlib reads the block until its deflate finishes; only then may it be filled again.
		this.inFlight.push(job.then(out => {
			if (buffer.length === this.blockSize) {
				this.spare.push(buffer);
			}

			if (level > 0) {
				this.ratio = out.length / block.length;
			}

			return out;
		}));
		// A copy: the block is filled again once compressed, the window stays for the next one.
		this.dictionary = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW)));
	}

	/**
	 * The output buffer zlib allocates for a block: a stored block grows by a few bytes per 64 KiB; a deflated one is
	 * guessed from the last one's ratio (a wrong guess costs one more buffer, not an error). A buffer sized for the worst
	 * case, held until the block is written, would double the memory the garbage collector is pressed to reclaim.
	 */
	private outputSize(length: number, level: number): number {
		const worst = length + (length >> 3) + 1024;
		return level === 0 ? length + (length >> 10) + 1024 : Math.min(worst, Math.ceil(length * this.ratio * 1.1) + 16 * 1024);
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
