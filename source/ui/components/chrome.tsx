// The frame around every screen: a title line, the tabs, and the key legend on the bottom line.
import type {Report} from '../../core/types.js';
import {SEVERITY_MARK} from '../../report/labels.js';
import {counts} from '../../report/summary.js';
import stringWidth from 'string-width';
import {cells, plural} from '../text.js';
import {fitLine, LineView, lineText, seg, type Line} from './line.js';

export function titleLine(report: Report | null, engineLabel: string, busy: boolean, width: number): Line {
	const app = seg('occ-doctor', {bold: true});
	// The container's name stays whole: the app's name, then the profile give way first.
	const candidates: Line[] = report
		? [
			[app, seg(` · ${report.container.name}`, {bold: true}), seg(` · ${report.profile.name}`)],
			[seg(report.container.name, {bold: true}), seg(` · ${report.profile.name}`)],
			[seg(report.container.name, {bold: true})],
		]
		: [[app]];

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

	const rightWidth = cells(lineText(right));
	const room = Math.max(10, width - rightWidth - 1);
	const left = candidates.find(c => cells(lineText(c)) <= room) ?? candidates.at(-1)!;
	// The counts on the right always show; only a name longer than the whole line is cut.
	const fitted = fitLine(left, room);
	const leftWidth = cells(lineText(fitted));
	return [...fitted, seg(' '.repeat(Math.max(1, width - rightWidth - leftWidth))), ...right];
}

/** The tabs, each with its fixed number; when they do not fit, the gaps go, then the titles shorten to their first letters. Empty screens are dim. */
export function tabsLine(tabs: Array<{title: string; number: number}>, active: number, width = Number.POSITIVE_INFINITY, empty: boolean[] = []): Line {
	// Too wide: the tabs of empty screens shrink to their number first (highest first), then the others' titles.
	const titles = tabs.map(t => t.title);
	const fullWidth = () => titles.reduce((n, t) => n + (t ? t.length + 4 : 3), 0);
	for (let i = tabs.length - 1; i >= 0 && fullWidth() > width; i--) {
		if (empty[i] && i !== active) {
			titles[i] = '';
		}
	}

	const full = fullWidth();
	const gap = full + tabs.length <= width ? ' ' : '';
	const shorten = full > width;
	// Shortened, the active tab keeps its whole title.
	const named = titles.filter(Boolean).length;
	const room = shorten ? Math.max(3, Math.floor((width - titles[active]!.length - 4 - (tabs.length - named) * 3) / Math.max(1, named - 1)) - 3) : 0;
	return tabs.flatMap((t, i) => [
		seg(titles[i] ? ` ${t.number} ${shorten && i !== active ? titles[i]!.slice(0, room) : titles[i]} ` : ` ${t.number} `, {inverse: i === active, bold: i === active, dim: i !== active || Boolean(empty[i])}),
		seg(gap),
	]);
}

const entryWidth = ([key, action]: [string, string]) => stringWidth(key) + stringWidth(action) + 3;
const entry = ([key, action]: [string, string]): Line => [seg(key, {bold: true}), seg(` ${action}  `, {dim: true})];

/** The key legend, wrapped onto as many lines as it needs; the `note` (a filter) first, the `tail` (help, quit) last. */
export function legendLines(keys: Array<[string, string]>, width: number, note?: Line, tail: Array<[string, string]> = []): Line[] {
	const lines: Line[] = [note ? [...note] : []];
	let used = note ? note.reduce((n, s) => n + stringWidth(s.text), 0) : 0;
	for (const item of [...keys, ...tail]) {
		if (used > 0 && used + entryWidth(item) > width) {
			lines.push([]);
			used = 0;
		}

		lines.at(-1)!.push(...entry(item));
		used += entryWidth(item);
	}

	return lines;
}

export function Bar({line, width}: {line: Line; width: number}) {
	return <LineView line={line} width={width}/>;
}
