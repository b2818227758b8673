import Database from 'better-sqlite3';
import type {DatabaseReport} from '../core/types.js';

/** What counting a local file yields: every DatabaseReport field but the container-side ones. */
export type LocalCount = Pick<DatabaseReport, 'journalMode' | 'schemaVersion' | 'tables' | 'integrity' | 'error'>;

/** Migration tables of common tools, newest-first lookup order: drizzle (opencode), knex, Rails/golang-migrate, others. */
export const MIGRATION_TABLES = ['__drizzle_migrations', 'knex_migrations', 'schema_migrations', '_migrations', 'migrations'];

/** One line, whatever SQLite or the OS said. */
export function oneLine(error: unknown): string {
	const message = error instanceof Error ? error.message : String(error);
	return message.split('\n')[0]!.trim();
}

/** Reword SQLite's errors for a person: "file is not a database" usually means encrypted or not SQLite after all. */
export function explainSqliteError(error: unknown): string {
	const message = oneLine(error);
	const code = (error as {code?: string}).code ?? '';
	if (code === 'SQLITE_NOTADB' || /file is not a database/.test(message)) {
		return `not a readable SQLite database (encrypted, or only the header is SQLite): ${message}`;
	}

	if (code.startsWith('SQLITE_CORRUPT') || /malformed/.test(message)) {
		return `corrupt SQLite database: ${message}`;
	}

	return message;
}

function quoteIdent(name: string): string {
	return `"${name.replaceAll('"', '""')}"`;
}

/** The newest entry of the first migrations table found, as "table: value". null when there is none. */
function newestMigration(db: Database.Database, tableNames: Set<string>): string | null {
	for (const table of MIGRATION_TABLES) {
		if (!tableNames.has(table)) {
			continue;
		}

		try {
			const columns = new Set((db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all() as Array<{name: string}>).map(c => c.name));
			// A version column sorts by value (Rails, golang-migrate); the others sort by insertion order.
			const column = ['name', 'migration', 'version', 'hash', 'tag', 'id'].find(c => columns.has(c));
			if (!column) {
				continue;
			}

			const order = column === 'version' ? quoteIdent(column) : (columns.has('created_at') ? 'created_at' : 'rowid');
			const row = db.prepare(`SELECT ${quoteIdent(column)} AS v FROM ${quoteIdent(table)} ORDER BY ${order} DESC LIMIT 1`).get() as {v: unknown} | undefined;
			return row ? `${table}: ${String(row.v)}` : `${table}: (empty)`;
		} catch {
			continue;
		}
	}

	return null;
}

/**
 * Count every table of a local SQLite file exactly (count(*)), read-only.
 * Meant for our private copy: a read-only connection never checkpoints, so the copy's -wal is left as it was.
 * `integrity: false` skips PRAGMA quick_check, which reads every page and costs about as much as the counts.
 */
export function countLocalDatabase(file: string, options: {integrity?: boolean; readonly?: boolean; phases?: Record<string, number>} = {}): LocalCount {
	let started = performance.now();
	const phase = (name: string) => {
		if (options.phases) {
			options.phases[name] = (options.phases[name] ?? 0) + Math.round(performance.now() - started);
		}

		started = performance.now();
	};

	const out: LocalCount = {journalMode: null, schemaVersion: null, tables: {}, integrity: null, error: null};
	let db: Database.Database;
	try {
		db = new Database(file, {readonly: options.readonly ?? true, fileMustExist: true});
	} catch (error) {
		out.error = explainSqliteError(error);
		return out;
	}

	try {
		// A lost read lock on our own copy is impossible, but a busy timeout costs nothing.
		db.pragma('busy_timeout = 5000');
		out.journalMode = String(db.pragma('journal_mode', {simple: true}));
		const userVersion = Number(db.pragma('user_version', {simple: true}));
		// Virtual tables are skipped: their module may be missing here, and their shadow tables are counted.
		const tables = (db.prepare('SELECT name, sql FROM sqlite_schema WHERE type = \'table\' AND name NOT LIKE \'sqlite\\_%\' ESCAPE \'\\\' ORDER BY name').all() as Array<{name: string; sql: string | null}>)
			.filter(t => !/^\s*create\s+virtual\s+table/i.test(t.sql ?? ''));
		const names = new Set(tables.map(t => t.name));
		out.schemaVersion = {userVersion, migration: newestMigration(db, names)};
		const failures: string[] = [];
		for (const {name} of tables) {
			try {
				const row = db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(name)}`).get() as {n: number | bigint};
				out.tables[name] = Number(row.n);
			} catch (error) {
				failures.push(`${name}: ${explainSqliteError(error)}`);
			}
		}

		phase('count');
		if (options.integrity !== false) {
			const rows = db.prepare('PRAGMA quick_check(1)').all() as Array<Record<string, string>>;
			out.integrity = rows.length > 0 ? String(Object.values(rows[0]!)[0]) : 'ok';
			phase('integrity');
		}

		if (failures.length > 0) {
			out.error = `could not count ${failures.length} table${failures.length === 1 ? '' : 's'}: ${failures[0]}`;
		}
	} catch (error) {
		out.error = explainSqliteError(error);
	} finally {
		db.close();
	}

	return out;
}

/** The ids in opencode's `session` table of a local copy; null when it has none or cannot be read. */
export function sessionIdsOf(file: string, readonly = true): Set<string> | null {
	let db: Database.Database | undefined;
	try {
		db = new Database(file, {readonly, fileMustExist: true});
		return new Set((db.prepare('SELECT id FROM session').all() as Array<{id: string}>).map(r => String(r.id)));
	} catch {
		return null;
	} finally {
		db?.close();
	}
}

/** Sum of a report's table counts. */
export function totalRows(report: Pick<DatabaseReport, 'tables'>): number {
	return Object.values(report.tables).reduce((a, b) => a + b, 0);
}
