import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {describe, it} from 'node:test';
import {SCREENS} from '../../source/ui/screens/index.js';
import {envPrefix, key, openTerminal, screen, screenWithAttributes, tmuxSandbox, type, waitForScreen} from './tmux.js';

/** The number of the tab drawn in inverse on the tab line (the second line), or null. */
function activeTab(session: string): number | null {
	const tabs = screenWithAttributes(session).split('\n')[1] ?? '';
	// An SGR with 7 (inverse), maybe more SGRs after it (tmux adds a colour reset), then " N ".
	const match = /\u001B\[(?:\d+;)*7(?:;\d+)*m(?:\u001B\[[\d;]*m)* ?(\d) /.exec(tabs);
	return match ? Number(match[1]) : null;
}

async function waitForTab(session: string, number: number): Promise<string> {
	const text = await waitForScreen(session, () => activeTab(session) === number, 15_000).catch(error => {
		throw new Error(`screen ${number} never became the active tab; the tab line: ${JSON.stringify(screenWithAttributes(session).split('\n')[1])}\n${(error as Error).message}`);
	});
	assert.ok(text.split('\n').every(l => [...l].length <= 80), `screen ${number} fits 80 columns:\n${text}`);
	assert.equal(text.split('\n').filter(l => /^occ-doctor · /.test(l)).length, 1, `one frame on screen ${number}:\n${text}`);
	return text;
}

// The built CLI in a real 80×24 terminal (tmux) against a real opencode-cloud-like container:
// opencode-data on a named volume, the workspace on the image's anonymous VOLUME, the rest in the container layer.
describe('the TUI in tmux at 80×24', () => {
	const sandbox = tmuxSandbox('tui');

	it('opens on the overview, moves to the matrix, shows the cells, and quits with q (exit 1, shell back)', async t => {
		const {docker, name, cli} = sandbox;
		if (!docker) {
			return t.skip('no engine');
		}

		const {session} = openTerminal(80, 24);
		type(session, `${envPrefix()}node ${cli} --container ${name}; echo "EXIT=$?"`, true);
		let text = await waitForScreen(session, s => s.includes('Fix this first'));
		assert.match(text.split('\n')[0]!, /^occ-doctor · occt-tui-.* ✗ \d+ errors?/);
		assert.match(text, /› copy it into a named volume first: \$ docker run/);
		assert.match(text, /› then by hand: recreate \S+ with -v\s+opencode-workspace:\/home\/opencoder\/workspace/);

		type(session, '3');
		text = await waitForScreen(session, s => s.includes('orphaned: on disk'));
		const lines = text.split('\n');
		assert.match(lines[0]!, /^occ-doctor/, `title stays on the first line:\n${text}`);
		assert.match(lines[3]!, /rst\s+stp\s+rec\s+o-up/);
		assert.match(text, /\/home\/opencoder\/\.local\/share\/opencode\s+✓\s+✓\s+✓/, 'named volume kept by a recreate');
		assert.match(text, /\/home\/opencoder\/workspace\s+✓\s+✓\s+◐/, 'anonymous volume orphaned by a recreate');
		assert.match(text, /\/home\/opencoder\/\.ssh\s+✓\s+✓\s+✗/, 'container layer lost by a recreate');
		// The legend wraps at 80 columns: its last lines, help and quit at the very end.
		assert.match(lines.filter(l => l.trim()).slice(-2).join(' '), /tab\/1-\d screens.*q quit$/, `the key legend is at the bottom:\n${text}`);
		assert.ok(lines.every(l => [...l].length <= 80));
		assert.equal(lines.filter(l => /^occ-doctor · /.test(l)).length, 1, `one frame, no leftovers:\n${text}`);

		type(session, 'q');
		text = await waitForScreen(session, s => /EXIT=\d+/.test(s));
		assert.match(text, /EXIT=1/);
		assert.doesNotMatch(screen(session), /orphaned: on disk/, 'the alternate screen is gone');
	});

	it('walks every screen by number and by tab, opens and scrolls the help, and leaves with q', async t => {
		const {docker, name, cli} = sandbox;
		if (!docker) {
			return t.skip('no engine');
		}

		const {session} = openTerminal(80, 24, 'walk');
		type(session, `${envPrefix()}node ${cli} --container ${name}; echo "EXIT=$?"`, true);
		await waitForScreen(session, s => s.includes('Fix this first'));
		for (const s of SCREENS) {
			type(session, String(s.number));
			await waitForTab(session, s.number);
		}

		// By tab from the last one: round to the first and on through all of them, then back with shift+tab.
		for (const s of [...SCREENS, SCREENS[0]!]) {
			key(session, 'Tab');
			await waitForTab(session, s.number);
		}

		key(session, 'BTab');
		await waitForTab(session, SCREENS.at(-1)!.number);
		key(session, 'BTab');
		await waitForTab(session, SCREENS.at(-2)!.number);

		type(session, '?');
		let text = await waitForScreen(session, s => /Help {2}lines 1–\d+ of \d+/.test(s));
		assert.match(text, /Everywhere/);
		type(session, 'jjj');
		text = await waitForScreen(session, s => /Help {2}lines 4–\d+ of \d+/.test(s));
		type(session, 'G');
		text = await waitForScreen(session, s => /Help {2}lines \d+–(\d+) of \1\b/.test(s));
		assert.match(text, /Survival: ✓ kept/);
		key(session, 'Escape');
		await waitForTab(session, SCREENS.at(-2)!.number);

		type(session, 'q');
		text = await waitForScreen(session, s => /EXIT=\d+/.test(s));
		assert.match(text, /EXIT=1/);
	});

	it('piped (stdout not a TTY) prints the plain report with no escape codes and exits 1', t => {
		const {docker, name, cli} = sandbox;
		if (!docker) {
			return t.skip('no engine');
		}

		for (const args of [['--container', name], ['tui', '--container', name]]) {
			const result = spawnSync('sh', ['-c', `node ${cli} ${args.join(' ')} | cat`], {encoding: 'utf8', env: process.env});
			assert.ok(!result.stdout.includes('\u001B'), `no ESC bytes for ${args.join(' ')}`);
			assert.match(result.stdout, /^occ-doctor check · occt-tui-/);
			assert.match(result.stdout, /What survives what/);
			assert.doesNotMatch(result.stdout, /Fix this first|tab\/1-4/);
		}

		const direct = spawnSync(process.execPath, [cli, '--container', name], {encoding: 'utf8', env: process.env, stdio: ['ignore', 'pipe', 'pipe']});
		assert.equal(direct.status, 1);
		assert.ok(!direct.stdout.includes('\u001B'));
	});
});
