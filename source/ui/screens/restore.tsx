// The Restore screen: choose a backup, then archives, read the preview and type the container's name, then a bar per
// archive and one overall, then the verification, with rollback (the safety copy put back) on one key.
import {progressText, RateMeter} from '../../backup/progress.js';
import type {FoundBackup} from '../../restore/find.js';
import type {ArchiveOutcome, DatabaseRows, Phase} from '../../restore/types.js';
import {formatBytes} from '../../report/text.js';
import {Lines, seg, wrapAll, wrapLine, type Line} from '../components/line.js';
import {bar, spin} from '../components/progress.js';
import {fieldSegments} from '../components/text-field.js';
import {cellText, headerLine, layoutColumns, rowLine, type Cell, type ColumnSpec} from '../components/table.js';
import {outcomeName, type ArchiveProgress, type RestoreState} from '../hooks/use-restore.js';
import type {RestoreArchiveChoice} from '../services.js';
import {pad, plural, scrollStart} from '../text.js';
import type {Binding, KeyContext} from '../keys/table.js';
import {matches, NO_ENGINE_SERVICE, type RestoreSlice, type ScreenData, type ScreenDef, type ScreenProps} from './screen.js';

export const RESTORE_SOURCE = 'backups found in the current directory (occ-doctor-backup-*, safety copies occ-doctor-pre-restore-*)';

type Row = FoundBackup | RestoreArchiveChoice;

const BACKUP_COLUMNS: ColumnSpec[] = [
	{id: 'time', header: 'made (UTC)', min: 16, max: 16},
	{id: 'container', header: 'container', min: 12, max: 40, weight: 2, cut: true},
	{id: 'archives', header: 'archives', min: 8, max: 8},
	{id: 'size', header: 'size', min: 9, max: 10},
	{id: 'state', header: 'verified', min: 12, max: 12},
];

const ARCHIVE_COLUMNS: ColumnSpec[] = [
	{id: 'on', header: '   ', min: 3, max: 3},
	{id: 'name', header: 'archive', min: 14, max: 40, weight: 2, cut: true},
	{id: 'label', header: 'location', min: 12, max: 32, weight: 2},
	{id: 'path', header: 'container path', min: 14, max: 52, weight: 3, keepEnd: true},
	{id: 'size', header: '.tar.gz', min: 9, max: 10},
];

const PHASE_WORDS: Record<Phase, string> = {
	checking: 'checking', stopping: 'stopping the container', 'safety-copy': 'writing the safety copy', emptying: 'emptying',
	'moving-in': 'moving in',
	extracting: 'extracting', verifying: 'verifying', counting: 'counting rows', starting: 'starting the container',
	'rolling-back': 'rolling back', rehearsing: 'rehearsing',
};

/** A list with a scrolling window, the selected row's whole directory under it (people copy it). */
function listLines(head: Line[], columns: ColumnSpec[], cells: Cell[][], cursor: number, width: number, height: number, foot: Line[]): {lines: Line[]; selectedLine: number} {
	const widths = layoutColumns(columns, width, cells.map(r => r.map(cellText)));
	const heads = wrapAll(head, width);
	const feet = wrapAll(foot, width);
	const room = Math.max(1, height - heads.length - feet.length - 2);
	const start = scrollStart(cells.length, room, cursor);
	const shown = cells.slice(start, start + room).map(r => rowLine(columns, widths, r));
	const more = cells.length > room ? `rows ${start + 1}–${start + shown.length} of ${cells.length}` : '';
	return {lines: [...heads, [seg(more, {dim: true})], headerLine(columns, widths), ...shown, ...feet], selectedLine: heads.length + 2 + cursor - start};
}

function backupList(data: ScreenData, rows: FoundBackup[], cursor: number, width: number, height: number) {
	const name = data.inspection.report.container.name;
	const cells: Cell[][] = rows.map(b => [
		b.createdAt.replace('T', ' ').slice(0, 16),
		seg(b.container, {bold: b.container === name}),
		String(b.archives),
		formatBytes(b.compressedBytes),
		b.verified ? seg('✓ verified', {color: 'green'}) : seg('not verified', {color: 'yellow'}),
	]);
	const chosen = rows[cursor];
	const foot: Line[] = [[], chosen ? [seg('dir  ', {dim: true}), seg(chosen.dir, {bold: true})] : [seg('no backup here: occ-doctor backup writes one (screen 7)', {dim: true})]];
	if (chosen && chosen.container !== name) {
		foot.push([seg(`! made from ${chosen.container}: it restores into the mounts ${name} has now`, {color: 'yellow'})]);
	}

	return listLines([[seg(RESTORE_SOURCE, {dim: true})], [seg(`Restore ${name} from a backup`, {bold: true}), seg(' · newest first · ⏎ choose', {dim: true})]], BACKUP_COLUMNS, cells, cursor, width, height, foot);
}

function archiveList(state: RestoreState, rows: RestoreArchiveChoice[], cursor: number, width: number, height: number) {
	const cells: Cell[][] = rows.map(a => [
		state.selected.includes(a.name) ? seg('[x]', {color: 'green', bold: true}) : seg('[ ]', {dim: true}),
		a.name,
		a.label,
		a.containerPath,
		formatBytes(a.compressedBytes),
	]);
	const foot: Line[] = [[], [seg(`${state.selected.length} of ${plural(state.archives.length, 'archive')} selected`, {bold: true}), seg(state.selected.length > 0 ? ' · ⏎ preview (reads only)' : ' · space selects', {dim: true})]];
	return listLines([[seg('from ', {dim: true}), seg(state.backup?.dir ?? '', {bold: true})]], ARCHIVE_COLUMNS, cells, cursor, width, height, foot);
}

const sum = (tables: Record<string, number> | null) => (tables ? Object.values(tables).reduce((a, b) => a + b, 0) : null);

function rowsLine(db: DatabaseRows, label: string): Line {
	const now = sum(db.now);
	const backup = sum(db.backup);
	const tables = db.backup ? Object.entries(db.backup).map(([t, n]) => `${t} ${db.now?.[t] ?? '–'}→${n}`).join(', ') : '';
	return [seg(`    ${label} `, {dim: true}), seg(db.path), seg(`  rows ${now ?? '–'} → ${backup ?? '–'}`, {bold: true}), seg(tables ? `  (${tables})` : '', {dim: true})];
}

/** The preview: per archive added/changed/removed and rows now → backup; and the plan in words, apart, so it always shows. */
function previewLines(data: ScreenData, width: number): {body: Line[]; plan: Line[]} {
	const state = data.restore!.state;
	const name = data.inspection.report.container.name;
	const archives = state.preview?.archives ?? [];
	const lines: Line[] = [[seg('preview: the backup\'s file index against the live data (dry run: nothing changed); rows now → backup', {dim: true})]];
	for (const a of archives) {
		const p = a.preview;
		lines.push([seg(a.status === 'skipped' ? '- ' : '• ', {bold: true}), seg(outcomeName(a), {bold: true}), seg(` → ${a.target}`)]);
		lines.push(p
			? [seg('    '), seg(`+${p.added} added`, {color: 'green'}), seg('  '), seg(`~${p.changed} changed`, {color: 'yellow'}), seg('  '), seg(`−${p.removed} removed`, {color: 'red'})]
			: [seg(`    ${a.note ?? 'no preview'}`, {dim: true})]);
		for (const db of a.databases) {
			lines.push(rowsLine(db, 'db'));
		}
	}

	const replaced = archives.filter(a => a.status === 'planned').length;
	const plan: Line = [seg(`${name} is stopped, ${plural(replaced, 'target')} replaced (never merged); first a verified safety copy goes next to the backup as occ-doctor-pre-restore-${name}-<UTC time>/`, {color: 'yellow'})];
	return {body: wrapAll(lines, width), plan: wrapLine(plan, width, 0)};
}

function confirmLines(data: ScreenData, width: number, height: number): Line[] {
	const state = data.restore!.state;
	const name = data.inspection.report.container.name;
	const prompt: Line[] = wrapAll([
		[seg('Type the container\'s name to restore: ', {bold: true}), seg(name, {dim: true})],
		[seg('> '), ...fieldSegments(state.typed, width - 4)],
		state.refused ? [seg(`✗ ${state.refused}`, {color: 'red', bold: true})] : [seg('⏎ restore · esc back', {dim: true})],
	], width);
	const {body, plan} = previewLines(data, width);
	const notices = wrapAll(noticeLines(state), width);
	// The archives give way to the plan, what the plan noticed, and the prompt.
	const room = Math.max(2, height - prompt.length - plan.length - notices.length - 1);
	const shown = body.length > room ? [...body.slice(0, room - 1), [seg(`… ${body.length - room + 1} more lines (fewer archives show them all)`, {dim: true})]] : body;
	return [...shown, ...plan, ...notices, [], ...prompt];
}

/** What the plan or the run noticed and went on with (a room it could not measure): said, never dropped. */
function noticeLines(state: RestoreState): Line[] {
	return state.notices.map(n => [seg('! ', {color: 'yellow', bold: true}), seg(n)]);
}

function meter(p: {samples: Array<{t: number; bytes: number}>}): RateMeter {
	const m = new RateMeter();
	for (const s of p.samples) {
		m.add(s.bytes, s.t);
	}

	return m;
}

function progressLine(label: string, p: ArchiveProgress, labelWidth: number, width: number, tick: number | undefined, running: boolean): Line {
	const done = p.verified !== null;
	const mark = p.verified === false ? seg('✗ ', {color: 'red', bold: true}) : done ? seg('✓ ', {color: 'green', bold: true}) : p.phase ? seg(`${running ? spin(tick) : '·'} `, {color: 'cyan'}) : seg('· ', {dim: true});
	const barWidth = Math.max(8, Math.min(30, width - labelWidth - 44));
	const text = done ? (p.verified ? 'verified' : `verify failed: ${p.error ?? ''}`) : p.phase ? `${PHASE_WORDS[p.phase]} ${p.bytes > 0 ? progressText(p.bytes, p.total, meter(p)) : ''}` : 'waiting';
	return [mark, seg(pad(label, labelWidth, 'end')), seg(' '), seg(bar(done ? 1 : p.bytes, done ? 1 : p.total, barWidth), {color: p.verified === false ? 'red' : done ? 'green' : 'cyan'}), seg(' '), seg(text, {dim: !p.phase})];
}

function statusLine(a: ArchiveOutcome): Line {
	const mark = a.status === 'restored' ? seg('✓ ', {color: 'green', bold: true}) : a.status === 'failed' ? seg('✗ ', {color: 'red', bold: true}) : seg('- ', {dim: true});
	const verify = a.verify ? (a.verify.ok ? 'verified against the index' : `✗ ${a.verify.error ?? 'verify failed'}`) : (a.note ?? '');
	return [mark, seg(outcomeName(a), {bold: true}), seg(` ${a.status}`), seg(` → ${a.target}`, {dim: true}), seg(verify ? `  ${verify}` : '', {dim: a.verify?.ok})];
}

function runLines(data: ScreenData, width: number, height: number): Line[] {
	const state = data.restore!.state;
	const name = data.inspection.report.container.name;
	const what = state.rollback ? 'Rolling back' : 'Restoring';
	const head: Line[] = [[seg('progress: bytes of the engine\'s archive streams; then every file checked against the backup\'s index', {dim: true})]];
	if (state.phase === 'running') {
		head.push(state.cancelling
			? [seg(`${spin(data.tick)} cancelling: the targets touched are put back from the safety copy and ${name} started again…`, {color: 'yellow', bold: true})]
			: [seg(`${what} ${name}`, {bold: true}), seg(state.current ? ` · ${PHASE_WORDS[state.current.phase]}${state.current.archive ? ` ${state.current.archive}` : ''}` : ''), seg('  ctrl+c cancels and rolls back', {dim: true})]);
		head.push(...noticeLines(state));
		if (state.current?.phase === 'safety-copy') {
			head.push([seg(`  safety copy ${formatBytes(state.safety.bytes)}${state.safety.total ? ` of ~${formatBytes(state.safety.total)}` : ''}`, {dim: true})]);
		}
	} else if (state.phase === 'cancelled') {
		head.push([seg('✗ restore cancelled: ', {color: 'red', bold: true}), seg(state.error ?? '')]);
	} else if (state.phase === 'failed') {
		head.push([seg('✗ restore failed: ', {color: 'red', bold: true}), seg(state.error ?? '')]);
	}

	const lines = wrapAll(head, width);
	lines.push([]);
	const names = Object.keys(state.progress);
	const labelWidth = Math.min(width < 100 ? 22 : 32, Math.max(8, ...names.map(n => n.length)));
	for (const n of names.slice(0, Math.max(1, height - lines.length - 4))) {
		lines.push(progressLine(n, state.progress[n]!, labelWidth, width, data.tick, state.phase === 'running'));
	}

	const values = Object.values(state.progress);
	// An archive not started yet counts with its .tar.gz size; a verified one as whole.
	const totalOf = (n: string) => state.progress[n]!.total ?? state.archives.find(a => a.name === n)?.compressedBytes ?? 0;
	const overall = {bytes: names.reduce((n, k) => n + (state.progress[k]!.verified === null ? state.progress[k]!.bytes : totalOf(k)), 0), total: names.reduce((n, k) => n + totalOf(k), 0)};
	lines.push([], [seg('∑ '), seg(pad('overall', labelWidth, 'end'), {bold: true}), seg(' '), seg(bar(overall.bytes, overall.total, Math.max(8, Math.min(30, width - labelWidth - 44))), {color: 'cyan'}), seg(` ${values.filter(p => p.verified).length} of ${plural(values.length, 'archive')} verified`)]);
	if (state.phase !== 'running') {
		lines.push([], [seg('⏎', {bold: true}), seg(' back to the backups', {dim: true})]);
	}

	return lines;
}

function doneLines(data: ScreenData, width: number): Line[] {
	const state = data.restore!.state;
	const result = state.result!;
	const ok = result.outcome === 'restored';
	const lines: Line[] = [[seg('verified: every file against the backup\'s index; rows counted in the databases after the start', {dim: true})]];
	lines.push(ok
		? [seg(`✓ ${state.rollback ? 'rolled back: the data from before the restore is back' : 'restored and verified'}: `, {color: 'green', bold: true}), seg(`${result.container} is running`)]
		: [seg('✗ restore rolled back: ', {color: 'red', bold: true}), seg(result.error ?? 'the old data is back')]);
	lines.push([seg('from ', {dim: true}), seg(result.backup)]);
	for (const a of result.archives) {
		lines.push(statusLine(a));
		for (const db of a.databases) {
			lines.push(rowsLine(db, db.now && db.backup && sum(db.now) === sum(db.backup) ? '✓' : '✗'));
		}
	}

	if (ok && result.safetyCopy && !state.rollback) {
		lines.push([], [seg('safety copy ', {dim: true}), seg(result.safetyCopy)]);
		lines.push([seg('undo later  ', {dim: true}), seg(result.rollbackCommand ?? '')]);
		lines.push([seg('u', {bold: true}), seg(' roll back now (restores the safety copy) · ', {dim: true}), seg('⏎', {bold: true}), seg(' back to the backups', {dim: true})]);
	} else {
		lines.push([], [seg('⏎', {bold: true}), seg(' back to the backups', {dim: true})]);
	}

	return wrapAll(lines, width);
}

function message(lines: Line[], data: ScreenData, width: number, height: number) {
	return <Lines lines={wrapAll([[seg(RESTORE_SOURCE, {dim: true})], [], ...lines], width)} width={width} height={height}/>;
}

function Restore({data, rows, cursor, width, height}: ScreenProps<Row>) {
	const state = data.restore!.state;
	switch (state.phase) {
		case 'idle':
		case 'loading': {
			return message([[seg(`${spin(data.tick)} `, {color: 'cyan'}), seg('looking for backups…')]], data, width, height);
		}

		case 'backups':
		case 'archives': {
			const {lines, selectedLine} = state.phase === 'backups' ? backupList(data, rows as FoundBackup[], cursor, width, height) : archiveList(state, rows as RestoreArchiveChoice[], cursor, width, height);
			return <Lines lines={lines} width={width} height={height} selected={i => rows.length > 0 && i === selectedLine}/>;
		}

		case 'previewing': {
			return message([[seg(`${spin(data.tick)} `, {color: 'cyan'}), seg(`checking ${plural(state.selected.length, 'archive')} (gzip, tar, sha256, unsafe entries) and comparing them with the live data…`)]], data, width, height);
		}

		case 'confirming': {
			return <Lines lines={confirmLines(data, width, height)} width={width} height={height}/>;
		}

		case 'done': {
			return <Lines lines={doneLines(data, width)} width={width} height={height}/>;
		}

		default: {
			if (state.phase === 'failed' && Object.keys(state.progress).length === 0) {
				return message([[seg('✗ ', {color: 'red', bold: true}), seg(state.error ?? 'failed')], [], [seg('esc', {bold: true}), seg(' back · ', {dim: true}), seg('⏎', {bold: true}), seg(' back to the backups', {dim: true})]], data, width, height);
			}

			return <Lines lines={runLines(data, width, height)} width={width} height={height}/>;
		}
	}
}

function restoreKey(keys: string[], label: string, legend: string, description: string, phases: RestoreState['phase'] | Array<RestoreState['phase']>, run: (restore: RestoreSlice, c: KeyContext) => void, extra: (s: RestoreState, c: KeyContext) => boolean = () => true): Binding {
	const when = [phases].flat();
	return {scope: 'restore', keys, label, legend, description, when: c => Boolean(c.data?.restore && when.includes(c.data.restore.state.phase) && extra(c.data.restore.state, c)), run: c => run(c.data!.restore!, c)};
}

export const restoreScreen: ScreenDef<Row> = {
	id: 'restore',
	number: 8,
	title: 'Restore',
	empty: data => (data.restore ? null : NO_ENGINE_SERVICE),
	rows(data, filter) {
		const state = data.restore?.state;
		if (state?.phase === 'backups') {
			return state.backups.filter(b => matches(filter, b.dir, b.container, b.createdAt));
		}

		return state?.phase === 'archives' ? state.archives.filter(a => matches(filter, a.name, a.label, a.containerPath)) : [];
	},
	field(data) {
		const restore = data.restore;
		if (restore?.state.phase !== 'confirming') {
			return null;
		}

		return {field: restore.state.typed, edit: edit => restore.dispatch({type: 'typed', edit}), done: keep => (keep ? restore.confirm() : restore.dispatch({type: 'back'})), escape: 'back'};
	},
	bindings: [
		restoreKey(['enter'], '⏎', 'choose', 'choose the backup under the cursor: its archives', 'backups', (r, c) => r.choose(c.row as FoundBackup), (_s, c) => Boolean(c.row)),
		restoreKey(['space'], 'space', 'select', 'select or unselect the archive under the cursor', 'archives', (r, c) => {
			const row = c.row as RestoreArchiveChoice | undefined;
			if (row) {
				r.dispatch({type: 'toggle', name: row.name});
			}
		}),
		restoreKey(['a'], 'a', 'all', 'select all archives, or none', 'archives', r => r.dispatch({type: 'toggle-all'})),
		restoreKey(['enter'], '⏎', 'preview', 'preview the restore: added, changed, removed and rows now → backup (reads only)', 'archives', r => r.preview(), s => s.selected.length > 0),
		restoreKey(['esc'], 'esc', 'back', 'back a step: to the backups, or to the archives', ['archives', 'failed'], r => r.dispatch({type: 'back'}), s => s.phase === 'archives' || s.archives.length > 0),
		restoreKey(['u'], 'u', 'roll back', 'after a restore: put the safety copy back (what the rollback command does)', 'done', r => r.rollback(), s => Boolean(s.result?.safetyCopy) && s.result?.outcome === 'restored' && !s.rollback),
		restoreKey(['enter'], '⏎', 'backups', 'after a restore: back to the list of backups', ['done', 'failed', 'cancelled'], r => r.load()),
	],
	component: Restore,
};
