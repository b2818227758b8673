import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {envPrefix, openTerminal, tmuxSandbox, type, waitForScreen} from './tmux.js';

// `occ-doctor probe` in a real 80×24 terminal against a real container: the Probe screen asks, runs, and the
// Matrix then shows observed cells. The container must end as it started (running), with nothing of ours left.
describe('the Probe screen in tmux at 80×24', () => {
	const sandbox = tmuxSandbox('tuiprobe');

	it('asks with the plan, probes, shows observed cells on the Matrix, and quits with q; the container is as it was', async t => {
		const {docker, name, cli} = sandbox;
		if (!docker) {
			return t.skip('no engine');
		}

		const container = docker.getContainer(name);
		const before = await container.inspect();
		assert.equal(before.State.Status, 'running');

		const {session} = openTerminal(80, 24);
		type(session, `${envPrefix()}node ${cli} probe --container ${name}; echo "EXIT=$?"`, true);
		let text = await waitForScreen(session, s => s.includes('This RESTARTS'), 60_000);
		assert.match(text, new RegExp(`Plan for ${name} \\(run [0-9a-f]+\\) · nothing has changed yet`));
		assert.match(text, /y or ⏎ start · n or esc cancel/);
		assert.equal((await container.inspect()).State.StartedAt, before.State.StartedAt, 'not restarted before the answer');

		type(session, 'y');
		text = await waitForScreen(session, s => s.includes('probe done'), 120_000);
		let lines = text.split('\n');
		assert.match(lines[0]!, /^occ-doctor · occt-tuiprobe-/, `title on the first line:\n${text}`);
		assert.match(text, /\/home\/opencoder\/\.local\/share\/opencode\s+●✓ kept \(pred ✓\)\s+●✓ kept \(pred ✓\)/);
		assert.match(text, /\/home\/opencoder\/workspace\s+●✓ kept \(pred ✓\)\s+●◐ orphan \(pred ◐\)/);
		assert.ok(lines.every(l => [...l].length <= 80));

		type(session, '3');
		text = await waitForScreen(session, s => s.includes('orphaned: on disk'));
		lines = text.split('\n');
		assert.match(text, /observed by probe for \d+ locations/);
		assert.match(text, /\/home\/opencoder\/\.local\/share\/opencode\s+●✓\s+✓\s+●✓/, 'named volume: observed kept on restart and recreate');
		assert.match(text, /\/home\/opencoder\/workspace\s+●✓\s+✓\s+●◐/, 'anonymous volume: not in the recreate twin, orphaned as predicted');
		assert.equal(lines.filter(l => /^occ-doctor/.test(l)).length, 1, `one frame, no leftovers:\n${text}`);

		type(session, 'q');
		text = await waitForScreen(session, s => /EXIT=\d+/.test(s));
		assert.match(text, /EXIT=1/, 'the report has errors (the workspace on an anonymous volume)');

		const now = await container.inspect();
		assert.equal(now.State.Status, 'running', 'running again, as before');
		const twins = await docker.listContainers({all: true, filters: {label: ['dev.occ-doctor.role']}});
		assert.deepEqual(twins.map(c => c.Names), [], 'no twin or helper left');
		const exec = await container.exec({Cmd: ['sh', '-c', 'ls -a /home/opencoder/.local/share/opencode /home/opencoder/workspace / /home/opencoder'], AttachStdout: true, AttachStderr: true});
		const stream = await exec.start({});
		const listing = await new Promise<string>(resolve => {
			let out = '';
			stream.on('data', (chunk: Buffer) => (out += chunk.toString('latin1')));
			stream.on('end', () => resolve(out));
		});
		assert.doesNotMatch(listing, /\.occ-doctor-probe-/, 'no sentinel left');
	});
});
