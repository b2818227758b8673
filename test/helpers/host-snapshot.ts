// Proof that a read changed nothing: every file behind a container (bind sources, volumes through their Mountpoint
// on the engine's data root, the container's own writable layer) and the container's state, before and after.
// Needs a local engine and root (the volumes live under the engine's data root); the tests run as root.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {lstatSync, readdirSync, readFileSync, readlinkSync} from 'node:fs';
import {join} from 'node:path';
import type Docker from 'dockerode';
import {planBackup} from '../../source/backup/index.js';
import {runCheck, type CheckOptions, type CheckResult} from '../../source/check/check.js';
import {connect, DoctorError, type Engine} from '../../source/docker/engine.js';
import {prepareProbe} from '../../source/probe/index.js';
import {renderJson} from '../../source/report/json.js';
import {renderPlain} from '../../source/report/plain.js';
import {RUN_ID, TEST_LABEL} from './engine.js';

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
	/** `docker diff`: what the engine itself says changed in the layer (the only view of it on a driver without UpperDir). */
	changes: string[];
	/** Containers related to this one, and volumes on the engine (see snapshotContainer): a read creates no helper and no volume. */
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

	const changes = ((await docker.getContainer(ref).changes()) as Array<{Path: string; Kind: number}> | null ?? []).map(c => `${c.Kind} ${c.Path}`).sort();

	// On an engine shared with other tests and benches, their containers and volumes come and go meanwhile. What a
	// read of this container could leave is related to it: occ-doctor's own helpers (a role label), or a container of
	// its image or on its volumes or bind sources (a twin, a cleaner). Volumes: all but those of unrelated containers.
	const sources = new Set(((info.Mounts ?? []) as any[]).map(m => String(m.Name ?? m.Source)));
	const all = await docker.listContainers({all: true});
	const related = (c: Docker.ContainerInfo) => c.Id === info.Id || c.ImageID === info.Image || Boolean(c.Labels?.['dev.occ-doctor.role'])
		|| (c.Mounts ?? []).some(m => sources.has(String(m.Name ?? m.Source)));
	const others = (labels: Record<string, string> | null | undefined) => Boolean((labels?.[TEST_LABEL] && labels[TEST_LABEL] !== RUN_ID) || labels?.['dev.occ-doctor.bench']);
	const theirs = new Set(all.filter(c => !related(c)).flatMap(c => (c.Mounts ?? []).map(m => m.Name).filter(Boolean)));
	const containers = all.filter(c => related(c) && !others(c.Labels)).map(c => `${c.Id} ${c.State}`).sort();
	const volumes = ((await docker.listVolumes()).Volumes ?? []).filter(v => !others(v.Labels) && !theirs.has(v.Name)).map(v => v.Name).sort();
	return {
		state: {status: info.State.Status, startedAt: info.State.StartedAt, finishedAt: info.State.FinishedAt, restartCount: info.RestartCount},
		trees,
		changes,
		containers,
		volumes,
	};
}

/** Run `read` and assert that the container's files and state did not change, and that it left no container or volume. */
export async function assertUnchanged<T>(docker: Docker, ref: string, read: () => Promise<T>): Promise<T> {
	const before = await snapshotContainer(docker, ref);
	const result = await read();
	const after = await snapshotContainer(docker, ref);
	for (const key of new Set([...Object.keys(before.trees), ...Object.keys(after.trees)])) {
		assert.deepEqual(after.trees[key], before.trees[key], `${key} changed during a read of ${ref}`);
	}

	const {containers: containersBefore, volumes: volumesBefore, ...own} = before;
	const {containers: containersAfter, volumes: volumesAfter, ...ownAfter} = after;
	assert.deepEqual(ownAfter, own, `the state or the layer of ${ref} changed during a read`);
	// What the read made: on an engine shared with other tests, theirs come and go meanwhile (and change state).
	const ids = (list: string[]) => list.map(c => c.split(' ')[0]!);
	assert.deepEqual(ids(containersAfter).filter(id => !ids(containersBefore).includes(id)), [], `a read of ${ref} left a container behind`);
	assert.deepEqual(volumesAfter.filter(v => !volumesBefore.includes(v)), [], `a read of ${ref} left a volume behind`);
	return result;
}

/** `runCheck` on a container, proven to change nothing on the host, in its volumes, its layer or its state. */
export async function checkUnchanged(engine: Engine, options: CheckOptions & {container: string}): Promise<CheckResult> {
	return assertUnchanged(engine.docker, options.container, async () => runCheck(options, engine));
}

/** A refusal (a DoctorError: one line, a fix) is an answer too; anything else is a bug. */
async function answered<T>(read: Promise<T>): Promise<T | undefined> {
	try {
		return await read;
	} catch (error) {
		if (error instanceof DoctorError) {
			return undefined;
		}

		throw error;
	}
}

/**
 * Everything a user can do to a container without confirming a write, proven to change nothing: `check` (plain and
 * --json render the same runCheck, which is all the I/O either mode does; the TUI's Overview, Matrix and Databases
 * screens show that report too), the Backup screen's choices (planBackup) and the Probe screen's plan (prepareProbe).
 */
export async function readOnlyTour(engine: Engine, ref: string): Promise<void> {
	await assertUnchanged(engine.docker, ref, async () => {
		const checked = await answered(runCheck({container: ref}, engine));
		if (checked) {
			renderPlain(checked.report);
			renderJson(checked.report);
		}

		await answered(planBackup({container: ref}, engine));
		await answered(prepareProbe({container: ref}, engine));
	});
}

const engines = new Map<string, Promise<Engine>>();

/** The Engine behind a test's Docker client (tests hand cleanup a client; the product's calls take an Engine). */
function engineOf(docker: Docker): Promise<Engine> {
	const socket = (docker.modem as {socketPath?: unknown}).socketPath;
	const host = typeof socket === 'string' ? `unix://${socket}` : process.env.DOCKER_HOST ?? '';
	if (!engines.has(host)) {
		engines.set(host, connect(host || undefined));
	}

	return engines.get(host)!;
}

/**
 * The read-only tour on every container in `refs`, each one proven to leave its files and state as found.
 * Returns one line per container that changed (or broke the tour), so the caller can clean up before failing.
 */
export async function tourEach(docker: Docker, refs: string[]): Promise<string[]> {
	const engine = await engineOf(docker);
	const failures: string[] = [];
	for (const ref of refs) {
		try {
			await readOnlyTour(engine, ref);
		} catch (error) {
			failures.push(`${ref}: ${(error as Error).message}`);
		}
	}

	return failures;
}
