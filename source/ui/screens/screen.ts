import type {Key} from 'ink';
import type {FC} from 'react';
import type {Report} from '../../core/types.js';
import type {BackupAction, BackupState} from '../hooks/use-backup.js';
import type {ProbeState} from '../hooks/use-probe.js';
import type {Inspection} from '../services.js';
import type {ViewState} from '../hooks/use-view.js';

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

export interface ScreenData {
	inspection: Inspection;
	engineLabel: string;
	probe?: ProbeSlice;
	backup?: BackupSlice;
	/** Counts up while something runs: the spinners' frame (the timer lives in a hook, not in a screen). */
	tick?: number;
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

/** One entry of the screen registry. A screen appears (with its number key) only when available() says it has something to show. */
export interface ScreenDef<Row = any> {
	id: string;
	title: string;
	available(data: ScreenData): boolean;
	/** Selectable rows, filtered; screens without rows have nothing to move through or filter. */
	rows?(data: ScreenData, filter: string): Row[];
	/** The location whose details Enter opens on this row. */
	opens?(row: Row): string | null;
	/** How many columns ←/→ move through. */
	columns?(data: ScreenData): number;
	/** Extra keys for the bottom legend, e.g. ←→ on the matrix; a function when they depend on the screen's state. */
	keys?: Array<[string, string]> | ((data: ScreenData) => Array<[string, string]>);
	/** Keys the screen takes before the global ones (y/n on a confirmation, space on a list); true when it took the key. */
	onKey?(input: string, key: Key, data: ScreenData, row: Row | undefined): boolean;
	/** True when the screen takes every key (text entry): no global key applies but Ctrl+C. */
	capturing?(data: ScreenData): boolean;
	component: FC<ScreenProps<Row>>;
}

/** Where the numbers come from: the probe's observations when present, else the prediction from mounts. */
export function sourceNote(report: Report): string {
	const observed = report.locations.filter(l => l.observed && (l.observed.restart || l.observed.recreate)).length;
	return observed > 0
		? `observed by probe for ${observed} location${observed === 1 ? '' : 's'} (● marks them) · the rest predicted from mounts`
		: 'predicted from mounts (docker inspect); nothing was changed';
}

export function matches(filter: string, ...fields: Array<string | null | undefined>): boolean {
	const needle = filter.trim().toLowerCase();
	return needle === '' || fields.some(f => f?.toLowerCase().includes(needle));
}
