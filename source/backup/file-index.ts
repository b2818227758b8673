// Manifest v2's per-file index of an archive: path, type, size, mode, owner, mtime and sha256 of every entry, in a
// gzipped JSON sidecar (`<name>.index.json.gz`) so a million files do not bloat manifest.json. Restore compares the
// live data and the restored data against it.
import {createHash, type Hash} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import {gunzipSync} from 'node:zlib';
import type tar from 'tar-stream';

export interface IndexEntry {
	/** As in the archive: `.`, `./dir`, `./dir/file`. */
	path: string;
	/** tar's type: file, directory, symlink, link, … */
	type: string;
	size: number;
	/** Permission bits (and setuid/setgid/sticky). */
	mode: number;
	uid: number;
	gid: number;
	/** Whole seconds since the epoch. */
	mtime: number;
	/** Regular files only. */
	sha256?: string;
	/** Symlinks and hard links. */
	linkname?: string;
}

export interface FileIndex {
	format: 'occ-doctor-index';
	version: 1;
	entries: IndexEntry[];
}

/** `./a/b/` and `a/b` → `./a/b`; the root is `.`. */
export function indexPath(name: string): string {
	const clean = name.replace(/\/+$/, '').replace(/^\.\/?/, '').replace(/^\/+/, '');
	return clean === '' ? '.' : `./${clean}`;
}

/** One entry's index record, from its header; the content's hash is filled in as the content streams by. */
export function entryOf(header: tar.Header): IndexEntry {
	return {
		path: indexPath(header.name),
		type: header.type ?? 'file',
		size: header.type === 'file' ? header.size ?? 0 : 0,
		mode: (header.mode ?? 0) & 0o7777,
		uid: header.uid ?? 0,
		gid: header.gid ?? 0,
		mtime: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
		...(header.linkname ? {linkname: header.linkname} : {}),
	};
}

/** Sees each entry an archive gets (header, then content) and records it: the pack step's only extra work is a hash. */
export class IndexBuilder {
	readonly entries: IndexEntry[] = [];

	/** Start an entry; the returned sink takes its content's chunks and is ended once. */
	onEntry(header: tar.Header): {data: (chunk: Buffer) => void; end: () => void} | undefined {
		const entry = entryOf(header);
		this.entries.push(entry);
		if (entry.type !== 'file') {
			return undefined;
		}

		const hash: Hash = createHash('sha256');
		return {
			data: chunk => hash.update(chunk),
			end: () => {
				entry.sha256 = hash.digest('hex');
			},
		};
	}

	toJSON(): FileIndex {
		return {format: 'occ-doctor-index', version: 1, entries: this.entries};
	}
}

export async function readIndex(path: string): Promise<FileIndex> {
	const value = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as FileIndex;
	if (value?.format !== 'occ-doctor-index' || !Array.isArray(value.entries)) {
		throw new Error('not an occ-doctor index');
	}

	return value;
}
