import {Box} from 'ink';
import type {Report} from '../../core/types.js';
import {SEVERITY_COLOR, SEVERITY_MARK, SURVIVAL_GLYPH} from '../../report/labels.js';
import {counts, sourceNote, topFix} from '../../report/summary.js';
import {stepLines} from '../components/finding.js';
import {Lines, seg, wrapLine, type Line} from '../components/line.js';
import {plural} from '../text.js';
import {type ScreenDef, type ScreenProps} from './screen.js';

/** The verdict in a few words, the mark and colour the doctor convention gives it. */
export function verdict(report: Report): {mark: string; color: string; text: string} {
	const c = counts(report);
	if (c.errors > 0) {
		return {mark: SEVERITY_MARK.error, color: 'red', text: `data at risk: ${plural(c.errors, 'error')}`};
	}

	if (c.warnings > 0) {
		return {mark: SEVERITY_MARK.warning, color: 'yellow', text: `critical data is safe; ${plural(c.warnings, 'warning')}`};
	}

	return {mark: '✓', color: 'green', text: 'every location survives a recreate'};
}

export function overviewLines(report: Report, width: number): Line[] {
	const c = counts(report);
	const v = verdict(report);
	const label = (text: string) => seg(text.padEnd(10), {dim: true});
	const {container, profile} = report;
	const compose = container.compose ? ` · compose ${container.compose.project}/${container.compose.service}` : '';
	const recreate = report.locations.map(l => l.survives.recreate);
	const lines: Line[] = [
		[seg(sourceNote(report), {dim: true})],
		[],
		[label('container'), seg(container.name, {bold: true}), seg(` (${container.image})${compose}`)],
		[label('profile'), seg(profile.title), seg(` · ${profile.detectedBy}`, {dim: true})],
		[label('verdict'), seg(`${v.mark} ${v.text}`, {color: v.color, bold: true})],
		[
			label('counts'),
			// A mark says there is something: no `✗ 0 errors`.
			seg(c.errors ? `${SEVERITY_MARK.error} ${plural(c.errors, 'error')}` : '✓ no errors', {color: c.errors ? SEVERITY_COLOR.error : 'green'}),
			seg(' · '),
			seg(c.warnings ? `${SEVERITY_MARK.warning} ${plural(c.warnings, 'warning')}` : 'no warnings', {color: c.warnings ? SEVERITY_COLOR.warning : undefined}),
			seg(` · ${plural(c.locations, 'location')}`),
		],
		[
			label('recreate'),
			seg(`${SURVIVAL_GLYPH.kept} ${recreate.filter(s => s === 'kept').length} kept`, {color: 'green'}),
			seg(' · '),
			seg(`${SURVIVAL_GLYPH.orphaned} ${recreate.filter(s => s === 'orphaned').length} orphaned`, {color: 'yellow'}),
			seg(' · '),
			seg(`${SURVIVAL_GLYPH.lost} ${recreate.filter(s => s === 'lost').length} lost`, {color: 'red'}),
			seg('  (docker rm + run, or an update)', {dim: true}),
		],
		[],
	];
	const fix = topFix(report);
	if (fix) {
		lines.push([seg('Fix this first', {bold: true})]);
		lines.push(...wrapLine([seg(`${SEVERITY_MARK[fix.severity]} `, {color: SEVERITY_COLOR[fix.severity]}), seg(fix.message)], width, 2));
		// A fix is one or more steps (copy the data into a volume, recreate): one step a line, each whole.
		lines.push(...stepLines(fix, width, {first: '  › ', next: '  › then '}, 4));

		const more = c.errors + c.warnings - 1;
		if (more > 0) {
			lines.push([], [seg(`${plural(more, 'more problem')} on the Findings screen, each with its fix`, {dim: true})]);
		}
	} else {
		lines.push([seg('Nothing to fix.', {bold: true})]);
	}

	// A labelled line (container, profile…) continues under its value.
	return lines.flatMap(l => wrapLine(l, width, l[0]?.dim && /^\w+ +$/.test(l[0].text) ? 10 : undefined));
}

function Overview({data, width, height}: ScreenProps<unknown>) {
	return (
		<Box flexDirection="column">
			<Lines lines={overviewLines(data.inspection.report, width)} width={width} height={height}/>
		</Box>
	);
}

export const overviewScreen: ScreenDef<unknown> = {
	id: 'overview',
	number: 1,
	title: 'Overview',
	empty: () => null,
	component: Overview,
};
