// The one pass's writer: a worker thread that creates the staged entries, so the main thread only reads, hashes (the
// .tar.gz, and each file's bytes as it hands them over) and parses the tar while zlib inflates on the threadpool:
// three threads, not one doing everything after the inflate. Creating files costs the kernel more than anything
// else here (about 2 s of system time for 7,300 files and 336 MB on the dev VM), so the writer does only that. The main thread sends batches of operations with their bytes
// in one transferred buffer (a few MB); the worker acknowledges each, so at most LIMIT bytes are in flight.
import {Worker} from 'node:worker_threads';
import type {IndexEntry} from '../backup/file-index.js';

/** Bytes per batch, and at most this many bytes sent and not yet written. */
const BATCH_BYTES = 2 * 1024 * 1024;
const BATCH_OPS = 1024;
const LIMIT = 8 * 1024 * 1024;
/** A batch buffer's size: a batch is flushed once it reaches BATCH_BYTES, and a chunk is at most zlib's 1 MiB. */
const CAPACITY = BATCH_BYTES + (1024 * 1024);

export type WriteOp =
	| {t: 'dir'; path: string}
	| {t: 'open'; path: string; mode: number; uid: number; gid: number; mtime: number}
	| {t: 'data'; off: number; len: number}
	| {t: 'close'; id: string; sha256: string}
	| {t: 'symlink'; path: string; linkname: string; uid: number; gid: number; mtime: number}
	| {t: 'link'; path: string; target: string};

/** The worker: plain CommonJS with node: built-ins only, evaluated from this string (no file of its own to bundle). */
const SOURCE = String.raw`
const {parentPort, workerData} = require('node:worker_threads');
const fs = require('node:fs');
const umask = workerData.umask;
const written = [];
let error = null;
let file = null;

function closeFile(id, sha256) {
	const {fd, op} = file;
	file = null;
	try {
		const plain = (op.mode & ~0o777) === 0 && (op.mode & umask) === 0;
		if (op.uid !== 0 || op.gid !== 0) {
			fs.fchownSync(fd, op.uid, op.gid);
		}

		if (!plain || op.uid !== 0 || op.gid !== 0) {
			fs.fchmodSync(fd, op.mode);
		}

		fs.futimesSync(fd, op.mtime, op.mtime);
		written.push([id, fs.fstatSync(fd).ino, sha256]);
	} finally {
		fs.closeSync(fd);
	}
}

function run(op, buf) {
	switch (op.t) {
		case 'dir': fs.mkdirSync(op.path, {mode: 0o700}); break;
		case 'open': {
			const plain = (op.mode & ~0o777) === 0 && (op.mode & umask) === 0;
			file = {fd: fs.openSync(op.path, 'wx', plain ? op.mode : 0o600), op};
			break;
		}
		case 'data': {
			const chunk = buf.subarray(op.off, op.off + op.len);
			for (let at = 0; at < chunk.length;) {
				at += fs.writeSync(file.fd, chunk, at);
			}
			break;
		}
		case 'close': closeFile(op.id, op.sha256); break;
		case 'symlink': fs.symlinkSync(op.linkname, op.path); fs.lchownSync(op.path, op.uid, op.gid); fs.lutimesSync(op.path, op.mtime, op.mtime); break;
		case 'link': fs.linkSync(op.target, op.path); break;
	}
}

parentPort.on('message', message => {
	const buf = Buffer.from(message.buffer, 0, message.length);
	for (const op of message.ops) {
		if (error) {
			break;
		}

		try {
			run(op, buf);
		} catch (e) {
			const path = op.path ?? (file && file.op.path) ?? '?';
			error = path + ': cannot write it (' + (e.code ?? e.message) + ')';
			if (file) {
				try { fs.closeSync(file.fd); } catch {}
				file = null;
			}
		}
	}

	// The buffer goes back to be filled again: no allocation (and no garbage) per batch on either side.
	parentPort.postMessage({ack: message.length, buffer: message.buffer, done: Boolean(message.done), written: message.done ? written : null, error: message.done ? error : null}, [message.buffer]);
});
`;

export interface WriterResult {
	/** Each file written: its index path, its inode, the sha256 of the bytes handed to write(). */
	written: Array<[string, number, string]>;
	/** The first write that failed, naming the path. */
	error: string | null;
}

/** Queue operations for the worker; `room()` resolves once fewer than LIMIT bytes are in flight. */
export class StageWriter {
	private readonly worker: Worker;
	private ops: WriteOp[] = [];
	private parts: Buffer[] = [];
	private size = 0;
	private inFlight = 0;
	private waiting: Array<() => void> = [];
	private finished: ((result: WriterResult) => void) | null = null;
	private failed: ((error: Error) => void) | null = null;
	private crashed: Error | null = null;
	private readonly pool: ArrayBuffer[] = [];

	constructor(umask: number) {
		this.worker = new Worker(SOURCE, {eval: true, workerData: {umask}});
		this.worker.on('message', (message: {ack: number; buffer: ArrayBuffer; done: boolean; written: WriterResult['written'] | null; error: string | null}) => {
			this.inFlight -= message.ack;
			if (message.buffer.byteLength === CAPACITY) {
				this.pool.push(message.buffer);
			}

			if (this.inFlight < LIMIT) {
				for (const wake of this.waiting.splice(0)) {
					wake();
				}
			}

			if (message.done) {
				this.finished?.({written: message.written ?? [], error: message.error});
			}
		});
		this.worker.on('error', error => {
			this.crashed = error;
			this.failed?.(error);
			for (const wake of this.waiting.splice(0)) {
				wake();
			}
		});
	}

	op(op: WriteOp): void {
		this.ops.push(op);
		if (this.ops.length >= BATCH_OPS) {
			this.flush();
		}
	}

	data(chunk: Buffer): void {
		this.ops.push({t: 'data', off: this.size, len: chunk.length});
		this.parts.push(chunk);
		this.size += chunk.length;
		if (this.size >= BATCH_BYTES || this.ops.length >= BATCH_OPS) {
			this.flush();
		}
	}

	get full(): boolean {
		return this.inFlight >= LIMIT;
	}

	async room(): Promise<void> {
		if (this.inFlight >= LIMIT && !this.crashed) {
			await new Promise<void>(resolve => this.waiting.push(resolve));
		}
	}

	/** Send what is queued, wait until all of it is written, stop the worker. */
	async end(): Promise<WriterResult> {
		if (this.crashed) {
			await this.worker.terminate();
			throw this.crashed;
		}

		const result = new Promise<WriterResult>((resolve, reject) => {
			this.finished = resolve;
			this.failed = reject;
		});
		this.flush(true);
		try {
			return await result;
		} finally {
			await this.worker.terminate();
		}
	}

	private flush(done = false): void {
		if (this.ops.length === 0 && !done) {
			return;
		}

		// A buffer of its own (never a slice of Node's pool), transferred: the chunks are copied once, into it.
		const buffer = this.size <= CAPACITY ? this.pool.pop() ?? new ArrayBuffer(CAPACITY) : new ArrayBuffer(this.size);
		const view = Buffer.from(buffer);
		let at = 0;
		for (const part of this.parts) {
			view.set(part, at);
			at += part.length;
		}

		this.inFlight += this.size;
		this.worker.postMessage({ops: this.ops, buffer, length: this.size, done}, [buffer]);
		this.ops = [];
		this.parts = [];
		this.size = 0;
	}
}

/** The operation that makes one entry (a file's content follows as data, then close). */
export function opFor(path: string, entry: IndexEntry, linkTarget: string): WriteOp {
	switch (entry.type) {
		case 'directory': {
			return {t: 'dir', path};
		}

		case 'file': {
			return {t: 'open', path, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime};
		}

		case 'symlink': {
			return {t: 'symlink', path, linkname: entry.linkname!, uid: entry.uid, gid: entry.gid, mtime: entry.mtime};
		}

		case 'link': {
			return {t: 'link', path, target: linkTarget};
		}

		default: {
			throw new Error(`a ${entry.type} cannot be staged`);
		}
	}
}
