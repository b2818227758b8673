/** @jsxRuntime automatic */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import {cleanup} from 'ink-testing-library';
import {APP_BINDINGS} from '../../source/ui/keys/bindings.js';
import type {Binding} from '../../source/ui/keys/table.js';
import {locationsScreen} from '../../source/ui/screens/locations.js';
import {fakeBackup} from './fakes.js';
import {KEY, press, recordedInspection, renderApp, waitFor, waitForText} from './helpers.js';

after(() => cleanup());

const rows = locationsScreen.rows!({inspection: recordedInspection(), engineLabel: ''}, '');
/** The details view opened on row `index`: its first line is the location's whole path and label. */
const detailsOf = (index: number) => (frame: string) => frame.split('\n').some(l => l.startsWith(`${rows[index]!.path} · ${rows[index]!.label}`));

describe('keys typed together', () => {
	it('jjj in one read moves three rows', async () => {
		const app = renderApp({launch: {screen: 'locations'}});
		await waitForText(app.lastFrame, /priority\s+storage/);
		app.stdin.write('jjj');
		app.stdin.write(KEY.enter);
		await waitFor(app.lastFrame, detailsOf(3));
		app.unmount();
	});

	it('each key lands on the state the one before made: 2, j, j, enter in one read', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		app.stdin.write('2jj\r');
		await waitFor(app.lastFrame, detailsOf(2));
		app.unmount();
	});

	it('a 200-character paste lands whole in the directory field; 80 backspaces in one read erase 80 characters; ctrl+u and ctrl+w erase', async () => {
		const backup = fakeBackup();
		const app = renderApp({services: backup.services, launch: {screen: 'backup'}});
		await waitForText(app.lastFrame, 'locations selected');
		await press(app, 'o');
		await waitForText(app.lastFrame, '⏎ keep · esc cancel');
		app.stdin.write('\u0015');
		const pasted = `/srv/${'deep-directory-'.repeat(12)}end`.padEnd(200, 'x');
		assert.equal(pasted.length, 200);
		app.stdin.write(pasted);
		// While typing, the end of the value is what shows.
		let frame = await waitForText(app.lastFrame, pasted.slice(-30));
		assert.ok(frame.split('\n').every(l => [...l].length <= 80), frame);
		app.stdin.write('\u007F'.repeat(80));
		frame = await waitForText(app.lastFrame, pasted.slice(-110, -80));
		app.stdin.write('/more\u0017\u0017zz');
		app.stdin.write(KEY.enter);
		await waitForText(app.lastFrame, 'o change');
		await press(app, KEY.enter, 'y');
		await waitForText(app.lastFrame, 'backup verified');
		assert.equal(backup.runs[0]?.out, `${pasted.slice(0, 120).replace(/[^/]*$/, '')}zz`);
		app.unmount();
	});
});

describe('the key table', () => {
	it('a binding added to the table works and shows in the footer and in the help', async () => {
		let played = 0;
		const xylophone: Binding = {scope: 'global', keys: ['x'], label: 'x', legend: 'xylophone', description: 'play the xylophone (a binding added by this test)', run: () => played++};
		const app = renderApp({bindings: [xylophone, ...APP_BINDINGS]});
		const frame = await waitForText(app.lastFrame, 'Fix this first');
		assert.match(frame.split('\n').at(-1)!, /x xylophone/);
		await press(app, 'x');
		await waitFor(app.lastFrame, () => played === 1);
		await press(app, '?');
		await waitForText(app.lastFrame, /x\s+play the xylophone \(a binding added by this test\)/);
		app.unmount();
	});
});
