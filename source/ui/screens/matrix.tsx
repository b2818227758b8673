import {SCENARIOS, type Location, type Report, type Scenario, type Survival} from '../../core/types.js';
import {OBSERVED_MARK, SCENARIO_SHORT, SCENARIO_TITLE, SURVIVAL_COLOR, SURVIVAL_GLYPH} from '../../report/labels.js';
import {cellOf, sourceNote, visibleScenarios, type Cell} from '../../report/summary.js';
import {Lines, lineText, seg, wrapLine, type Line} from '../components/line.js';
import {cells, center, pad, scrollStart} from '../text.js';
import {filterLocations} from './locations.js';
import {NO_LOCATIONS, type ScreenData, type ScreenDef, type ScreenProps} from './screen.js';

const SURVIVAL_WORD: Record<Survival, string> = {kept: 'kept', orphaned: 'orphaned', lost: 'lost'};

function cellText(cell: Cell): string {
	const glyph = cell.observed === 'unwritable' ? '?' : cell.value ? SURVIVAL_GLYPH[cell.value] : '·';
	return `${cell.observed ? OBSERVED_MARK : ' '}${glyph}`;
}

export interface MatrixLayout {
	heads: Record<Scenario, string>;
	long: boolean;
	pathWidth: number;
	columnWidth: (s: Scenario) => number;
	/** First and last visible column index. */
	first: number;
	last: number;
}

/** Full scenario names when everything fits, else the short heads the legend explains; then the columns that fit around the cursor. */
export function matrixLayout(report: Report, scenarios: Scenario[], width: number, column: number): MatrixLayout {
	const longestPath = Math.max(12, ...report.locations.map(l => l.path.length));
	const longTotal = Math.min(longestPath, 52) + 2 + scenarios.reduce((sum, s) => sum + Math.max(4, s.length) + 1, 0);
	const long = longTotal <= width;
	const heads = Object.fromEntries(SCENARIOS.map(s => [s, long ? s : SCENARIO_SHORT[s]])) as Record<Scenario, string>;
	const columnWidth = (s: Scenario) => Math.max(4, heads[s].length) + 1;
	const allColumns = scenarios.reduce((sum, s) => sum + columnWidth(s), 0);
	// The path column takes what the scenarios leave, between 20 and 52 characters; beyond that the scenarios scroll.
	const pathWidth = Math.max(Math.min(20, longestPath), Math.min(longestPath, 52, width - 2 - allColumns));
	// Two characters for the ◂ ▸ scroll marks.
	const room = width - pathWidth - 2;
	const fits = (from: number, to: number) => scenarios.slice(from, to + 1).reduce((sum, s) => sum + columnWidth(s), 0) <= room;
	let first = 0;
	while (first < column && !fits(first, column)) {
		first++;
	}

	let last = first;
	while (last + 1 < scenarios.length && fits(first, last + 1)) {
		last++;
	}

	return {heads, long, pathWidth, columnWidth, first, last};
}

/** Entries side by side, two spaces apart, as many to a line as fit whole; one longer than a line wraps. */
function flow(entries: Line[], width: number): Line[] {
	const out: Line[] = [];
	let used = 0;
	for (const entry of entries) {
		const w = cells(lineText(entry));
		if (out.length > 0 && used + 2 + w <= width) {
			out.at(-1)!.push(seg('  '), ...entry);
			used += 2 + w;
		} else {
			out.push(...wrapLine(entry, width, 5));
			used = w > width ? width : w;
		}
	}

	return out;
}

export function matrixLines(report: Report, rows: Location[], width: number, height: number, cursor: number, column: number): {lines: Line[]; selectedLine: number} {
	const scenarios = visibleScenarios(report);
	const col = Math.min(column, scenarios.length - 1);
	const layout = matrixLayout(report, scenarios, width, col);
	const shown = scenarios.slice(layout.first, layout.last + 1);
	const anyObserved = report.locations.some(l => l.observed);
	const lines: Line[] = [[seg(sourceNote(report), {dim: true})]];

	const left = layout.first > 0 ? seg('◂', {bold: true}) : seg(' ');
	const right = layout.last < scenarios.length - 1 ? seg('▸', {bold: true}) : seg(' ');
	lines.push([
		seg(pad('', layout.pathWidth)),
		left,
		...shown.map((s, i) => seg(center(layout.heads[s], layout.columnWidth(s)), {bold: true, inverse: layout.first + i === col})),
		right,
	]);

	// Legend: values, observation mark, then the heads (when short) or titles of the visible columns.
	const legend: Line[] = [[
		seg(`${SURVIVAL_GLYPH.kept} kept`, {color: SURVIVAL_COLOR.kept}), seg('  '),
		seg(`${SURVIVAL_GLYPH.orphaned} orphaned: on disk, not in the new container`, {color: SURVIVAL_COLOR.orphaned}), seg('  '),
		seg(`${SURVIVAL_GLYPH.lost} lost`, {color: SURVIVAL_COLOR.lost}), seg('  · n/a', {dim: true}),
	]];
	if (anyObserved) {
		legend.push(...wrapLine([seg(`${OBSERVED_MARK} bold`, {bold: true}), seg(': observed by probe on the real engine; ? could not be written; the rest predicted from mounts', {dim: true})], width, 2));
	}

	// Whole titles, one a line when the room allows, else flowing as many to a line as fit: never cut.
	const headWidth = Math.max(...scenarios.map(s => layout.heads[s].length));
	const entries: Line[] = scenarios.map(s => [seg(layout.heads[s].padEnd(headWidth + 1), {bold: true}), seg(SCENARIO_TITLE[s], {dim: true})]);
	const roomForLegend = height - lines.length - 2 - legend.length - rows.length;
	legend.push(...(entries.length <= roomForLegend ? entries.flatMap(e => wrapLine(e, width, headWidth + 1)) : flow(entries, width)));

	// The selected cell in words, so each glyph can be read out.
	const location = rows[cursor];
	const scenario = scenarios[col];
	const detail: Line = location && scenario ? (() => {
		const cell = cellOf(location, scenario);
		const value = cell.observed === 'unwritable' ? `? not writable${location.observed?.note ? ` (${location.observed.note})` : ''}` : cell.value ? `${SURVIVAL_GLYPH[cell.value]} ${SURVIVAL_WORD[cell.value]}` : 'does not apply';
		return [
			seg('› ', {bold: true}),
			seg(`${layout.heads[scenario]}: `, {bold: true}),
			seg(value, {color: cell.value ? SURVIVAL_COLOR[cell.value] : undefined, bold: true}),
			seg(cell.observed ? ' (observed by probe)' : ' (predicted)', {dim: true}),
			seg(` — ${SCENARIO_TITLE[scenario]}`),
			...(scenario === 'host-reboot' && report.comesBack ? [seg(` · the container ${report.comesBack['host-reboot'] ? 'starts again by itself' : 'stays down'}`, {dim: report.comesBack['host-reboot']})] : []),
		];
	})() : [seg('no location matches the filter', {dim: true})];
	const detailLines = wrapLine(detail, width, 2);

	const room = Math.max(1, height - lines.length - 1 - detailLines.length - legend.length);
	const start = scrollStart(rows.length, room, cursor);
	const body = rows.slice(start, start + room).map(l => [
		seg(pad(l.path, layout.pathWidth, 'start'), {inverse: l === location}),
		seg(' '),
		...shown.flatMap((s, i) => {
			const cell = cellOf(l, s);
			const selected = l === location && layout.first + i === col;
			return [seg(center(cellText(cell), layout.columnWidth(s)), {
				color: cell.value ? SURVIVAL_COLOR[cell.value] : undefined,
				bold: cell.observed !== null,
				dim: cell.value === null,
				inverse: selected,
			})];
		}),
	]);
	const selectedLine = lines.length + (cursor - start);
	lines.push(...body, ...detailLines, [], ...legend);
	return {lines, selectedLine};
}

function Matrix({data, rows, cursor, view, width, height}: ScreenProps<Location>) {
	const {lines} = matrixLines(data.inspection.report, rows, width, height, cursor, view.column);
	return <Lines lines={lines} width={width} height={height}/>;
}

export const matrixScreen: ScreenDef<Location> = {
	id: 'matrix',
	number: 3,
	title: 'Matrix',
	empty: (data: ScreenData) => (data.inspection.report.locations.length === 0 ? NO_LOCATIONS : visibleScenarios(data.inspection.report).length === 0 ? 'no scenario applies to this container' : null),
	rows: (data, filter) => filterLocations(data.inspection.report, filter),
	opens: row => row.path,
	columns: data => visibleScenarios(data.inspection.report).length,
	bindings: [
		{scope: 'matrix', keys: ['left', 'h', 'right', 'l'], label: '←→', legend: 'scenario', description: 'move between scenarios (h l; the heads scroll when they do not fit)', run: (c, p) => c.dispatch({type: 'column', delta: p.name === 'left' || p.name === 'h' ? -1 : 1, count: c.columnCount})},
	],
	component: Matrix,
};
