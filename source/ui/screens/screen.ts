import type {FC} from 'react';
import type {BackupAction, BackupState} from '../hooks/use-backup.js';
import type {ProbeState} from '../hooks/use-probe.js';
import type {RestoreAction, RestoreState} from '../hooks/use-restore.js';
import type {FoundBackup} from '../../restore/find.js';
import type {Inspection} from '../services.js';
import type {ViewState} from '../hooks/use-view.js';
import type {Binding, FieldSlice} from '../keys/table.js';

/** The probe as screens see it: its folded state and what the keys may do. Absent when there is no probe service. */
export interface ProbeSlice {
	state: ProbeState;
	/** --no-restart: only the recreate probe (nothing disruptive, so no question). */
	noRestart: boolean;
	start(): void;
	respond(yes: boolean): void;
}

export interface BackupSlice {
	state: BackupState;
	dispatch(action: BackupAction): void;
	load(): void;
	start(): void;
}

export interface RestoreSlice {
	state: RestoreState;
	dispatch(action: RestoreAction): void;
	load(): void;
	choose(backup: FoundBackup): void;
	preview(): void;
	/** Enter on the typed name. */
	confirm(): void;
	rollback(): void;
}

export interface ScreenData {
	inspection: Inspection;
	engineLabel: string;
	probe?: ProbeSlice;
	backup?: BackupSlice;
	restore?: RestoreSlice;
	/** Counts up while something runs: the spinners' frame (the timer lives in a hook, not in a screen). */
	tick?: number;
	/** Check another container (a service of the stack): its report replaces this one. */
	open?(ref: string): void;
}

export interface ScreenProps<Row> {
	data: ScreenData;
	/** The selectable rows after the filter. */
	rows: Row[];
	cursor: number;
	view: ViewState;
	width: number;
	height: number;
}

/** One entry of the screen registry (screens/index.ts). Every screen always has its tab and its number. */
export interface ScreenDef<Row = any> {
	id: string;
	/** Its tab's number and key, fixed: a screen with nothing to show keeps it (and says why). */
	number: number;
	title: string;
	/** Why there is nothing to show (no databases found, no engine service), or null when there is. */
	empty(data: ScreenData): string | null;
	/** Selectable rows, filtered; screens without rows have nothing to move through or filter. */
	rows?(data: ScreenData, filter: string): Row[];
	/** The location whose details Enter opens on this row. */
	opens?(row: Row): string | null;
	/** How many columns ←/→ move through. */
	columns?(data: ScreenData): number;
	/** The screen's own keys, asked before the list's and the app's; they join the key table (legend and help). */
	bindings?: Binding[];
	/** A text field of the screen that has the keys now (the Backup screen's directory), or null. */
	field?(data: ScreenData): FieldSlice | null;
	component: FC<ScreenProps<Row>>;
}

export const NO_LOCATIONS = 'no data locations: the profile names none and the container has no mounts';
export const NO_ENGINE_SERVICE = 'no engine service here: this view has only a report to show (the real engine and the demo have it)';

export function matches(filter: string, ...fields: Array<string | null | undefined>): boolean {
	const needle = filter.trim().toLowerCase();
	return needle === '' || fields.some(f => f?.toLowerCase().includes(needle));
}
