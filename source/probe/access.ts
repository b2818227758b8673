import type Docker from 'dockerode';
import tar from 'tar-stream';
import {getArchiveStream, readFileFromContainer} from '../docker/archive.js';
import {execIn} from './exec.js';

// The archive API writes as root, so a write through it succeeds where the container's user would get EACCES.
// We therefore judge writability for the container's user from the directory's owner and mode, without a shell.

export interface ContainerUser {
	/** What Config.User says ('' means root). */
	spec: string;
	uid: number | null;
	gid: number | null;
	/** Primary and supplementary groups known from /etc/group. */
	groups: number[];
	/** Set when the running process's user was read and preferred over Config.User (an entrypoint that drops privileges). */
	from?: string;
}

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

export interface DirOwner {
	uid: number;
	gid: number;
	/** Permission bits, e.g. 0o755. */
	mode: number;
}

/** Parse /etc/passwd or /etc/group text into name → [id, gid-or-members]. Pure. */
export function parseColonFile(text: string): Array<string[]> {
	return text.split('\n').filter(line => line && !line.startsWith('#')).map(line => line.split(':'));
}

/** Resolve Config.User ("", "1000", "1000:1000", "opencoder", "opencoder:staff") against the image's passwd and group files. Pure. */
export function resolveUser(spec: string, passwd: string | null, group: string | null): ContainerUser {
	const [userPart = '', groupPart] = spec.split(':');
	const users = parseColonFile(passwd ?? '');
	const groups = parseColonFile(group ?? '');
	let uid: number | null = null;
	let gid: number | null = null;
	let name: string | null = null;
	if (userPart === '') {
		uid = 0;
		gid = 0;
		name = 'root';
	} else if (/^\d+$/.test(userPart)) {
		uid = Number(userPart);
		const entry = users.find(u => u[2] === userPart);
		name = entry?.[0] ?? null;
		gid = entry ? Number(entry[3]) : uid;
	} else {
		const entry = users.find(u => u[0] === userPart);
		if (entry) {
			uid = Number(entry[2]);
			gid = Number(entry[3]);
			name = userPart;
		}
	}

	if (groupPart !== undefined && groupPart !== '') {
		const named = groups.find(g => g[0] === groupPart)?.[2];
		gid = /^\d+$/.test(groupPart) ? Number(groupPart) : (named === undefined ? gid : Number(named));
	}

	const supplementary = name ? groups.filter(g => (g[3] ?? '').split(',').includes(name!)).map(g => Number(g[2])) : [];
	const all = [...new Set([...(gid === null ? [] : [gid]), ...supplementary])];
	return {spec, uid, gid, groups: all};
}

/** Can this user create a file in a directory with this owner and mode? Root can (CAP_DAC_OVERRIDE is in Docker's default set). Pure. */
export function canCreateIn(user: ContainerUser, owner: DirOwner): boolean {
	if (user.uid === null) {
		return true;
	}

	if (user.uid === 0) {
		return true;
	}

	const need = 0o3; // write and search
	if (owner.uid === user.uid) {
		return ((owner.mode >> 6) & need) === need;
	}

	if (user.groups.includes(owner.gid)) {
		return ((owner.mode >> 3) & need) === need;
	}

	return (owner.mode & need) === need;
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

/**
 * Owner and mode of a directory, from the first header of its tar stream. The stream is dropped after that header,
 * so a large tree is never transferred. null when the path does not exist.
 */
export async function dirOwner(container: Docker.Container, dir: string): Promise<DirOwner | null> {
	let stream: NodeJS.ReadableStream & {destroy?: () => void};
	try {
		stream = await getArchiveStream(container, dir) as typeof stream;
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			return null;
		}

		throw error;
	}

	const extract = tar.extract();
	return new Promise<DirOwner | null>((resolve, reject) => {
		let settled = false;
		const done = (value: DirOwner | null, error?: Error) => {
			if (settled) {
				return;
			}

			settled = true;
			stream.destroy?.();
			extract.destroy();
			if (error) {
				reject(error);
			} else {
				resolve(value);
			}
		};

		extract.on('entry', header => {
			done({uid: header.uid ?? 0, gid: header.gid ?? 0, mode: (header.mode ?? 0) & 0o7777});
		});
		extract.on('finish', () => done(null));
		extract.on('error', (error: Error) => done(null, error));
		stream.on('error', (error: Error) => done(null, error));
		stream.pipe(extract as unknown as NodeJS.WritableStream);
	});
}
