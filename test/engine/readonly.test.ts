// check changes nothing, even where a read through the engine would: opencode 1.2's single-file binds with the host's
// database closed (SQLite deleted -wal and -shm on the host, so two bind sources are missing). Seed 002 has the layout.
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it, type TestContext} from 'node:test';
import Database from 'better-sqlite3';
import type {Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, LABEL_FLAGS, LABELS, removeFixture, RUN_ID, TEST_LABEL, tour, uniqueName} from '../helpers/engine.js';
import {docker, run} from '../helpers/docker-cli.js';
import {assertUnchanged, checkUnchanged, snapshotTree} from '../helpers/host-snapshot.js';
import {planBackup} from '../../source/backup/index.js';
import {prepareProbe, runProbe} from '../../source/probe/index.js';

const DATA = '/root/.local/share/opencode';
const dirs: string[] = [];
let engine: Engine | undefined;

async function ready(t: TestContext): Promise<Engine | undefined> {
	engine ??= await engineOrSkip(t);
	return engine;
}

/**
 * opencode 1.2's host side: opencode.db in WAL mode with 3 sessions, and a container made with the three file binds
 * while the host's opencode had the database open. Then the host closes it, and SQLite deletes -wal and -shm.
 */
async function singleFileLayout(engine: Engine, start: boolean): Promise<{name: string; dir: string}> {
	const dir = mkdtempSync(join(tmpdir(), 'occt-ro-'));
	dirs.push(dir);
	writeFileSync(join(dir, 'auth.json'), '{"provider": {"type": "api"}}');
	mkdirSync(join(dir, 'storage'));
	const db = new Database(join(dir, 'opencode.db'));
	db.pragma('journal_mode = WAL');
	db.exec('CREATE TABLE session (id TEXT PRIMARY KEY); INSERT INTO session VALUES (\'ses_a\'), (\'ses_b\'), (\'ses_c\');');
	const name = uniqueName('ro');
	const binds = ['opencode.db', 'opencode.db-wal', 'opencode.db-shm', 'auth.json', 'storage'].flatMap(f => ['-v', `${join(dir, f)}:${DATA}/${f}`]);
	await docker(start ? 'run' : 'create', ...(start ? ['-d'] : []), '--name', name, '--network', 'none', ...LABEL_FLAGS, ...binds, await image(engine.docker));
	db.close();
	return {name, dir};
}

describe('check is read-only', () => {
	after(async () => {
		if (engine) {
			await cleanup(engine.docker);
		}

		for (const dir of dirs) {
			rmSync(dir, {recursive: true, force: true});
		}
	});

	for (const start of [false, true]) {
		it(`opencode 1.2's single-file binds, host database closed, container ${start ? 'running' : 'stopped'}: host unchanged, sidecar mounts and missing sources reported, database counted`, async t => {
			const engine = await ready(t);
			if (!engine) {
				return;
			}

			const {name, dir} = await singleFileLayout(engine, start);
			assert.equal(snapshotTree(join(dir, 'opencode.db-wal')), 'missing', 'SQLite deleted -wal on close');
			const {report} = await checkUnchanged(engine, {container: name});
			// The whole tour while the sources are missing: the fixes below change that.
			await tour(engine.docker, name);
			assert.equal(snapshotTree(join(dir, 'opencode.db-wal')), 'missing', 'check did not make -wal a directory');
			assert.equal(snapshotTree(join(dir, 'opencode.db-shm')), 'missing');

			const codes = report.findings.map(f => `${f.code} ${f.path}`);
			assert.ok(codes.includes(`sqlite-sidecar-file-mount ${DATA}/opencode.db`), codes.join(', '));
			assert.ok(codes.includes(`missing-host-path ${DATA}/opencode.db-wal`), codes.join(', '));
			assert.ok(codes.includes(`missing-host-path ${DATA}/opencode.db-shm`), codes.join(', '));
			const db = report.databases?.find(d => d.path === `${DATA}/opencode.db`);
			assert.ok(db, `opencode.db is in the report: ${JSON.stringify(report.databases)} skipped ${JSON.stringify(report.databasesSkipped)}`);
			assert.equal(db.error, null);
			assert.equal(db.tables.session, 3);

			// The printed fixes for the missing sources work: after them the container starts, and the host's SQLite opens the database.
			for (const finding of report.findings.filter(f => f.code === 'missing-host-path')) {
				const result = await run('sh', ['-c', finding.fix]);
				assert.equal(result.code, 0, `${finding.fix}: ${result.stderr}`);
			}

			await docker('restart', name);
			const host = new Database(join(dir, 'opencode.db'), {readonly: true});
			assert.equal((host.prepare('SELECT count(*) AS n FROM session').get() as {n: number}).n, 3);
			host.close();

			// And the sidecar finding's fix, as a recreate with the directory bound instead of the files, ends it.
			const fix = /^mount the directory instead of the files: -v (\S+):(\S+) \(and drop the 3 file binds\)$/.exec(report.findings.find(f => f.code === 'sqlite-sidecar-file-mount')!.fix);
			assert.ok(fix, 'the fix names the directory bind');
			await removeFixture(engine.docker, name);
			await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, '-v', `${fix[1]}:${fix[2]}`, await image(engine.docker));
			const {report: after} = await checkUnchanged(engine, {container: name});
			assert.deepEqual(after.findings.filter(f => f.code === 'sqlite-sidecar-file-mount' || f.code === 'missing-host-path'), []);
			assert.equal(after.databases?.find(d => d.path === `${DATA}/opencode.db`)?.tables.session, 3);
		});
	}

	it('a -wal that the engine already made a directory: the database is reported unreadable, with the reason', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const {name, dir} = await singleFileLayout(engine, false);
		mkdirSync(join(dir, 'opencode.db-wal'));
		mkdirSync(join(dir, 'opencode.db-shm'));
		const {report} = await checkUnchanged(engine, {container: name});
		const db = report.databases?.find(d => d.path === `${DATA}/opencode.db`);
		assert.match(db?.error ?? '', /opencode\.db-wal is not a regular file but a directory/);
		assert.ok(report.findings.some(f => f.code === 'database-unreadable' && f.path === `${DATA}/opencode.db`));
	});

	it('the previews read only too: the backup plan and the probe plan change nothing on a container with a volume and a bind', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const dir = mkdtempSync(join(tmpdir(), 'occt-ro-'));
		dirs.push(dir);
		writeFileSync(join(dir, 'auth.json'), '{}');
		const name = uniqueName('ro');
		await docker('volume', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, `${name}-data`);
		await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, '-v', `${name}-data:${DATA}`, '-v', `${dir}:/root/.config/opencode`, await image(engine.docker));
		await assertUnchanged(engine.docker, name, async () => planBackup({container: name}, engine));
		const prepared = await assertUnchanged(engine.docker, name, async () => prepareProbe({container: name, labels: LABELS}, engine));
		assert.ok(prepared.plan.targets.length > 0);
	});
});

describe('the probe plan on a container that never ran', () => {
	after(async () => {
		if (engine) {
			await cleanup(engine.docker);
		}
	});

	it('reads nothing through the engine (that would make its mount points in its layer); after the yes, the probe chooses its directories and finds the volume kept', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const name = uniqueName('ro-new');
		await docker('volume', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, `${name}-data`);
		await docker('create', '--name', name, '--network', 'none', ...LABEL_FLAGS, '-v', `${name}-data:${DATA}`, await image(engine.docker));
		const prepared = await assertUnchanged(engine.docker, name, async () => prepareProbe({container: name, labels: LABELS}, engine));
		assert.ok(prepared.deferred);
		assert.match(prepared.plan.summary.join('\n'), /choose the directories once .* runs, not now: the container has never been started/);
		const result = await runProbe({container: name, labels: LABELS}, {confirm: async () => true}, engine);
		const data = result.locations.find(l => l.path === DATA);
		assert.equal(data?.observed?.restart, 'kept', JSON.stringify(data));
		assert.deepEqual(result.probe.leftovers, []);
	});
});
