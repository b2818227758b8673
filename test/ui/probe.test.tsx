/** @jsxRuntime automatic */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import chalk from 'chalk';
import {cleanup} from 'ink-testing-library';
import {runTui} from '../../source/ui/run.js';
import {fakeProbe} from './fakes.js';
import {FakeStdin, FakeStdout, KEY, press, renderApp, waitFor, waitForText} from './helpers.js';

after(() => cleanup());

const CTRL_C = '\u0003';
const lines = (frame: string) => frame.split('\n');
const widest = (frame: string) => Math.max(...lines(frame).map(l => [...l.replace(/\u001B\[[0-9;]*m/g, '')].length));
const wrote = (probe: ReturnType<typeof fakeProbe>) => probe.emitted.some(e => e.type === 'step' && e.step === 'writing');

describe('probe screen', () => {
	it('keeps its number 6 without a probe service and says why, and explains itself before anything runs', async () => {
		const without = renderApp();
		await waitForText(without.lastFrame, 'Fix this first');
		assert.match(without.lastFrame()!, /6 Probe/);
		await press(without, '6');
		await waitForText(without.lastFrame, 'Nothing to show: no engine service');
		without.unmount();

		const probe = fakeProbe();
		const app = renderApp({services: probe.services});
		await waitForText(app.lastFrame, 'Fix this first');
		assert.match(app.lastFrame()!, /6 Probe/);
		await press(app, '6');
		const frame = await waitForText(app.lastFrame, 'prepare the probe');
		assert.match(frame, /observed: sentinels read back after a real restart/, 'says where its numbers come from');
		assert.equal(probe.runs.length, 0, 'nothing started by opening the screen');
		app.unmount();
	});

	it('shows the plan and asks before the restart; n cancels with nothing written', async () => {
		const probe = fakeProbe();
		const app = renderApp({services: probe.services});
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '6', KEY.enter);
		const frame = await waitForText(app.lastFrame, 'This RESTARTS');
		assert.match(frame, /Plan for opencode-cloud-sandbox \(run r1\) · nothing has changed yet/);
		assert.match(frame, /• restart opencode-cloud-sandbox \(docker restart, stop timeout 10 s\)/);
		assert.match(frame, /y or ⏎ start · n or esc cancel/);
		assert.match(lines(frame).at(-1)!, /^y\/⏎ start {2}n\/esc cancel/);
		assert.ok(!wrote(probe), 'no sentinel written before the answer');
		await press(app, 'n');
		const cancelled = await waitForText(app.lastFrame, 'probe cancelled');
		assert.match(cancelled, /– probe cancelled: nothing was written and opencode-cloud-sandbox was not\s+restarted/);
		assert.ok(!wrote(probe));
		app.unmount();
	});

	it('esc cancels the confirmation too', async () => {
		const probe = fakeProbe();
		const app = renderApp({services: probe.services, launch: {screen: 'probe', probe: {autoStart: true}}});
		await waitForText(app.lastFrame, 'This RESTARTS');
		await press(app, KEY.escape);
		await waitForText(app.lastFrame, 'probe cancelled');
		assert.ok(!wrote(probe));
		app.unmount();
	});

	it('y starts it: live steps with a spinner and each sentinel as it is written, then the observations', async () => {
		const probe = fakeProbe({hold: true});
		const app = renderApp({services: probe.services, launch: {screen: 'probe', probe: {autoStart: true}}});
		await waitForText(app.lastFrame, 'This RESTARTS');
		await press(app, 'y');
		let frame = await waitForText(app.lastFrame, 'restart the container (stop timeout 10 s)…');
		assert.match(frame, / ✓ check the container and plan/);
		assert.match(frame, / ✓ write a sentinel into each location/);
		assert.match(frame, / [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] restart the container/, 'a spinner on the current step');
		assert.match(frame, / · read the sentinels back/);
		assert.match(frame, /\/home\/opencoder\/workspace\s+✓ written/);
		assert.match(lines(frame).at(-1)!, /ctrl\+c cancel/);
		probe.release();
		frame = await waitForText(app.lastFrame, 'probe done');
		assert.match(frame, /✗ probe done: 9 of 9 locations observed · 2 problems/);
		assert.match(frame, /✗ \/home\/opencoder\/\.ssh\s+●✓ kept \(pred ✓\)\s+●✓ kept \(pred ✗\) ✗/, 'the mismatch marked');
		assert.match(frame, /\/home\/opencoder\/workspace\s+●✓ kept \(pred ✓\)\s+●◐ orphan \(pred ◐\)/);
		assert.match(frame, /✗ rows lost in 1 table/);
		assert.ok(widest(frame) <= 80);
		app.unmount();
	});

	it('--yes skips the confirmation', async () => {
		const probe = fakeProbe();
		const app = renderApp({services: probe.services, launch: {screen: 'probe', probe: {autoStart: true, yes: true}}});
		await waitForText(app.lastFrame, 'probe done');
		assert.ok(!probe.emitted.some(e => e.type === 'plan' && false));
		assert.doesNotMatch(app.lastFrame()!, /RESTARTS/);
		app.unmount();
	});

	it('merges the observations: the matrix shows observed cells, Findings the mismatch and the lost rows', async () => {
		const probe = fakeProbe();
		const app = renderApp({services: probe.services, launch: {screen: 'probe', probe: {autoStart: true, yes: true}}}, {columns: 100, rows: 60});
		await waitForText(app.lastFrame, 'probe done');
		await press(app, '3');
		let frame = await waitForText(app.lastFrame, 'observed by probe for 9 locations');
		assert.match(frame, /\/home\/opencoder\/workspace\s+●✓\s+✓\s+●◐\s+◐/, 'observed restart and recreate cells');
		assert.match(frame, /\/home\/opencoder\/\.ssh\s+●✓\s+✓\s+●✓/, 'the observation wins over the prediction');
		await press(app, '4');
		frame = await waitForText(app.lastFrame, 'Errors (');
		assert.match(frame, /predicted lost on recreate, observed kept/);
		assert.match(frame, /table message dropped from 340 to 338 rows/);
		app.unmount();
	});

	it('Ctrl+C during the probe cancels it, says what was cleaned up, and leaves with 130 and a line in the shell', async () => {
		const probe = fakeProbe({hold: true});
		const stdin = new FakeStdin();
		const stdout = new FakeStdout();
		let stderr = '';
		const done = runTui({services: probe.services, launch: {screen: 'probe', probe: {autoStart: true, yes: true}}, signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any, stderr: {write: (s: string) => (stderr += s)} as any});
		await waitFor(() => stdout.text, t => t.includes('restart the container (stop timeout 10 s)…'));
		stdin.write(CTRL_C);
		assert.equal(await done, 130);
		assert.ok(probe.runs[0]!.signal.aborted, 'the service was aborted');
		assert.ok(probe.emitted.some(e => e.type === 'sentinel' && e.action === 'removed'), 'it cleaned up before the app left');
		assert.match(stdout.text, /probe interrupted/);
		assert.match(stdout.text, /✓ 8 sentinels removed/);
		assert.match(stdout.text, /opencode-cloud-sandbox is running, as it was before/);
		assert.ok(stdout.text.endsWith('\u001B[?1049l'));
		assert.match(stderr, /^occ-doctor: probe interrupted; cleaned up: ✓ 8 sentinels removed · ✓ opencode-cloud-sandbox is running, as it was before\n$/);
	});

	it('a signal from outside (SIGTERM) cancels a running probe the same way', async () => {
		const probe = fakeProbe({hold: true});
		const controller = new AbortController();
		const stdout = new FakeStdout();
		const done = runTui({services: probe.services, launch: {screen: 'probe', probe: {autoStart: true, yes: true}}, signal: controller.signal, stdin: new FakeStdin() as any, stdout: stdout as any, stderr: {write: () => true} as any});
		await waitFor(() => stdout.text, t => t.includes('✓ written'));
		controller.abort();
		assert.equal(await done, 130);
		assert.ok(probe.emitted.some(e => e.type === 'sentinel' && e.action === 'removed'));
	});

	for (const [columns, rows] of [[80, 24], [200, 50]] as const) {
		it(`fits ${columns}×${rows} in every phase`, async () => {
			const probe = fakeProbe({hold: true});
			const app = renderApp({services: probe.services, launch: {screen: 'probe'}}, {columns, rows});
			const check = (frame: string, what: string) => {
				assert.ok(widest(frame) <= columns, `${what} wider than ${columns}:\n${frame}`);
				assert.ok(lines(frame).length <= rows - 1, `${what} taller than ${rows - 1}`);
			};

			check(await waitForText(app.lastFrame, 'prepare the probe'), 'idle');
			await press(app, KEY.enter);
			check(await waitForText(app.lastFrame, 'This RESTARTS'), 'confirm');
			await press(app, 'y');
			check(await waitForText(app.lastFrame, '✓ written'), 'running');
			probe.release();
			check(await waitForText(app.lastFrame, 'probe done'), 'done');
			app.unmount();
		});
	}

	it('under NO_COLOR the marks carry the meaning; with colour a mismatch is red', async () => {
		const previous = chalk.level;
		chalk.level = 1;
		try {
			const plain = renderApp({services: fakeProbe().services, launch: {screen: 'probe', probe: {autoStart: true, yes: true}}, color: false});
			const frame = await waitForText(plain.lastFrame, 'probe done');
			assert.doesNotMatch(frame, /\u001B\[(3[0-9]|9[0-7])m/);
			assert.match(frame.replace(/\u001B\[[0-9;]*m/g, ''), /✗ \/home\/opencoder\/\.ssh/);
			plain.unmount();
			const colored = renderApp({services: fakeProbe().services, launch: {screen: 'probe', probe: {autoStart: true, yes: true}}, color: true});
			const c = await waitForText(colored.lastFrame, 'probe done');
			assert.match(c, /\u001B\[31m[^\n]*●✓ kept \(pred ✗\) ✗/);
			colored.unmount();
		} finally {
			chalk.level = previous;
		}
	});
});

describe('probe screen, leaving early', () => {
	it('q on the confirmation cancels without touching anything and says so', async () => {
		const probe = fakeProbe();
		const stdin = new FakeStdin();
		const stdout = new FakeStdout();
		let stderr = '';
		const done = runTui({services: probe.services, launch: {screen: 'probe', probe: {autoStart: true}}, signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any, stderr: {write: (s: string) => (stderr += s)} as any});
		await waitFor(() => stdout.text, t => t.includes('This RESTARTS'));
		stdin.write('q');
		assert.equal(await done, 130);
		assert.ok(!wrote(probe));
		assert.match(stderr, /^occ-doctor: probe cancelled: nothing was written and the container was not restarted\n$/);
	});
});
