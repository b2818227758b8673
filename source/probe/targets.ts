import {posix} from 'node:path';
import {coveringMount, isUnder} from '../core/model.js';
import type {ContainerFacts, Location, MountFacts} from '../core/types.js';
import {SENTINEL_PREFIX, type ProbeTarget} from './types.js';

export function sentinelName(runId: string): string {
	return `${SENTINEL_PREFIX}${runId}`;
}

export function sentinelPath(dir: string, runId: string): string {
	return posix.join(dir, sentinelName(runId));
}

/** What a sentinel holds: the run id and a nonce, so a stale file from another run never counts as kept. */
export function sentinelContent(runId: string, nonce: string): string {
	return `occ-doctor probe ${runId} ${nonce}\n`;
}

/**
 * The directories to probe, one per distinct directory, before looking inside the container. Pure.
 * Every location is covered: directories are probed where they are, a database or file through its directory
 * (same storage), a single-file bind is not probed, a read-only one is unwritable without trying.
 */
export function initialTargets(locations: Location[], runId: string): ProbeTarget[] {
	const byDir = new Map<string, ProbeTarget>();
	const singles: ProbeTarget[] = [];
	for (const location of locations) {
		const isFile = location.kind !== 'dir';
		if (location.storage === 'bind-file' || (isFile && location.mount?.destination === location.path)) {
			singles.push({dir: location.path, sentinel: '', locations: [location.path], channel: 'archive', skip: {observed: null, note: 'not probed (single file)'}});
			continue;
		}

		const dir = isFile ? posix.dirname(location.path) : location.path;
		const existing = byDir.get(dir);
		if (existing) {
			existing.locations.push(location.path);
			// Root alone writing the directory is only so when every location there says so.
			if (existing.writer !== location.writer) {
				delete existing.writer;
			}

			continue;
		}

		const target: ProbeTarget = {
			dir,
			sentinel: sentinelPath(dir, runId),
			locations: [location.path],
			// The archive API sees beneath a tmpfs mount (and would leave a file in the layer there): use exec.
			channel: location.storage === 'tmpfs' ? 'exec' : 'archive',
			skip: null,
			...(location.writer ? {writer: location.writer} : {}),
		};
		if (location.readOnly) {
			target.skip = {observed: 'unwritable', note: location.mount ? `read-only: ${location.mount.destination} is mounted :ro` : 'read-only: the root filesystem is read-only (--read-only)'};
		}

		byDir.set(dir, target);
	}

	return [...byDir.values(), ...singles];
}

/** The mount a path is on, or null for the container layer (tmpfs included, as in the model). */
export function mountOf(path: string, facts: Pick<ContainerFacts, 'mounts' | 'tmpfs'>): MountFacts | null {
	return coveringMount(path, facts);
}

/**
 * Ancestors of a missing directory that are on the same storage, nearest first: the sentinel there tells the same
 * story, and we never create a user's directory. Pure.
 */
export function sameStorageAncestors(dir: string, facts: Pick<ContainerFacts, 'mounts' | 'tmpfs'>): string[] {
	const own = coveringMount(dir, facts);
	const out: string[] = [];
	let current = dir;
	while (current !== '/') {
		current = posix.dirname(current);
		if (own && !isUnder(current, own.destination)) {
			break;
		}

		if (coveringMount(current, facts)?.destination !== own?.destination) {
			break;
		}

		out.push(current);
	}

	return out;
}

/** Where a container directory lives on the engine's host, when it is a bind or a volume. Pure. */
export function hostPathOf(dir: string, facts: Pick<ContainerFacts, 'mounts' | 'tmpfs'>): string | null {
	const mount = coveringMount(dir, facts);
	if (!mount?.source || (mount.type !== 'bind' && mount.type !== 'volume')) {
		return null;
	}

	const rest = dir.slice(mount.destination.replace(/\/$/, '').length);
	return posix.join(mount.source, rest);
}
