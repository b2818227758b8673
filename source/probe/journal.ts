// The probe's journal: a small file recording the container's state before the probe and everything the probe put
// in place, written before the first change and removed when the run ended clean. When the engine dies mid-probe (or
// the probe is killed), no label can be added to a running container and nothing on the engine survives reliably;
// this file, on the machine running occ-doctor, is what `probe --cleanup` restores from once the engine is back.
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {join} from 'node:path';
import type {RemoveEntry} from './sentinel.js';

export interface ProbeJournal {
	version: 1;
	runId: string;
	/** The engine as the user named it (EngineTarget.label): a journal is acted on only against the same engine. */
	engine: string;
	container: {id: string; name: string};
	/** The container's state when the probe began: what `probe --cleanup` restores. */
	before: {status: string; running: boolean};
	/** The probe started a stopped container (with --yes) and would stop it again. */
	startedByUs: boolean;
	/** Every sentinel the probe tried to write, recorded before the write. */
	sentinels: RemoveEntry[];
	/** The twin's name, recorded before it is created. */
	twin: string | null;
	/** The step the run had reached when the file was last written. */
	step: string;
	pid: number;
	startedAt: string;
	updatedAt: string;
}

/** `$XDG_STATE_HOME/occ-doctor`, else `~/.local/state/occ-doctor`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
	const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(env.HOME || homedir(), '.local', 'state');
	return join(base, 'occ-doctor');
}

export function journalDir(stateDir: string): string {
	return join(stateDir, 'probe');
}

export function journalPath(stateDir: string, runId: string): string {
	return join(journalDir(stateDir), `${runId}.json`);
}

/** Write atomically (temp file + rename), so a reader never sees half a journal. Throws when the dir is not writable. */
export function writeJournal(stateDir: string, journal: ProbeJournal): string {
	const dir = journalDir(stateDir);
	mkdirSync(dir, {recursive: true, mode: 0o700});
	const path = journalPath(stateDir, journal.runId);
	const temp = `${path}.${process.pid}.tmp`;
	writeFileSync(temp, JSON.stringify({...journal, updatedAt: new Date().toISOString()}, null, 2) + '\n', {mode: 0o600});
	renameSync(temp, path);
	return path;
}

export function removeJournal(stateDir: string, runId: string): void {
	rmSync(journalPath(stateDir, runId), {force: true});
}

function isJournal(value: any): value is ProbeJournal {
	return value?.version === 1 && typeof value.runId === 'string' && typeof value.engine === 'string' && typeof value.container?.id === 'string'
		&& typeof value.before?.running === 'boolean' && Array.isArray(value.sentinels);
}

/** Every journal in the state dir; unreadable or foreign files are skipped (never removed). */
export function readJournals(stateDir: string): ProbeJournal[] {
	let names: string[];
	try {
		names = readdirSync(journalDir(stateDir)).filter(n => /^[0-9a-z]+\.json$/.test(n));
	} catch {
		return [];
	}

	const out: ProbeJournal[] = [];
	for (const name of names) {
		try {
			const value = JSON.parse(readFileSync(join(journalDir(stateDir), name), 'utf8'));
			if (isJournal(value) && `${value.runId}.json` === name) {
				out.push(value);
			}
		} catch {
			// Half-written or not ours: leave it.
		}
	}

	return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** The live process that owns a journal still runs: its own finally block is in charge, not `--cleanup`. */
export function ownerAlive(journal: ProbeJournal): boolean {
	if (journal.pid === process.pid) {
		return true;
	}

	try {
		process.kill(journal.pid, 0);
		// A pid can be reused; a probe process has our entry point in its command line.
		return /occ-doctor|cli\.tsx|cli\.js/.test(readFileSync(`/proc/${journal.pid}/cmdline`, 'utf8'));
	} catch {
		return false;
	}
}
