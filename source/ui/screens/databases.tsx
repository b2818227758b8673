// The Databases screen: one block per SQLite database (size, journal, -wal, schema, integrity, exact counts per table),
// opencode's legacy JSON storage, and after a probe the counts before and after its restart.
import {formatBytes} from '../../report/text.js';
import type {DatabaseReport, Finding, LegacyStorageReport, Report} from '../../core/types.js';
import {fixText} from '../../report/labels.js';
import {Lines, seg, type Line} from '../components/line.js';
import {lineWindow, pad, plural} from '../text.js';
import {matches, type ScreenData, type ScreenDef, type ScreenProps} from './screen.js';

export type DatabaseRow =
	| {kind: 'db'; db: DatabaseReport}
	| {kind: 'table'; db: DatabaseReport; table: string}
	| {kind: 'legacy'; storage: LegacyStorageReport}
	| {kind: 'kind'; storage: LegacyStorageReport; name: string};

export const DATABASES_SOURCE = 'counted from a consistent copy, live files untouched';

const total = (tables: Record<string, number>) => Object.values(tables).reduce((a, b) => a + b, 0);
const count = (n: number) => n.toLocaleString('en-US');

/** Counts before and after the probe's restart, by database path. */
function probeCounts(data: ScreenData): Map<string, {before: DatabaseReport | null; after: DatabaseReport | null}> | null {
	const dbs = data.probe?.state.result?.probe.databases;
	if (!dbs) {
		return null;
	}

	const map = new Map<string, {before: DatabaseReport | null; after: DatabaseReport | null}>();
	for (const db of dbs.before) {
		map.set(db.path, {before: db, after: null});
	}

	for (const db of dbs.after) {
		map.set(db.path, {before: map.get(db.path)?.before ?? null, after: db});
	}

	return map;
}

export function databaseRows(report: Report, filter: string): DatabaseRow[] {
	const rows: DatabaseRow[] = [];
	for (const db of report.databases ?? []) {
		const own = matches(filter, db.path, db.journalMode, db.error);
		const tables = Object.keys(db.tables).filter(t => own || matches(filter, t));
		if (own || tables.length > 0) {
			rows.push({kind: 'db', db}, ...tables.map(table => ({kind: 'table' as const, db, table})));
		}
	}

	for (const storage of report.legacyStorage ?? []) {
		const own = matches(filter, storage.path, 'legacy', 'storage');
		const kinds = Object.keys(storage.counts).filter(k => own || matches(filter, k));
		if (own || kinds.length > 0) {
			rows.push({kind: 'legacy', storage}, ...kinds.map(name => ({kind: 'kind' as const, storage, name})));
		}
	}

	return rows;
}

function metaLine(db: DatabaseReport): Line {
	const parts: Line = [seg('    ')];
	const add = (text: string, style = {}) => parts.push(...(parts.length > 1 ? [seg(' · ', {dim: true})] : []), seg(text, style));
	add(db.sizeBytes === null ? 'size ?' : formatBytes(db.sizeBytes));
	// Integrity first: at 80 columns the end of this line is cut.
	if (db.integrity === null) {
		add('integrity not checked', {dim: true});
	} else {
		const ok = db.integrity === 'ok';
		add(`integrity ${ok ? '✓ ok' : `✗ ${db.integrity}`}`, {color: ok ? 'green' : 'red', bold: !ok});
	}

	add(`journal ${db.journalMode ?? '?'}`);
	add(`-wal ${db.walBytes === null ? 'none' : formatBytes(db.walBytes)}`);
	if (db.schemaVersion) {
		add(`user_version ${db.schemaVersion.userVersion ?? '?'}${db.schemaVersion.migration ? ` · migration ${db.schemaVersion.migration}` : ''}`);
	}

	return parts;
}

/** One line per row (item = its index), plus unselectable lines (item -1): a database's facts, its errors, column heads. */
export function databaseLines(data: ScreenData, rows: DatabaseRow[], width: number): Array<{item: number; line: Line}> {
	const compare = probeCounts(data);
	const nameWidth = Math.max(12, Math.min(40, ...rows.map(r => (r.kind === 'table' ? r.table.length : r.kind === 'kind' ? r.name.length : 0))));
	const out: Array<{item: number; line: Line}> = [];
	for (const [i, row] of rows.entries()) {
		switch (row.kind) {
			case 'db': {
				const {db} = row;
				const tables = Object.keys(db.tables).length;
				out.push({item: i, line: [seg(db.error ? '✗ ' : '▪ ', {color: db.error ? 'red' : undefined, bold: true}), seg(db.path, {bold: true}), seg(db.error ? '' : `  ${count(total(db.tables))} rows in ${plural(tables, 'table')}`, {dim: true})]});
				out.push({item: -1, line: metaLine(db)});
				if (db.error) {
					out.push({item: -1, line: [seg('    ✗ ', {color: 'red', bold: true}), seg(db.error)]});
				}

				if (tables > 0) {
					const head = [seg(`    ${pad('table', nameWidth)} ${'rows'.padStart(10)}`, {bold: true, dim: true})];
					if (compare?.has(db.path)) {
						head.push(seg(`   ${'before'.padStart(10)} → after  (the probe's restart)`, {bold: true, dim: true}));
					}

					out.push({item: -1, line: head});
				}

				break;
			}

			case 'table': {
				const n = row.db.tables[row.table] ?? 0;
				const line: Line = [seg(`    ${pad(row.table, nameWidth, 'end')} `), seg(count(n).padStart(10))];
				const pair = compare?.get(row.db.path);
				if (pair?.before && !pair.before.error) {
					const before = pair.before.tables[row.table];
					const after = pair.after?.tables[row.table] ?? 0;
					if (before === undefined) {
						line.push(seg(`   ${'–'.padStart(10)} → ${count(after)}`, {dim: true}), seg('  new', {dim: true}));
					} else {
						const dropped = after < before;
						line.push(seg(`   ${count(before).padStart(10)} → `), seg(count(after), {color: dropped ? 'red' : undefined, bold: dropped}));
						line.push(dropped
							? seg(`  ✗ −${count(before - after)} lost`, {color: 'red', bold: true})
							: seg(after > before ? `  +${count(after - before)}` : '  =', {dim: true}));
					}
				}

				out.push({item: i, line});
				break;
			}

			case 'legacy': {
				out.push({item: i, line: [seg('▪ ', {bold: true}), seg(row.storage.path, {bold: true}), seg(`  legacy JSON storage (opencode before 1.2): ${count(total(row.storage.counts))} files`, {dim: true})]});
				out.push({item: -1, line: [seg(`    ${pad('kind', nameWidth)} ${'files'.padStart(10)}`, {bold: true, dim: true})]});
				break;
			}

			case 'kind': {
				out.push({item: i, line: [seg(`    ${pad(row.name, nameWidth, 'end')} `), seg(count(row.storage.counts[row.name] ?? 0).padStart(10))]});
				break;
			}
		}
	}

	return out;
}

function Databases({data, rows, cursor, width, height}: ScreenProps<DatabaseRow>) {
	const report = data.inspection.report;
	const compare = probeCounts(data);
	const all = databaseLines(data, rows, width);
	const shown = lineWindow(all, height - 2, cursor);
	const dropped = data.probe?.state.result?.findings.filter(f => f.code === 'rows-lost').length ?? 0;
	const more = all.length > height - 2 ? `  row ${cursor + 1} of ${rows.length}` : '';
	const summary: Line = [seg(`${plural(report.databases?.length ?? 0, 'database')}${report.legacyStorage?.length ? ` · ${report.legacyStorage.length} legacy storage` : ''}`, {bold: true})];
	if (compare) {
		summary.push(seg(dropped > 0 ? ` · ✗ ${plural(dropped, 'table')} lost rows` : ' · ✓ no rows lost', {color: dropped > 0 ? 'red' : 'green', bold: true}), seg(' in the probe\'s restart (before → after)', {dim: true}));
	}

	summary.push(seg(more, {dim: true}));
	const lines: Line[] = [
		[seg(DATABASES_SOURCE, {dim: true})],
		summary,
		...(rows.length === 0 ? [[seg('no database or table matches the filter', {dim: true})]] : shown.map(l => l.line)),
	];
	const selected = shown.findIndex(l => l.item === cursor);
	return <Lines lines={lines} width={width} height={height} selected={i => rows.length > 0 && i - 2 === selected}/>;
}

/** Unknown is not zero: when check could not look, the empty screen says why and how, not "none found". */
function notCountedText(report: {findings: Array<Pick<Finding, 'code' | 'fix' | 'steps'>>}): string | null {
	const finding = report.findings.find(f => f.code === 'databases-not-counted');
	return finding ? `databases not counted (rows unknown, not zero): see Findings · fix: ${fixText(finding)}` : null;
}

export const databasesScreen: ScreenDef<DatabaseRow> = {
	id: 'databases',
	number: 5,
	title: 'Databases',
	empty: data => ((data.inspection.report.databases?.length ?? 0) + (data.inspection.report.legacyStorage?.length ?? 0) > 0 ? null : notCountedText(data.inspection.report) ?? 'no SQLite database or legacy storage/ directory was found in the data locations'),
	rows: (data, filter) => databaseRows(data.inspection.report, filter),
	component: Databases,
};
