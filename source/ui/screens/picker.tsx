import type {Candidate} from '../../docker/inspect.js';
import {Lines, seg, type Line} from '../components/line.js';
import {cellText, headerLine, layoutColumns, rowLine, type Cell, type ColumnSpec} from '../components/table.js';
import {scrollStart} from '../text.js';
import {matches} from './screen.js';

const COLUMNS: ColumnSpec[] = [
	{id: 'name', header: 'name', min: 16, max: 40, weight: 3},
	{id: 'image', header: 'image', min: 10, max: 40, weight: 2, cut: true},
	{id: 'profile', header: 'profile', min: 14, max: 14},
	{id: 'state', header: 'state', min: 7, max: 10},
	{id: 'where', header: 'compose / instance', min: 12, max: 40, weight: 2, cut: true},
];

export function filterCandidates(candidates: Candidate[], filter: string): Candidate[] {
	return candidates.filter(c => matches(filter, c.name, c.image, c.profile, c.state, c.compose?.project, c.instance));
}

export function pickerLines(candidates: Candidate[], width: number): {header: Line; rows: Line[]} {
	const cells: Cell[][] = candidates.map(c => [
		seg(c.name, {bold: true}),
		c.image,
		c.profile,
		seg(c.state, {color: c.state === 'running' ? 'green' : 'yellow'}),
		c.compose ? `${c.compose.project}/${c.compose.service}` : c.instance ? `occ instance ${c.instance}` : '—',
	]);
	const widths = layoutColumns(COLUMNS, width, cells.map(r => r.map(cellText)));
	return {header: headerLine(COLUMNS, widths), rows: cells.map(r => rowLine(COLUMNS, widths, r))};
}

/** Several containers fit: the user picks one. Not in the registry: it comes before any report exists. */
export function Picker({candidates, rows, cursor, engineLabel, width, height}: {candidates: Candidate[]; rows: Candidate[]; cursor: number; engineLabel: string; width: number; height: number}) {
	const table = pickerLines(rows, width);
	const room = height - 3;
	const start = scrollStart(rows.length, room, cursor);
	const lines: Line[] = [
		[seg(`${candidates.length} containers on ${engineLabel} look like coding agents: pick one (enter)`, {dim: true})],
		[],
		table.header,
		...(rows.length === 0 ? [[seg('no container matches the filter', {dim: true})]] : table.rows.slice(start, start + room)),
	];
	return <Lines lines={lines} width={width} height={height} selected={i => rows.length > 0 && i - 3 === cursor - start}/>;
}
