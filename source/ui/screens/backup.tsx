// The Backup screen: choose locations (sizes, priorities), the directory and --stop; confirm; a bar per location and one overall.
import type {BackupUnit} from '../../backup/types.js';
import {PRIORITY_COLOR} from '../../report/labels.js';
import {progressText, RateMeter} from '../../backup/progress.js';
import {formatBytes} from '../../report/text.js';
import {Lines, seg, wrapAll, wrapLine, type Line} from '../components/line.js';
import {bar, spin} from '../components/progress.js';
import {fieldSegments} from '../components/text-field.js';
import {cellText, headerLine, layoutColumns, rowLine, type Cell, type ColumnSpec} from '../components/table.js';
import type {BackupState, Sample, UnitProgress} from '../hooks/use-backup.js';
import {pad, plural, scrollStart} from '../text.js';
import type {Binding, KeyContext} from '../keys/table.js';
import {matches, NO_ENGINE_SERVICE, type BackupSlice, type ScreenData, type ScreenDef, type ScreenProps} from './screen.js';

export function filterUnits(state: BackupState, filter: string): BackupUnit[] {
	return state.units.filter(u => matches(filter, u.name, u.label, u.containerPath, u.priority, u.storage, u.source.name, u.source.path));
}

const estimate = (u: BackupUnit) => (u.estimate.bytes === null ? '?' : `~${formatBytes(u.estimate.bytes)}`);
const sumEstimates = (units: BackupUnit[]) => (units.some(u => u.estimate.bytes === null) ? null : units.reduce((a, u) => a + (u.estimate.bytes ?? 0), 0));

const COLUMNS: ColumnSpec[] = [
	{id: 'on', header: '   ', min: 3, max: 3},
	{id: 'label', header: 'location', min: 14, max: 32, weight: 2},
	{id: 'path', header: 'container path', min: 18, max: 52, weight: 3, keepEnd: true},
	{id: 'priority', header: 'priority', min: 8, max: 8},
	{id: 'storage', header: 'storage', min: 9, max: 16, weight: 1},
	{id: 'size', header: 'est. size', min: 9, max: 10},
];

export const BACKUP_SOURCE = 'sizes from the engine\'s disk usage (docker system df), else a walk of the host path';

function selectionLines(data: ScreenData, rows: BackupUnit[], cursor: number, width: number, height: number): {lines: Line[]; selectedLine: number} {
	const state = data.backup!.state;
	const cells: Cell[][] = rows.map(u => [
		state.selected.includes(u.name) ? seg('[x]', {color: 'green', bold: true}) : seg('[ ]', {dim: true}),
		u.label,
		u.containerPath,
		seg(u.priority, {color: PRIORITY_COLOR[u.priority]}),
		u.storage.replace('-volume', ''),
		estimate(u),
	]);
	const widths = layoutColumns(COLUMNS, width, cells.map(r => r.map(cellText)));
	const chosen = state.units.filter(u => state.selected.includes(u.name));
	const sum = sumEstimates(chosen);
	const footer: Line[] = [
		[],
		[seg(`${chosen.length} of ${plural(state.units.length, 'location')} selected`, {bold: true}), seg(chosen.length > 0 ? ` · ${sum === null ? 'size partly unknown' : `~${formatBytes(sum)}`}` : ' · space selects', {dim: true})],
		state.draft === null
			? [seg('out   ', {dim: true}), seg(state.dir, {bold: true}), seg('  o change', {dim: true})]
			: [seg('out   ', {dim: true}), ...fieldSegments(state.draft, width - 28), seg('  ⏎ keep · esc cancel', {dim: true})],
		state.stop
			? [seg('stop  ', {dim: true}), seg(`! on: ${data.inspection.report.container.name} is stopped during the backup, started again after`, {color: 'yellow', bold: true})]
			: [seg('stop  ', {dim: true}), seg('off: keeps running; databases copied as snapshots'), seg('  s change', {dim: true})],
	];
	const footerLines = footer.flatMap(l => wrapLine(l, width, 6));
	const sourceLines = wrapLine([seg(BACKUP_SOURCE, {dim: true})], width, 0);
	const room = Math.max(1, height - 2 - sourceLines.length - footerLines.length);
	const start = scrollStart(rows.length, room, cursor);
	const shown = cells.slice(start, start + room).map(r => rowLine(COLUMNS, widths, r));
	const more = rows.length > room ? `  rows ${start + 1}–${start + shown.length} of ${rows.length}` : '';
	const lines: Line[] = [
		...sourceLines,
		[seg(more.trim(), {dim: true})],
		headerLine(COLUMNS, widths),
		...(rows.length === 0 ? [[seg('no location matches the filter', {dim: true})]] : shown),
		...footerLines,
	];
	return {lines, selectedLine: rows.length > 0 ? sourceLines.length + 2 + cursor - start : -1};
}

function confirmLines(data: ScreenData, width: number): Line[] {
	const state = data.backup!.state;
	const name = data.inspection.report.container.name;
	const chosen = state.units.filter(u => state.selected.includes(u.name));
	const sum = sumEstimates(chosen);
	const lines: Line[] = [
		[seg(BACKUP_SOURCE, {dim: true})],
		[],
		[seg(`Back up ${plural(chosen.length, 'location')} of ${name}`, {bold: true}), seg(sum === null ? '' : ` (~${formatBytes(sum)})`, {dim: true})],
		...chosen.map(u => [seg('  • '), seg(pad(u.label, 24, 'end')), seg(` ${u.containerPath}`, {dim: true}), seg(`  ${estimate(u)}`)]),
		[],
		[seg('into  ', {dim: true}), seg(state.dir, {bold: true})],
		[seg('      one .tar.gz per location and a manifest.json; directory 0700, files 0600: they hold credentials and SSH keys', {dim: true})],
		state.stop
			? [seg(`! ${name} will be STOPPED during the backup and started again afterwards`, {color: 'yellow', bold: true})]
			: [seg('✓ ', {color: 'green'}), seg(`${name} keeps running; SQLite databases are archived as consistent snapshots`)],
		[],
		[seg('  y', {bold: true}), seg(' or '), seg('⏎', {bold: true}), seg(' start · '), seg('n', {bold: true}), seg(' or '), seg('esc', {bold: true}), seg(' back')],
	];
	return wrapAll(lines, width);
}

function meter(samples: Sample[]): RateMeter {
	const m = new RateMeter();
	for (const s of samples) {
		m.add(s.bytes, s.t);
	}

	return m;
}

const STATUS: Record<UnitProgress['status'], {mark: string; color?: string}> = {
	waiting: {mark: '·'},
	running: {mark: '»', color: 'cyan'},
	written: {mark: '✓', color: 'green'},
	verified: {mark: '✓', color: 'green'},
	failed: {mark: '✗', color: 'red'},
};

function progressLine(label: string, p: {status?: UnitProgress['status']; bytes: number; total: number | null; samples: Sample[]}, labelWidth: number, width: number, tick: number | undefined, extra = ''): Line {
	const status = p.status ? STATUS[p.status] : {mark: '∑'};
	const spinning = p.status === 'running' ? spin(tick) : status.mark;
	// A finished location is 100%: the estimate it was measured against is only an estimate.
	const finished = p.status === 'verified' || p.status === 'written';
	const total = finished ? p.bytes : p.total;
	const text = p.status === 'waiting' ? 'waiting' : `${finished ? `${formatBytes(p.bytes)}  100%` : progressText(p.bytes, total, meter(p.samples))}${extra}`;
	const barWidth = Math.max(8, Math.min(40, width - labelWidth - 48));
	return [
		seg(`${spinning} `, {color: status.color, bold: true}),
		seg(pad(label, labelWidth, 'end'), {bold: p.status === undefined}),
		seg(' '),
		seg(bar(finished ? 1 : p.bytes, finished ? 1 : total, barWidth), {color: p.status === 'failed' ? 'red' : p.status === 'verified' ? 'green' : 'cyan'}),
		seg(' '),
		seg(text, {dim: p.status === 'waiting'}),
	];
}

const DONE_COLUMNS: ColumnSpec[] = [
	{id: 'ok', header: ' ', min: 1, max: 1},
	{id: 'file', header: 'archive', min: 16, max: 60, weight: 2, cut: true},
	{id: 'gz', header: '.tar.gz', min: 8, max: 9},
	{id: 'content', header: 'content', min: 15, max: 22, weight: 1},
	{id: 'db', header: 'databases', min: 9, max: 22, weight: 2},
	{id: 'sha', header: 'sha256', min: 20, max: 20},
];

function runLines(data: ScreenData, width: number, height: number): Line[] {
	const state = data.backup!.state;
	const name = data.inspection.report.container.name;
	const units = state.units.filter(u => state.selected.includes(u.name) || state.progress[u.name]);
	const labelWidth = Math.min(width < 100 ? 18 : 28, Math.max(8, ...units.map(u => u.label.length)));
	const lines: Line[] = [[seg('progress: bytes read from the engine\'s archive stream; rate over the last 3 s; ETA from the size estimate', {dim: true})]];
	if (state.phase === 'running') {
		lines.push(state.cancelling
			? [seg(`${spin(data.tick)} cancelling: removing the .partial files${state.stop ? ` and starting ${name} again` : ''}…`, {color: 'yellow', bold: true})]
			: [seg(`Backing up ${name}`, {bold: true}), seg(` → ${state.dir}`), seg('  ctrl+c cancels', {dim: true})]);
	} else if (state.phase === 'done' && state.result) {
		const {manifest, dir} = state.result;
		lines.push([seg(`✓ backup ${manifest.verified ? 'verified' : 'written'}: `, {color: 'green', bold: true}), seg(`${plural(manifest.archives.length, 'archive')} + manifest.json, re-read: gzip, tar, sha256`)]);
		lines.push([seg('  '), seg(dir, {bold: true})]);
	} else if (state.phase === 'cancelled') {
		lines.push([seg('✗ backup cancelled: ', {color: 'red', bold: true}), seg('no archive was left under a final name (the .partial files were removed)')]);
	} else {
		lines.push([seg('✗ backup failed: ', {color: 'red', bold: true}), seg(state.error ?? '')]);
	}

	if (state.container) {
		lines.push([seg(`  container: ${state.container}`, {color: state.container.startsWith('start') ? 'green' : 'yellow'})]);
	}

	lines.splice(0, lines.length, ...wrapAll(lines, width), []);
	if (state.phase === 'done' && state.result) {
		const cells: Cell[][] = state.result.manifest.archives.map(a => {
			const rows = a.databases.reduce((n, d) => n + (d.tables ? Object.values(d.tables).reduce((x, y) => x + y, 0) : 0), 0);
			return [seg('✓', {color: 'green'}), a.file, formatBytes(a.compressedBytes), `${plural(a.fileCount, 'file')}, ${formatBytes(a.bytes)}`, a.databases.length > 0 ? `${plural(a.databases.length, 'db')}, ${rows} rows` : '', `sha256 ${a.sha256.slice(0, 12)}…`];
		});
		// The sha256 column only where there is room; the manifest holds it whole.
		const columns = width >= 110 ? DONE_COLUMNS : DONE_COLUMNS.slice(0, -1);
		const widths = layoutColumns(columns, width, cells.map(r => r.map(cellText)));
		lines.push(headerLine(columns, widths), ...cells.map(r => rowLine(columns, widths, r.slice(0, columns.length))), []);
		for (const [label, command] of [['restore one', `tar xzf ${state.result.dir}/<name>.tar.gz -C <dir>`], ['check later', `occ-doctor backup --verify ${state.result.dir}`]] as const) {
			lines.push(...wrapLine([seg(`${label}: `, {dim: true}), seg(command)], width, label.length + 2));
		}

		lines.push([], [seg('⏎', {bold: true}), seg(' new backup', {dim: true})]);
		return lines;
	}

	const room = Math.max(1, height - lines.length - 3);
	for (const u of units.slice(0, room)) {
		const p = state.progress[u.name] ?? {status: 'waiting' as const, bytes: 0, total: u.estimate.bytes, files: 0, samples: [], databases: 0, error: null};
		const extra = p.status === 'verified' ? '  verified' : p.status === 'written' ? '  written, verifying…' : p.databases > 0 ? `  ${plural(p.databases, 'db snapshot')}` : '';
		lines.push(progressLine(u.label, p, labelWidth, width, data.tick, extra));
	}

	// Finished locations count with their real size, so the overall bar ends at 100% too.
	const overallTotal = state.overall.total === null ? null : units.reduce((n, u) => {
		const p = state.progress[u.name];
		const finished = p?.status === 'verified' || p?.status === 'written';
		return n + (finished ? p.bytes : Math.max(u.estimate.bytes ?? 0, p?.bytes ?? 0));
	}, 0);
	lines.push([], progressLine('overall', {...state.overall, total: overallTotal}, labelWidth, width, data.tick));
	if (state.phase !== 'running') {
		lines.push([], [seg('⏎', {bold: true}), seg(' back to the choices', {dim: true})]);
	}

	return lines;
}

function Backup({data, rows, cursor, width, height}: ScreenProps<BackupUnit>) {
	const state = data.backup!.state;
	if (state.phase === 'idle' || state.phase === 'planning') {
		return <Lines lines={[[seg(BACKUP_SOURCE, {dim: true})], [], [seg(`${spin(data.tick)} `, {color: 'cyan'}), seg('measuring the volumes and bind mounts…')]]} width={width} height={height}/>;
	}

	if (state.phase === 'failed' && state.units.length === 0) {
		return <Lines lines={[[seg(BACKUP_SOURCE, {dim: true})], [], [seg('✗ ', {color: 'red', bold: true}), seg(state.error ?? 'failed')], [], [seg('⏎', {bold: true}), seg(' try again', {dim: true})]]} width={width} height={height}/>;
	}

	if (state.phase === 'selecting') {
		const {lines, selectedLine} = selectionLines(data, rows, cursor, width, height);
		return <Lines lines={lines} width={width} height={height} selected={i => i === selectedLine}/>;
	}

	if (state.phase === 'confirming') {
		return <Lines lines={confirmLines(data, width)} width={width} height={height}/>;
	}

	return <Lines lines={runLines(data, width, height)} width={width} height={height}/>;
}

function backupKey(keys: string[], label: string, legend: string, description: string, phases: BackupState['phase'] | Array<BackupState['phase']>, run: (backup: BackupSlice, c: KeyContext) => void): Binding {
	const when = [phases].flat();
	return {scope: 'backup', keys, label, legend, description, when: c => Boolean(c.data?.backup && when.includes(c.data.backup.state.phase)), run: c => run(c.data!.backup!, c)};
}

export const backupScreen: ScreenDef<BackupUnit> = {
	id: 'backup',
	number: 7,
	title: 'Backup',
	empty: data => (!data.backup ? NO_ENGINE_SERVICE : data.inspection.report.locations.some(l => l.mount?.type === 'volume' || l.mount?.type === 'bind') ? null : 'no volume or bind mount to back up: the data lives in the container\'s layer (see Findings)'),
	rows: (data, filter) => (data.backup?.state.phase === 'selecting' ? filterUnits(data.backup.state, filter) : []),
	field(data) {
		const backup = data.backup;
		if (!backup || backup.state.draft === null) {
			return null;
		}

		return {field: backup.state.draft, edit: edit => backup.dispatch({type: 'draft', edit}), done: keep => backup.dispatch({type: 'draft-done', keep}), escape: 'cancel'};
	},
	bindings: [
		backupKey(['space'], 'space', 'select', 'select or unselect the location under the cursor', 'selecting', (b, c) => {
			const row = c.row as BackupUnit | undefined;
			if (row) {
				b.dispatch({type: 'toggle', name: row.name});
			}
		}),
		backupKey(['a'], 'a', 'all', 'select all locations, or none', 'selecting', b => b.dispatch({type: 'toggle-all'})),
		backupKey(['o'], 'o', 'out dir', 'edit the output directory', 'selecting', b => b.dispatch({type: 'edit-dir'})),
		backupKey(['s'], 's', 'stop', 'turn --stop on or off: stop the container during the backup, start it after', 'selecting', b => b.dispatch({type: 'toggle-stop'})),
		backupKey(['enter'], '⏎', 'review & start', 'show what will happen, then ask', 'selecting', b => b.dispatch({type: 'confirm'})),
		backupKey(['y', 'Y', 'enter'], 'y/⏎', 'start', 'start the backup after reading what will happen', 'confirming', b => b.start()),
		backupKey(['n', 'N', 'esc'], 'n/esc', 'back', 'back to the choices: nothing is written', 'confirming', b => b.dispatch({type: 'back'})),
		backupKey(['enter'], '⏎', 'new backup', 'after a backup: back to the choices for a new one', ['done', 'failed', 'cancelled'], b => b.load()),
	],
	component: Backup,
};
