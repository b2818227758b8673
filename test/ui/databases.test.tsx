/** @jsxRuntime automatic */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import chalk from 'chalk';
import {cleanup} from 'ink-testing-library';
import {database, DB_PATH, fakeProbe} from './fakes.js';
import {fakeServices, KEY, press, recordedInspection, renderApp, waitForText} from './helpers.js';

after(() => cleanup());

const lines = (frame: string) => frame.split('\n');
const strip = (frame: string) => frame.replace(/\u001B\[[0-9;]*m/g, '');
const widest = (frame: string) => Math.max(...lines(frame).map(l => [...strip(l)].length));

const many = Object.fromEntries(Array.from({length: 30}, (_, i) => [`table_${String(i).padStart(2, '0')}`, i * 1000]));
const inspection = recordedInspection(report => {
	report.databases = [
		database(DB_PATH, {session: 12, message: 340, part: 1200}),
		database('/home/opencoder/.local/share/opencode/opencode-beta.db', many, {journalMode: 'delete', walBytes: null, schemaVersion: {userVersion: 0, migration: null}}),
		database('/var/lib/agent/broken.db', {}, {sizeBytes: 4096, journalMode: null, walBytes: null, schemaVersion: null, integrity: null, error: 'file is not a database (SQLITE_NOTADB)'}),
	];
	report.legacyStorage = [{path: '/home/opencoder/.local/share/opencode/storage', counts: {project: 2, session: 14, message: 300, part: 1100}}];
});

describe('databases screen', () => {
	it('keeps its number 5 without databases and says why it is empty', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		assert.match(app.lastFrame()!, /5 Databases/);
		await press(app, '5');
		await waitForText(app.lastFrame, 'Nothing to show: no SQLite database');
		app.unmount();
	});

	it('shows one block per database: path, size, journal, -wal, schema, integrity, error, exact counts; legacy storage', async () => {
		const app = renderApp({services: fakeServices({inspection})}, {columns: 120, rows: 80});
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '5');
		const frame = await waitForText(app.lastFrame, 'counted from a consistent copy, live files untouched');
		assert.match(frame, /3 databases · 1 legacy storage/);
		assert.match(frame, /▪ \/home\/opencoder\/\.local\/share\/opencode\/opencode\.db {2}1,552 rows in 3 tables/);
		assert.match(frame, /1\.2 MiB · integrity ✓ ok · journal wal · -wal 40\.2 KiB · user_version 3 · migration 20250101_init/);
		assert.match(frame, /message\s+340/);
		assert.match(frame, /✗ \/var\/lib\/agent\/broken\.db/);
		assert.match(frame, /✗ file is not a database \(SQLITE_NOTADB\)/);
		assert.match(frame, /journal delete · -wal none · user_version 0/);
		assert.match(frame, /4\.0 KiB · integrity not checked · journal \? · -wal none/);
		assert.match(frame, /▪ \/home\/opencoder\/\.local\/share\/opencode\/storage {2}legacy JSON storage \(opencode before 1\.2\): 1,416 files/);
		assert.match(frame, /session\s+14/);
		app.unmount();
	});

	it('scrolls a long list at 80×24 and filters tables', async () => {
		const app = renderApp({services: fakeServices({inspection})});
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '5');
		let frame = await waitForText(app.lastFrame, 'live files untouched');
		assert.doesNotMatch(frame, /table_29/);
		await press(app, 'G');
		frame = await waitForText(app.lastFrame, 'legacy JSON storage');
		assert.match(frame, /part\s+1,100/, 'the last row in view');
		await press(app, 'g', '/', ...'table_29'.split(''));
		frame = await waitForText(app.lastFrame, 'table_29');
		assert.doesNotMatch(frame, /table_28/);
		assert.ok(widest(frame) <= 80);
		assert.ok(lines(frame).length <= 23);
		app.unmount();
	});

	it('after a probe: before → after per table, a dropped count in red with ✗', async () => {
		const previous = chalk.level;
		chalk.level = 1;
		try {
			const probe = fakeProbe({withDatabases: true});
			const app = renderApp({services: probe.services, color: true, launch: {screen: 'probe', probe: {autoStart: true, yes: true}}});
			await waitForText(app.lastFrame, 'probe done');
			await press(app, '5');
			const frame = await waitForText(app.lastFrame, 'before → after');
			const plain = strip(frame);
			assert.match(plain, /1 database · ✗ 1 table lost rows in the probe's restart/);
			assert.match(plain, /message\s+338\s+340 → 338 {2}✗ −2 lost/);
			assert.match(plain, /part\s+1,250\s+1,200 → 1,250 {2}\+50/);
			assert.match(plain, /session\s+12\s+12 → 12 {2}=/);
			assert.match(frame, /\u001B\[31m[^\n]*✗ −2 lost/, 'the drop is red');
			assert.match(plain, /integrity ✓ ok/, 'integrity from the check is kept after the probe\'s count');
			app.unmount();
		} finally {
			chalk.level = previous;
		}
	});

	it('fits 200 columns and writes no colour under NO_COLOR', async () => {
		const previous = chalk.level;
		chalk.level = 1;
		try {
			const app = renderApp({services: fakeServices({inspection}), color: false}, {columns: 200, rows: 50});
			await waitForText(app.lastFrame, 'Fix this first');
			await press(app, '5', KEY.down);
			const frame = await waitForText(app.lastFrame, 'live files untouched');
			assert.doesNotMatch(frame, /\u001B\[(3[0-9]|9[0-7])m/);
			assert.match(strip(frame), /✗ \/var\/lib\/agent\/broken\.db|✓ ok/);
			assert.ok(widest(frame) <= 200);
			assert.ok(lines(frame).length <= 49);
			app.unmount();
		} finally {
			chalk.level = previous;
		}
	});
});
