// Read a backup's archive end to end before anything is touched: gzip, tar, sha256 against the manifest, every entry
// checked for tar-slip (`..`, absolute paths, links out of the target, writes through a symlink, device files), and
// the per-file index built on the way (so a version 1 backup gets one too). Local files only, no engine.
import {createHash, type Hash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {posix} from 'node:path';
import {Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {createGunzip} from 'node:zlib';
import tar from 'tar-stream';
import {checkAbort} from '../docker/abort.js';
import {entryOf, type IndexEntry} from '../backup/file-index.js';
import {damageReason} from '../backup/verify.js';

export interface ScanResult {
	ok: boolean;
	/** Damage (bad gzip, truncated tar, sha256 or entry count mismatch): the file is not what was written. */
	damage: string | null;
	/** A well-formed archive that would write outside its target: refused, naming the entry. */
	unsafe: string | null;
	sha256: string | null;
	entries: IndexEntry[];
}

/** Why an archive path would leave the target, or null. Paths are as tar stores them (`./a/b`). */
export function unsafePath(name: string): string | null {
	if (name.startsWith('/')) {
		return 'an absolute path';
	}

	if (name.split('/').includes('..')) {
		return 'a path with ..';
	}

	return null;
}

/** Where a link's target lands, relative to the target's root; null when it leaves it. */
function landing(entryPath: string, linkname: string, hard: boolean): string | null {
	if (linkname.startsWith('/')) {
		return null;
	}

	// A hard link names a path from the archive's root; a symlink a path from its own directory.
	const from = hard ? linkname : posix.join(posix.dirname(entryPath), linkname);
	const joined = posix.normalize(from);
	return joined === '..' || joined.startsWith('../') ? null : joined;
}

/** Check one entry against the archive's symlinks seen so far; returns why it is unsafe, or null. */
export function unsafeEntry(header: Pick<tar.Header, 'name' | 'type' | 'linkname'>, symlinks: Set<string>): string | null {
	const name = header.name;
	const path = unsafePath(name);
	if (path) {
		return `${name}: ${path}`;
	}

	const clean = posix.normalize(name.replace(/^\.\//, '').replace(/\/+$/, '') || '.');
	if (header.type === 'character-device' || header.type === 'block-device') {
		return `${name}: a device file`;
	}

	// A write through a symlink the archive made lands wherever the link points: the classic tar-slip.
	const parts = clean.split('/');
	for (let i = 1; i < parts.length; i++) {
		if (symlinks.has(parts.slice(0, i).join('/'))) {
			return `${name}: written through the symlink ${parts.slice(0, i).join('/')}`;
		}
	}

	if (header.type === 'symlink' && header.linkname !== undefined) {
		// An absolute symlink points into the container's own filesystem, as the app made it (a venv's python);
		// a relative one must stay inside the target.
		if (!header.linkname.startsWith('/') && landing(clean, header.linkname, false) === null) {
			return `${name}: a symlink to ${header.linkname}, out of the target`;
		}

		symlinks.add(clean);
	}

	if (header.type === 'link' && header.linkname !== undefined) {
		const linkPath = unsafePath(header.linkname);
		if (linkPath || landing(clean, header.linkname.replace(/^\.\//, ''), true) === null) {
			return `${name}: a hard link to ${header.linkname}, out of the target`;
		}
	}

	return null;
}


/** A pass-through that hashes the archive's bytes as they are read and reports how many have gone by. */
export function hashingTap(onBytes?: (bytes: number) => void): {tap: Transform; hash: Hash} {
	const hash = createHash('sha256');
	let read = 0;
	const tap = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			hash.update(chunk);
			read += chunk.length;
			onBytes?.(read);
			done(null, chunk);
		},
	});
	return {tap, hash};
}

/**
 * Read the archive once: hash, gunzip, parse, check each entry. Each file's content is hashed only when `hashFiles`
 * (a v1 backup, which has no index): a v2 archive whose sha256 matches the manifest is the one its index describes,
 * and the restored files are compared with that index afterwards anyway.
 */
export async function scanArchive(path: string, expected: {sha256?: string; entries?: number}, signal?: AbortSignal, onBytes?: (bytes: number) => void, hashFiles = true): Promise<ScanResult> {
	const file = posix.basename(path);
	const {tap, hash} = hashingTap(onBytes);
	const entries: IndexEntry[] = [];
	const symlinks = new Set<string>();
	let unsafe: string | null = null;
	const extract = tar.extract();
	extract.on('entry', (header, stream, next) => {
		unsafe ??= unsafeEntry(header, symlinks);
		const entry = entryOf(header);
		entries.push(entry);
		const fileHash = hashFiles && header.type === 'file' ? createHash('sha256') : null;
		stream.on('data', (chunk: unknown) => {
			fileHash?.update(chunk as Buffer);
		});
		stream.on('end', () => {
			if (fileHash) {
				entry.sha256 = fileHash.digest('hex');
			}

			next();
		});
		// A truncated archive fails inside an entry: the pipeline reports it.
		stream.on('error', () => {});
	});
	try {
		await pipeline(createReadStream(path, {highWaterMark: 1024 * 1024}), tap, createGunzip({chunkSize: 256 * 1024}), extract, {signal});
	} catch (error) {
		checkAbort(signal);

		return {ok: false, damage: `${file}: ${damageReason(error)}`, unsafe: null, sha256: null, entries};
	}

	const sha256 = hash.digest('hex');
	if (expected.sha256 && expected.sha256 !== sha256) {
		return {ok: false, damage: `${file}: sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${expected.sha256.slice(0, 12)}…`, unsafe: null, sha256, entries};
	}

	if (expected.entries !== undefined && expected.entries !== entries.length) {
		return {ok: false, damage: `${file}: ${entries.length} entries, the manifest says ${expected.entries}`, unsafe: null, sha256, entries};
	}

	if (unsafe) {
		return {ok: false, damage: null, unsafe: `${file}: unsafe entry ${unsafe}`, sha256, entries};
	}

	return {ok: true, damage: null, unsafe: null, sha256, entries};
}
