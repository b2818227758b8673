import {lstatSync, readFileSync} from 'node:fs';
import {coveringMount, hostPathOf, isUnder} from '../core/model.js';
import {normalisePath} from '../core/profiles.js';
import type {ContainerFacts} from '../core/types.js';
import {ownerOf, readFileFromContainer, statInContainer, type PathStat} from './archive.js';
import {resolveUser} from '../core/owners.js';
import type {Location} from '../core/types.js';
import type {Engine} from './engine.js';

// Does a path exist in the container? Asked of the host first (a stat of the bind source or volume mountpoint, or of
// the overlay2 layers for the container's own files), so a local check needs no engine request for it; the archive
// API's HEAD only for what the host cannot answer, and never while that call would change the host. dockerode loads
// only when such a call is made (`container()`).

type Answer = boolean | null;

/** ENOENT/ENOTDIR say "absent"; any other error (EACCES) says "cannot tell". */
function lstatAnswer(path: string): Answer {
	try {
		const st = lstatSync(path);
		// overlay2 marks a file deleted in an upper layer with a 0/0 character device (a whiteout).
		return !(st.isCharacterDevice() && st.rdev === 0);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		return code === 'ENOENT' || code === 'ENOTDIR' ? false : null;
	}
}

/**
 * Is a directory or file on the way from a mount's host source down to `rest` (`/a/b/c` below the mount) a symlink?
 * The engine resolves symlinks inside the container (`/data/x -> /etc/y` is the container's /etc/y); followed here,
 * one would lead to this host's files. The source itself may be one: the engine followed it when it mounted it.
 */
export function symlinkBelow(source: string, rest: string): boolean {
	let path = source.replace(/\/+$/, '');
	for (const part of rest.split('/').filter(Boolean)) {
		path += `/${part}`;
		try {
			if (lstatSync(path).isSymbolicLink()) {
				return true;
			}
		} catch {
			return false;
		}
	}

	return false;
}

/** The container's own files: its writable layer first, then the image's layers, top to bottom. */
function inLayers(path: string, facts: Pick<ContainerFacts, 'layerDir' | 'imageLayerDirs'>): Answer {
	if (!facts.layerDir) {
		return null;
	}

	for (const layer of [facts.layerDir, ...facts.imageLayerDirs]) {
		const answer = lstatAnswer(layer + path);
		if (answer === null) {
			return null;
		}

		if (answer) {
			return !isWhiteout(layer + path);
		}
	}

	return false;
}

function isWhiteout(path: string): boolean {
	try {
		const st = lstatSync(path);
		return st.isCharacterDevice() && st.rdev === 0;
	} catch {
		return false;
	}
}

/** Without an engine request where the host can tell. null: unknown, and no request was made either. */
export function existsOnHost(path: string, facts: ContainerFacts, local: boolean): Answer {
	const mount = coveringMount(path, facts);
	if (mount && normalisePath(mount.destination) === path) {
		// A mount point is there whenever the container runs (a missing bind source is missing-host-path's business).
		return true;
	}

	if (!local || mount?.type === 'tmpfs') {
		return null;
	}

	const host = hostPathOf(path, facts);
	return host ? lstatAnswer(host) : (mount ? null : inLayers(path, facts));
}

/**
 * Existence of each path; one HEAD request per path the host cannot answer, none while archiveRisk is set. The
 * requests go at once (over a slow link each would be a round trip), so a path under one the engine finds absent
 * is asked too: the engine gives the same answer. `asked`: stats already on their way, taken instead of a request.
 */
export async function pathsExist(engine: Engine, facts: ContainerFacts, paths: string[], asked?: ReadonlyMap<string, Promise<PathStat | null>>): Promise<Record<string, Answer>> {
	const out: Record<string, Answer> = {};
	const container = () => engine.docker.getContainer(facts.id);
	const requests: Array<Promise<void>> = [];
	// Shortest first: a path under one the host knows to be absent (on the same mount) is absent too, without a request.
	for (const path of [...paths].sort((a, b) => a.length - b.length)) {
		const mount = coveringMount(path, facts)?.destination ?? null;
		const absentAbove = Object.entries(out).some(([above, exists]) => exists === false && above !== path && isUnder(path, above) && (coveringMount(above, facts)?.destination ?? null) === mount);
		out[path] = absentAbove ? false : existsOnHost(path, facts, engine.target.local);
		if (out[path] === null && !facts.archiveRisk && coveringMount(path, facts)?.type !== 'tmpfs') {
			requests.push((asked?.get(path) ?? statInContainer(container(), path)).then(stat => {
				out[path] = stat !== null;
			}, () => {}));
		}
	}

	await Promise.all(requests);
	return out;
}

type Owner = {uid: number; gid: number; mode: number};

/** The host file behind a container path: its mount's source, else the topmost overlay2 layer that has it. */
function hostFileOf(path: string, facts: ContainerFacts): string | null {
	const mount = coveringMount(path, facts);
	if (mount) {
		return mount.type === 'tmpfs' ? null : hostPathOf(path, facts);
	}

	for (const layer of facts.layerDir ? [facts.layerDir, ...facts.imageLayerDirs] : []) {
		const answer = lstatAnswer(layer + path);
		if (answer === null) {
			return null;
		}

		if (answer) {
			return layer + path;
		}
	}

	return null;
}

function ownerOnHost(path: string): Owner | null {
	try {
		const st = lstatSync(path);
		return {uid: st.uid, gid: st.gid, mode: st.mode & 0o7777};
	} catch {
		return null;
	}
}

/** Data locations whose owner matters: they exist, must persist, and are written (not :ro, not a tmpfs). */
export function ownedLocations(locations: Location[]): Location[] {
	return locations.filter(l => l.exists === true && l.expected === 'persistent' && !l.readOnly && l.storage !== 'tmpfs');
}

/**
 * Owner and mode of each path: a stat on the host when the engine is local, else the first tar header of a GET of
 * the path, aborted after that header; never through the engine while that would change the host.
 */
export async function pathOwners(engine: Engine, facts: ContainerFacts, paths: string[]): Promise<Record<string, Owner>> {
	const out: Record<string, Owner> = {};
	const container = () => engine.docker.getContainer(facts.id);
	// All at once: over a slow link each request is a round trip.
	await Promise.all(paths.map(async path => {
		const host = engine.target.local ? hostFileOf(path, facts) : null;
		let owner = host ? ownerOnHost(host) : null;
		if (!owner && !facts.archiveRisk) {
			owner = await ownerOf(container(), path).catch(() => null);
		}

		if (owner) {
			out[path] = owner;
		}
	}));
	// In the order asked, as the report lists them.
	return Object.fromEntries(paths.filter(path => path in out).map(path => [path, out[path]!]));
}

/** The container's configured user, resolved through the image's /etc/passwd and /etc/group (read like any file). */
export async function configuredUser(engine: Engine, facts: ContainerFacts): Promise<ContainerFacts['appUser']> {
	if (facts.user === '' || facts.user === 'root' || facts.user === '0') {
		return {uid: 0, gid: 0, groups: [0]};
	}

	const container = () => engine.docker.getContainer(facts.id);
	const read = async (path: string): Promise<string | null> => {
		const host = engine.target.local ? hostFileOf(path, facts) : null;
		if (host) {
			try {
				return readFileSync(host, 'utf8');
			} catch {
				// Unreadable here: the engine may still read it.
			}
		}

		return facts.archiveRisk ? null : (await readFileFromContainer(container(), path).catch(() => null))?.toString('utf8') ?? null;
	};

	const [passwd, group] = await Promise.all([read('/etc/passwd'), read('/etc/group')]);
	const user = resolveUser(facts.user, passwd, group);
	return user.uid === null ? null : {uid: user.uid, gid: user.gid ?? user.uid, groups: user.groups};
}
