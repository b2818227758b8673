// A small table of our own: fixed widths per terminal width, one line per row, cells cut with an ellipsis.
// (@alcalzone/ink-table draws borders, cannot highlight a row and wraps long cells: see docs/tui.md.)
import {cells, pad} from '../text.js';
import {seg, type Line, type Segment} from './line.js';

export interface ColumnSpec {
	id: string;
	header: string;
	min: number;
	/** Never wider than this. */
	max: number;
	/** Share of the spare width. */
	weight?: number;
	/** Cut from the start (paths: the end tells them apart). */
	keepEnd?: boolean;
	/** A path-like column (a path, a volume name, a file name, a note) that may be cut; the others are kept whole when the row can hold them. */
	cut?: boolean;
}

const CUT_FLOOR = 10;

/** Widths that fill `width` (columns are joined by one space): every column gets its min, the rest goes by weight up to max. */
export function layoutColumns(specs: ColumnSpec[], width: number, rows: string[][] = []): number[] {
	// A column never grows past its longest cell (or header), so spare width goes where text is long.
	specs = specs.map((s, i) => ({...s, max: Math.max(s.min, Math.min(s.max, Math.max(cells(s.header), ...rows.map(r => cells(r[i] ?? '')))))}));
	// Only path-like columns are cut: the others take their whole width first, when the path-like ones keep their min
	// (a path down to CUT_FLOOR cells: its last parts; the details show it whole).
	const whole = specs.map(s => (s.keepEnd ? {...s, min: Math.min(s.min, CUT_FLOOR)} : s.cut ? s : {...s, min: s.max}));
	if (whole.reduce((a, s) => a + s.min, 0) + specs.length - 1 <= width) {
		specs = whole;
	}

	const widths = specs.map(s => s.min);
	let spare = width - widths.reduce((a, b) => a + b, 0) - (specs.length - 1);
	while (spare > 0) {
		const growable = specs.map((s, i) => ({s, i})).filter(({s, i}) => (s.weight ?? 0) > 0 && widths[i]! < s.max);
		if (growable.length === 0) {
			break;
		}

		const total = growable.reduce((a, {s}) => a + s.weight!, 0);
		let given = 0;
		for (const {s, i} of growable) {
			const share = Math.max(1, Math.floor((spare * s.weight!) / total));
			const add = Math.min(share, s.max - widths[i]!, spare - given);
			widths[i]! += add;
			given += add;
		}

		if (given === 0) {
			break;
		}

		spare -= given;
	}

	return widths;
}

export type Cell = string | Segment;

export const cellText = (cell: Cell): string => (typeof cell === 'string' ? cell : cell.text);

export function headerLine(specs: ColumnSpec[], widths: number[]): Line {
	return specs.flatMap((s, i) => [seg(pad(s.header, widths[i]!, 'end'), {bold: true, dim: true}), seg(i < specs.length - 1 ? ' ' : '')]);
}

export function rowLine(specs: ColumnSpec[], widths: number[], cells: Cell[]): Line {
	return specs.flatMap((s, i) => {
		const cell = cells[i] ?? '';
		const segment = typeof cell === 'string' ? seg(cell) : cell;
		const text = pad(segment.text, widths[i]!, s.keepEnd ? 'start' : 'end');
		return [{...segment, text}, seg(i < specs.length - 1 ? ' ' : '')];
	});
}
