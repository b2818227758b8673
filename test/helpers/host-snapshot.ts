// Proof that a read changed nothing: every file behind a container (bind sources, volumes through their Mountpoint
// on the engine's data root, the container's own writable layer) and the container's state, before and after.
// Needs a local engine and root (the volumes live under the engine's data root); the tests run as root.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {lstatSync, readdirSync, readFileSync, readlinkSync} from 'node:fs';
import {join} from 'node:path';
import type Docker from 'dockerode';
import {runCheck, type CheckOptions, type CheckResult} from '../../source/check/check.js';
import type {Engine} from '../../source/docker/engine.js';

/** What a file is, as far as anything but a read could change it (atime left out: reads may move it). */
export interface EntryFacts {
	type: 'file' | 'dir' | 'symlink' | 'other';
	mode: number;
	uid: number;
	gid: number;
	size: number;
	mtimeNs: string;
	ctimeNs: string;
	sha256?: string;
	link?: string;
}

export type Tree = Record<string, EntryFacts> | 'missing';

/** Every entry under `root` (itself as ''), or 'missing'. File contents are hashed. */
export function snapshotTree(root: string): Tree {
	const out: Record<string, EntryFacts> = {};
	const visit = (path: string, relative: string) => {
		const st = lstatSync(path, {bigint: true});
		const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
		const entry: EntryFacts = {type, mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs)};
		if (type === 'file') {
			entry.sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
		} else if (type === 'symlink') {
			entry.link = readlinkSync(path);
		}

		out[relative] = entry;
		if (type === 'dir') {
			for (const name of readdirSync(path).sort()) {
				visit(join(path, name), relative ? `${relative}/${name}` : name);
			}
		}
	};

	try {
		lstatSync(root);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			return 'missing';
		}

		throw error;
	}

	visit(root, '');
	return out;
}

export interface ContainerSnapshot {
	state: {status: string; startedAt: string; finishedAt: string; restartCount: number};
	/** Keyed `bind <source>`, `volume <name>`, `layer`. */
	trees: Record<string, Tree>;
	/** Containers and volumes on the engine: a read creates no helper and no volume. */
	containers: string[];
	volumes: string[];
}

/** Snapshot everything of one container that a read must leave alone. */
export async function snapshotContainer(docker: Docker, ref: string): Promise<ContainerSnapshot> {
	const info: any = await docker.getContainer(ref).inspect();
	const trees: Record<string, Tree> = {};
	for (const mount of info.Mounts ?? []) {
		if (mount.Type === 'bind') {
			trees[`bind ${mount.Source}`] = snapshotTree(mount.Source);
		} else if (mount.Type === 'volume') {
			const volume: any = await docker.getVolume(mount.Name).inspect();
			trees[`volume ${mount.Name}`] = snapshotTree(volume.Mountpoint);
		}
	}

	const upper = info.GraphDriver?.Data?.UpperDir;
	if (upper) {
		trees.layer = snapshotTree(upper);
	}

	const containers = (await docker.listContainers({all: true})).map(c => `${c.Id} ${c.State}`).sort();
	const volumes = ((await docker.listVolumes()).Volumes ?? []).map(v => v.Name).sort();
	return {
		state: {status: info.State.Status, startedAt: info.State.StartedAt, finishedAt: info.State.FinishedAt, restartCount: info.RestartCount},
		trees,
		containers,
		volumes,
	};
}

/** Run `read` and assert that the container's files, its state and the engine's containers and volumes did not change. */
export async function assertUnchanged<T>(docker: Docker, ref: string, read: () => Promise<T>): Promise<T> {
	const before = await snapshotContainer(docker, ref);
	const result = await read();
	const after = await snapshotContainer(docker, ref);
	for (const key of new Set([...Object.keys(before.trees), ...Object.keys(after.trees)])) {
		assert.deepEqual(after.trees[key], before.trees[key], `${key} changed during a read of ${ref}`);
	}

	assert.deepEqual(after, before, `the state of ${ref} or the engine's containers and volumes changed during a read`);
	return result;
}

/** `runCheck` on a container, proven to change nothing on the host, in its volumes, its layer or its state. */
export async function checkUnchanged(engine: Engine, options: CheckOptions & {container: string}): Promise<CheckResult> {
	return assertUnchanged(engine.docker, options.container, async () => runCheck(options, engine));
}
