// The frame around every screen: a title line, the tabs, and the key legend on the bottom line.
import type {Report} from '../../core/types.js';
import {SEVERITY_MARK} from '../../report/labels.js';
import {counts} from '../../report/summary.js';
import {plural} from '../text.js';
import {fitLine, LineView, seg, type Line} from './line.js';

export function titleLine(report: Report | null, engineLabel: string, busy: boolean, width: number): Line {
	const left: Line = [seg('occ-doctor', {bold: true})];
	if (report) {
		left.push(seg(` · ${report.container.name}`, {bold: true}), seg(` · ${report.profile.name}`));
	}

	const right: Line = [];
	if (busy) {
		right.push(seg('re-inspecting… ', {dim: true}));
	}

	if (report) {
		const c = counts(report);
		right.push(
			seg(`${c.errors ? SEVERITY_MARK.error : '✓'} ${plural(c.errors, 'error')}`, {color: c.errors ? 'red' : 'green', bold: true}),
			seg(` · ${plural(c.warnings, 'warning')}`, {color: c.warnings ? 'yellow' : undefined}),
		);
	} else {
		right.push(seg(engineLabel, {dim: true}));
	}

	const rightWidth = right.reduce((n, s) => n + [...s.text].length, 0);
	// The counts on the right always show; a long container name gives way.
	const fitted = fitLine(left, Math.max(10, width - rightWidth - 1));
	const leftWidth = fitted.reduce((n, s) => n + [...s.text].length, 0);
	return [...fitted, seg(' '.repeat(Math.max(1, width - rightWidth - leftWidth))), ...right];
}

export function tabsLine(tabs: Array<{title: string}>, active: number): Line {
	return tabs.flatMap((t, i) => [
		seg(` ${i + 1} ${t.title} `, {inverse: i === active, bold: i === active, dim: i !== active}),
		seg(' '),
	]);
}

/** The key legend: as many entries as fit, the most useful first. */
export function legendLine(keys: Array<[string, string]>, width: number, note?: Line): Line {
	const line: Line = [];
	let used = note ? note.reduce((n, s) => n + [...s.text].length, 0) : 0;
	for (const [key, action] of keys) {
		const size = key.length + action.length + 3;
		if (used + size > width) {
			break;
		}

		line.push(seg(key, {bold: true}), seg(` ${action}  `, {dim: true}));
		used += size;
	}

	return note ? [...line, ...note] : line;
}

export function Bar({line, width}: {line: Line; width: number}) {
	return <LineView line={line} width={width}/>;
}
