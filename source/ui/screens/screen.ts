import type {FC} from 'react';
import type {Report} from '../../core/types.js';
import type {Inspection} from '../services.js';
import type {ViewState} from '../hooks/use-view.js';

export interface ScreenData {
	inspection: Inspection;
	engineLabel: string;
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
	/** Extra keys for the bottom legend, e.g. ←→ on the matrix. */
	keys?: Array<[string, string]>;
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
