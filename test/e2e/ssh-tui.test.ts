// The screens over SSH in a real 80×24 terminal (tmux): occ-doctor on the far side of `ssh -t`, and occ-doctor here
// with an ssh:// engine whose link is cut and comes back on `r`. The sshd is real, on loopback, with its own keys.
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {startSshd, type SshBox} from '../helpers/sshd.js';
import {openTerminal, screen, screenWithAttributes, tmuxSandbox, type, waitForScreen} from './tmux.js';

/** The row the cursor is on: the one line of the pane drawn in inverse video. */
function cursorRow(session: string): string {
	const raw = screenWithAttributes(session);
	const line = raw.split('\n').find(l => l.includes('\u001B[7m') && l.includes('/'));
	return (line ?? '').replace(/\u001B\[[0-9;]*m/g, '').trim().split(/\s+/)[0] ?? '';
}

describe('the TUI over SSH in tmux at 80×24', () => {
	const sandbox = tmuxSandbox('sshtui');
	let box: SshBox | undefined;

	before(async () => {
		if (sandbox.docker) {
			box = await startSshd(process.env.DOCKER_HOST!);
		}
	});

	after(async () => {
		await box?.stop();
	});

	it('ssh -t host occ-doctor: reach the Matrix by keys, jjj moves three rows, q quits', async t => {
		const {docker, name, cli} = sandbox;
		if (!docker || !box) {
			return t.skip('no engine');
		}

		const {session} = openTerminal(80, 24, 'sshtui');
		// The far side runs the built CLI with the engine sshd's SetEnv gives it; CI=true there too (live frames anyway).
		const remote = `cd ${process.cwd()} && CI=true ${process.execPath} ${cli} --container ${name}; echo EXIT=\\$?`;
		type(session, `PATH=${box.binDir}:$PATH SSH_AUTH_SOCK= ssh -t box "${remote}"`, true);
		await waitForScreen(session, s => s.includes('Fix this first'));
		type(session, '3');
		await waitForScreen(session, s => s.includes('orphaned: on disk'));
		const rows = screen(session).split('\n').filter(l => /^\s*\/\S+\s+[✓◐✗]/.test(l)).map(l => l.trim().split(/\s+/)[0]!);
		assert.ok(rows.length >= 4, `at least four rows on the Matrix:\n${screen(session)}`);
		const first = cursorRow(session);
		assert.equal(first, rows[0], 'the cursor starts on the first row');
		type(session, 'jjj');
		// Only three j were sent: reaching the fourth row means none was dropped, and it cannot go further.
		await waitForScreen(session, () => cursorRow(session) === rows[3]);
		type(session, 'q');
		const text = await waitForScreen(session, s => /EXIT=\d+/.test(s));
		assert.match(text, /EXIT=1/);
		assert.ok(box.logins() >= 1);
	});

	it('occ-doctor --host ssh://box: a cut link comes back on r, with one more login', async t => {
		const {docker, name, cli} = sandbox;
		if (!docker || !box) {
			return t.skip('no engine');
		}

		const {session} = openTerminal(80, 24, 'cut');
		const logins = box.logins();
		type(session, `PATH=${box.binDir}:$PATH SSH_AUTH_SOCK= CI=true node ${cli} --host ssh://box --container ${name}; echo "EXIT=$?"`, true);
		let text = await waitForScreen(session, s => s.includes('Fix this first'));
		assert.equal(box.logins() - logins, 1);
		assert.ok(box.cutLinks() > 0, 'cut the SSH connection');
		type(session, 'r');
		// A look that raced the drop shows it (the TUI's visible state); r again logs in anew.
		text = await waitForScreen(session, s => /SSH link to box dropped/.test(s) || box!.logins() - logins === 2, 30_000);
		if (box.logins() - logins < 2) {
			assert.match(text, /r retry/);
			type(session, 'r');
			await waitForScreen(session, () => box!.logins() - logins === 2, 30_000);
		}

		text = await waitForScreen(session, s => s.includes('Fix this first') && !/dropped|failed/.test(s));
		type(session, 'q');
		text = await waitForScreen(session, s => /EXIT=\d+/.test(s));
		assert.match(text, /EXIT=1/);
	});
});
