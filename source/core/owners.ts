import type {Location} from './types.js';

// Who may write a data location: the rule check and probe share. Pure.

/** The user a container's process runs as, resolved through its own /etc/passwd and /etc/group. */
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

export interface Owner {
	uid: number;
	gid: number;
	/** Permission bits, e.g. 0o755. */
	mode: number;
}

/** Can this user create a file in a directory with this owner and mode? Root can (CAP_DAC_OVERRIDE is in Docker's default set). */
export function canCreateIn(user: Pick<ContainerUser, 'uid' | 'groups'>, owner: Owner): boolean {
	if (user.uid === null || user.uid === 0) {
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

/**
 * Can the product write this location? The profile says who writes it: `root` (an entrypoint running as root, as
 * opencode-cloud's writes its users store, root 0700 on purpose) can write anything; else the container's user must.
 */
export function writerCanWrite(location: Pick<Location, 'writer'>, user: Pick<ContainerUser, 'uid' | 'groups'>, owner: Owner): boolean {
	return location.writer === 'root' || canCreateIn(user, owner);
}

/** Whose ids a chown should give: the container's user and its primary group, numerically. */
export function ownerIds(user: Pick<ContainerUser, 'uid' | 'gid'>): string {
	return `${user.uid}:${user.gid ?? user.uid}`;
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

