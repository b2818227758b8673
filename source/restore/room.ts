// Room for a target that does not exist yet (a new `--to` volume, a bind directory to be made): the free space of
// the file system that will hold it, measured before anything is made. A new local volume lands under the engine's
// data root (`<DockerRootDir>/volumes`); a new bind directory on the file system of its nearest existing ancestor.
// Both are measured by a helper with that directory bound read-only, running `df`: nothing is created or written.
import {posix} from 'node:path';
import {type Engine} from '../docker/engine.js';
import {AT, removeHelper, ROLE_LABEL, RUN_LABEL, type Target} from './engine-side.js';

/** Free bytes on the file system of `dir` on the engine's host, or null when `dir` does not exist there. */
async function freeBytesAt(engine: Engine, image: string, runId: string, dir: string): Promise<number | null> {
	let helper;
	try {
		// The --mount form: a missing source fails here instead of being made (as -v would).
		helper = await engine.docker.createContainer({
			Image: image,
			Entrypoint: ['/bin/sh', '-c'],
			Cmd: [`df -Pk ${AT} | tail -n 1 | awk '{print "free " $4}'`],
			User: '0',
			Tty: true,
			Labels: {[ROLE_LABEL]: 'restore-helper', [RUN_LABEL]: runId},
			NetworkDisabled: true,
			HostConfig: {NetworkMode: 'none', Mounts: [{Type: 'bind', Source: dir, Target: AT, ReadOnly: true}]},
		});
	} catch (error) {
		if (/bind source path does not exist|no such file/i.test(String((error as Error).message))) {
			return null;
		}

		throw error;
	}

	try {
		await helper.start();
		const {StatusCode} = await helper.wait() as {StatusCode: number};
		const logs = String(await helper.logs({stdout: true, stderr: true}));
		const free = /free (\d+)/.exec(logs)?.[1];
		if (StatusCode !== 0 || free === undefined) {
			throw new Error(`df exit ${StatusCode}: ${logs.trim().split('\n')[0] ?? ''}`);
		}

		return Number(free) * 1024;
	} finally {
		await removeHelper(helper);
	}
}

/** The directory whose file system will hold the target once it is made. */
async function holderOf(engine: Engine, target: Target): Promise<string[]> {
	if (target.kind === 'volume') {
		const info = await engine.docker.info() as {DockerRootDir?: string};
		return info.DockerRootDir ? [posix.join(info.DockerRootDir, 'volumes')] : [];
	}

	// The nearest ancestor that exists: try each from the parent up.
	const out: string[] = [];
	for (let dir = posix.dirname(target.name); ; dir = posix.dirname(dir)) {
		out.push(dir);
		if (dir === '/') {
			return out;
		}
	}
}

/**
 * Free bytes where a target that does not exist yet will be made, and which directory was measured; null when it
 * cannot be measured (another volume driver's store, an image without df): the caller says so and goes on.
 */
export async function roomForNewTarget(engine: Engine, image: string, runId: string, target: Target): Promise<{free: number; measured: string} | null> {
	try {
		for (const dir of await holderOf(engine, target)) {
			const free = await freeBytesAt(engine, image, runId, dir);
			if (free !== null) {
				return {free, measured: dir};
			}
		}
	} catch {
		// Measured nothing: not a refusal.
	}

	return null;
}

export interface RoomAnswer {
	free: number;
	measured: string;
	/** Bytes earlier targets of this plan will take on the same file system (not counted for a rehearsal). */
	claimed: number;
}

/**
 * Room for each new target of one plan: each file system measured once, and what the plan's earlier new targets
 * will put there counted against it (a rehearsal makes one scratch volume at a time, so it counts none).
 */
export function newTargetRooms(engine: Engine, image: string, runId: string, options: {sum: boolean}): (target: Target, need: number) => Promise<RoomAnswer | null> {
	const measured = new Map<string, Promise<{free: number; measured: string} | null>>();
	const claimed = new Map<string, number>();
	return async (target, need) => {
		// Every new volume lands in the same place; a bind dir is keyed by its own path (its ancestor is found per path).
		const key = target.kind === 'volume' ? 'volume' : target.name;
		if (!measured.has(key)) {
			measured.set(key, roomForNewTarget(engine, image, runId, target));
		}

		const room = await measured.get(key)!;
		if (!room) {
			return null;
		}

		const before = options.sum ? claimed.get(room.measured) ?? 0 : 0;
		claimed.set(room.measured, before + need);
		return {...room, claimed: before};
	};
}
