import type {Location, Report} from '../../core/types.js';
import {ABSENT_MARK, PRIORITY_COLOR, SEVERITY_COLOR, SEVERITY_MARK, mountLabel} from '../../report/labels.js';
import {sourceNote, worstSeverityByPath} from '../../report/summary.js';
import {Lines, seg, type Line} from '../components/line.js';
import {cellText, headerLine, layoutColumns, rowLine, type Cell, type ColumnSpec} from '../components/table.js';
import {scrollStart} from '../text.js';
import {matches, NO_LOCATIONS, type ScreenData, type ScreenDef, type ScreenProps} from './screen.js';

export function filterLocations(report: Report, filter: string): Location[] {
	return report.locations.filter(l => matches(filter, l.path, l.label, l.storage, l.priority, mountLabel(l.mount)));
}

const COLUMNS: ColumnSpec[] = [
	{id: 'mark', header: ' ', min: 1, max: 1},
	{id: 'path', header: 'path', min: 20, max: 52, weight: 5, keepEnd: true},
	{id: 'label', header: 'label', min: 12, max: 28, weight: 2},
	{id: 'priority', header: 'priority', min: 8, max: 8},
	{id: 'storage', header: 'storage', min: 16, max: 16},
	{id: 'ro', header: 'ro', min: 2, max: 2},
	{id: 'mount', header: 'mount', min: 9, max: 70, weight: 3, cut: true},
];

export function locationLines(report: Report, rows: Location[], width: number): {header: Line; rows: Line[]} {
	const worst = worstSeverityByPath(report.findings);
	const cells: Cell[][] = rows.map(l => {
		const severity = worst.get(l.path);
		return [
			severity && severity !== 'info' ? seg(SEVERITY_MARK[severity], {color: SEVERITY_COLOR[severity]}) : (l.exists === false ? seg(ABSENT_MARK, {dim: true}) : seg('✓', {color: 'green'})),
			l.path,
			l.label,
			seg(l.priority, {color: PRIORITY_COLOR[l.priority]}),
			l.exists === false ? `absent, ${l.storage}` : l.storage,
			l.readOnly ? 'ro' : '',
			mountLabel(l.mount),
		];
	});
	// The ro column only when some location is read-only: at 80 columns its room goes to the paths.
	const ro = COLUMNS.findIndex(c => c.id === 'ro');
	const keep = rows.some(l => l.readOnly) ? () => true : (_: unknown, i: number) => i !== ro;
	const columns = COLUMNS.filter(keep);
	const shown = cells.map(r => r.filter(keep));
	const widths = layoutColumns(columns, width, shown.map(r => r.map(cellText)));
	return {header: headerLine(columns, widths), rows: shown.map(r => rowLine(columns, widths, r))};
}

function Locations({data, rows, cursor, width, height}: ScreenProps<Location>) {
	const report = data.inspection.report;
	const table = locationLines(report, rows, width);
	const room = height - 3;
	const start = scrollStart(rows.length, room, cursor);
	const shown = table.rows.slice(start, start + room);
	const more = rows.length > room ? `  rows ${start + 1}–${start + shown.length} of ${rows.length}` : '';
	const lines: Line[] = [
		[seg(sourceNote(report), {dim: true}), seg(more, {dim: true})],
		[],
		table.header,
		...(rows.length === 0 ? [[seg('no location matches the filter', {dim: true})]] : shown),
	];
	return <Lines lines={lines} width={width} height={height} selected={i => rows.length > 0 && i - 3 === cursor - start}/>;
}

export const locationsScreen: ScreenDef<Location> = {
	id: 'locations',
	number: 2,
	title: 'Locations',
	empty: (data: ScreenData) => (data.inspection.report.locations.length > 0 ? null : NO_LOCATIONS),
	rows: (data, filter) => filterLocations(data.inspection.report, filter),
	opens: row => row.path,
	component: Locations,
};
