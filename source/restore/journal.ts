// The restore's journal (store: source/docker/journal.ts), written before the first change: the container's state,
// each target, whether it was touched, and its safety copy. `restore --cleanup` rolls a touched target back from it
// after the engine or occ-doctor died mid-restore.
import {ownerAlive, readJournalsOf, removeJournalOf, writeJournalOf, type JournalBase} from '../docker/journal.js';
import type {Target} from './engine-side.js';
import type {HostWork} from './local.js';

export {ownerAlive};

export interface JournalTarget {
	file: string;
	target: Target;
	/** Set before the first write to the target: from here on, a failure means rolling it back. */
	touched: boolean;
	/** The restore created this volume (it did not exist): rolling back removes it. */
	createdVolume: boolean;
	/** The target's own contents before the restore, in the safety copy; null when it was empty. */
	safetyFile: string | null;
	safetyIndex: string | null;
	/** Restored through its host directory: where the new and the old contents are kept beside it. */
	host?: HostWork | null;
	/** How far the host swap got: staged (target untouched), moving-aside, moving-in (everything old is aside). */
	swap?: 'staged' | 'moving-aside' | 'moving-in' | null;
	/** The target root's owner and mode before the swap. */
	rootBefore?: {mode: number; uid: number; gid: number} | null;
}

export interface RestoreJournal extends JournalBase {
	container: {id: string; name: string};
	before: {running: boolean};
	/** The restore stopped the container: it starts it again. */
	stopped: boolean;
	image: string;
	backup: string;
	safetyCopy: string | null;
	targets: JournalTarget[];
	step: string;
}

export function writeRestoreJournal(stateDir: string, journal: RestoreJournal): void {
	writeJournalOf(stateDir, 'restore', journal);
}

export function removeRestoreJournal(stateDir: string, runId: string): void {
	removeJournalOf(stateDir, 'restore', runId);
}

function isRestoreJournal(value: any): value is RestoreJournal {
	return typeof value.container?.id === 'string' && typeof value.before?.running === 'boolean' && Array.isArray(value.targets) && typeof value.image === 'string';
}

export function readRestoreJournals(stateDir: string): RestoreJournal[] {
	return readJournalsOf(stateDir, 'restore', isRestoreJournal);
}
