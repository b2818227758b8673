/** @jsxRuntime automatic */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import {cleanup} from 'ink-testing-library';
import {fakeRestore, LONG_CONTAINER, RESTORE_ARCHIVES, RESTORE_DIR, SAFETY_DIR} from './fakes.js';
import {KEY, FakeStdin, FakeStdout, press, renderApp, waitFor, waitForText} from './helpers.js';
import {runTui} from '../../source/ui/run.js';
import {initialRestore, restoreExitCode, type RestoreState} from '../../source/ui/hooks/use-restore.js';

after(() => cleanup());

const strip = (frame: string) => frame.replace(/\u001B\[[0-9;]*m/g, '');
const lines = (frame: string) => strip(frame).split('\n');
const widest = (frame: string) => Math.max(...lines(frame).map(l => [...l].length));
/** Text as it reads with the wrapping undone: a long path or command must be there whole. */
const joined = (frame: string) => lines(frame).map(l => l.trimEnd()).join('').replace(/\s+/g, '');
const SIZE = {columns: 80, rows: 24};

function fits(frame: string) {
	assert.ok(widest(frame) <= 80, `a line is wider than 80:\n${frame}`);
	assert.ok(lines(frame).length <= 24, `taller than 24:\n${frame}`);
}

async function toPreview(app: ReturnType<typeof renderApp>) {
	await waitForText(app.lastFrame, 'newest first');
	await press(app, KEY.enter);
	await waitForText(app.lastFrame, '2 of 2 archives selected');
	await press(app, KEY.enter);
	return waitForText(app.lastFrame, 'Type the container\'s name');
}

describe('restore screen', () => {
	it('chooses a backup, toggles archives, previews, refuses a wrong name, restores, verifies, and rolls back on u (80×24, long names)', async () => {
		const restore = fakeRestore();
		const app = renderApp({services: restore.services, launch: {screen: 'restore'}}, SIZE);
		let frame = await waitForText(app.lastFrame, 'newest first');
		fits(frame);
		assert.match(frame, /2026-01-01 00:00 .* 2 .* ✓ verified/);
		assert.ok(joined(frame).includes(RESTORE_DIR.replace(/\s+/g, '')), `the backup's directory is whole:\n${frame}`);

		await press(app, KEY.enter);
		frame = await waitForText(app.lastFrame, '2 of 2 archives selected');
		fits(frame);
		assert.match(frame, /\[x\] opencode-data/);
		await press(app, 'j', ' ');
		frame = await waitForText(app.lastFrame, '1 of 2 archives selected');
		assert.match(frame, /\[ \] opencode-ssh/);
		await press(app, ' ');
		await waitForText(app.lastFrame, '2 of 2 archives selected');
		await press(app, 'j', ' ');
		await waitForText(app.lastFrame, '1 of 2 archives selected');

		// Esc goes back a step: the archives to the backups, and forward again.
		await press(app, KEY.escape);
		await waitForText(app.lastFrame, 'newest first');
		await press(app, KEY.enter);
		await waitForText(app.lastFrame, '2 of 2 archives selected');
		await press(app, 'j', ' ', KEY.enter);
		frame = await waitForText(app.lastFrame, 'Type the container\'s name');
		fits(frame);
		assert.deepEqual(restore.previews.map(p => p.only), [[RESTORE_ARCHIVES[0]!.name]], 'previews only the chosen archive');
		assert.match(frame, /\+3 added {2}~2 changed {2}−5 removed/);
		assert.match(frame, /db \.\/opencode\.db {2}rows 374 → 352 {2}\(session 14→12, message 360→340\)/);
		assert.match(lines(frame).join(' '), /-name-1 is stopped, 1 target replaced \(never merged\)/);

		await press(app, ...'opencode'.split(''), KEY.enter);
		frame = await waitForText(app.lastFrame, 'is not');
		assert.match(lines(frame).map(l => l.trim()).join(' '), new RegExp(`✗ "opencode" is not ${LONG_CONTAINER}: nothing was changed`));
		assert.equal(restore.runs.length, 0, 'a wrong name starts nothing');

		await press(app, ...LONG_CONTAINER.split(''), KEY.enter);
		frame = await waitForText(app.lastFrame, 'restored and verified');
		fits(frame);
		assert.equal(restore.runs.length, 1);
		assert.deepEqual(restore.runs[0]!.only, [RESTORE_ARCHIVES[0]!.name]);
		assert.match(frame, /✓ opencode-data-with-a-long-compose-volume-name restored/);
		assert.match(frame, /✓ \.\/opencode\.db {2}rows 352 → 352/);
		const command = `occ-doctor restore ${SAFETY_DIR} --container ${LONG_CONTAINER} --yes`;
		assert.ok(joined(frame).includes(command.replace(/\s+/g, '')), `the rollback command is whole:\n${frame}`);
		assert.match(frame, /u roll back now/);

		await press(app, 'u');
		frame = await waitForText(app.lastFrame, 'rolled back: the data from before the restore is back');
		fits(frame);
		assert.equal(restore.runs.length, 2);
		assert.equal(restore.runs[1]!.dir, SAFETY_DIR, 'the rollback restores the safety copy');
		assert.deepEqual(restore.runs[1]!.only, []);
		assert.doesNotMatch(frame, /u roll back now/, 'no rollback of the rollback');
		await press(app, 'u');
		assert.equal(restore.runs.length, 2);

		await press(app, KEY.enter);
		await waitForText(app.lastFrame, 'newest first');
		app.unmount();
	});

	it('shows a bar per archive and overall while it runs; esc at the confirmation goes back to the archives', async () => {
		const restore = fakeRestore({hold: true});
		const app = renderApp({services: restore.services, launch: {screen: 'restore'}}, SIZE);
		await toPreview(app);
		await press(app, KEY.escape);
		await waitForText(app.lastFrame, '2 of 2 archives selected');
		await press(app, KEY.enter);
		await waitForText(app.lastFrame, 'Type the container\'s name');
		await press(app, ...LONG_CONTAINER.split(''), KEY.enter);
		const frame = await waitForText(app.lastFrame, 'ctrl+c cancels');
		fits(frame);
		assert.match(frame, /opencode-data-with-a-\S* +█+░+ extracting 28\.6 MiB \/ 57\.2 MiB {2}50%/);
		assert.match(frame, /opencode-ssh +░+ waiting/);
		assert.match(frame, /∑ overall +█+░+ 0 of 2 archives verified/);
		restore.release();
		await waitForText(app.lastFrame, 'restored and verified');
		app.unmount();
	});

	it('ctrl+c while it runs: the service rolls back, and the app leaves with 130 and says so', async () => {
		const restore = fakeRestore({hold: true});
		const app = renderApp({services: restore.services, launch: {screen: 'restore'}}, SIZE);
		await toPreview(app);
		await press(app, ...LONG_CONTAINER.split(''), KEY.enter);
		await waitForText(app.lastFrame, 'ctrl+c cancels');
		app.stdin.write('\u0003');
		await waitFor(app.lastFrame, () => restore.runs[0]!.signal.aborted);
		assert.equal(restore.runs.length, 1, 'ctrl+c starts nothing else');
		app.unmount();
	});

	it('as occ-doctor restore: ctrl+c while it runs waits for the rollback and leaves with 130 and its line on stderr', async () => {
		const restore = fakeRestore({hold: true});
		const stdin = new FakeStdin();
		const stdout = new FakeStdout();
		let stderr = '';
		const done = runTui({services: restore.services, launch: {screen: 'restore'}, signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any, stderr: {write: (s: string) => (stderr += s)} as any});
		await waitFor(() => stdout.text, t => t.includes('newest first'));
		stdin.write('\r');
		await waitFor(() => stdout.text, t => t.includes('archives selected'));
		stdin.write('\r');
		await waitFor(() => stdout.text, t => t.includes('Type the container'));
		stdin.write(LONG_CONTAINER);
		stdin.write('\r');
		await waitFor(() => stdout.text, t => t.includes('ctrl+c cancels'));
		stdin.write('\u0003');
		assert.equal(await done, 130);
		assert.ok(restore.runs[0]!.signal.aborted);
		assert.match(stderr, /occ-doctor: interrupted: the restore was rolled back, the old data is back/);
	});

	it('q after a restore exits as the plain restore: 0 restored, 1 rolled back, 2 refused before anything changed', () => {
		const state = (over: Partial<RestoreState>): RestoreState => ({...initialRestore, ...over});
		const result = (outcome: 'restored' | 'rolled-back') => ({schemaVersion: 1 as const, backup: RESTORE_DIR, container: LONG_CONTAINER, archives: [], safetyCopy: null, rollbackCommand: null, outcome, error: null});
		assert.equal(restoreExitCode(state({phase: 'done', result: result('restored')})), 0);
		assert.equal(restoreExitCode(state({phase: 'done', result: result('rolled-back')})), 1);
		assert.equal(restoreExitCode(state({phase: 'failed', error: 'damaged'})), 2);
		assert.equal(restoreExitCode(state({phase: 'failed', error: 'x', progress: {a: {phase: 'extracting', bytes: 1, total: 2, samples: [], verified: null, error: null}}})), 1);
		assert.equal(restoreExitCode(state({phase: 'backups'})), 0);
	});
});
