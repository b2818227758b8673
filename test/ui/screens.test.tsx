/** @jsxRuntime automatic */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import chalk from 'chalk';
import {cleanup} from 'ink-testing-library';
import {runTui} from '../../source/ui/run.js';
import {candidate, FakeStdin, FakeStdout, fakeServices, gate, KEY, press, recordedInspection, renderApp, waitFor, waitForText} from './helpers.js';

after(() => cleanup());

const lines = (frame: string) => frame.split('\n');
const widest = (frame: string) => Math.max(...lines(frame).map(l => [...l.replace(/\u001B\[[0-9;]*m/g, '')].length));

describe('overview', () => {
	it('shows the container, profile, verdict, counts, the top fix as a command, and where the numbers come from', async () => {
		const app = renderApp();
		const frame = await waitForText(app.lastFrame, 'Fix this first');
		assert.match(frame, /opencode-cloud-sandbox/);
		assert.match(frame, /verdict\s+✗ data at risk: 3 errors/);
		assert.match(frame, /✗ 3 errors · ! 4 warnings · 9 locations/);
		// A command after `$ `, advice after `by hand: `: what runs as printed stands apart.
		assert.match(frame, /› copy it into a named volume first: \$ docker run --rm --entrypoint cp -v/);
		assert.match(frame, /› then by hand: recreate \S+ with -v\s+opencode-workspace:\/home\/opencoder\/workspace/);
		assert.match(frame, /predicted from mounts/);
		assert.match(lines(frame).at(-1)!, /tab\/1-9 screens.*q quit/);
		app.unmount();
	});
});

describe('navigation', () => {
	it('switches screens with digits, tab and shift-tab', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '2');
		await waitForText(app.lastFrame, /priority\s+storage/);
		await press(app, KEY.tab);
		await waitForText(app.lastFrame, 'orphaned: on disk');
		await press(app, KEY.tab);
		await waitForText(app.lastFrame, 'Errors (3)');
		await press(app, KEY.tab);
		await waitForText(app.lastFrame, 'Nothing to show: no SQLite database');
		await press(app, KEY.tab, KEY.tab, KEY.tab, KEY.tab, KEY.tab);
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, KEY.shiftTab);
		await waitForText(app.lastFrame, 'Nothing to show: not part of a compose project');
		await press(app, KEY.shiftTab);
		await waitForText(app.lastFrame, 'Nothing to show: no engine service');
		await press(app, KEY.shiftTab, KEY.shiftTab, KEY.shiftTab, KEY.shiftTab);
		await waitForText(app.lastFrame, 'Errors (3)');
		app.unmount();
	});

	it('opens a location with enter (mount, findings, inspect facts) and goes back with esc', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '2', 'j', KEY.enter);
		const frame = await waitForText(app.lastFrame, 'Findings (1)');
		assert.match(frame, /\/home\/opencoder\/workspace · workspace \(repositories\)/);
		assert.match(frame, /storage\s+anonymous-volume/);
		assert.match(frame, /fix: copy it into a named volume first/);
		await press(app, 'G');
		const facts = await waitForText(app.lastFrame, 'docker inspect facts');
		assert.match(facts, /Destination \/home\/opencoder\/workspace/);
		await press(app, KEY.escape);
		await waitForText(app.lastFrame, /priority\s+storage/);
		app.unmount();
	});

	it('opens the location of a finding from the findings screen', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '4', KEY.down, KEY.enter);
		const frame = await waitForText(app.lastFrame, 'docker inspect facts');
		assert.match(frame, /\/home\/opencoder\/\.ssh · SSH keys/);
		app.unmount();
	});

	it('re-inspects with r', async () => {
		const services = fakeServices();
		const app = renderApp({services});
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, 'r');
		await waitFor(app.lastFrame, () => services.checked.length === 2);
		await waitForText(app.lastFrame, 'Fix this first');
		app.unmount();
	});

	it('starts no second look while one runs (r pressed again on a slow link)', async () => {
		const services = fakeServices();
		const slow = gate();
		const check = services.check.bind(services);
		services.check = async ref => {
			if (services.checked.length >= 1) {
				await slow.wait();
			}

			return check(ref);
		};

		const app = renderApp({services});
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, 'r');
		await waitFor(app.lastFrame, () => services.checked.length === 1 || services.checked.length === 2);
		await press(app, 'r', 'r');
		slow.open();
		await waitForText(app.lastFrame, 'Fix this first');
		assert.equal(services.checked.length, 2, 'the first look and one re-inspect, not three');
		app.unmount();
	});
});

describe('matrix', () => {
	it('hides scenarios that do not apply, abbreviates heads at 80 columns and explains them in the legend', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '3');
		const frame = await waitForText(app.lastFrame, 'orphaned: on disk');
		assert.match(frame, /rst\s+stp\s+rec\s+o-up\s+o-rs\s+o-rv\s+boot\s+eng/);
		assert.doesNotMatch(frame, /c-up|c-dv/, 'compose columns hidden for a container without compose');
		assert.match(frame, /\/home\/opencoder\/workspace\s+✓\s+✓\s+◐\s+◐\s+◐\s+◐\s+✓\s+✗/);
		assert.match(frame, /\/home\/opencoder\/\.ssh\s+✓\s+✓\s+✗/);
		assert.match(frame, /rec\s+docker rm -f \+ docker run/);
		assert.ok(widest(frame) <= 80, `no line wider than 80:\n${frame}`);
		app.unmount();
	});

	it('moves between scenarios with ←/→ and spells out the selected cell', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '3');
		await waitForText(app.lastFrame, '› rst: ✓ kept (predicted)');
		await press(app, KEY.down, KEY.right, KEY.right);
		await waitForText(app.lastFrame, '› rec: ◐ orphaned (predicted) — docker rm -f');
		app.unmount();
	});

	it('scrolls horizontally when the columns do not fit', async () => {
		const app = renderApp({}, {columns: 60, rows: 24});
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '3');
		let frame = await waitForText(app.lastFrame, 'orphaned');
		assert.match(frame, /▸/);
		assert.doesNotMatch(frame.split('\n')[3]!, /eng/);
		await press(app, ...Array.from({length: 7}, () => KEY.right));
		frame = await waitForText(app.lastFrame, '› eng:');
		assert.match(frame.split('\n')[3]!, /◂.*eng/);
		assert.ok(widest(frame) <= 60);
		app.unmount();
	});

	it('renders observed cells bold with a ● and a legend line, apart from predicted ones', async () => {
		const inspection = recordedInspection(report => {
			const workspace = report.locations.find(l => l.path === '/home/opencoder/workspace')!;
			workspace.observed = {restart: 'kept', recreate: 'lost'};
		});
		const previous = chalk.level;
		chalk.level = 1;
		try {
			const app = renderApp({services: fakeServices({inspection}), color: true});
			await waitForText(app.lastFrame, 'Fix this first');
			await press(app, '3');
			const frame = await waitForText(app.lastFrame, 'observed by probe on the real engine');
			const plain = frame.replace(/\u001B\[[0-9;]*m/g, '');
			assert.match(plain, /\/home\/opencoder\/workspace\s+●✓\s+✓\s+●◐\s+◐/);
			assert.match(plain, /observed by probe for 1 location/);
			assert.match(frame, /\u001B\[1m[^\n]*●✓/, 'observed cells are bold');
			app.unmount();
		} finally {
			chalk.level = previous;
		}
	});
});

describe('findings', () => {
	it('groups by severity, each with its fix', async () => {
		const app = renderApp({}, {columns: 100, rows: 60});
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '4');
		const frame = await waitForText(app.lastFrame, 'Warnings (4)');
		assert.ok(frame.indexOf('Errors (3)') < frame.indexOf('Warnings (4)'));
		assert.equal(frame.match(/fix: /g)?.length, 7);
		app.unmount();
	});
});

describe('filter', () => {
	it('/ filters rows as you type, enter keeps it, esc clears it', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '2', '/', 'l', 'a', 'y', 'e', 'r');
		let frame = await waitForText(app.lastFrame, '/ layer');
		assert.doesNotMatch(frame, /named-volume/);
		assert.match(frame, /container-layer/);
		await press(app, KEY.enter);
		frame = await waitForText(app.lastFrame, 'filter: layer');
		assert.equal(frame.match(/container-layer/g)?.length, 4);
		await press(app, KEY.escape);
		frame = await waitFor(app.lastFrame, f => f.includes('named-volume') && !f.includes('filter:'));
		app.unmount();
	});

	it('says when nothing matches', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '3', '/', 'z', 'z', 'z');
		await waitForText(app.lastFrame, 'no location matches the filter');
		app.unmount();
	});
});

describe('help overlay', () => {
	it('? opens the keys as a screen that scrolls; other keys leave it open; esc or ? closes it', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '?');
		let frame = await waitForText(app.lastFrame, 'esc/? close');
		for (const key of ['switch screens', 'filter the rows', 're-inspect', 'quit']) {
			assert.ok(frame.includes(key), key);
		}

		assert.doesNotMatch(frame, /1 Overview   2 Locations/, 'the screens list is below the first page at 80×24');
		await press(app, 'x', 'G');
		frame = await waitForText(app.lastFrame, /1 Overview\s+2 Locations\s+3 Matrix\s+4 Findings\s+5 Databases\s+6 Probe\s+7 Backup/);
		assert.match(frame, /Survival: ✓ kept/);
		await press(app, 'g');
		await waitForText(app.lastFrame, 'Everywhere');
		await press(app, KEY.escape);
		await waitForText(app.lastFrame, 'Fix this first');
		await press(app, '?');
		await waitForText(app.lastFrame, 'esc/? close');
		await press(app, '?');
		await waitForText(app.lastFrame, 'Fix this first');
		app.unmount();
	});
});

describe('container picker', () => {
	const candidates = [
		candidate('opencode-cloud-sandbox', {instance: null}),
		candidate('opencode-cloud-sandbox-work', {instance: 'work', state: 'exited'}),
		candidate('agent_app_1', {profile: 'agent-server', image: 'agent:2', compose: {project: 'agent', service: 'app'}}),
	];

	it('lists several candidates with image, profile, state, compose project or instance; enter checks one; esc returns', async () => {
		const services = fakeServices({candidates});
		const app = renderApp({services});
		const frame = await waitForText(app.lastFrame, 'pick one');
		assert.match(frame, /opencode-cloud-sandbox-work\s+occ-test\s+opencode-cloud\s+exited\s+occ instance work/);
		assert.match(frame, /agent_app_1\s+agent:2\s+agent-server\s+running\s+agent\/app/);
		await press(app, KEY.down, KEY.down, KEY.enter);
		await waitForText(app.lastFrame, 'Fix this first');
		assert.deepEqual(services.checked, ['agent_app_1-id']);
		await press(app, KEY.escape);
		await waitForText(app.lastFrame, 'pick one');
		app.unmount();
	});

	it('filters candidates', async () => {
		const app = renderApp({services: fakeServices({candidates})});
		await waitForText(app.lastFrame, 'pick one');
		await press(app, '/', 'a', 'g', 'e', 'n', 't');
		const frame = await waitForText(app.lastFrame, '/ agent');
		assert.doesNotMatch(frame, /opencode-cloud-sandbox-work/);
		app.unmount();
	});
});

describe('errors and exit', () => {
	it('shows a failed check as one line with its fix', async () => {
		const app = renderApp({services: fakeServices({fail: 'no container "x" on unix:///fake.sock: list them with `docker ps -a` and pass --container NAME'})});
		const frame = await waitForText(app.lastFrame, '✗ no container "x"');
		assert.match(frame.split('\n').at(-1)!, /^r retry {2}\? help {2}q quit/, 'what to do next is the legend, from the key table');
		app.unmount();
	});

	for (const [name, services, expected] of [
		['1 when the report has errors', fakeServices(), 1],
		['0 when it has none', fakeServices({inspection: recordedInspection(r => {
			r.findings = [];
		})}), 0],
		['2 when the check failed', fakeServices({fail: 'engine gone'}), 2],
	] as const) {
		it(`q leaves runTui with ${name}, and the terminal leaves the alternate screen`, async () => {
			const stdin = new FakeStdin();
			const stdout = new FakeStdout();
			const done = runTui({services, signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any});
			await waitFor(() => stdout.text, t => t.includes(expected === 2 ? 'engine gone' : 'Fix this first') || t.includes('Nothing to fix'));
			stdin.write('q');
			assert.equal(await done, expected);
			assert.ok(stdout.text.endsWith('\u001B[?1049l'), 'left the alternate screen last');
		});
	}

	it('ctrl+l paints the whole screen again', async () => {
		const stdin = new FakeStdin();
		const stdout = new FakeStdout();
		const done = runTui({services: fakeServices(), signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any});
		await waitFor(() => stdout.text, t => t.includes('Fix this first'));
		await new Promise(resolve => setTimeout(resolve, 100));
		const before = stdout.text.length;
		stdin.write('\u000C');
		const sent = await waitFor(() => stdout.text.slice(before), t => t.includes('Fix this first'));
		assert.ok(sent.startsWith('\u001B[H\u001B[2J'), 'cleared first');
		assert.match(sent, /occ-doctor/, 'the title bar is sent again, though nothing changed');
		stdin.write('q');
		await done;
	});

	it('an aborted signal (SIGTERM) unmounts and returns 130', async () => {
		const controller = new AbortController();
		const stdout = new FakeStdout();
		const done = runTui({services: fakeServices(), signal: controller.signal, stdin: new FakeStdin() as any, stdout: stdout as any});
		await waitFor(() => stdout.text, t => t.includes('Fix this first'));
		controller.abort();
		assert.equal(await done, 130);
	});
});

describe('terminals', () => {
	for (const [columns, rows] of [[80, 24], [200, 50]] as const) {
		it(`fits ${columns}×${rows}: every screen, no line wider, fewer lines than rows`, async () => {
			const app = renderApp({}, {columns, rows});
			await waitForText(app.lastFrame, 'Fix this first');
			for (const key of ['1', '2', '3', '4', '?']) {
				await press(app, key);
				const frame = app.lastFrame()!;
				assert.ok(widest(frame) <= columns, `screen ${key} wider than ${columns}:\n${frame}`);
				assert.ok(lines(frame).length <= rows - 1, `screen ${key} taller than ${rows - 1}`);
				if (key === '?') {
					await press(app, KEY.escape);
				}
			}

			app.unmount();
		});
	}

	it('under NO_COLOR writes no colour codes and the glyphs still carry the meaning', async () => {
		const previous = chalk.level;
		chalk.level = 1;
		try {
			const app = renderApp({color: false});
			await waitForText(app.lastFrame, 'Fix this first');
			await press(app, '3');
			const frame = await waitForText(app.lastFrame, 'orphaned: on disk');
			assert.doesNotMatch(frame, /\u001B\[(3[0-9]|9[0-7])m/, 'no foreground colour codes');
			assert.match(frame, /✓ kept.*◐ orphaned.*✗ lost/);
			const colored = renderApp({color: true});
			await waitForText(colored.lastFrame, 'Fix this first');
			assert.match(colored.lastFrame()!, /\u001B\[31m/, 'with colour on, errors are red');
			colored.unmount();
			app.unmount();
		} finally {
			chalk.level = previous;
		}
	});
});
