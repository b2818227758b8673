// Re-read archives all the way through: gunzip, parse every tar entry, hash the .tar.gz, compare with the manifest.
import {createHash} from 'node:crypto';
import {closeSync, createReadStream, openSync, readSync} from 'node:fs';
import {once} from 'node:events';
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Transform, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {createGunzip, type ZlibOptions} from 'node:zlib';
import {checkAbort} from '../docker/abort.js';
import {DoctorError} from '../docker/engine.js';
import {readIndex} from './file-index.js';
import type {Manifest, VerifyResult} from './types.js';

export const MANIFEST = 'manifest.json';

/** Why an archive could not be read, in the words of `--verify` and restore's pre-check: missing, bad gzip, damaged tar. */
export function damageReason(error: unknown): string {
	const err = error as NodeJS.ErrnoException;
	if (err.code === 'ENOENT') {
		return 'missing';
	}

	if (err.code?.startsWith('Z_') || /incorrect header check|unexpected end of file|invalid/i.test(err.message ?? '')) {
		return `bad gzip (${err.message})`;
	}

	if (/Unexpected end of data|Invalid tar header/i.test(err.message ?? '')) {
		return `truncated or damaged tar (${err.message})`;
	}

	return (err.message ?? String(error)).split('\n')[0]!;
}

const BLOCK = 512;
/** Entries that describe the next one (PAX, GNU long names), which tar tools do not list or count. */
const META_TYPES = new Set(['x', 'g', 'L', 'K']);

/** Does this 512-byte header's checksum field match its bytes (summed unsigned, as POSIX says, or signed, as old tars)? */
function checksumOk(header: Buffer): boolean {
	const stored = Number.parseInt(header.toString('latin1', 148, 156).replace(/\0.*$/s, '').trim(), 8);
	let unsigned = 8 * 0x20;
	let signed = 8 * 0x20;
	for (let i = 0; i < BLOCK; i++) {
		if (i < 148 || i >= 156) {
			unsigned += header[i]!;
			signed += (header[i]! << 24) >> 24;
		}
	}

	return stored === unsigned || stored === signed;
}

function entrySize(header: Buffer): number {
	const field = header.subarray(124, 136);
	if ((field[0]! & 0x80) !== 0) {
		return field.subarray(1).reduce((n, byte) => (n * 256) + byte, field[0]! & 0x7F);
	}

	const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
	return text ? Number.parseInt(text, 8) : 0;
}

/**
 * Walks a tar stream's headers as it flows: every header's checksum checked, every body skipped by its size, the
 * entries counted as tar lists them. It fails as a tar reader does on a damaged header or a stream that stops inside
 * an entry. No per-entry stream, no copy of the contents: the bodies are only counted past.
 */
export class TarWalker extends Writable {
	entries = 0;
	private header: Buffer = Buffer.alloc(0);
	private skip = 0;
	private ended = false;
	/** Inside the headers that describe the next entry; a PAX header's body is kept for its size record. */
	private pax = false;
	private paxBody: Buffer[] | null = null;

	override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
		let at = 0;
		while (at < chunk.length && !this.ended) {
			if (this.skip > 0) {
				const n = Math.min(this.skip, chunk.length - at);
				this.paxBody?.push(chunk.subarray(at, at + n));
				this.skip -= n;
				at += n;
				continue;
			}

			const n = Math.min(BLOCK - this.header.length, chunk.length - at);
			this.header = this.header.length === 0 && n === BLOCK ? chunk.subarray(at, at + BLOCK) : Buffer.concat([this.header, chunk.subarray(at, at + n)]);
			at += n;
			if (this.header.length < BLOCK) {
				continue;
			}

			const header = this.header;
			this.header = Buffer.alloc(0);
			if (header.every(byte => byte === 0)) {
				// The end-of-archive marker: what follows is padding.
				this.ended = true;
				break;
			}

			if (!checksumOk(header)) {
				done(new Error('Invalid tar header: its checksum does not match'));
				return;
			}

			const type = String.fromCharCode(header[156]!);
			// A PAX header's size record overrides the size field of the entry it describes.
			const paxSize = this.paxBody ? /(?:^|\n)\d+ size=(\d+)\n/.exec(Buffer.concat(this.paxBody).toString('utf8'))?.[1] : undefined;
			const size = META_TYPES.has(type) || paxSize === undefined ? entrySize(header) : Number(paxSize);
			this.skip = Math.ceil(size / BLOCK) * BLOCK;
			this.paxBody = type === 'x' ? [] : null;
			if (META_TYPES.has(type)) {
				this.pax = true;
				continue;
			}

			this.pax = false;
			this.entries++;
		}

		done();
	}

	override _final(done: (error?: Error) => void): void {
		done(this.header.length > 0 || this.skip > 0 || this.pax ? new Error('Unexpected end of data') : undefined);
	}
}

/**
 * Gunzip and walk a .tar.gz from its bytes as they are written: verifyArchive's checks (gzip CRC-32 and length, every
 * tar header, the entry count) in the same pass as the write, on the threadpool beside the deflate, so no second
 * decompress follows. verifyWritten then proves the file holds exactly the bytes checked here.
 */
/** How far (compressed bytes) the read-back check and the file may lag behind the deflate. */
export const BEHIND = 8 * 1024 * 1024;

export class StreamCheck {
	// Each inflate waits in the threadpool's queue behind the blocks being deflated: a deep input buffer keeps the
	// write from waiting on it chunk by chunk (the check may lag this far behind, no further).
	private readonly gunzip = createGunzip({chunkSize: 1024 * 1024, writableHighWaterMark: BEHIND} as ZlibOptions);
	private readonly walker = new TarWalker();
	private readonly checking: Promise<void>;
	private failure: unknown = null;

	constructor(signal?: AbortSignal) {
		this.checking = pipeline(this.gunzip, this.walker, {signal});
		this.checking.catch(error => {
			this.failure = error;
		});
	}

	/** Take the next compressed bytes; resolves when more may be written (a failed check takes everything). */
	async write(chunk: Buffer): Promise<void> {
		if (this.failure !== null || this.gunzip.write(chunk)) {
			return;
		}

		await Promise.race([once(this.gunzip, 'drain'), this.checking.catch(() => {})]);
	}

	/** After the last byte: the entries walked, or why the bytes do not read back. */
	async end(): Promise<{entries: number; error: string | null}> {
		if (this.failure === null) {
			this.gunzip.end();
		}

		try {
			await this.checking;
		} catch (error) {
			return {entries: this.walker.entries, error: damageReason(error)};
		}

		return {entries: this.walker.entries, error: null};
	}
}

/**
 * The check of an archive this process just wrote: StreamCheck gunzipped and walked its bytes as they went out, and
 * the file read back from the disk must hash to those bytes (so it would gunzip and walk the same), with as many
 * entries as were packed.
 */
export async function verifyWritten(path: string, expected: {sha256: string; entries: number}, streamed: {entries: number; error: string | null}, signal?: AbortSignal): Promise<VerifyResult> {
	const file = path.split('/').pop()!;
	if (streamed.error !== null) {
		return {file, ok: false, error: `${file}: ${streamed.error}`, sha256: null, entries: streamed.entries};
	}

	let sha256: string;
	try {
		sha256 = await hashFile(path, signal);
	} catch (error) {
		checkAbort(signal);
		return {file, ok: false, error: `${file}: ${damageReason(error)}`, sha256: null, entries: streamed.entries};
	}

	return judge(file, sha256, streamed.entries, expected);
}

/**
 * sha256 of a file, read on the main thread into one reused buffer: no threadpool round trip behind the blocks being
 * deflated, no new buffer per MiB for the garbage collector. It yields to the event loop every few MiB.
 */
async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
	const hash = createHash('sha256');
	const buffer = Buffer.allocUnsafe(1024 * 1024);
	const fd = openSync(path, 'r');
	try {
		for (let n = 0, i = 1; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; i++) {
			hash.update(buffer.subarray(0, n));
			if (i % 8 === 0) {
				// eslint-disable-next-line no-await-in-loop
				await new Promise(resolve => setImmediate(resolve));
				signal?.throwIfAborted();
			}
		}
	} finally {
		closeSync(fd);
	}

	return hash.digest('hex');
}

function judge(file: string, sha256: string, entries: number, expected: {sha256?: string; entries?: number}): VerifyResult {
	if (expected.sha256 && expected.sha256 !== sha256) {
		return {file, ok: false, error: `${file}: sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${expected.sha256.slice(0, 12)}…`, sha256, entries};
	}

	if (expected.entries !== undefined && expected.entries !== entries) {
		return {file, ok: false, error: `${file}: ${entries} entries, the manifest says ${expected.entries}`, sha256, entries};
	}

	return {file, ok: true, error: null, sha256, entries};
}

/** Read one .tar.gz end to end. ok when it parses fully and, where given, its sha256 and entry count match. */
export async function verifyArchive(path: string, expected: {sha256?: string; entries?: number} = {}, signal?: AbortSignal): Promise<VerifyResult> {
	const file = path.split('/').pop()!;
	const hash = createHash('sha256');
	const tap = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			hash.update(chunk);
			done(null, chunk);
		},
	});
	const walker = new TarWalker();
	try {
		// Large reads and inflates: few threadpool round trips and few chunks for the tar walk.
		await pipeline(createReadStream(path, {highWaterMark: 1024 * 1024}), tap, createGunzip({chunkSize: 1024 * 1024}), walker, {signal});
	} catch (error) {
		checkAbort(signal);

		return {file, ok: false, error: `${file}: ${damageReason(error)}`, sha256: null, entries: walker.entries};
	}

	return judge(file, hash.digest('hex'), walker.entries, expected);
}

export async function readManifest(dir: string): Promise<Manifest> {
	let text: string;
	try {
		text = await readFile(join(dir, MANIFEST), 'utf8');
	} catch (error) {
		throw new DoctorError(`no ${MANIFEST} in ${dir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): pass the directory a backup wrote`);
	}

	try {
		const manifest = JSON.parse(text) as Manifest;
		if (manifest.format !== 'occ-doctor-backup' || !Array.isArray(manifest.archives)) {
			throw new Error('not an occ-doctor backup manifest');
		}

		return manifest;
	} catch (error) {
		throw new DoctorError(`${join(dir, MANIFEST)} is damaged (${(error as Error).message}): the backup cannot be checked`, 'failed');
	}
}

/** Manifest v2: the archive's index sidecar must read and list as many entries as the archive holds. */
async function verifyIndex(path: string, entries: number, result: VerifyResult): Promise<VerifyResult> {
	const file = path.split('/').pop()!;
	try {
		const index = await readIndex(path);
		if (index.entries.length !== entries) {
			return {...result, ok: false, error: `${file}: ${index.entries.length} entries, the archive holds ${entries}`};
		}
	} catch (error) {
		return {...result, ok: false, error: `${file}: ${damageReason(error)}`};
	}

	return result;
}

/** `backup --verify DIR`: every archive the manifest names, in order. */
export async function verifyBackup(dir: string, onResult?: (result: VerifyResult) => void, signal?: AbortSignal): Promise<{manifest: Manifest; results: VerifyResult[]}> {
	const manifest = await readManifest(dir);
	const results: VerifyResult[] = [];
	for (const archive of manifest.archives) {
		let result = await verifyArchive(join(dir, archive.file), {sha256: archive.sha256, entries: archive.entries}, signal);
		if (result.ok && archive.index) {
			result = await verifyIndex(join(dir, archive.index), archive.entries, result);
		}

		results.push(result);
		onResult?.(result);
	}

	return {manifest, results};
}
