import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {connect as connectSocket} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import Database from 'better-sqlite3';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {readFileFromContainer} from '../../source/docker/archive.js';
import {countLocalDatabase} from '../../source/sqlite/count.js';
import {SQLITE_HEADER} from '../../source/sqlite/discover.js';
import {archiveSource, snapshotDatabase, type FileSource} from '../../source/sqlite/snapshot.js';
import {cleanup, engineOrSkip, image, LABELS, uniqueName} from '../helpers/engine.js';
import {checkUnchanged} from '../helpers/host-snapshot.js';

const host = mkdtempSync(join(tmpdir(), 'occt-db-'));
after(() => rmSync(host, {recursive: true, force: true}));

const DATA = '/root/.local/share/opencode';

/** Build a database on the host with `setup`, and return its files' bytes. */
function makeDb(name: string, setup: (db: Database.Database) => void, keepOpen = false): Record<string, Buffer> {
	const file = join(host, name);
	const db = new Database(file);
	setup(db);
	const read = () => Object.fromEntries(['', '-wal', '-shm', '-journal'].flatMap(suffix => {
		try {
			return [[`${name}${suffix}`, readFileSync(file + suffix)]];
		} catch {
			return [];
		}
	}));
	// Read while the writer is open: the newest commits are still only in -wal.
	const files = keepOpen ? read() : (db.close(), read());
	if (keepOpen) {
		db.close();
	}

	return files;
}

function rows(db: Database.Database, table: string, n: number, columns = 1) {
	const insert = db.prepare(`INSERT INTO ${table} VALUES (${Array.from({length: columns}, () => '?').join(', ')})`);
	db.transaction(() => {
		for (let i = 0; i < n; i++) {
			insert.run(...Array.from({length: columns}, (_, c) => `${table}-${i}-${c}`));
		}
	})();
}

const sha = (b: Buffer | null) => (b ? createHash('sha256').update(b).digest('hex') : 'missing');

async function put(container: Docker.Container, dir: string, files: Record<string, Buffer | string>): Promise<void> {
	const pack = tar.pack();
	for (const [name, content] of Object.entries(files)) {
		pack.entry({name, mode: 0o644}, content);
	}

	pack.finalize();
	await container.putArchive(pack as unknown as NodeJS.ReadableStream, {path: dir});
}

describe('databases (real engine)', () => {
	it('counts every table exactly, WAL rows included, gives garbage an error, and leaves the live files byte-identical', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		try {
			const opencode = makeDb('opencode.db', db => {
				db.pragma('journal_mode = WAL');
				db.pragma('wal_autocheckpoint = 0');
				db.exec('CREATE TABLE project (id TEXT); CREATE TABLE session (id TEXT, project TEXT); CREATE TABLE message (id TEXT); CREATE TABLE part (id TEXT, data TEXT)');
				db.exec('CREATE TABLE __drizzle_migrations (id INTEGER PRIMARY KEY, hash TEXT, created_at INTEGER)');
				db.exec('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (\'m1\', 1), (\'m2\', 2)');
				rows(db, 'project', 1);
				const session = db.prepare('INSERT INTO session VALUES (?, \'p1\')');
				session.run('ses_0');
				session.run('ses_1');
				db.pragma('wal_checkpoint(TRUNCATE)');
				// From here on, commits live only in -wal: the migration check must see these ids too.
				for (const id of ['ses_2', 'ses_3', 'ses_4']) {
					session.run(id);
				}

				rows(db, 'message', 40);
				rows(db, 'part', 300, 2);
			}, true);
			const beta = makeDb('opencode-beta.db', db => {
				db.pragma('journal_mode = DELETE');
				db.exec('CREATE TABLE session (id TEXT); CREATE TABLE message (id TEXT)');
				rows(db, 'session', 2);
				rows(db, 'message', 3);
			});
			const machine = makeDb('machine.db', db => {
				db.exec('CREATE TABLE sessions (id TEXT); CREATE TABLE tasks (task_id TEXT, status TEXT); CREATE TABLE logs (line TEXT); CREATE TABLE metrics (k TEXT)');
				rows(db, 'sessions', 4);
				rows(db, 'tasks', 7, 2);
				rows(db, 'logs', 25);
				rows(db, 'metrics', 0);
			});
			const management = makeDb('management.db', db => {
				db.pragma('journal_mode = WAL');
				db.exec('CREATE TABLE sandboxes (id TEXT); CREATE TABLE chat_sessions (id TEXT); CREATE TABLE chat_messages (id TEXT); CREATE TABLE user_preferences (id TEXT); CREATE TABLE activity_log (id TEXT)');
				db.exec('CREATE TABLE knex_migrations (id INTEGER PRIMARY KEY, name TEXT, batch INTEGER)');
				db.exec('INSERT INTO knex_migrations (name, batch) VALUES (\'001_init.js\', 1), (\'002_chat.js\', 2)');
				db.pragma('user_version = 3');
				rows(db, 'sandboxes', 1);
				rows(db, 'chat_sessions', 4);
				rows(db, 'chat_messages', 12);
				rows(db, 'user_preferences', 1);
				rows(db, 'activity_log', 9);
			});
			const garbage = Buffer.concat([SQLITE_HEADER, Buffer.alloc(8192, 0xa5)]);

			// The test proves something only if the main file alone is missing the -wal rows.
			const mainOnly = join(host, 'main-only.db');
			const {writeFileSync} = await import('node:fs');
			writeFileSync(mainOnly, opencode['opencode.db']!);
			assert.equal(countLocalDatabase(mainOnly).tables.session, 2);

			const dataVolume = uniqueName('ocdata');
			const agentVolume = uniqueName('agentdata');
			for (const name of [dataVolume, agentVolume]) {
				await docker.createVolume({Name: name, Labels: LABELS});
			}

			const container = await docker.createContainer({
				Image: await image(docker, {lines: [`RUN mkdir -p ${DATA} /data/db /srv/api /root/workspace`]}),
				name: uniqueName('db'),
				Labels: LABELS,
				Env: ['HOME=/root'],
				HostConfig: {Binds: [`${dataVolume}:${DATA}`, `${agentVolume}:/data`], NetworkMode: 'none'},
			});
			await put(container, DATA, {
				...opencode,
				...beta,
				'storage/migration': '1',
				'storage/project/p1.json': '{}',
				// ses_5 is migratable but missing from opencode.db; p_gone has no project file, so its two are orphans.
				...Object.fromEntries(Array.from({length: 6}, (_, i) => [`storage/session/p1/ses_${i}.json`, '{}'])),
				'storage/session/p_gone/ses_x1.json': '{}',
				'storage/session/p_gone/ses_x2.json': '{}',
				...Object.fromEntries(Array.from({length: 8}, (_, i) => [`storage/message/ses_${i % 2}/msg_${i}.json`, '{}'])),
				...Object.fromEntries(Array.from({length: 11}, (_, i) => [`storage/part/msg_${i % 3}/prt_${i}.json`, '{}'])),
				'storage/session_diff/ses_0.json': '[]',
			});
			await put(container, '/data/db', {...machine, 'broken.db': garbage});
			await put(container, '/srv/api', management);
			// A database in the workspace is skipped by default, and says so.
			await put(container, '/root/workspace', {'app.db': beta['opencode-beta.db']!});
			await container.start();

			const live = [`${DATA}/opencode.db`, `${DATA}/opencode.db-wal`, `${DATA}/opencode.db-shm`, `${DATA}/opencode-beta.db`, '/data/db/machine.db', '/data/db/broken.db', '/srv/api/management.db'];
			const hashes = async () => Promise.all(live.map(async p => sha(await readFileFromContainer(container, p))));
			const before = await hashes();
			assert.ok(!before.includes('missing'), `every live file is in place: ${before.join(' ')}`);

			const {report} = await checkUnchanged(engine, {container: container.id, profile: 'opencode', paths: ['/srv/api', '/root/workspace']});
			assert.deepEqual(await hashes(), before, 'live files are byte-identical after check');

			const byPath = new Map((report.databases ?? []).map(d => [d.path, d]));
			assert.deepEqual([...byPath.keys()].sort(), ['/data/db/broken.db', '/data/db/machine.db', `${DATA}/opencode-beta.db`, `${DATA}/opencode.db`, '/srv/api/management.db']);
			const oc = byPath.get(`${DATA}/opencode.db`)!;
			assert.deepEqual(oc.tables, {__drizzle_migrations: 2, message: 40, part: 300, project: 1, session: 5});
			assert.equal(oc.journalMode, 'wal');
			assert.equal(oc.walBytes, opencode['opencode.db-wal']!.length);
			assert.equal(oc.sizeBytes, opencode['opencode.db']!.length);
			assert.deepEqual(oc.schemaVersion, {userVersion: 0, migration: '__drizzle_migrations: m2'});
			assert.equal(oc.integrity, 'ok');
			assert.equal(oc.error, null);

			const betaReport = byPath.get(`${DATA}/opencode-beta.db`)!;
			assert.deepEqual(betaReport.tables, {message: 3, session: 2});
			assert.equal(betaReport.journalMode, 'delete');
			assert.equal(betaReport.walBytes, null);
			assert.deepEqual(byPath.get('/data/db/machine.db')!.tables, {logs: 25, metrics: 0, sessions: 4, tasks: 7});
			const mgmt = byPath.get('/srv/api/management.db')!;
			assert.deepEqual(mgmt.tables, {activity_log: 9, chat_messages: 12, chat_sessions: 4, knex_migrations: 2, sandboxes: 1, user_preferences: 1});
			assert.deepEqual(mgmt.schemaVersion, {userVersion: 3, migration: 'knex_migrations: 002_chat.js'});
			const broken = byPath.get('/data/db/broken.db')!;
			assert.match(broken.error ?? '', /not a readable SQLite database|corrupt/);
			assert.deepEqual(broken.tables, {});

			assert.deepEqual(report.legacyStorage, [{
				path: `${DATA}/storage`,
				counts: {project: 1, session: 8, message: 8, part: 11, todo: 0, permission: 0, session_share: 0, session_diff: 1},
				orphans: {count: 2, ids: ['ses_x1', 'ses_x2']},
				notInDatabase: {count: 1, ids: ['ses_5']},
			}]);
			assert.match(report.findings.find(f => f.code === 'partial-migration')?.message ?? '', /^1 session of .*storage that opencode's migration carries over is not in .*opencode\.db: ses_5$/);
			assert.match(report.findings.find(f => f.code === 'legacy-orphan-sessions')?.message ?? '', /2 sessions in .*storage have no project file, so opencode's migration skips them: ses_x1, ses_x2$/);
			const codes = report.findings.map(f => `${f.code} ${f.path ?? ''}`.trim());
			for (const expected of [`partial-migration ${DATA}/opencode.db`, `channel-database ${DATA}/opencode-beta.db`, 'sync-drift /srv/api/management.db', 'database-unreadable /data/db/broken.db']) {
				assert.ok(codes.includes(expected), `finding ${expected} in ${codes.join(', ')}`);
			}

			assert.match((report.databasesSkipped ?? []).join(', '), /\/root\/workspace \(workspace\)/);

			// The backup engineer's entry point: a consistent main+wal pair on this side.
			const dest = mkdtempSync(join(tmpdir(), 'occt-snap-'));
			try {
				const snap = await snapshotDatabase(container, `${DATA}/opencode.db`, dest);
				assert.equal(snap.attempts, 1);
				assert.ok(snap.wal);
				assert.equal(countLocalDatabase(snap.main).tables.part, 300);
				// The same, with the copies and the re-stat pipelined on one connection (as over ssh://'s forwarded socket).
				const piped = join(dest, 'piped');
				mkdirSync(piped);
				let requests = 0;
				const source = archiveSource(container, async n => {
					requests += n;
					return connectSocket(engine.target.options.socketPath as string);
				});
				const again = await snapshotDatabase(source, `${DATA}/opencode.db`, piped);
				assert.equal(again.attempts, 1);
				assert.equal(requests, 5, 'the -wal and the main file, then three stats, in one go');
				assert.deepEqual(readFileSync(again.main), readFileSync(snap.main));
				assert.deepEqual(readFileSync(again.wal!), readFileSync(snap.wal));
				assert.equal(countLocalDatabase(again.main).tables.part, 300);
				assert.deepEqual(await hashes(), before, 'live files are byte-identical after the pipelined copy');
			} finally {
				rmSync(dest, {recursive: true, force: true});
			}
		} finally {
			await cleanup(docker);
		}
	});

	it('copies of a database being written, pipelined on one connection or one by one, are each a committed state, never torn', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('db-busy');
		const dest = mkdtempSync(join(tmpdir(), 'occt-busy-'));
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const mountpoint = ((await docker.getVolume(volume).inspect()) as {Mountpoint: string}).Mountpoint;
			const container = await docker.createContainer({Image: await image(docker), name: uniqueName('db-busy'), Labels: LABELS, HostConfig: {NetworkMode: 'none', Binds: [`${volume}:/data`]}});
			// The agent: batches of rows, numbered from 0, each one transaction, written in WAL mode every 300 ms, with a
			// checkpoint of its own every 50 pages (about every 5 batches), while the copies are taken (an attempt through the
			// archive API takes ~150 ms here: some overlap a write and are retried).
			const db = new Database(join(mountpoint, 'busy.db'));
			db.pragma('journal_mode = WAL');
			db.pragma('wal_autocheckpoint = 50');
			db.exec('CREATE TABLE t (batch INTEGER, payload TEXT)');
			const BATCH = 200;
			let batches = 0;
			const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
			const write = () => {
				db.transaction(() => {
					for (let i = 0; i < BATCH; i++) {
						insert.run(batches, 'x'.repeat(200));
					}
				})();
				batches++;
			};

			write();
			const ways = {pipelined: archiveSource(container, async () => connectSocket(engine.target.options.socketPath as string)), oneByOne: archiveSource(container)};
			/** Copy and open it; its batches, checked to be one committed state: every batch from 0 to the last, each whole. */
			const copyOf = async (how: string, source: FileSource, name: string): Promise<number> => {
				const dir = join(dest, name);
				mkdirSync(dir);
				const snap = await snapshotDatabase(source, '/data/busy.db', dir);
				const copy = new Database(snap.main, {readonly: true});
				try {
					assert.equal(copy.pragma('quick_check', {simple: true}), 'ok', how);
					const {rows, kinds, last} = copy.prepare('SELECT count(*) AS rows, count(DISTINCT batch) AS kinds, max(batch) AS last FROM t').get() as {rows: number; kinds: number; last: number};
					assert.equal(rows, kinds * BATCH, `${how}: whole transactions only`);
					assert.equal(kinds, last + 1, `${how}: no commit missing before the last one`);
					return kinds;
				} finally {
					copy.close();
				}
			};

			const timer = setInterval(write, 300);
			try {
				for (let i = 0; i < 8; i++) {
					for (const [how, source] of Object.entries(ways)) {
						try {
							// eslint-disable-next-line no-await-in-loop
							await copyOf(how, source, `${how}-${i}`);
						} catch (error) {
							if (error instanceof assert.AssertionError) {
								throw error;
							}

							// A writer that wins every attempt (a slow machine) is refused, never counted wrong.
							assert.match(String(error), /changed during each of 5 copies/);
						}
					}
				}
			} finally {
				clearInterval(timer);
			}

			// Once the writer is done, both ways copy every batch.
			for (const [how, source] of Object.entries(ways)) {
				assert.equal(await copyOf(how, source, `${how}-quiet`), batches, how);
			}

			db.close();
		} finally {
			rmSync(dest, {recursive: true, force: true});
			await cleanup(docker, [volume]);
		}
	});

	it('a database behind a symlink in its volume is read as the container sees it (through the engine), not as this host would resolve it', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('db-link');
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			// Started once: reading a never-started container through the engine would make its mount points in its layer.
			// The volume is a workspace, which is not walked: `--path` below makes the link a walk root of its own.
			const container = await docker.createContainer({Image: await image(docker), name: uniqueName('db-link'), Labels: LABELS, Cmd: ['sleep', '3600'], HostConfig: {NetworkMode: 'none', Binds: [`${volume}:/root/workspace`]}});
			await container.start();
			const app = makeDb('linked.db', db => {
				db.exec('CREATE TABLE t (x TEXT)');
				rows(db, 't', 7);
			});
			// The link points at an absolute path that exists both in the container (its layer: 7 rows) and on this host
			// (another database, 3 rows, and one only this host has). The container's is the one.
			const target = join(host, 'link-target');
			mkdirSync(target);
			assert.ok(makeDb('link-target/app.db', db => {
				db.exec('CREATE TABLE t (x TEXT)');
				rows(db, 't', 3);
			})['link-target/app.db']);
			assert.ok(makeDb('link-target/host-only.db', db => db.exec('CREATE TABLE h (x TEXT)'))['link-target/host-only.db']);
			const pack = tar.pack();
			pack.entry({name: `${target.slice(1)}/app.db`, mode: 0o644}, app['linked.db']!);
			pack.entry({name: 'root/workspace/link', type: 'symlink', linkname: target});
			pack.finalize();
			await container.putArchive(pack as unknown as NodeJS.ReadableStream, {path: '/'});
			const asked = await checkUnchanged(engine, {container: container.id, db: ['/root/workspace/link/app.db']});
			assert.deepEqual((asked.report.databases ?? []).map(d => [d.path, d.tables]), [['/root/workspace/link/app.db', {t: 7}]]);
			const walked = await checkUnchanged(engine, {container: container.id, paths: ['/root/workspace/link']});
			assert.deepEqual((walked.report.databases ?? []).map(d => [d.path, d.tables]), [['/root/workspace/link/app.db', {t: 7}]]);
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('--no-databases skips discovery; a --db the container lacks is refused as bad input', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		try {
			const container = await docker.createContainer({Image: await image(docker), name: uniqueName('nodb'), Labels: LABELS, HostConfig: {NetworkMode: 'none'}});
			const skipped = await checkUnchanged(engine, {container: container.id, databases: false});
			assert.equal(skipped.report.databases, undefined);
			// A --db the container does not have is bad input (exit 2), not a finding: nothing is counted or reported.
			await assert.rejects(checkUnchanged(engine, {container: container.id, db: ['/nope/x.db']}), (error: Error & {kind?: string; code?: string}) => {
				assert.equal(error.kind, 'usage');
				assert.equal(error.code, 'missing-db');
				assert.match(error.message, /--db \/nope\/x\.db: no such file/);
				return true;
			});
		} finally {
			await cleanup(docker);
		}
	});
});
