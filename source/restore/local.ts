// Restore on a local engine as root, through the target's host directory: one pass over the archive (sha256 of the
// .tar.gz, gunzip, tar parse, tar-slip checks, each file written and hashed against the index) into a staging
// directory beside the target, on its file system. Only when all of it checked out are the old contents moved aside
// and the staged ones moved in (renames); the old contents, kept aside, are put back by renames on a rollback.
import {createHash} from 'node:crypto';
import {chmodSync, chownSync, createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, utimesSync} from 'node:fs';
import {statfs} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {pipeline} from 'node:stream/promises';
import {createGunzip} from 'node:zlib';
import tar from 'tar-stream';
import {entryOf, type IndexEntry} from '../backup/file-index.js';
import {damageReason} from '../backup/verify.js';
import {checkAbort} from '../docker/abort.js';
import type {Engine} from '../docker/engine.js';
import {engineIsHere} from '../docker/here.js';
import {difference} from './compare.js';
import type {Target, TargetState} from './engine-side.js';
import {hashingTap, unsafeEntry} from './scan.js';
import {opFor, StageWriter} from './writer.js';

/** What can be staged on the host: regular files, directories, symlinks and hard links (no fifo, socket or device). */
const STAGEABLE = new Set(['file', 'directory', 'symlink', 'link']);

/** Set to `engine` to restore through the engine's archive API even when the host directory is writable. */
export const VIA_ENV = 'OCC_DOCTOR_RESTORE_VIA';

/** Where a staged restore keeps its work beside the target, all on the target's file system. */
export interface HostWork {
	/** The target's host directory (a volume's _data, a bind's source). */
	dir: string;
	/** The new contents, written and hashed, before they are moved in. */
	staged: string;
	/** The old contents, moved aside while the new ones are moved in: the rollback's source. */
	aside: string;
}

/**
 * The target's host directory, when this process can write it directly: a unix-socket engine on this machine (its
 * host name is ours), root, a local-driver volume (or a bind) whose directory exists and is not a mount point (its
 * parent, where the staging directory goes, is on the same file system, so moving in is a rename). Else null: the
 * engine's archive API.
 */
export async function hostDirOf(engine: Engine, target: Target): Promise<string | null> {
	if (process.env[VIA_ENV] === 'engine' || process.getuid?.() !== 0 || !(await engineIsHere(engine))) {
		return null;
	}

	let dir = target.name;
	if (target.kind === 'volume') {
		const info = await engine.docker.getVolume(target.name).inspect().catch(() => null) as {Driver?: string; Mountpoint?: string; Options?: Record<string, string> | null} | null;
		if (!info?.Mountpoint || info.Driver !== 'local' || Object.keys(info.Options ?? {}).length > 0) {
			return null;
		}

		dir = info.Mountpoint;
	}

	try {
		const here = statSync(dir);
		return here.isDirectory() && statSync(dirname(dir)).dev === here.dev ? dir : null;
	} catch {
		return null;
	}
}

export function hostWork(dir: string, runId: string): HostWork {
	const parent = dirname(dir);
	return {dir, staged: join(parent, `.occ-doctor-restore-${runId}-${basename(dir)}`), aside: join(parent, `.occ-doctor-old-${runId}-${basename(dir)}`)};
}

/** Can this index be staged on the host (no fifo or other special file)? */
export function stageable(index: IndexEntry[]): boolean {
	return index.every(e => STAGEABLE.has(e.type));
}

/** Bytes the target's entries take on disk (blocks), whether it is empty, and the room left on its file system. */
export async function measureHostDir(dir: string, beneath: string[] = []): Promise<TargetState> {
	let used = 0;
	const walk = (at: string) => {
		for (const name of readdirSync(at)) {
			const st = lstatSync(join(at, name));
			used += st.blocks * 512;
			if (st.isDirectory()) {
				walk(join(at, name));
			}
		}
	};

	walk(dir);
	const fs = await statfs(dir);
	return {empty: readdirSync(dir).length === 0, usedBytes: used, availableBytes: fs.bavail * fs.bsize, hidden: firstBeneath(dir, beneath)};
}

/** The first entry beneath one of the mount points `beneath` (relative to `dir`), as `./rel/name`; null when none. */
function firstBeneath(dir: string, beneath: string[]): string | null {
	for (const rel of beneath) {
		try {
			const [first] = readdirSync(join(dir, rel));
			if (first !== undefined) {
				return `./${rel}/${first}`;
			}
		} catch {
			// No such directory (or not one): nothing hidden there.
		}
	}

	return null;
}

export interface StageResult {
	/** Damage: bad gzip, a sha256, entry or index mismatch. */
	damage: string | null;
	/** A well-formed archive that would write outside its target. */
	unsafe: string | null;
	/** Each written file's inode → its content's sha256, as written. */
	written: Map<number, string>;
}

/** Apply an entry's owner, mode and mtime to what was written; owner first (chown clears setuid bits). */
function applyMeta(path: string, entry: IndexEntry): void {
	chownSync(path, entry.uid, entry.gid);
	chmodSync(path, entry.mode);
	utimesSync(path, entry.mtime, entry.mtime);
}

/** The process's umask, read once (reading it means setting it back): the writer skips chmod when it keeps the mode. */
const UMASK = (() => {
	const mask = process.umask(0o022);
	process.umask(mask);
	return mask;
})();

/**
 * The one pass: read the .tar.gz once (sha256 of its bytes), gunzip, parse, refuse unsafe entries before they are
 * written, write each entry under `staged` with its owner, mode and mtime, and compare each with the index (metadata
 * from the header, content from the bytes written). Nothing outside `staged` is written.
 */
export async function stageArchive(file: string, expected: {sha256?: string; entries?: number}, index: IndexEntry[], staged: string, signal: AbortSignal | undefined, onBytes: (bytes: number) => void): Promise<StageResult> {
	const name = basename(file);
	const wanted = new Map(index.map(e => [e.path, e]));
	const seen = new Set<string>();
	const written = new Map<number, string>();
	const directories: IndexEntry[] = [];
	const symlinks = new Set<string>();
	let unsafe: string | null = null;
	let mismatch: string | null = null;
	let count = 0;
	const {tap, hash} = hashingTap(onBytes);
	mkdirSync(staged, {mode: 0o700});
	const writer = new StageWriter(UMASK);
	const extract = tar.extract();
	extract.on('entry', (header, body, next) => {
		count++;
		unsafe ??= unsafeEntry(header, symlinks);
		const entry = entryOf(header);
		const want = wanted.get(entry.path);
		const why = want ? difference(want, entry) : 'not in the index';
		if (why || seen.has(entry.path)) {
			mismatch ??= `${entry.path}: ${why ?? 'twice in the archive'}`;
		}

		seen.add(entry.path);
		// Once anything is wrong nothing more is written: the staging directory is removed anyway.
		let fileHash: ReturnType<typeof createHash> | null = null;
		if (!unsafe && !mismatch && entry.path !== '.') {
			try {
				const target = entry.type === 'link' ? join(staged, entry.linkname!.replace(/^\.?\/*/, '')) : '';
				writer.op(opFor(join(staged, entry.path), entry, target));
				fileHash = entry.type === 'file' ? createHash('sha256') : null;
				if (entry.type === 'directory') {
					directories.push(entry);
				}
			} catch (error) {
				mismatch ??= `${entry.path}: cannot write it (${(error as Error).message})`;
			}
		}

		body.on('data', (chunk: unknown) => {
			if (fileHash) {
				fileHash.update(chunk as Buffer);
				writer.data(chunk as Buffer);
				if (writer.full) {
					body.pause();
					void writer.room().then(() => body.resume());
				}
			}
		});
		body.on('end', () => {
			if (fileHash) {
				writer.op({t: 'close', id: entry.path, sha256: fileHash.digest('hex')});
			}

			if (writer.full) {
				void writer.room().then(() => next());
			} else {
				next();
			}
		});
		// A truncated archive fails inside an entry: the pipeline reports it.
		body.on('error', () => {});
	});
	let failure: unknown = null;
	try {
		await pipeline(createReadStream(file, {highWaterMark: 1024 * 1024}), tap, createGunzip({chunkSize: 1024 * 1024}), extract, {signal});
	} catch (error) {
		failure = error;
	}

	// Always waited for: no write may land after the staging directory is removed.
	const out = await writer.end();
	if (failure) {
		checkAbort(signal);
		return {damage: `${name}: ${damageReason(failure)}`, unsafe: null, written};
	}

	for (const [path, ino, sha256] of out.written) {
		written.set(ino, sha256);
		const want = wanted.get(path);
		if (want?.sha256 && want.sha256 !== sha256) {
			mismatch ??= `${path}: different content from the index`;
		}
	}

	mismatch ??= out.error;
	const sha256 = hash.digest('hex');
	if (expected.sha256 && expected.sha256 !== sha256) {
		return {damage: `${name}: sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${expected.sha256.slice(0, 12)}…`, unsafe: null, written};
	}

	if (expected.entries !== undefined && expected.entries !== count) {
		return {damage: `${name}: ${count} entries, the manifest says ${expected.entries}`, unsafe: null, written};
	}

	if (unsafe) {
		return {damage: null, unsafe: `${name}: unsafe entry ${unsafe}`, written};
	}

	const missing = index.find(e => !seen.has(e.path));
	mismatch ??= missing ? `${missing.path}: in the index, not in the archive` : null;
	if (mismatch) {
		return {damage: `${name} does not match its index: ${mismatch}`, unsafe: null, written};
	}

	// Directories last, deepest first: their modes may forbid writing into them, and writing changes their mtimes.
	for (const dir of directories.reverse()) {
		applyMeta(join(staged, dir.path), dir);
	}

	return {damage: null, unsafe: null, written};
}

/** The root's metadata before the restore, so a rollback can give it back. */
export function rootOf(dir: string): {mode: number; uid: number; gid: number} {
	const st = statSync(dir);
	return {mode: st.mode & 0o7777, uid: st.uid, gid: st.gid};
}

function moveAll(from: string, to: string): void {
	for (const name of readdirSync(from)) {
		renameSync(join(from, name), join(to, name));
	}
}

/** The old contents aside (the target is empty now). Synchronous: an interrupt cannot land halfway. */
export function moveAside(work: HostWork): void {
	mkdirSync(work.aside, {mode: 0o700});
	moveAll(work.dir, work.aside);
}

/** The staged contents in, and the root given the archive's owner and mode. */
export function moveIn(work: HostWork, root: IndexEntry | undefined): void {
	moveAll(work.staged, work.dir);
	rmSync(work.staged, {recursive: true, force: true});
	if (root) {
		chownSync(work.dir, root.uid, root.gid);
		chmodSync(work.dir, root.mode);
	}
}

/**
 * Undo a staged restore from what is on the host. `step` says how far the swap got: before `moving-in` the target
 * holds only old entries (some may be aside); from it on, everything in the target is new and everything old is aside.
 */
export function moveBack(work: HostWork, step: 'staged' | 'moving-aside' | 'moving-in', root: {mode: number; uid: number; gid: number} | null): void {
	if (step === 'moving-in') {
		// What is left there is new (entries not yet moved in, the count's links): the target's entries go in its place.
		rmSync(work.staged, {recursive: true, force: true});
		mkdirSync(work.staged, {mode: 0o700});
		moveAll(work.dir, work.staged);
	}

	if (step !== 'staged' && existsSync(work.aside)) {
		moveAll(work.aside, work.dir);
	}

	if (root && step === 'moving-in') {
		chownSync(work.dir, root.uid, root.gid);
		chmodSync(work.dir, root.mode);
	}

	rmSync(work.staged, {recursive: true, force: true});
	rmSync(work.aside, {recursive: true, force: true});
}

/**
 * What the target holds now, in the index's shape. A file's sha256 is the one hashed as it was written when it is
 * the same inode (a rename keeps it); any other file is read back and hashed.
 */
export function listHostDir(dir: string, written: Map<number, string>): IndexEntry[] {
	const out: IndexEntry[] = [];
	const visit = (path: string, rel: string) => {
		const st = lstatSync(path);
		const base = {path: rel, size: 0, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000)};
		if (st.isDirectory()) {
			out.push({...base, type: 'directory'});
			for (const name of readdirSync(path)) {
				visit(join(path, name), rel === '.' ? `./${name}` : `${rel}/${name}`);
			}
		} else if (st.isFile()) {
			const sha256 = written.get(st.ino) ?? createHash('sha256').update(readFileSync(path)).digest('hex');
			out.push({...base, type: 'file', size: st.size, sha256});
		} else if (st.isSymbolicLink()) {
			out.push({...base, type: 'symlink', linkname: readlinkSync(path)});
		} else {
			out.push({...base, type: 'other'});
		}
	};

	visit(dir, '.');
	return out;
}
