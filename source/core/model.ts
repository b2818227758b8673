import {normalisePath, resolvePath} from './profiles.js';
import {survivalFor} from './matrix.js';
import type {ContainerFacts, Expectation, Location, LocationKind, MountFacts, Priority, Profile, StorageClass} from './types.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** A volume is anonymous when Docker labels it so (Engine 23+) or, on older engines, by its 64-hex name. */
export function isAnonymousVolume(name: string | null, facts: Pick<ContainerFacts, 'volumes'>): boolean {
	if (!name) {
		return false;
	}

	const labels = facts.volumes[name]?.labels ?? {};
	return 'com.docker.volume.anonymous' in labels || HEX64.test(name);
}

export function isUnder(path: string, prefix: string): boolean {
	return prefix === '/' || path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : prefix + '/');
}

/** The mount that owns a path: the longest destination prefix wins, so a bind nested inside a volume owns its subtree. */
export function coveringMount(path: string, facts: Pick<ContainerFacts, 'mounts' | 'tmpfs'>): MountFacts | null {
	const all: MountFacts[] = [
		...facts.mounts,
		...facts.tmpfs
			.filter(t => !facts.mounts.some(m => m.destination === t))
			.map(t => ({type: 'tmpfs' as const, name: null, source: null, destination: t, rw: true, driver: null})),
	];
	let best: MountFacts | null = null;
	for (const mount of all) {
		const destination = normalisePath(mount.destination);
		if (isUnder(path, destination) && (!best || destination.length > normalisePath(best.destination).length)) {
			best = mount;
		}
	}

	return best;
}

/** The host path behind a container path: its covering bind's or volume's source plus the rest. null on the layer or a tmpfs. */
export function hostPathOf(path: string, facts: Pick<ContainerFacts, 'mounts' | 'tmpfs'>): string | null {
	const mount = coveringMount(path, facts);
	if (!mount?.source || (mount.type !== 'bind' && mount.type !== 'volume')) {
		return null;
	}

	const destination = normalisePath(mount.destination);
	return destination === path ? mount.source : mount.source.replace(/\/$/, '') + path.slice(destination === '/' ? 0 : destination.length);
}

export function storageClassOf(mount: MountFacts | null, facts: ContainerFacts): StorageClass {
	if (!mount) {
		return 'container-layer';
	}

	switch (mount.type) {
		case 'volume': {
			return isAnonymousVolume(mount.name, facts) ? 'anonymous-volume' : 'named-volume';
		}

		case 'bind': {
			return mount.source && facts.bindSourceIsFile[mount.source] ? 'bind-file' : 'bind';
		}

		case 'tmpfs': {
			return 'tmpfs';
		}

		default: {
			// Npipe and cluster volumes do not occur on Linux engines; treat them like named volumes.
			return 'named-volume';
		}
	}
}

export function composeOf(facts: Pick<ContainerFacts, 'labels'>): {project: string; service: string} | null {
	const project = facts.labels['com.docker.compose.project'];
	if (!project) {
		return null;
	}

	return {project, service: facts.labels['com.docker.compose.service'] ?? ''};
}

/**
 * A compose project owns a volume when the volume carries its project label, or when it bears the `<project>_` name
 * compose gives the volumes it declares (made by hand beforehand, `down -v` still removes it: measured).
 * Anything else was declared `external`.
 */
export function isExternalVolume(name: string | null, facts: ContainerFacts): boolean {
	if (!name) {
		return false;
	}

	const compose = composeOf(facts);
	if (!compose || isAnonymousVolume(name, facts)) {
		return false;
	}

	const labels = facts.volumes[name]?.labels ?? {};
	if (labels['com.docker.compose.project'] !== undefined) {
		return labels['com.docker.compose.project'] !== compose.project;
	}

	return !name.startsWith(`${compose.project}_`);
}

interface Candidate {
	writesAtRuntime?: boolean;
	writer?: 'root';
	path: string;
	label: string;
	priority: Priority;
	kind: LocationKind;
	expected: Expectation;
	origin: Location['origin'];
}

/**
 * Every location worth judging: the profile's paths, every mount destination, every image VOLUME and every --path.
 * The first source of a path wins (profile before mounts), so profile labels and priorities stick.
 */
export function collectCandidates(facts: ContainerFacts, profile: Profile, extraPaths: string[] = []): Candidate[] {
	const out = new Map<string, Candidate>();
	const add = (c: Candidate) => {
		if (!out.has(c.path)) {
			out.set(c.path, c);
		}
	};

	for (const loc of profile.locations) {
		add({path: resolvePath(loc.path, facts), label: loc.label, priority: loc.priority, kind: loc.kind, expected: loc.expected ?? 'persistent', origin: 'profile', ...(loc.writesAtRuntime ? {writesAtRuntime: true} : {}), ...(loc.writer === 'root' ? {writer: 'root' as const} : {})});
	}

	for (const path of extraPaths) {
		add({path: normalisePath(path), label: 'given with --path', priority: 'high', kind: 'dir', expected: 'persistent', origin: 'user'});
	}

	for (const path of facts.imageVolumes) {
		add({path: normalisePath(path), label: `image VOLUME ${normalisePath(path)}`, priority: 'medium', kind: 'dir', expected: 'persistent', origin: 'image-volume'});
	}

	for (const mount of facts.mounts) {
		if (mount.type === 'tmpfs') {
			continue;
		}

		const path = normalisePath(mount.destination);
		const isFile = mount.type === 'bind' && mount.source !== null && facts.bindSourceIsFile[mount.source];
		add({
			path,
			label: mount.type === 'volume' ? (isAnonymousVolume(mount.name, facts) ? `data at ${path}` : `volume ${mount.name}`) : (isFile ? 'bind-mounted file' : 'bind mount'),
			priority: 'medium',
			kind: isFile ? 'file' : 'dir',
			expected: mount.rw ? 'persistent' : 'read-only',
			origin: 'mount',
		});
	}

	for (const path of [...facts.tmpfs, ...facts.mounts.filter(m => m.type === 'tmpfs').map(m => m.destination)]) {
		add({path: normalisePath(path), label: 'tmpfs', priority: 'low', kind: 'dir', expected: 'ephemeral', origin: 'mount'});
	}

	return [...out.values()];
}

function ownerLabel(owner: {uid: number; gid: number; mode: number}): {uid: number; gid: number; mode: string} {
	return {uid: owner.uid, gid: owner.gid, mode: owner.mode.toString(8).padStart(4, '0')};
}

export function buildLocations(facts: ContainerFacts, profile: Profile, extraPaths: string[] = []): Location[] {
	const compose = composeOf(facts);
	return collectCandidates(facts, profile, extraPaths).map(c => {
		const mount = coveringMount(c.path, facts);
		const storage = storageClassOf(mount, facts);
		const readOnly = mount ? !mount.rw : facts.readonlyRootfs;
		const external = mount?.type === 'volume' ? isExternalVolume(mount.name, facts) : false;
		const location: Location = {
			path: c.path,
			label: c.label,
			priority: c.priority,
			kind: c.kind,
			expected: c.expected,
			origin: c.origin,
			exists: facts.pathExists[c.path] ?? null,
			...(c.writesAtRuntime ? {writesAtRuntime: true} : {}),
			...(c.writer ? {writer: c.writer} : {}),
			...(facts.pathOwners[c.path] ? {owner: ownerLabel(facts.pathOwners[c.path]!)} : {}),
			storage,
			readOnly,
			mount: mount ? {type: mount.type, name: mount.name, source: mount.source, destination: normalisePath(mount.destination), rw: mount.rw} : null,
			hostSource: mount?.source ?? null,
			compose,
			external,
			survives: {} as Location['survives'],
		};
		location.survives = survivalFor(location, facts, profile.name);
		return location;
	});
}
