import {sourceNote} from '../../report/summary.js';
import type {Finding, Report, Severity} from '../../core/types.js';
import {SEVERITY_COLOR} from '../../report/labels.js';
import {findingBlock} from '../components/finding.js';
import {Lines, seg, type Line} from '../components/line.js';
import {lineWindow} from '../text.js';
import {matches, type ScreenDef, type ScreenProps} from './screen.js';

const HEADING: Record<Severity, string> = {error: 'Errors', warning: 'Warnings', info: 'Notes'};
const ORDER: Severity[] = ['error', 'warning', 'info'];

export function filterFindings(report: Report, filter: string): Finding[] {
	return ORDER.flatMap(severity => report.findings.filter(f => f.severity === severity && matches(filter, f.message, f.fix, f.path, f.code, f.severity)));
}

/** Headings per severity, then each finding's message and its fix; `item` ties each line to its finding for scrolling. */
export function findingLines(rows: Finding[], width: number): Array<{item: number; line: Line}> {
	const out: Array<{item: number; line: Line}> = [];
	for (const severity of ORDER) {
		const group = rows.map((f, i) => ({f, i})).filter(({f}) => f.severity === severity);
		if (group.length === 0) {
			continue;
		}

		out.push({item: -1, line: [seg(`${HEADING[severity]} (${group.length})`, {bold: true, color: SEVERITY_COLOR[severity]})]});
		for (const {f, i} of group) {
			out.push(...findingBlock(f, width).map(line => ({item: i, line})));
		}
	}

	return out;
}

function Findings({data, rows, cursor, width, height}: ScreenProps<Finding>) {
	const report = data.inspection.report;
	const all = findingLines(rows, width);
	const shown = lineWindow(all, height - 2, cursor);
	const lines: Line[] = [
		[seg(sourceNote(report), {dim: true})],
		[],
		...(rows.length === 0 ? [[seg(report.findings.length === 0 ? '✓ no problems found' : 'no finding matches the filter', {dim: true})]] : shown.map(l => l.line)),
	];
	// Only the first line of the selected finding is highlighted: a bar, not a block.
	const firstOfSelected = shown.findIndex(l => l.item === cursor);
	return <Lines lines={lines} width={width} height={height} selected={i => rows.length > 0 && i - 2 === firstOfSelected}/>;
}

export const findingsScreen: ScreenDef<Finding> = {
	id: 'findings',
	number: 4,
	title: 'Findings',
	empty: () => null,
	rows: (data, filter) => filterFindings(data.inspection.report, filter),
	opens: row => row.path,
	component: Findings,
};
