import assert from 'node:assert/strict';
import {copyFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import Database from 'better-sqlite3';
import type {DatabaseReport, Location} from '../../source/core/types.js';
import {analyze} from '../../source/core/analyze.js';
import {detectProfile} from '../../source/core/profiles.js';
import {renderPlain} from '../../source/report/plain.js';
import {recordedFacts} from '../helpers/facts.js';
import {countLocalDatabase} from '../../source/sqlite/count.js';
import {hostSource, snapshotDatabase, withFirstStats} from '../../source/sqlite/snapshot.js';
import {legacyStorageEntry, walkDecision, walkRoots, SQLITE_HEADER} from '../../source/sqlite/discover.js';
import {channelDatabaseName, channelOf, compareCounts, databaseFindings, notCountedFinding, selectedChannel} from '../../source/sqlite/findings.js';

const dir = mkdtempSync(join(tmpdir(), 'occ-sqlite-unit-'));
after(() => rmSync(dir, {recursive: true, force: true}));

function db(path: string, tables: Record<string, number>, error: string | null = null): DatabaseReport {
	return {path, engine: 'sqlite', sizeBytes: 4096, journalMode: 'wal', walBytes: 0, schemaVersion: null, tables, integrity: error ? null : 'ok', error};
}

describe('countLocalDatabase', () => {
	it('counts rows that live only in -wal, reads user_version and the newest drizzle migration', () => {
		const live = join(dir, 'live.db');
		const writer = new Database(live);
		writer.pragma('journal_mode = WAL');
		writer.pragma('wal_autocheckpoint = 0');
		writer.exec('CREATE TABLE session (id TEXT); CREATE TABLE __drizzle_migrations (id INTEGER PRIMARY KEY, hash TEXT, created_at INTEGER)');
		writer.exec('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (\'aaa\', 1), (\'bbb\', 2)');
		writer.pragma('user_version = 7');
		const insert = writer.prepare('INSERT INTO session VALUES (?)');
		for (let i = 0; i < 42; i++) {
			insert.run(`s${i}`);
		}

		// Copy while the writer is open: every commit is still in -wal.
		copyFileSync(`${live}-wal`, join(dir, 'copy.db-wal'));
		copyFileSync(live, join(dir, 'copy.db'));
		writer.close();
		const counted = countLocalDatabase(join(dir, 'copy.db'));
		assert.equal(counted.error, null);
		assert.deepEqual(counted.tables, {__drizzle_migrations: 2, session: 42});
		assert.equal(counted.journalMode, 'wal');
		assert.deepEqual(counted.schemaVersion, {userVersion: 7, migration: '__drizzle_migrations: bbb'});
		assert.equal(counted.integrity, 'ok');
	});

	it('gives a header-only fake an error, never a throw', () => {
		const fake = join(dir, 'fake.db');
		writeFileSync(fake, Buffer.concat([SQLITE_HEADER, Buffer.alloc(4080, 0x5a)]));
		const counted = countLocalDatabase(fake);
		assert.match(counted.error ?? '', /not a readable SQLite database|corrupt/);
		assert.deepEqual(counted.tables, {});
	});

	it('gives a missing file an error', () => {
		assert.ok(countLocalDatabase(join(dir, 'missing.db')).error);
	});
});

describe('a snapshot whose first stats were asked earlier (check over a link)', () => {
	it('takes each once, re-stats after the copy, and retries when the database changed since those stats', async () => {
		const live = join(dir, 'early.db');
		const writer = new Database(live);
		writer.exec('CREATE TABLE session (id TEXT); INSERT INTO session VALUES (\'a\')');
		const source = hostSource(path => path);
		const first = new Map([live, `${live}-wal`, `${live}-journal`].map(f => [f, source.stat(f)]));
		await Promise.all(first.values());
		// A writer between the early stats and the copy: the re-stat must see it, and the copy must hold its row.
		writer.exec(`INSERT INTO session VALUES ('${'b'.repeat(5000)}')`);
		writer.close();
		const out = mkdtempSync(join(dir, 'out-'));
		const snap = await snapshotDatabase(withFirstStats(source, first), live, out);
		assert.equal(snap.attempts, 2);
		assert.equal(first.size, 0);
		assert.deepEqual(countLocalDatabase(snap.main).tables, {session: 2});
	});

	it('counts the bytes promised to copies in flight as used, and gives its own back when done', async () => {
		const live = join(dir, 'space.db');
		new Database(live).exec('CREATE TABLE session (id TEXT)').close();
		const source = hostSource(path => path);
		const space = {promised: 0};
		await snapshotDatabase(source, live, mkdtempSync(join(dir, 'out-')), undefined, space);
		assert.equal(space.promised, 0);
		space.promised = Number.MAX_SAFE_INTEGER / 2;
		await assert.rejects(snapshotDatabase(source, live, mkdtempSync(join(dir, 'out-')), undefined, space), /is free beside the copies in flight: set TMPDIR/);
	});
});

describe('discovery bounds', () => {
	const loc = (path: string, extra: Partial<Location> = {}): Location => ({
		path, label: 'data', priority: 'critical', kind: 'dir', expected: 'persistent', origin: 'mount', storage: 'named-volume', readOnly: false,
		mount: {type: 'volume', name: 'v', source: `/var/lib/docker/volumes/v${path.replaceAll('/', '_')}/_data`, destination: path, rw: true},
		hostSource: null, compose: null, external: false, survives: {} as Location['survives'], ...extra,
	});

	it('skips workspaces, caches, read-only and tmpfs locations, and says so', () => {
		assert.equal(walkDecision(loc('/home/opencoder/workspace', {label: 'workspace (repositories)'})).walk, false);
		assert.equal(walkDecision(loc('/home/opencoder/.cache/opencode', {priority: 'low', label: 'cache (regenerable)'})).walk, false);
		assert.equal(walkDecision(loc('/app/agents', {expected: 'read-only'})).walk, false);
		assert.match(walkDecision(loc('/run', {storage: 'tmpfs'})).reason ?? '', /tmpfs/);
		assert.equal(walkDecision(loc('/data')).walk, true);
	});

	it('walks nested mounts separately only when the outer one is read on the host', () => {
		const outer = loc('/data');
		const inner = loc('/data/db');
		assert.deepEqual(walkRoots([inner, outer], false).roots.map(r => r.path), ['/data']);
		assert.deepEqual(walkRoots([inner, outer], true).roots.map(r => r.path), ['/data', '/data/db']);
	});

	it('places legacy storage files by kind', () => {
		assert.deepEqual(legacyStorageEntry('/d/opencode/storage/part/msg_1/prt_1.json'), {storage: '/d/opencode/storage', kind: 'part'});
		assert.equal(legacyStorageEntry('/d/opencode/storage/migration'), null);
	});
});

describe('database findings', () => {
	it('channel names and the env choice', () => {
		assert.equal(selectedChannel({}), 'latest');
		assert.equal(selectedChannel({OPENCODE_CHANNEL: 'beta'}), 'beta');
		assert.equal(channelDatabaseName('latest'), 'opencode.db');
		assert.equal(channelDatabaseName('beta'), 'opencode-beta.db');
		assert.equal(channelOf('/x/opencode-beta.db'), 'beta');
		assert.equal(channelOf('/x/machine.db'), null);
	});

	it('legacy storage without opencode.db, partial migration, other channel, sync drift, unreadable', () => {
		const storage = {path: '/d/opencode/storage', counts: {session: 5}};
		assert.deepEqual(databaseFindings([], [storage], {}).map(f => f.code), ['legacy-storage-unmigrated']);
		const partial = databaseFindings([db('/d/opencode/opencode.db', {session: 3})], [storage], {});
		assert.deepEqual(partial.map(f => f.code), ['partial-migration']);
		assert.match(partial[0]!.message, /3 sessions.*holds 5/);
		assert.deepEqual(databaseFindings([db('/d/opencode/opencode.db', {session: 9})], [storage], {}), []);
		const beta = databaseFindings([db('/d/opencode/opencode.db', {session: 1}), db('/d/opencode/opencode-beta.db', {session: 2})], [], {});
		assert.deepEqual(beta.map(f => [f.code, f.path]), [['channel-database', '/d/opencode/opencode-beta.db']]);
		const drift = databaseFindings([db('/d/opencode/opencode.db', {session: 4}), db('/app/data/management.db', {chat_sessions: 6})], [], {});
		assert.deepEqual(drift.map(f => [f.code, f.severity]), [['sync-drift', 'info']]);
		assert.match(drift[0]!.message, /6 chat sessions.*4 sessions/);
		assert.deepEqual(databaseFindings([db('/x.db', {}, 'corrupt')], [], {}).map(f => f.code), ['database-unreadable']);
	});

	it('compareCounts names each table that lost rows, with both counts', () => {
		const before = [db('/a.db', {session: 10, part: 100}), db('/b.db', {t: 1})];
		const after = [db('/a.db', {session: 10, part: 90})];
		const findings = compareCounts(before, after);
		assert.deepEqual(findings.map(f => [f.code, f.severity, f.path]), [['rows-lost', 'error', '/a.db'], ['rows-lost', 'error', '/b.db']]);
		assert.match(findings[0]!.message, /part dropped from 100 to 90/);
		assert.deepEqual(compareCounts(before, [db('/a.db', {session: 11, part: 100}), db('/b.db', {t: 1})]), []);
	});
});

describe('databases not counted (archiveRisk kept check from reading)', () => {
	const risk = 'occ-doctor cannot see whether the bind source /srv/oc exists on the engine\'s host';
	const context = (engine: {label: string; transport: string; local: boolean}, exists: boolean | null, archiveRisk: string | null = risk) => ({name: 'app', archiveRisk, bindSourceExists: {'/srv/oc': exists}, engine});
	const tcp = {label: 'tcp://box.example:2375', transport: 'tcp', local: false};

	it('names the unread paths, says unknown is not zero, and over tcp:// points at ssh:// for the same host', () => {
		const finding = notCountedFinding(context(tcp, null), ['/data/opencode.db', '/data', '/a', '/b']);
		assert.equal(finding?.code, 'databases-not-counted');
		assert.equal(finding.severity, 'warning');
		assert.equal(finding.path, '/data/opencode.db');
		assert.match(finding.message, /^databases in \/data\/opencode\.db, \/data, \/a and 1 more were not searched or counted, so their rows are unknown \(not zero\): occ-doctor cannot see/);
		assert.equal(finding.fix, 'reach the engine over SSH, so occ-doctor can look at the bind sources on its host: occ-doctor check --host ssh://box.example --container app (or run occ-doctor on that host)');
	});

	it('gives each cause its own fix: a missing source, ssh:// without permission, a local engine without permission, a container that never ran', () => {
		const fix = (engine: typeof tcp, exists: boolean | null) => notCountedFinding(context(engine, exists), ['/data'])?.fix ?? '';
		assert.match(fix(tcp, false), /^put the missing bind source back first \(the missing-host-path fix\)/);
		assert.match(fix({label: 'ssh://me@box', transport: 'ssh', local: false}, null), /ssh -t box sudo occ-doctor check --container app$/);
		assert.match(fix({label: 'unix:///var/run/docker.sock', transport: 'unix', local: true}, null), /^run occ-doctor as a user who may read the bind sources: sudo occ-doctor check/);
		assert.match(fix(tcp, true), /^start app once \(docker start app\)/);
	});

	it('says nothing when nothing was left unread or nothing kept check from reading', () => {
		assert.equal(notCountedFinding(context(tcp, null), []), null);
		assert.equal(notCountedFinding(context(tcp, true, null), ['/data']), null);
	});

	it('the plain report says "not counted", never "none found", and gives a long reason once', () => {
		const facts = recordedFacts('occ-anon-workspace');
		const {profile, detectedBy} = detectProfile(facts);
		const report = analyze(facts, profile, detectedBy);
		const why = `not read: ${risk}`;
		report.databases = [];
		report.legacyStorage = [];
		report.databasesSkipped = ['/home/opencoder/workspace (workspace)', `/srv/a (${why})`, `/srv/b (${why})`];
		const before = renderPlain(report);
		assert.match(before, /^ {2}none found$/m);
		report.findings.push(notCountedFinding(context(tcp, null), ['/srv/a', '/srv/b'])!);
		const text = renderPlain(report);
		assert.doesNotMatch(text, /none found/);
		assert.match(text, /^ {2}! not counted: their rows are unknown, not zero \(why: above\)$/m);
		assert.match(text, /^ {6}fix: by hand: reach the engine over SSH, .*--host ssh:\/\/box\.example --container app/m);
		assert.match(text, new RegExp(`^ {2}not searched: /home/opencoder/workspace \\(workspace\\); /srv/a, /srv/b \\(${why.replace(/[()']/g, '.')}\\) \\(add one with --db PATH\\)$`, 'm'));
	});
});
