// Bind sources on a remote engine's host, seen without the engine: the engine's archive API would create a missing
// `-v` source as a directory, so over ssh:// occ-doctor asks the host itself, with `test` on the SSH connection it
// already has. tcp:// has no such side channel.
import {shellLine} from './host-shell.js';
import type {SshTransport} from './ssh.js';

export interface HostPathFacts {
	/** null: the host could not say (no ssh://, the engine is not on that host, or no permission on a parent). */
	exists: boolean | null;
	isFile: boolean | null;
}

// One line per path. Only `test`: nothing is opened, made or followed further than stat follows it (as the engine does).
// "missing" only when the parent is a directory we may search, so a forbidden parent is "unknown", never "missing".
const SCRIPT = 'for p; do if [ -f "$p" ]; then echo file; elif [ -e "$p" ]; then echo other; else d=${p%/*}; [ -n "$d" ] || d=/; if [ -d "$d" ] && [ -x "$d" ]; then echo missing; else echo unknown; fi; fi; done';

/** Whether each path exists on the engine's host (and is a file), in one remote command; unknown where it cannot tell. */
export async function hostPathsOverSsh(ssh: SshTransport, paths: string[]): Promise<Record<string, HostPathFacts>> {
	const out: Record<string, HostPathFacts> = Object.fromEntries(paths.map(p => [p, {exists: null, isFile: null}]));
	if (paths.length === 0) {
		return out;
	}

	// sh -c, whatever the login shell is; the paths are its arguments, never part of the script.
	const result = await ssh.runOnEngineHost(shellLine(SCRIPT, paths)).catch(() => null);
	const answers = result?.code === 0 ? result.stdout.split('\n').filter(Boolean) : [];
	if (answers.length !== paths.length) {
		return out;
	}

	for (const [i, path] of paths.entries()) {
		const answer = answers[i];
		out[path] = answer === 'file' ? {exists: true, isFile: true}
			: answer === 'other' ? {exists: true, isFile: false}
				: answer === 'missing' ? {exists: false, isFile: null}
					: {exists: null, isFile: null};
	}

	return out;
}
