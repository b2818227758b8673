import {open, opendir, stat} from 'node:fs/promises';
import {posix} from 'node:path';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import type {Location} from '../core/types.js';
import {getArchiveStream} from '../docker/archive.js';
import {formatBytes} from '../report/text.js';
import {shellLine, type Shell} from '../docker/host-shell.js';
import {symlinkBelow} from '../docker/exists.js';

// Finds SQLite files and opencode's legacy JSON storage in a container's data locations, within bounds.
// Local engine and a host path we can read: readdir on the host (no file body moves). Otherwise the archive API,
// which streams whole files, so it gets a byte budget. Either way only the first 16 bytes of a file are looked at.

export const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** Directory names never walked: repositories, dependencies, caches, opencode's git snapshots of the workspace. */
export const SKIP_DIRS = new Set(['node_modules', '.git', '.hg', '.svn', '.cache', 'cache', '.npm', '.bun', '.venv', 'venv', '__pycache__', '.pnpm-store', 'snapshot', 'proc', 'sys', 'dev']);
/** opencode's legacy storage kinds (seed 004 and the pre-1.2 code): always reported, 0 when absent. */
export const LEGACY_KINDS = ['project', 'session', 'message', 'part', 'todo', 'permission', 'session_share', 'session_diff'];

export interface DiscoveryLimits {
	/** Directory levels below a root. */
	maxDepth: number;
	/** Entries looked at per root. */
	maxEntries: number;
	/** Bytes streamed per root through the archive API (it sends file bodies too). */
	maxArchiveBytes: number;
}

export const DEFAULT_LIMITS: DiscoveryLimits = {maxDepth: 8, maxEntries: 200_000, maxArchiveBytes: 512 * 1024 * 1024};

export interface WalkRoot {
	/** Container path. */
	path: string;
	/** Host path of the same directory when the engine is local and it is readable here. */
	hostPath: string | null;
}

export interface WalkResult {
	/** Container paths of files that start with the SQLite header. */
	sqlite: string[];
	/** storage/ dir (container path) → kind → JSON file count. */
	storage: Map<string, Record<string, number>>;
	/** storage/ dir → its sessions (id → project id from the path) and its project ids: what the migration reads. */
	sessions: Map<string, LegacySessions>;
	skipped: string[];
}

export interface LegacySessions {
	sessions: Map<string, string>;
	projects: Set<string>;
}

/** A location is walked when it should hold data: not a cache, not the workspace, not read-only, not tmpfs. */
export function walkDecision(location: Location): {walk: boolean; reason?: string} {
	if (location.kind !== 'dir') {
		return {walk: false};
	}

	if (location.storage === 'tmpfs') {
		return {walk: false, reason: `${location.path} (tmpfs: the archive API cannot reach it)`};
	}

	if (/workspace|repositor/i.test(location.label) || /\/(workspace|projects?|src|repos?)$/.test(location.path)) {
		return {walk: false, reason: `${location.path} (workspace)`};
	}

	if (location.priority === 'low' || /cache/i.test(location.label) || location.expected === 'read-only' || location.expected === 'ephemeral') {
		return {walk: false, reason: `${location.path} (${location.expected === 'read-only' ? 'read-only' : 'cache'})`};
	}

	return {walk: true};
}

/**
 * The host directory behind a container path, when a bind or volume covers it. `here`: that host is this machine,
 * where a symlink on the way (exists.ts, symlinkBelow) would lead to this host's files: then none.
 */
export function hostPathFor(location: Location, here = true): string | null {
	const mount = location.mount;
	if (!mount?.source || (mount.type !== 'bind' && mount.type !== 'volume')) {
		return null;
	}

	const rest = location.path === mount.destination ? '' : location.path.slice(mount.destination.length);
	// A symlink on the way leads to this host's files, not the container's: the archive API walks it instead.
	return here && symlinkBelow(mount.source, rest) ? null : mount.source + rest;
}

/** Roots to walk: outermost first, nested roots dropped (the outer walk covers them, the archive crosses mounts). */
export function walkRoots(locations: Location[], local: boolean, here = local): {roots: WalkRoot[]; skipped: string[]} {
	const skipped: string[] = [];
	const chosen: Location[] = [];
	for (const location of [...locations].sort((a, b) => a.path.length - b.path.length)) {
		const decision = walkDecision(location);
		if (!decision.walk) {
			if (decision.reason) {
				skipped.push(decision.reason);
			}

			continue;
		}

		if (location.path === '/') {
			skipped.push('/ (the whole filesystem)');
			continue;
		}

		const outer = chosen.find(c => location.path.startsWith(c.path + '/'));
		// A nested root on its own mount is walked separately only when the outer one is walked on the host (readdir stops at mounts).
		if (outer && !(local && location.mount && location.mount.destination !== outer.mount?.destination && hostPathFor(outer, here))) {
			continue;
		}

		chosen.push(location);
	}

	return {roots: chosen.map(l => ({path: l.path, hostPath: local ? hostPathFor(l, here) : null})), skipped};
}

/** Where a file sits in opencode's legacy storage: `<...>/storage/<kind>/...json`. */
export function legacyStorageEntry(path: string): {storage: string; kind: string} | null {
	const match = /^(.*\/storage)\/([^/]+)\/.+\.json$/.exec(path);
	if (!match) {
		return null;
	}

	return {storage: match[1]!, kind: match[2]!};
}

/** Keep only storage/ dirs that look like opencode's: under an opencode dir, or holding session or message. */
function opencodeStorage(storage: Map<string, Record<string, number>>): Map<string, Record<string, number>> {
	const out = new Map<string, Record<string, number>>();
	for (const [dir, counts] of storage) {
		if (/\/opencode\/storage$/.test(dir) || counts.session || counts.message) {
			out.set(dir, Object.fromEntries([...LEGACY_KINDS.map(k => [k, counts[k] ?? 0] as const), ...Object.entries(counts)]));
		}
	}

	return out;
}

class Collector {
	readonly sqlite: string[] = [];
	readonly storage = new Map<string, Record<string, number>>();
	readonly sessions = new Map<string, LegacySessions>();

	/** opencode's migration takes ids from paths, not JSON: session/<project>/<id>.json and project/<id>.json. */
	private identify(storage: string, parts: string[]) {
		const entry = this.sessions.get(storage) ?? {sessions: new Map<string, string>(), projects: new Set<string>()};
		this.sessions.set(storage, entry);
		if (parts[0] === 'session' && parts.length === 3) {
			entry.sessions.set(parts[2]!.replace(/\.json$/, ''), parts[1]!);
		} else if (parts[0] === 'project' && parts.length === 2) {
			entry.projects.add(parts[1]!.replace(/\.json$/, ''));
		}
	}

	// Two roots can reach the same file (host walk of a volume, archive walk of a parent): count it once.
	private readonly seen = new Set<string>();
	/** The legacy files counted, in order: what merge() replays. */
	private readonly files: string[] = [];
	entries = 0;

	file(path: string) {
		const legacy = legacyStorageEntry(path);
		if (legacy) {
			if (this.seen.has(path)) {
				return true;
			}

			this.seen.add(path);
			this.files.push(path);
			const counts = this.storage.get(legacy.storage) ?? {};
			counts[legacy.kind] = (counts[legacy.kind] ?? 0) + 1;
			this.storage.set(legacy.storage, counts);
			this.identify(legacy.storage, path.slice(legacy.storage.length + 1).split('/'));
			return true;
		}

		return false;
	}

	/** Take in what another collector (one root's walk) found, as if it had been walked here. */
	merge(other: Collector) {
		for (const path of other.files) {
			this.file(path);
		}

		this.sqlite.push(...other.sqlite);
	}
}

function isCandidateName(name: string): boolean {
	return !/-(wal|shm|journal)$/.test(name) && !name.endsWith('.json') && !name.endsWith('.partial');
}

async function hasSqliteHeader(file: string): Promise<boolean> {
	const handle = await open(file, 'r');
	try {
		const buffer = Buffer.alloc(16);
		const {bytesRead} = await handle.read(buffer, 0, 16, 0);
		return bytesRead === 16 && buffer.equals(SQLITE_HEADER);
	} finally {
		await handle.close();
	}
}

async function walkHost(root: WalkRoot, limits: DiscoveryLimits, out: Collector, skipped: string[], signal?: AbortSignal): Promise<void> {
	const visit = async (hostDir: string, containerDir: string, depth: number): Promise<void> => {
		signal?.throwIfAborted();
		let dir;
		try {
			dir = await opendir(hostDir);
		} catch (error) {
			skipped.push(`${containerDir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
			return;
		}

		for await (const entry of dir) {
			if (++out.entries > limits.maxEntries) {
				skipped.push(`${root.path} beyond ${limits.maxEntries} entries`);
				await dir.close().catch(() => {});
				throw new StopWalk();
			}

			const containerPath = `${containerDir}/${entry.name}`;
			const hostPath = `${hostDir}/${entry.name}`;
			if (entry.isDirectory()) {
				if (SKIP_DIRS.has(entry.name)) {
					continue;
				}

				if (depth >= limits.maxDepth) {
					skipped.push(`${containerPath} (deeper than ${limits.maxDepth} levels)`);
					continue;
				}

				await visit(hostPath, containerPath, depth + 1);
			} else if (entry.isFile() && !out.file(containerPath) && isCandidateName(entry.name)) {
				try {
					if ((await stat(hostPath)).size >= 512 && await hasSqliteHeader(hostPath)) {
						out.sqlite.push(containerPath);
					}
				} catch {
					// Vanished or unreadable: nothing to count.
				}
			}
		}
	};

	try {
		await visit(root.hostPath!, root.path, 0);
	} catch (error) {
		if (!(error instanceof StopWalk)) {
			throw error;
		}
	}
}

class StopWalk extends Error {}

/**
 * The walk on the engine's host through the SSH login's shell: `find` as walkHost reads (same skipped names, depth
 * and candidates; mounts are not crossed, as readdir does not cross them), the header compared with `cmp`; GNU
 * find's -printf. Every root in one command. One line per entry: its kind (p
 * skipped dir, d dir, s SQLite file, f file, o anything else) and its full path, NUL where the name had a newline;
 * at most `most` lines. Exit 3: a root is not a directory we may read; 4: a tool is missing; 5: not GNU find.
 */
const REMOTE_WALK = [
	String.raw`for c in find cmp tr head; do command -v "$c" >/dev/null 2>&1 || exit 4; done`,
	// $prune and $candidate are split into words on purpose (plain words and patterns), never globbed.
	String.raw`set -f; depth=$1; most=$2; k=$3; shift 3; prune=""; while [ "$k" -gt 0 ]; do prune="$prune -o -name $1"; shift; k=$((k-1)); done`,
	String.raw`for r; do [ -d "$r" ] && [ ! -L "$r" ] && [ -r "$r" ] && [ -x "$r" ] || exit 3; done`,
	String.raw`candidate='-type f -size +511c ! -name *.json ! -name *-wal ! -name *-shm ! -name *-journal ! -name *.partial'`,
	String.raw`sqlite='for f; do if printf "SQLite format 3\000" | cmp -s -n 16 - "$f"; then printf "s%s\000" "$f"; else printf "f%s\000" "$f"; fi; done'`,
	// GNU find only: BusyBox's find drops the batched -exec … + of an or-branch, and an -exec per entry would be a
	// process per file. Without it (exit 5) the archive API walks, as before.
	String.raw`find / -maxdepth 0 -printf "" >/dev/null 2>&1 || exit 5`,
	String.raw`find "$@" -mindepth 1 -maxdepth "$depth" \( -type d \( -name . $prune \) -prune -printf "p%p\000" \) -o \( -type d -printf "d%p\000" \) -o \( $candidate -exec sh -c "$sqlite" sh {} + \) -o \( -type f -printf "f%p\000" \) -o -printf "o%p\000" 2>&1 | tr "\000\n" "\n\000" | head -n "$most"`,
].join('\n');

type RemoteWalk = {own: Collector; ownSkipped: string[]};

/**
 * Walk `roots` (all with a host path) on the engine's host in one command; null when the host could not (a root it
 * may not read, a missing tool, anything find complained about, more lines than it may send): the caller asks
 * again root by root, and the archive API walks what the host cannot.
 */
export async function walkRemote(shell: Shell, roots: WalkRoot[], limits: DiscoveryLimits, signal?: AbortSignal): Promise<RemoteWalk[] | null> {
	const hosts = roots.map(root => (root.hostPath === '/' ? '/' : root.hostPath!.replace(/\/+$/, '')));
	const most = roots.length * (limits.maxEntries + 1);
	const args = [String(limits.maxDepth + 1), String(most), String(SKIP_DIRS.size), ...SKIP_DIRS, ...hosts];
	const reply = await shell.run({line: shellLine(REMOTE_WALK, args), signal}).catch(error => {
		if (signal?.aborted) {
			throw error;
		}

		return null;
	});
	const entries = reply?.code === 0 ? reply.lines.map(line => line.replaceAll('\0', '\n')) : null;
	// Cut short with several roots: which one lost entries is unknown (one root alone says "beyond" itself).
	if (!entries || (roots.length > 1 && entries.length >= most) || entries.some(line => !/^[pdsfo]\//.test(line))) {
		return null;
	}

	const walks = roots.map(() => ({own: new Collector(), ownSkipped: [] as string[], entries: 0}));
	// The longest root first: a root inside another is walked by both, and its own entries are its.
	const order = hosts.map((host, i) => ({prefix: host === '/' ? '/' : `${host}/`, i})).sort((a, b) => b.prefix.length - a.prefix.length);
	for (const entry of entries) {
		const at = order.find(o => entry.startsWith(o.prefix, 1));
		if (at) {
			remoteEntry(entry[0]!, entry.slice(1 + at.prefix.length), roots[at.i]!, walks[at.i]!, limits);
		}
	}

	return walks;
}

/** One entry of a remote walk, as walkHost takes a directory entry. */
function remoteEntry(kind: string, relative: string, root: WalkRoot, walk: RemoteWalk & {entries: number}, limits: DiscoveryLimits): void {
	if (++walk.entries > limits.maxEntries) {
		if (walk.entries === limits.maxEntries + 1) {
			walk.ownSkipped.push(`${root.path} beyond ${limits.maxEntries} entries`);
		}

		return;
	}

	const path = `${root.path}/${relative}`;
	if (kind === 'd' && relative.split('/').length > limits.maxDepth) {
		walk.ownSkipped.push(`${path} (deeper than ${limits.maxDepth} levels)`);
	} else if (kind === 'f') {
		walk.own.file(path);
	} else if (kind === 's') {
		walk.own.sqlite.push(path);
	}
}

async function walkArchive(container: Docker.Container, root: WalkRoot, limits: DiscoveryLimits, out: Collector, skipped: string[], signal?: AbortSignal): Promise<void> {
	let stream: NodeJS.ReadableStream;
	try {
		// The trailing slash: a root that is a symlink is walked as the directory it leads to in the container (the
		// engine resolves it there), not archived as the bare link; entries are named after the root's base name either way.
		stream = await getArchiveStream(container, `${root.path.replace(/\/+$/, '')}/`);
	} catch (error) {
		const status = (error as {statusCode?: number}).statusCode;
		if (status !== 404) {
			skipped.push(`${root.path} (${status ? `engine said ${status}` : 'unreadable'})`);
		}

		return;
	}

	// Entries are named after the root's base name: "opencode/storage/..." for /x/opencode.
	const parent = posix.dirname(root.path);
	const extract = tar.extract();
	let bytes = 0;
	let stopped = '';
	const stop = (why: string) => {
		if (!stopped) {
			stopped = why;
			skipped.push(`${root.path} ${why}`);
			(stream as unknown as {destroy?: () => void}).destroy?.();
			extract.destroy();
		}
	};

	await new Promise<void>(resolve => {
		const onAbort = () => stop('(interrupted)');
		signal?.addEventListener('abort', onAbort, {once: true});
		extract.on('entry', (header, entry, next) => {
			const name = header.name.replace(/\/$/, '');
			const path = posix.join(parent, name);
			const relative = path.slice(root.path.length + 1).split('/');
			bytes += 512 + (header.size ?? 0);
			if (++out.entries > limits.maxEntries) {
				stop(`beyond ${limits.maxEntries} entries`);
			} else if (bytes > limits.maxArchiveBytes) {
				stop(`beyond ${formatBytes(limits.maxArchiveBytes)} streamed (the archive API sends whole files; pass --db PATH)`);
			}

			const skippedDir = relative.slice(0, -1).some(part => SKIP_DIRS.has(part)) || relative.length - 1 > limits.maxDepth;
			const base = relative[relative.length - 1] ?? '';
			const candidate = header.type === 'file' && !skippedDir && !stopped && !out.file(path) && isCandidateName(base) && (header.size ?? 0) >= 512;
			let head = Buffer.alloc(0);
			entry.on('data', (data: unknown) => {
				const chunk = data as Buffer;
				if (candidate && head.length < 16) {
					head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)]);
				}
			});
			entry.on('end', () => {
				if (candidate && head.length === 16 && head.equals(SQLITE_HEADER)) {
					out.sqlite.push(path);
				}

				next();
			});
			entry.on('error', () => next());
			entry.resume();
		});
		extract.on('finish', resolve);
		extract.on('close', resolve);
		extract.on('error', error => {
			if (!stopped) {
				skipped.push(`${root.path} (archive stream failed: ${error.message.split('\n')[0]})`);
			}

			resolve();
		});
		(stream as unknown as NodeJS.ReadableStream).on('error', () => resolve());
		stream.pipe(extract as unknown as NodeJS.WritableStream);
	});
	signal?.throwIfAborted();
}

/** Walk each root (host readdir when possible, else the archive API unless it is unsafe) for SQLite headers and legacy storage. */
export async function walk(container: Docker.Container, roots: WalkRoot[], limits: DiscoveryLimits = DEFAULT_LIMITS, signal?: AbortSignal, archiveRisk: string | null = null, shell?: Shell): Promise<WalkResult> {
	const skipped: string[] = [];
	const out = new Collector();
	// Over ssh://, the roots with a host path are walked on the host, all in one command; if it cannot, root by root.
	const onShell = shell ? roots.filter(root => root.hostPath !== null) : [];
	// Host paths inside one another (a bind within a bind, a volume mounted twice) are walked one command each: in one
	// command's output, whose entry is whose would be a guess.
	const nested = onShell.some((a, i) => onShell.some((b, j) => i !== j && (a.hostPath === b.hostPath || a.hostPath!.startsWith(`${b.hostPath!.replace(/\/+$/, '')}/`))));
	const batch = shell && onShell.length > 0 ? (nested ? Promise.resolve(null) : walkRemote(shell, onShell, limits, signal)) : undefined;
	batch?.catch(() => {}); // Awaited below, through each root's own walk.
	const remote = roots.map(root => (shell && batch && root.hostPath !== null ? (async () => {
		const all = await batch;
		return all ? all[onShell.indexOf(root)]! : (await walkRemote(shell, [root], limits, signal))?.[0] ?? null;
	})() : undefined));
	const onHost = shell ? roots.map(() => false) : await Promise.all(roots.map(async root => {
		try {
			return root.hostPath !== null && (await stat(root.hostPath)).isDirectory();
		} catch {
			return false; // Docker Desktop, rootless or a permission we lack: the archive API still sees it.
		}
	}));
	// The archive walks start at once (over a slow link each is a round trip or more), each into its own collector,
	// and are taken in root order, so the result is the one a walk of one root after the other gives. A root the
	// host shell could not walk starts its archive walk once that is known.
	const archived = roots.map((root, i) => (onHost[i] || archiveRisk ? undefined : (async () => {
		const onRemote = await remote[i];
		if (onRemote) {
			return onRemote;
		}

		const own = new Collector();
		const ownSkipped: string[] = [];
		await walkArchive(container, root, limits, own, ownSkipped, signal);
		return {own, ownSkipped};
	})()));
	// Awaited below in order; one that fails while an earlier one is awaited (an abort) must not go unhandled meanwhile.
	for (const walking of archived) {
		walking?.catch(() => {});
	}

	for (const [i, root] of roots.entries()) {
		out.entries = 0;
		if (onHost[i]) {
			await walkHost(root, limits, out, skipped, signal);
		} else if (archiveRisk) {
			skipped.push(`${root.path} (not read: ${archiveRisk})`);
		} else {
			const {own, ownSkipped} = await archived[i]!;
			out.merge(own);
			skipped.push(...ownSkipped);
		}
	}

	const storage = opencodeStorage(out.storage);
	const sessions = new Map([...out.sessions].filter(([dir]) => storage.has(dir)));
	return {sqlite: [...new Set(out.sqlite)].sort(), storage, sessions, skipped};
}
