// gzip on every core, as pigz does, writing one ordinary gzip member that any gunzip reads: the input is cut into
// blocks, each compressed as raw deflate on the threadpool with the previous block's last 32 KiB as its dictionary
// (so back-references span blocks and the ratio stays gzip's), ended by a sync flush (byte-aligned, not final); the
// blocks are written in order behind one gzip header, then an empty final block and the CRC-32 and length trailer.
// A block of data that is already compressed (git packs, images, archives) costs a deflate at level 6 and gains
// nothing: a few samples of its bytes decide, and such a block is stored (level 0) or deflated at level 1 instead.
// A run of input deflated ahead of time (a database deflated while the engine still streamed, `raw` below) can be
// spliced in: its sync-flushed blocks take the place of that run's deflate (`splice`).
import {closeSync, openSync, readSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {Transform, type TransformCallback} from 'node:stream';
import {promisify} from 'node:util';
import {constants, crc32, deflateRaw} from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw) as (buffer: Buffer, options: object) => Promise<Buffer>;
export const GZIP_BLOCK = 1024 * 1024;
/** Deflate's window: how far back a block may refer. */
export const WINDOW = 32 * 1024;
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
	/** Raw deflate blocks only, no gzip header and no final block or trailer: a run to splice into a member later. */
	raw?: boolean;
}

/** A run of input deflated ahead of time by a `raw` ParallelGzip, kept in a file, to be spliced into a member. */
export interface DeflatedRun {
	/** The file holding the run's sync-flushed raw deflate blocks. */
	path: string;
	/** Uncompressed bytes the run stands for. */
	length: number;
	/** Bytes of `path`. */
	size: number;
	/** CRC-32 and sha256 of the uncompressed bytes, and their last 32 KiB (the window after them). */
	crc: number;
	sha256: string;
	tail: Buffer;
}

/**
 * Input chunks that a spliced run stands for: written through the pipeline as placeholders of the run's length (so
 * the tar writer counts and pads them), never read: the run's own CRC-32 and tail stand for their content.
 */
const RUN_CHUNKS = new WeakSet<Buffer>();

/** Mark chunks as placeholders for the run armed with `splice`, passed over instead of deflated. */
export function runChunk(chunk: Buffer): Buffer {
	RUN_CHUNKS.add(chunk);
	return chunk;
}

/** 32×32 bit matrix over GF(2) times a vector: zlib's crc32_combine, below, in JavaScript. */
function gf2Times(matrix: Uint32Array, vector: number): number {
	let sum = 0;
	for (let i = 0, v = vector >>> 0; v !== 0; i++, v >>>= 1) {
		if (v & 1) {
			sum ^= matrix[i]!;
		}
	}

	return sum >>> 0;
}

function gf2Square(square: Uint32Array, matrix: Uint32Array): void {
	for (let n = 0; n < 32; n++) {
		square[n] = gf2Times(matrix, matrix[n]!);
	}
}

/** The CRC-32 of A followed by B, from the CRC-32 of each and B's length (zlib's crc32_combine; Node has none). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
	if (lengthB <= 0) {
		return crcA >>> 0;
	}

	const even = new Uint32Array(32);
	const odd = new Uint32Array(32);
	// The operator for one zero bit, then two, then four: squared for each bit of the length in bytes.
	odd[0] = 0xED_B8_83_20;
	for (let n = 1, row = 1; n < 32; n++, row = (row << 1) >>> 0) {
		odd[n] = row;
	}

	gf2Square(even, odd);
	gf2Square(odd, even);
	let crc = crcA >>> 0;
	// Each bit of the length squares the operator (the two matrices take turns) and applies it where the bit is set.
	let [square, from] = [even, odd];
	for (let length = lengthB; length > 0; length = Math.floor(length / 2)) {
		gf2Square(square, from);
		if (length % 2 === 1) {
			crc = gf2Times(square, crc);
		}

		[square, from] = [from, square];
	}

	return (crc ^ crcB) >>> 0;
}

/** The last WINDOW bytes of `before` followed by `data`: the history a block after `data` may refer back to. */
function windowAfter(before: Buffer | undefined, data: Buffer): Buffer {
	if (data.length >= WINDOW || !before) {
		return Buffer.from(data.subarray(Math.max(0, data.length - WINDOW)));
	}

	const joined = Buffer.concat([before, data]);
	return joined.subarray(Math.max(0, joined.length - WINDOW));
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
	private readonly raw: boolean;
	/** The armed runs, in the order their chunks come: its file, how much of its input has passed, of its blocks gone out. */
	private readonly runs: Array<DeflatedRun & {fd: number | undefined; seen: number; sent: number}> = [];

	constructor(options: ParallelGzipOptions) {
		const blockSize = options.blockSize ?? GZIP_BLOCK;
		super({writableHighWaterMark: blockSize, readableHighWaterMark: blockSize});
		this.level = options.level;
		this.blockSize = blockSize;
		this.parallel = Math.max(1, options.parallel ?? Math.min(4, availableParallelism() + 1));
		this.raw = options.raw ?? false;
	}

	/**
	 * Arm a run deflated ahead of time: the next `run.length` bytes written as `runChunk`s (after those of the runs
	 * armed before it) are placeholders, passed over unread; the run's blocks go out in their place, and its CRC-32,
	 * length and tail count as theirs. The caller proves that the run is the content the entry must hold.
	 */
	splice(run: DeflatedRun): void {
		this.runs.push({...run, fd: undefined, seen: 0, sent: 0});
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
		(this.runs.length > 0 && RUN_CHUNKS.has(chunk) ? this.passOver(chunk) : this.fill(chunk)).then(() => done(), done);
	}

	/**
	 * One chunk of the armed run: the bytes before it go out as a block of their own, then as much of the run's
	 * blocks as its input seen so far stands for (all of them at its end), in order behind the blocks in flight.
	 */
	private async passOver(chunk: Buffer): Promise<void> {
		const run = this.runs[0]!;
		if (run.fd === undefined) {
			this.dispatch();
			run.fd = openSync(run.path, 'r');
		}

		run.seen += chunk.length;
		if (run.seen > run.length) {
			throw new Error(`the spliced run stands for ${run.length} bytes, ${run.seen} were written`);
		}

		this.length += chunk.length;
		const due = run.seen === run.length ? run.size : Math.floor(run.size * (run.seen / run.length));
		if (due > run.sent) {
			const out = Buffer.allocUnsafe(due - run.sent);
			for (let at = 0; at < out.length;) {
				const n = readSync(run.fd, out, at, out.length - at, run.sent + at);
				if (n === 0) {
					throw new Error(`the spliced run ${run.path} ends before its ${run.size} bytes`);
				}

				at += n;
			}

			run.sent = due;
			this.inFlight.push(Promise.resolve(out));
		}

		if (run.seen === run.length) {
			closeSync(run.fd);
			this.runs.shift();
			this.crc = crc32Combine(this.crc, run.crc, run.length);
			this.dictionary = windowAfter(this.dictionary, run.tail);
		}

		await this.settle(this.parallel - 1);
	}

	override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
		for (const run of this.runs.splice(0)) {
			if (run.fd !== undefined) {
				closeSync(run.fd);
			}
		}

		super._destroy(error, done);
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
		if (this.runs.length > 0) {
			done(new Error(`the spliced run was cut short: ${this.runs[0]!.seen} of its ${this.runs[0]!.length} bytes were written`));
			return;
		}

		this.dispatch();
		this.settle(0).then(() => {
			if (this.raw) {
				done();
				return;
			}

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
			if (!this.raw) {
				this.push(HEADER);
			}
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
		this.dictionary = windowAfter(this.dictionary, block);
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
