// Journals of destructive tasks (probe, restore): a small file on the machine running occ-doctor, written before the
// first change and removed when the run ended clean. When the engine dies mid-task (or occ-doctor is killed), nothing
// on the engine survives reliably; this file is what `--cleanup` finishes the job from once the engine is back.
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {join} from 'node:path';
import {cleanupOn, clearUndone, noteUndone} from '../left-undone.js';

/** What every journal holds, whatever the task. */
export interface JournalBase {
	version: 1;
	runId: string;
	/** The engine as the user named it (EngineTarget.label): a journal is acted on only against the same engine. */
	engine: string;
	pid: number;
	startedAt: string;
	updatedAt: string;
}

/** One sub-directory per task: `probe`, `restore`. */
export type JournalKind = 'probe' | 'restore';

/** `$XDG_STATE_HOME/occ-doctor`, else `~/.local/state/occ-doctor`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
	const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
	return join(base, 'occ-doctor');
}

export function journalDirOf(stateDir: string, kind: JournalKind): string {
	return join(stateDir, kind);
}

export function journalPathOf(stateDir: string, kind: JournalKind, runId: string): string {
	return join(journalDirOf(stateDir, kind), `${runId}.json`);
}

/** Write atomically (temp file + rename), so a reader never sees half a journal. Throws when the dir is not writable. */
export function writeJournalOf(stateDir: string, kind: JournalKind, journal: JournalBase): string {
	const dir = journalDirOf(stateDir, kind);
	mkdirSync(dir, {recursive: true, mode: 0o700});
	const path = journalPathOf(stateDir, kind, journal.runId);
	const temp = `${path}.${process.pid}.tmp`;
	writeFileSync(temp, JSON.stringify({...journal, updatedAt: new Date().toISOString()}, null, 2) + '\n', {mode: 0o600});
	renameSync(temp, path);
	noteUndone(path, `${kind} ${journal.runId} is not cleaned up (its journal: ${path}): run \`${cleanupOn(kind, journal.engine)}\``);
	return path;
}

export function removeJournalOf(stateDir: string, kind: JournalKind, runId: string): void {
	rmSync(journalPathOf(stateDir, kind, runId), {force: true});
	clearUndone(journalPathOf(stateDir, kind, runId));
}

/** Every journal of a kind; unreadable, foreign or invalid files are skipped (never removed). */
export function readJournalsOf<T extends JournalBase>(stateDir: string, kind: JournalKind, isValid: (value: any) => value is T): T[] {
	let names: string[];
	try {
		names = readdirSync(journalDirOf(stateDir, kind)).filter(n => /^[0-9a-z]+\.json$/.test(n));
	} catch {
		return [];
	}

	const out: T[] = [];
	for (const name of names) {
		try {
			const value = JSON.parse(readFileSync(join(journalDirOf(stateDir, kind), name), 'utf8'));
			if (value?.version === 1 && typeof value.runId === 'string' && typeof value.engine === 'string' && isValid(value) && `${value.runId}.json` === name) {
				out.push(value);
			}
		} catch {
			// Half-written or not ours: leave it.
		}
	}

	return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** The live process that owns a journal still runs: its own cleanup is in charge, not `--cleanup`. */
export function ownerAlive(journal: Pick<JournalBase, 'pid'>): boolean {
	if (journal.pid === process.pid) {
		return true;
	}

	try {
		process.kill(journal.pid, 0);
		// A pid can be reused; an occ-doctor process has our entry point in its command line.
		return /occ-doctor|cli\.tsx|cli\.js/.test(readFileSync(`/proc/${journal.pid}/cmdline`, 'utf8'));
	} catch {
		return false;
	}
}
