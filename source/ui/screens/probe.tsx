// The Probe screen: what the probe will do, a confirmation before anything disruptive, live steps, then observations.
import type {Location, Observed, Survival} from '../../core/types.js';
import {expectedObservation} from '../../probe/findings.js';
import type {ProbePlan, ProbeStep} from '../../probe/types.js';
import {SURVIVAL_COLOR, SURVIVAL_GLYPH} from '../../report/labels.js';
import {Lines, seg, wrapAll, wrapLine, type Line} from '../components/line.js';
import {spin} from '../components/progress.js';
import {headerLine, layoutColumns, rowLine, cellText, type Cell, type ColumnSpec} from '../components/table.js';
import type {ProbeState, SentinelState} from '../hooks/use-probe.js';
import {plural} from '../text.js';
import {NO_ENGINE_SERVICE, NO_LOCATIONS, type ScreenData, type ScreenDef, type ScreenProps} from './screen.js';


const STEP_TITLE: Record<ProbeStep, string> = {
	preparing: 'check the container and plan (reads only)',
	starting: 'start the stopped container',
	writing: 'write a sentinel into each location',
	restarting: 'restart the container',
	waiting: 'wait until it runs',
	reading: 'read the sentinels back',
	recreate: 'recreate probe: read through a twin',
	cleanup: 'clean up: sentinels, twin, container state',
	stopping: 'stop the container again',
};

/** The steps this run will take, in order: what happened so far, then what the plan says comes next. */
export function expectedSteps(plan: ProbePlan | null, noRestartHint = false): ProbeStep[] {
	const restart = plan ? plan.restart : !noRestartHint;
	return [
		'preparing',
		...(plan?.startStopped ? ['starting' as const] : []),
		'writing',
		...(restart ? ['restarting' as const, 'waiting' as const, 'reading' as const] : []),
		'recreate',
		'cleanup',
		...(plan?.startStopped ? ['stopping' as const] : []),
	];
}

const seconds = (ms: number | undefined) => (ms === undefined ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

function stepLines(state: ProbeState, tick: number | undefined): Line[] {
	const ran = new Map(state.steps.map(s => [s.step, s]));
	const order = [...new Set([...state.steps.map(s => s.step), ...expectedSteps(state.plan)])];
	const settled = state.phase !== 'running' && state.phase !== 'confirming';
	const timings = state.result?.probe.timings ?? {};
	return order.map(step => {
		const s = ran.get(step);
		const title = STEP_TITLE[step] + (s?.detail ? ` (${s.detail})` : '');
		if (!s) {
			return [seg(settled ? ' – ' : ' · ', {dim: true}), seg(title, {dim: true}), seg(settled ? '  not run' : '', {dim: true})];
		}

		if (!s.done) {
			return [seg(` ${state.phase === 'confirming' ? '?' : spin(tick)} `, {color: 'cyan', bold: true}), seg(title, {bold: true}), seg(state.phase === 'confirming' ? '  waiting for your answer' : '…', {dim: true})];
		}

		return [seg(' ✓ ', {color: 'green'}), seg(title), seg(timings[step] !== undefined ? `  ${seconds(timings[step])}` : '', {dim: true})];
	});
}

const ACTION: Record<SentinelState['action'], {text: string; color?: string; mark: string}> = {
	written: {text: 'written', color: 'green', mark: '✓'},
	unwritable: {text: 'unwritable', color: 'yellow', mark: '!'},
	skipped: {text: 'not probed', mark: '–'},
	removed: {text: 'removed', color: 'green', mark: '✓'},
	left: {text: 'left behind', color: 'red', mark: '✗'},
};

const TARGET_COLUMNS: ColumnSpec[] = [
	{id: 'dir', header: 'sentinel directory', min: 24, max: 60, weight: 3, keepEnd: true},
	{id: 'state', header: 'sentinel', min: 14, max: 14},
	{id: 'note', header: 'note', min: 10, max: 120, weight: 2, cut: true},
];

/** One row per sentinel directory of the plan, with what happened to its sentinel so far. */
function targetLines(state: ProbeState, width: number, room: number): Line[] {
	const targets = state.plan?.targets ?? [];
	if (targets.length === 0 || room < 2) {
		return [];
	}

	const cells: Cell[][] = targets.map(t => {
		const s = state.sentinels.find(x => x.dir === t.dir);
		const a = s ? ACTION[s.action] : t.skip ? (t.skip.observed === 'unwritable' ? ACTION.unwritable : ACTION.skipped) : {text: 'to write', mark: '·'};
		return [t.dir, seg(`${a.mark} ${a.text}`, {color: a.color}), s?.note ?? t.skip?.note ?? t.note ?? ''];
	});
	const widths = layoutColumns(TARGET_COLUMNS, width - 1, cells.map(r => r.map(cellText)));
	const rows = cells.map(r => [seg(' '), ...rowLine(TARGET_COLUMNS, widths, r)]);
	const shown = rows.slice(0, room - 1);
	if (rows.length > shown.length) {
		shown[shown.length - 1] = [seg(`  … ${rows.length - shown.length + 1} more`, {dim: true})];
	}

	return [[seg(' '), ...headerLine(TARGET_COLUMNS, widths)], ...shown];
}

const OBSERVED_TEXT: Record<Observed, {text: string; color: string; glyph: string}> = {
	kept: {text: 'kept', color: SURVIVAL_COLOR.kept, glyph: SURVIVAL_GLYPH.kept},
	lost: {text: 'lost', color: SURVIVAL_COLOR.lost, glyph: SURVIVAL_GLYPH.lost},
	unwritable: {text: 'unwritable', color: 'yellow', glyph: '?'},
};

/** An observed cell next to its prediction; a disagreement (probe-mismatch) is marked ✗ in red whatever the value. */
export function observedCell(observed: Observed | null, predicted: Survival | null): {segment: ReturnType<typeof seg>; mismatch: boolean} {
	const pred = predicted ? SURVIVAL_GLYPH[predicted] : '·';
	if (!observed) {
		return {segment: seg(`– not probed`, {dim: true}), mismatch: false};
	}

	// "Lost" to the new container is what an orphaned prediction means: its data stays on disk, out of reach.
	const o = observed === 'lost' && predicted === 'orphaned'
		? {text: 'orphan', color: SURVIVAL_COLOR.orphaned, glyph: SURVIVAL_GLYPH.orphaned}
		: OBSERVED_TEXT[observed];
	const expected = expectedObservation(predicted);
	const mismatch = observed !== 'unwritable' && expected !== null && observed !== expected;
	return {segment: seg(`●${o.glyph} ${o.text} (pred ${pred})${mismatch ? ' ✗' : ''}`, {color: mismatch ? 'red' : o.color, bold: true}), mismatch};
}

const RESULT_COLUMNS: ColumnSpec[] = [
	{id: 'mark', header: ' ', min: 1, max: 1},
	// The location is what a row is about: it takes the spare width before the note.
	{id: 'path', header: 'location', min: 22, max: 52, weight: 12, keepEnd: true},
	{id: 'restart', header: 'restart', min: 16, max: 24, weight: 1},
	{id: 'recreate', header: 'recreate', min: 16, max: 24, weight: 1},
	{id: 'note', header: 'note', min: 0, max: 120, weight: 1, cut: true},
];

export function resultLines(locations: Location[], width: number): Line[] {
	const probed = locations.filter(l => l.observed);
	const cells: Cell[][] = probed.map(l => {
		const restart = observedCell(l.observed!.restart, l.survives.restart);
		const recreate = observedCell(l.observed!.recreate, l.survives.recreate);
		const bad = restart.mismatch || recreate.mismatch;
		return [bad ? seg('✗', {color: 'red', bold: true}) : seg(' '), l.path, restart.segment, recreate.segment, l.observed!.note ?? ''];
	});
	const widths = layoutColumns(RESULT_COLUMNS, width, cells.map(r => r.map(cellText)));
	return [headerLine(RESULT_COLUMNS, widths), ...cells.map(r => rowLine(RESULT_COLUMNS, widths, r))];
}

/** What the cleanup did, in a few lines: for the screen after a failure or Ctrl+C, and for the line printed on exit. */
export function cleanupSummary(state: ProbeState): string[] {
	const touched = state.sentinels.some(s => s.wasWritten) || state.steps.some(s => s.step === 'starting' || s.step === 'restarting');
	if (state.declined || !touched) {
		return ['nothing was written and the container was not restarted'];
	}

	const removed = state.sentinels.filter(s => s.action === 'removed').length;
	const left = state.sentinels.filter(s => s.action === 'left').map(s => s.dir);
	const out: string[] = [];
	if (removed > 0 || left.length === 0) {
		out.push(`✓ ${plural(removed, 'sentinel')} removed`);
	}

	if (left.length > 0) {
		out.push(`✗ sentinels left in ${left.join(', ')}: run occ-doctor probe --cleanup`);
	}

	if (state.steps.some(s => s.step === 'recreate')) {
		out.push(/twin container/.test(state.error ?? '') ? '✗ the twin container is left: run occ-doctor probe --cleanup' : '✓ twin container removed (with its fresh volumes)');
	}

	const plan = state.plan;
	if (plan && state.containerAfter) {
		const wanted = plan.container.running ? 'running' : 'exited';
		const name = plan.container.name;
		out.push(state.containerAfter === wanted || (!plan.container.running && state.containerAfter !== 'running')
			? `✓ ${name} is ${state.containerAfter}, as it was before`
			: `✗ ${name} is ${state.containerAfter}, it was ${plan.container.running ? 'running' : 'stopped'}: docker ${plan.container.running ? 'start' : 'stop'} ${name}`);
	} else if (plan && !state.containerAfter && state.phase !== 'running') {
		out.push(`? the state of ${plan.container.name} could not be read`);
	}

	return out;
}

const mark = (text: string): Line => {
	const color = text.startsWith('✓') ? 'green' : text.startsWith('✗') ? 'red' : 'yellow';
	return [seg('   '), seg(text.slice(0, 1), {color, bold: true}), seg(text.slice(1))];
};

export function probeLines(data: ScreenData, width: number, height: number): Line[] {
	const probe = data.probe!;
	const {state} = probe;
	const report = data.inspection.report;
	const name = report.container.name;
	const lines: Line[] = wrapLine([seg('observed: sentinels read back after a real restart and via a recreate twin', {dim: true}), seg(` · ${data.engineLabel}`, {dim: true})], width, 0);

	if (state.phase === 'idle') {
		lines.push(
			[],
			[seg(`Probe ${name}`, {bold: true}), seg(' · nothing happens until you confirm the plan', {dim: true})],
			[seg('  1. write a small sentinel file .occ-doctor-probe-<run id> into each data location')],
			probe.noRestart ? [seg(`  2. (--no-restart: ${name} is not restarted; only the recreate is observed)`)] : [seg(`  2. restart ${name} (docker restart) and read the files back`)],
			[seg('  3. create a never-started twin with the mounts a recreate gives; read them through it')],
			[seg('  4. remove the twin and every sentinel: the container ends as it started')],
			[],
			[seg('The Matrix then shows observed cells (●) instead of predicted ones; a disagreement is a finding.', {dim: true})],
			[],
			[seg('⏎', {bold: true}), seg(' prepare the probe: it reads only, then shows the plan and asks before a restart')],
		);
		return wrapAll(lines, width);
	}

	if (state.phase === 'confirming' && state.plan) {
		const plan = state.plan;
		lines.push([seg(`Plan for ${name}`, {bold: true}), seg(` (run ${plan.runId}) · nothing has changed yet`, {dim: true})]);
		for (const item of plan.summary) {
			lines.push(...wrapLine([seg('  • '), seg(item)], width, 4));
		}

		const disruptive = plan.startStopped ? `This STARTS the stopped ${name} and stops it again.` : `This RESTARTS ${name}: its app stops for a few seconds.`;
		const ask: Line[] = wrapAll([[], [seg(`! ${disruptive}`, {color: 'yellow', bold: true})], [seg('  y', {bold: true}), seg(' or '), seg('⏎', {bold: true}), seg(' start · '), seg('n', {bold: true}), seg(' or '), seg('esc', {bold: true}), seg(' cancel (nothing is written)')]], width);
		const head = wrapAll(lines, width);
		return [...head, [], ...targetLines(state, width, height - head.length - ask.length - 1), ...ask];
	}

	if (state.phase === 'cancelled' && state.declined) {
		lines.push(...wrapLine([seg('– probe cancelled: ', {bold: true}), seg((state.error ?? '').replace(/^probe cancelled: /, ''))], width, 19), [], [seg('⏎', {bold: true}), seg(' prepare it again', {dim: true})]);
		return wrapAll(lines, width);
	}

	// Running, done, failed, cancelled: the status, the steps, then sentinels (running) or observations (done).
	const status: Line = state.phase === 'running'
		? (state.cancelling
			? [seg(`${spin(data.tick)} cancelling: cleaning up before exit…`, {color: 'yellow', bold: true})]
			: [seg(`${spin(data.tick)} probing ${name}`, {bold: true}), seg(state.plan ? ` · run ${state.plan.runId}` : '', {dim: true}), seg('  ctrl+c cancels and cleans up', {dim: true})])
		: state.phase === 'done'
			? doneStatus(state, report.locations)
			: [seg(`✗ ${state.phase === 'cancelled' ? 'probe interrupted' : 'probe failed'}`, {color: 'red', bold: true})];
	lines.push(...wrapLine(status, width, 2));
	if (state.phase === 'failed' || state.phase === 'cancelled') {
		// The service's message names the cause and what is left; it must be read whole.
		lines.push(...wrapLine([seg('  '), seg(state.error ?? '')], width, 2));
	}

	const steps = stepLines(state, data.tick);

	if (state.phase === 'done' && state.result) {
		// Steps fold into one line so the observations get the room.
		lines.push(...wrapLine([seg(`  ${state.steps.length} steps ✓ · ${Object.entries(state.result.probe.timings).map(([s, ms]) => `${s} ${seconds(ms)}`).join(' · ')}`, {dim: true})], width, 2), []);
		const table = resultLines(report.locations, width);
		const after = doneNotes(data, width);
		const room = Math.max(2, height - lines.length - after.length);
		lines.push(...table.slice(0, room));
		if (table.length > room) {
			lines[lines.length - 1] = [seg(`  … ${table.length - room + 1} more locations on the Matrix`, {dim: true})];
		}

		lines.push(...after);
		return lines;
	}

	lines.push(...steps);
	if (state.phase === 'failed' || state.phase === 'cancelled') {
		lines.push([], [seg('Cleanup', {bold: true})], ...cleanupSummary(state).map(mark));
		for (const w of state.warnings) {
			lines.push([seg('   ! ', {color: 'yellow'}), seg(w)]);
		}

		lines.push([], [seg('⏎', {bold: true}), seg(' probe again', {dim: true})]);
		return wrapAll(lines, width);
	}

	lines.push([], ...targetLines(state, width, height - lines.length - 1));
	return lines;
}

function doneStatus(state: ProbeState, locations: Location[]): Line {
	const observed = locations.filter(l => l.observed && (l.observed.restart ?? l.observed.recreate)).length;
	const findings = state.result!.findings.filter(f => f.code === 'probe-mismatch' || f.code === 'rows-lost');
	const restored = state.result!.probe.state;
	return [
		seg(findings.length === 0 ? '✓ ' : '✗ ', {color: findings.length === 0 ? 'green' : 'red', bold: true}),
		seg(`probe done: ${observed} of ${plural(locations.length, 'location')} observed`, {bold: true}),
		seg(findings.length === 0 ? ' · all as predicted' : ` · ${plural(findings.length, 'problem')}`, {color: findings.length === 0 ? undefined : 'red', bold: findings.length > 0}),
		seg(` · ${restored.after}${restored.after === restored.before ? ', as before' : ` (was ${restored.before})`}`, {dim: true}),
	];
}

function doneNotes(data: ScreenData, width: number): Line[] {
	const {state} = data.probe!;
	const result = state.result!;
	const out: Line[] = [[]];
	const lost = result.findings.filter(f => f.code === 'rows-lost');
	const dbs = result.probe.databases;
	if (dbs && dbs.before.length > 0) {
		out.push(lost.length > 0
			? [seg(`✗ rows lost in ${plural(lost.length, 'table')}`, {color: 'red', bold: true}), seg(' · before/after on Databases', {dim: true})]
			: [seg('✓ ', {color: 'green'}), seg(`database rows: none dropped in ${plural(dbs.before.length, 'database')} (before/after on Databases)`)]);
	}

	for (const left of result.probe.leftovers) {
		out.push([seg('✗ left behind: ', {color: 'red', bold: true}), seg(`${left}: run occ-doctor probe --cleanup`)]);
	}

	for (const w of state.warnings.slice(0, 2)) {
		out.push([seg('! ', {color: 'yellow', bold: true}), seg(w)]);
	}

	out.push([seg('● ', {bold: true}), seg('on the Matrix now, replacing the prediction; any problem is on Findings', {dim: true})]);
	return wrapAll(out, width);
}

function Probe({data, width, height}: ScreenProps<unknown>) {
	return <Lines lines={probeLines(data, width, height)} width={width} height={height}/>;
}

export const probeScreen: ScreenDef<unknown> = {
	id: 'probe',
	number: 6,
	title: 'Probe',
	empty: data => (!data.probe ? NO_ENGINE_SERVICE : data.inspection.report.locations.length === 0 ? NO_LOCATIONS : null),
	bindings: [
		{
			scope: 'probe', keys: ['y', 'Y', 'enter'], label: 'y/⏎', legend: 'start', description: 'start the probe after reading its plan',
			when: c => c.data?.probe?.state.phase === 'confirming', run: c => c.data?.probe?.respond(true),
		},
		{
			scope: 'probe', keys: ['n', 'N', 'esc'], label: 'n/esc', legend: 'cancel', description: 'cancel at the plan: nothing is written',
			when: c => c.data?.probe?.state.phase === 'confirming', run: c => c.data?.probe?.respond(false),
		},
		{
			scope: 'probe', keys: ['enter'], label: '⏎', legend: c => (c.data?.probe?.state.phase === 'idle' ? 'prepare probe' : 'probe again'),
			description: 'prepare the probe (reads only), then show its plan; after a probe, probe again',
			when: c => Boolean(c.data?.probe) && !['running', 'confirming'].includes(c.data!.probe!.state.phase), run: c => c.data?.probe?.start(),
		},
	],
	component: Probe,
};
