// What a run has not put back yet (a container it stopped, a journal of changes to undo), said in one line each when
// the user leaves before the cleanup is over (a second Ctrl+C: cli.tsx). The registry lives on globalThis: the
// bundle gives the CLI and each command chunk a copy of this module of its own (docs/startup.md).
const KEY = Symbol.for('occ-doctor.left-undone');
const registry = ((globalThis as Record<symbol, unknown>)[KEY] ??= new Map<string, string>()) as Map<string, string>;

/** Until `clearUndone(key)`: leaving now leaves `note` (what, and how to put it back) undone. */
export function noteUndone(key: string, note: string): void {
	registry.set(key, note);
}

export function clearUndone(key: string): void {
	registry.delete(key);
}

/** The notes of what is not put back yet, oldest first. */
export function leftUndone(): string[] {
	return [...registry.values()];
}

/** The docker CLI aimed at `target` as this run was: `docker`, `docker --context NAME` or `docker -H URL`. */
export function dockerOn(target: {label: string; context?: string | null}): string {
	if (target.context && target.context !== 'default') {
		return `docker --context ${target.context}`;
	}

	return target.label === 'unix:///var/run/docker.sock' ? 'docker' : `docker -H ${target.label}`;
}

/** `occ-doctor KIND --cleanup`, aimed at the engine the journal was written against (its label). */
export function cleanupOn(kind: string, engine: string): string {
	return `occ-doctor ${kind} --cleanup${engine === 'unix:///var/run/docker.sock' ? '' : ` --host ${engine}`}`;
}
