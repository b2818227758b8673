// The vocabulary of `restore`: its options, the events it emits, and the result the plain and JSON outputs print.
import type {BackupEvent} from '../backup/types.js';

export interface RestoreOptions {
	host?: string;
	/** A docker context, as --context names it. */
	context?: string;
	/** The backup directory `occ-doctor backup` wrote. */
	dir: string;
	/** The container whose mounts are the targets; default: the manifest's container name. */
	container?: string;
	/** Only these archives: matched against file base name, label, container path or volume name. */
	only?: string[];
	/** NAME=VOLUME (or NAME=/host/dir): restore that archive there instead of the container's current mount. */
	to?: string[];
	/** Preview only: nothing is stopped or written. */
	dryRun?: boolean;
	/** Restore into scratch volumes, verify, count, remove them. The live container is not touched. */
	rehearse?: boolean;
	/** Allow a target that is not empty and is not the container's current mount. */
	force?: boolean;
	signal?: AbortSignal;
	/** Where the journal lives (default ~/.local/state/occ-doctor). */
	stateDir?: string;
}

export type Phase = 'checking' | 'stopping' | 'safety-copy' | 'emptying' | 'moving-in' | 'extracting' | 'verifying' | 'counting' | 'starting' | 'rolling-back' | 'rehearsing';

export interface Preview {
	added: number;
	changed: number;
	removed: number;
	/** The first few paths of each, for a short list. */
	samples: {added: string[]; changed: string[]; removed: string[]};
}

export interface DatabaseRows {
	path: string;
	/** Rows per table in the target now (preview), or after the restore. */
	now: Record<string, number> | null;
	/** Rows per table in the backup's manifest. */
	backup: Record<string, number> | null;
	integrity?: string | null;
}

export type ArchiveStatus = 'restored' | 'rolled-back' | 'skipped' | 'rehearsed' | 'failed' | 'planned';

export interface ArchiveOutcome {
	file: string;
	label: string;
	containerPath: string;
	/** `volume NAME` or `bind /host/dir`. */
	target: string;
	status: ArchiveStatus;
	/** Why it was skipped or failed. */
	note: string | null;
	verify: {ok: boolean; error: string | null} | null;
	databases: DatabaseRows[];
	preview?: Preview;
	seconds?: number;
}

export interface RestoreResult {
	schemaVersion: 1;
	backup: string;
	container: string;
	archives: ArchiveOutcome[];
	safetyCopy: string | null;
	rollbackCommand: string | null;
	/** restored: the new data is in place and verified; rolled-back: the old data is back; the others say what ran. */
	outcome: 'restored' | 'rolled-back' | 'dry-run' | 'rehearsed' | 'damaged';
	/** One line for a rolled-back restore or a damaged rehearsal. */
	error: string | null;
}

export type RestoreEvent =
	| {type: 'plan'; backup: string; container: string; archives: ArchiveOutcome[]; stop: boolean; safetyCopy: string | null}
	| {type: 'phase'; phase: Phase; archive: string | null}
	| {type: 'progress'; archive: string; phase: Phase; bytes: number; total: number | null}
	| {type: 'safety'; event: BackupEvent}
	| {type: 'verify'; archive: string; ok: boolean; error: string | null}
	| {type: 'notice'; message: string}
	| {type: 'done'; result: RestoreResult};

export type RestoreEmit = (event: RestoreEvent) => void;
