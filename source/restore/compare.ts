// Compare two file lists (the backup's index and what a target holds now). Pure: the preview and the verification
// after a restore are the same comparison.
import type {IndexEntry} from '../backup/file-index.js';

export interface TreeDiff {
	/** In the backup, not in the target: a restore adds them. */
	added: string[];
	/** In both, different content, type, mode, owner or link target. */
	changed: string[];
	/** In the target, not in the backup: a restore removes them (it replaces, never merges). */
	removed: string[];
}

/** Why two records of the same path differ, or null. Directory and symlink mtimes are not data and are not compared. */
export function difference(want: IndexEntry, have: IndexEntry): string | null {
	// A hard link's second name: the engine may list it as a file or a link, depending on which name it met first.
	if (want.type === 'link' || have.type === 'link') {
		return null;
	}

	if (want.type !== have.type) {
		return `${have.type} instead of ${want.type}`;
	}

	if (want.uid !== have.uid || want.gid !== have.gid) {
		return `owner ${have.uid}:${have.gid} instead of ${want.uid}:${want.gid}`;
	}

	if (want.type === 'symlink') {
		return want.linkname === have.linkname ? null : `points to ${have.linkname} instead of ${want.linkname}`;
	}

	if (want.mode !== have.mode) {
		return `mode ${have.mode.toString(8)} instead of ${want.mode.toString(8)}`;
	}

	if (want.type === 'file') {
		if (want.size !== have.size || (want.sha256 && have.sha256 && want.sha256 !== have.sha256)) {
			return 'different content';
		}

		if (want.mtime !== have.mtime) {
			return `mtime ${have.mtime} instead of ${want.mtime}`;
		}
	}

	return null;
}

export function compareTrees(want: IndexEntry[], have: IndexEntry[]): TreeDiff & {reasons: Map<string, string>} {
	const wanted = new Map(want.map(e => [e.path, e]));
	const present = new Map(have.map(e => [e.path, e]));
	const diff = {added: [] as string[], changed: [] as string[], removed: [] as string[], reasons: new Map<string, string>()};
	for (const [path, entry] of wanted) {
		const other = present.get(path);
		if (!other) {
			diff.added.push(path);
			continue;
		}

		const why = difference(entry, other);
		if (why) {
			diff.changed.push(path);
			diff.reasons.set(path, why);
		}
	}

	for (const path of present.keys()) {
		if (!wanted.has(path)) {
			diff.removed.push(path);
		}
	}

	return diff;
}

/** One line for the first few differences: `./a: different content, ./b: missing`. */
export function describeDiff(diff: ReturnType<typeof compareTrees>, limit = 3): string {
	const parts = [
		...diff.added.map(p => `${p}: missing`),
		...diff.changed.map(p => `${p}: ${diff.reasons.get(p)}`),
		...diff.removed.map(p => `${p}: not in the backup`),
	];
	const more = parts.length > limit ? ` and ${parts.length - limit} more` : '';
	return parts.slice(0, limit).join(', ') + more;
}
