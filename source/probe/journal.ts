// The probe's journal (the shared store is source/docker/journal.ts): the container's state before the probe and
// everything the probe put in place, so `probe --cleanup` can restore it after an engine death.
import {defaultStateDir, journalDirOf, journalPathOf, ownerAlive, readJournalsOf, removeJournalOf, writeJournalOf, type JournalBase} from '../docker/journal.js';
import type {RemoveEntry} from './sentinel.js';

export {defaultStateDir, ownerAlive};

export interface ProbeJournal extends JournalBase {
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
}

export function journalDir(stateDir: string): string {
	return journalDirOf(stateDir, 'probe');
}

export function journalPath(stateDir: string, runId: string): string {
	return journalPathOf(stateDir, 'probe', runId);
}

export function writeJournal(stateDir: string, journal: ProbeJournal): string {
	return writeJournalOf(stateDir, 'probe', journal);
}

export function removeJournal(stateDir: string, runId: string): void {
	removeJournalOf(stateDir, 'probe', runId);
}

function isProbeJournal(value: any): value is ProbeJournal {
	return typeof value.container?.id === 'string' && typeof value.before?.running === 'boolean' && Array.isArray(value.sentinels);
}

export function readJournals(stateDir: string): ProbeJournal[] {
	return readJournalsOf(stateDir, 'probe', isProbeJournal);
}
