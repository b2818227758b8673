// Re-read archives all the way through: gunzip, parse every tar entry, hash the .tar.gz, compare with the manifest.
import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {createGunzip} from 'node:zlib';
import tar from 'tar-stream';
import {checkAbort} from '../docker/abort.js';
import {DoctorError} from '../docker/engine.js';
import {readIndex} from './file-index.js';
import type {Manifest, VerifyResult} from './types.js';

export const MANIFEST = 'manifest.json';

function reason(error: unknown): string {
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

/** Read one .tar.gz end to end. ok when it parses fully and, where given, its sha256 and entry count match. */
export async function verifyArchive(path: string, expected: {sha256?: string; entries?: number} = {}, signal?: AbortSignal): Promise<VerifyResult> {
	const file = path.split('/').pop()!;
	const hash = createHash('sha256');
	let entries = 0;
	const tap = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			hash.update(chunk);
			done(null, chunk);
		},
	});
	const extract = tar.extract();
	extract.on('entry', (_header, stream, next) => {
		entries++;
		stream.on('end', next);
		// A truncated archive fails inside an entry: the pipeline reports it, the entry must not throw it again.
		stream.on('error', () => {});
		stream.resume();
	});
	try {
		// Large reads and inflates: few threadpool round trips and few chunks for the tar parser.
		await pipeline(createReadStream(path, {highWaterMark: 1024 * 1024}), tap, createGunzip({chunkSize: 256 * 1024}), extract, {signal});
	} catch (error) {
		checkAbort(signal);

		return {file, ok: false, error: `${file}: ${reason(error)}`, sha256: null, entries};
	}

	const sha256 = hash.digest('hex');
	if (expected.sha256 && expected.sha256 !== sha256) {
		return {file, ok: false, error: `${file}: sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${expected.sha256.slice(0, 12)}…`, sha256, entries};
	}

	if (expected.entries !== undefined && expected.entries !== entries) {
		return {file, ok: false, error: `${file}: ${entries} entries, the manifest says ${expected.entries}`, sha256, entries};
	}

	return {file, ok: true, error: null, sha256, entries};
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
		return {...result, ok: false, error: `${file}: ${reason(error)}`};
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
