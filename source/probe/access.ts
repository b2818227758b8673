import type Docker from 'dockerode';
import {readFileFromContainer} from '../docker/archive.js';
import {resolveUser, type ContainerUser} from '../core/owners.js';
import {execIn} from './exec.js';

// The archive API writes as root, so a write through it succeeds where the container's user would get EACCES.
// We therefore judge writability for the container's user from the directory's owner and mode, without a shell.

// The rule itself (who may write what) lives in source/core/owners.ts, shared with check's owner-mismatch.
export type {ContainerUser, Owner as DirOwner} from '../core/owners.js';
export {canCreateIn, parseColonFile, resolveUser} from '../core/owners.js';
export {ownerOf as dirOwner} from '../docker/archive.js';

export interface ProcStatus {
	pid: number;
	name: string;
	ppid: number;
	/** Effective uid and gid (the second field of the Uid and Gid lines). */
	uid: number;
	gid: number;
	groups: number[];
}

/** Parse one or more concatenated /proc/<pid>/status texts. Pure. */
export function parseProcStatus(text: string): ProcStatus[] {
	const out: ProcStatus[] = [];
	for (const block of text.split(/^(?=Name:)/m)) {
		const field = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
		const [name] = field('Name');
		const uid = Number(field('Uid')[1]);
		const gid = Number(field('Gid')[1]);
		if (!name || !Number.isInteger(uid) || !Number.isInteger(gid)) {
			continue;
		}

		out.push({pid: Number(field('Pid')[0] ?? -1), name, ppid: Number(field('PPid')[0] ?? -1), uid, gid, groups: field('Groups').map(Number).filter(Number.isInteger)});
	}

	return out;
}

/** Init processes that run as root and start the app as their child (the app may drop privileges itself). */
const INITS = new Set(['tini', 'tini-static', 'dumb-init', 'docker-init', 'catatonit', 's6-svscan']);

/**
 * The user the app really runs as: PID 1's effective uid, or its first child's when PID 1 is an init (tini, …).
 * An entrypoint that drops privileges (gosu, su-exec, su) leaves Config.User saying root. Prefers this over
 * `configured` when it differs; null when it cannot be read (stopped, no cat/sh in the image). Needs a running container.
 */
export async function processUser(container: Docker.Container, configured: ContainerUser): Promise<ContainerUser | null> {
	const read = async (cmd: string[]) => execIn(container, cmd, {user: '0', timeoutMs: 10_000}).then(r => (r.exitCode === 0 ? parseProcStatus(r.stdout) : []), () => []);
	let [proc] = await read(['cat', '/proc/1/status']);
	if (!proc) {
		return null;
	}

	let who = `process 1 (${proc.name})`;
	if (proc.uid === 0 && INITS.has(proc.name)) {
		// Exec'd processes (ours included) have PPid 0 in the container; the app is PID 1's child.
		const child = (await read(['sh', '-c', 'cat /proc/[0-9]*/status 2>/dev/null; true'])).find(p => p.ppid === 1);
		if (child) {
			proc = child;
			who = `${who}'s child ${child.name}`;
		}
	}

	if (proc.uid === configured.uid && (configured.gid === null || proc.gid === configured.gid)) {
		return null;
	}

	return {
		spec: configured.spec,
		uid: proc.uid,
		gid: proc.gid,
		groups: [...new Set([proc.gid, ...proc.groups])],
		from: `${who} runs as uid ${proc.uid} (gid ${proc.gid}); Config.User says ${configured.spec === '' ? 'root' : configured.spec}`,
	};
}

/** The container's user, resolved through its own /etc/passwd and /etc/group (read via the archive API, no shell needed). */
export async function containerUser(container: Docker.Container, spec: string): Promise<ContainerUser> {
	const read = async (path: string) => {
		try {
			return (await readFileFromContainer(container, path))?.toString('utf8') ?? null;
		} catch {
			return null;
		}
	};

	// Even a numeric user needs the files: its primary group and supplementary groups come from them.
	return spec === '' ? resolveUser(spec, null, null) : resolveUser(spec, await read('/etc/passwd'), await read('/etc/group'));
}
