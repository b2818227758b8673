import {advice, fixOf} from '../core/fix.js';
import {posix} from 'node:path';
import type {DatabaseReport, Finding, LegacyStorageReport} from '../core/types.js';

// Findings from row counts. Pure: everything comes from the reports and the container's env.

/** The channel the container's opencode reads: OPENCODE_CHANNEL, else "latest" (our convention, see docs/databases.md). */
export function selectedChannel(env: Record<string, string>): string {
	return (env.OPENCODE_CHANNEL ?? '').trim() || 'latest';
}

/** opencode's database file name for a channel: latest and stable use opencode.db, the others opencode-<channel>.db. */
export function channelDatabaseName(channel: string): string {
	return channel === 'latest' || channel === 'stable' ? 'opencode.db' : `opencode-${channel.replace(/[^\w.-]/g, '-')}.db`;
}

/** "beta" for opencode-beta.db, "latest" for opencode.db, null for any other file. */
export function channelOf(path: string): string | null {
	const base = posix.basename(path);
	if (base === 'opencode.db') {
		return 'latest';
	}

	return /^opencode-([\w.-]+)\.db$/.exec(base)?.[1] ?? null;
}

/** Sessions in an opencode database (table `session`), null when it has no such table or could not be read. */
function opencodeSessions(db: DatabaseReport): number | null {
	return db.error === null && 'session' in db.tables ? db.tables.session! : null;
}

function idList(some: {count: number; ids: string[]}): string {
	return some.ids.join(', ') + (some.count > some.ids.length ? ` and ${some.count - some.ids.length} more` : '');
}

export function databaseFindings(databases: DatabaseReport[], legacy: LegacyStorageReport[], env: Record<string, string>): Finding[] {
	const findings: Finding[] = [];
	for (const db of databases) {
		if (db.error) {
			findings.push({code: 'database-unreadable', severity: 'warning', path: db.path, message: `${db.path} could not be counted: ${db.error}`, ...fixOf([advice('if this is a real database, open it with sqlite3 and run PRAGMA quick_check; if not, ignore this line')])});
		} else if (db.integrity && db.integrity !== 'ok') {
			findings.push({code: 'database-integrity', severity: 'error', path: db.path, message: `${db.path} fails PRAGMA quick_check: ${db.integrity}`, ...fixOf([advice('back it up now (occ-doctor backup), then repair a copy with sqlite3 .recover')])});
		}
	}

	const opencodeDbs = databases.filter(db => channelOf(db.path) !== null);
	for (const storage of legacy) {
		const dataDir = posix.dirname(storage.path);
		const sessions = storage.counts.session ?? 0;
		const beside = opencodeDbs.filter(db => posix.dirname(db.path) === dataDir);
		if (sessions === 0) {
			continue;
		}

		if (beside.length === 0) {
			findings.push({
				code: 'legacy-storage-unmigrated', severity: 'warning', path: storage.path,
				message: `${storage.path} holds ${sessions} sessions in opencode's pre-1.2 JSON format and there is no opencode.db: the next start of opencode 1.2+ migrates them once`,
				...fixOf([advice(`back up ${storage.path} before upgrading (occ-doctor backup), and keep storage/ on the same persistent volume as opencode.db`)]),
			});
			continue;
		}

		if (storage.orphans) {
			findings.push({
				code: 'legacy-orphan-sessions', severity: 'warning', path: storage.path,
				message: `${storage.orphans.count} session${storage.orphans.count === 1 ? '' : 's'} in ${storage.path} ${storage.orphans.count === 1 ? 'has' : 'have'} no project file, so opencode's migration skips ${storage.orphans.count === 1 ? 'it' : 'them'}: ${idList(storage.orphans)}`,
				...fixOf([advice(`keep ${storage.path} (they exist only there); restore storage/project/<project id>.json from a backup, move opencode.db aside and start opencode once to migrate them`)]),
			});
		}

		if (storage.notInDatabase) {
			if (storage.notInDatabase.count > 0) {
				const db = beside.find(d => channelOf(d.path) === selectedChannel(env)) ?? beside[0]!;
				findings.push({
					code: 'partial-migration', severity: 'warning', path: db.path,
					message: `${storage.notInDatabase.count} session${storage.notInDatabase.count === 1 ? '' : 's'} of ${storage.path} that opencode's migration carries over ${storage.notInDatabase.count === 1 ? 'is' : 'are'} not in ${db.path}: ${idList(storage.notInDatabase)}`,
					...fixOf([advice(`keep ${storage.path}; back up both, then move opencode.db aside and start opencode 1.2+ once to re-run the migration`)]),
				});
			}

			continue;
		}

		for (const db of beside) {
			const inDb = opencodeSessions(db);
			// More sessions in the database is normal (sessions created after the migration); fewer means some were not carried over.
			if (inDb !== null && inDb < sessions && channelOf(db.path) === selectedChannel(env)) {
				findings.push({
					code: 'partial-migration', severity: 'warning', path: db.path,
					message: `${db.path} has ${inDb} sessions but ${storage.path} holds ${sessions}: the JSON → SQLite migration looks partial (a known opencode 1.2 bug)`,
					...fixOf([advice(`keep ${storage.path}; back up both, then move opencode.db aside and start opencode 1.2+ once to re-run the migration`)]),
				});
			}
		}
	}

	const channel = selectedChannel(env);
	const wanted = channelDatabaseName(channel);
	for (const db of opencodeDbs) {
		const sessions = opencodeSessions(db);
		if (posix.basename(db.path) !== wanted && sessions !== null && sessions > 0) {
			findings.push({
				code: 'channel-database', severity: 'warning', path: db.path,
				message: `${db.path} holds ${sessions} sessions of opencode's ${channelOf(db.path)} channel, but this container selects ${channel} (${wanted}): they do not show up here`,
				...fixOf([advice(`set OPENCODE_CHANNEL=${channelOf(db.path)} on the container to use them, or export them from that channel's opencode`)]),
			});
		}
	}

	const management = databases.find(db => db.error === null && 'chat_sessions' in db.tables);
	const agent = opencodeDbs.find(db => posix.basename(db.path) === wanted && opencodeSessions(db) !== null);
	if (management && agent && management.tables.chat_sessions !== agent.tables.session) {
		findings.push({
			code: 'sync-drift', severity: 'info', path: management.path,
			message: `the management database has ${management.tables.chat_sessions} chat sessions and ${agent.path} has ${agent.tables.session} sessions: the sync is behind or they were pruned differently`,
			...fixOf([advice('let the sync service catch up, or re-sync from opencode (the source of truth)')]),
		});
	}

	return findings;
}

/** Before/after a probe or an update: every table whose count dropped is a `rows-lost` error naming both counts. */
export function compareCounts(before: DatabaseReport[], after: DatabaseReport[]): Finding[] {
	const findings: Finding[] = [];
	const afterByPath = new Map(after.map(db => [db.path, db]));
	for (const old of before) {
		if (old.error) {
			continue;
		}

		const now = afterByPath.get(old.path);
		const rowsBefore = Object.values(old.tables).reduce((a, b) => a + b, 0);
		if (!now) {
			if (rowsBefore > 0) {
				findings.push({code: 'rows-lost', severity: 'error', path: old.path, message: `${old.path} is gone: it held ${rowsBefore} rows before`, ...fixOf([advice('restore it from a backup (occ-doctor backup --verify DIR lists what a backup holds)')])});
			}

			continue;
		}

		if (now.error) {
			findings.push({code: 'rows-unknown', severity: 'warning', path: old.path, message: `${old.path} could not be counted afterwards: ${now.error}`, ...fixOf([advice('run occ-doctor check again; if it persists, check the database with sqlite3')])});
			continue;
		}

		for (const [table, count] of Object.entries(old.tables)) {
			const later = now.tables[table] ?? 0;
			if (later < count) {
				findings.push({
					code: 'rows-lost', severity: 'error', path: old.path,
					message: `${old.path}: table ${table} dropped from ${count} to ${later} rows${table in now.tables ? '' : ' (the table is gone)'}`,
					...fixOf([advice('stop the agent, and restore the database from a backup taken before')]),
				});
			}
		}
	}

	return findings;
}

/** What `check` knows about where it ran, for a fix that names the way to see the engine's host. */
export interface NotCountedContext {
	name: string;
	archiveRisk: string | null;
	bindSourceExists: Record<string, boolean | null>;
	engine: {label: string; transport: string; local: boolean};
}

/** How to let check read what archiveRisk kept it from: put a source back, look from the host, or start the container once. */
function notCountedFix(context: NotCountedContext): string {
	const {name, bindSourceExists, engine} = context;
	const sources = Object.values(bindSourceExists);
	if (sources.includes(false)) {
		return `put the missing bind source back first (the missing-host-path fix), then run occ-doctor check --container ${name} again`;
	}

	if (!sources.includes(null)) {
		return `start ${name} once (docker start ${name}), then run occ-doctor check --container ${name} again`;
	}

	if (engine.local) {
		return `run occ-doctor as a user who may read the bind sources: sudo occ-doctor check --container ${name}`;
	}

	const host = hostOf(engine.label);
	if (engine.transport === 'ssh') {
		return `run occ-doctor on the engine's host as a user who may read the bind sources: ssh -t ${host} sudo occ-doctor check --container ${name}`;
	}

	return `reach the engine over SSH, so occ-doctor can look at the bind sources on its host: occ-doctor check --host ssh://${host} --container ${name} (or run occ-doctor on that host)`;
}

function hostOf(label: string): string {
	try {
		return new URL(label).hostname.replace(/^\[(.*)\]$/, '$1') || 'HOST';
	} catch {
		return 'HOST';
	}
}

/**
 * One finding when archiveRisk kept check from searching or counting: databases are then unknown, not zero, and the
 * report says why and how to count them. `notRead` lists the locations and databases left unread.
 */
export function notCountedFinding(context: NotCountedContext, notRead: string[]): Finding | null {
	if (!context.archiveRisk || notRead.length === 0) {
		return null;
	}

	const paths = notRead.length > 3 ? `${notRead.slice(0, 3).join(', ')} and ${notRead.length - 3} more` : notRead.join(', ');
	return {
		code: 'databases-not-counted',
		severity: 'warning',
		path: notRead[0]!,
		message: `databases in ${paths} were not searched or counted, so their rows are unknown (not zero): ${context.archiveRisk}`,
		...fixOf([advice(notCountedFix(context))]),
	};
}
