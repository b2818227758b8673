// The plain-mode [y/N] confirmation, in a real terminal (tmux): `probe --plain` with a terminal on stdin and stdout
// asks before the restart (a terminal without --plain opens the TUI's Probe screen instead).
import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {LABELS, cleanup, engineOrSkip, image, uniqueName} from '../helpers/engine.js';
import {closeTerminals, envPrefix, key, openTerminal, type, waitForScreen} from '../e2e/tmux.js';

const stateHome = mkdtempSync(join(tmpdir(), 'occt-state-'));

after(() => {
	closeTerminals();
	rmSync(stateHome, {recursive: true, force: true});
});

describe('probe --plain in a terminal', {timeout: 180_000}, () => {
	it('shows the plan and asks [y/N]: n restarts nothing and exits 2, Ctrl+C exits 130, y runs the probe', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('named');
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const tag = await image(docker, {});
			const name = uniqueName('tty');
			const container = await docker.createContainer({name, Image: tag, Labels: LABELS, HostConfig: {NetworkMode: 'none', Binds: [`${volume}:/named`]}});
			await container.start();
			const before = await container.inspect();

			const {session} = openTerminal(200, 50);
			const command = (marker: string) => `${envPrefix()}XDG_STATE_HOME='${stateHome}' node --import tsx cli.tsx probe --plain --container ${name}; echo "${marker}=$?"`;
			type(session, command('FIRST'), true);
			let text = await waitForScreen(session, s => s.includes('Continue? [y/N]'), 60_000);
			assert.match(text, new RegExp(`occ-doctor probe will, on ${name}:`));
			assert.match(text, /- write 1 sentinel file named \.occ-doctor-probe-[0-9a-f]+ \(\/named\)/);
			assert.match(text, new RegExp(`- restart ${name} \\(docker restart, stop timeout 10 s\\)`));
			type(session, 'n', true);
			text = await waitForScreen(session, s => /FIRST=\d+/.test(s), 30_000);
			assert.match(text, /FIRST=2/);
			assert.match(text, new RegExp(`occ-doctor: probe cancelled: nothing was written and ${name} was not restarted`));
			const afterNo = await container.inspect();
			assert.equal(afterNo.State.StartedAt, before.State.StartedAt, 'n: not restarted');
			assert.equal(afterNo.RestartCount, before.RestartCount);

			// Ctrl+C at the prompt (a key there: the terminal is raw) is an interrupt, as anywhere else: exit 130.
			type(session, command('CTRLC'), true);
			await waitForScreen(session, s => (s.match(/Continue\? \[y\/N\]/g) ?? []).length === 2, 60_000);
			key(session, 'C-c');
			text = await waitForScreen(session, s => /CTRLC=\d+/.test(s), 30_000);
			assert.match(text, /CTRLC=130/);
			assert.match(text, /occ-doctor: interrupted by Ctrl\+C at the prompt: nothing was changed/);
			assert.equal((await container.inspect()).State.StartedAt, before.State.StartedAt, 'Ctrl+C: not restarted');

			type(session, command('SECOND'), true);
			await waitForScreen(session, s => (s.match(/Continue\? \[y\/N\]/g) ?? []).length === 3, 60_000);
			type(session, 'y', true);
			text = await waitForScreen(session, s => /SECOND=\d+/.test(s), 90_000);
			assert.match(text, /SECOND=[01]\b/);
			assert.match(text, /probe: restarting \(stop timeout 10 s\)/);
			assert.match(text, /\/named\s+named-volume\s+✓ kept \(predicted kept\)\s+✓ kept \(predicted kept\)/);
			const afterYes = await container.inspect();
			assert.notEqual(afterYes.State.StartedAt, before.State.StartedAt, 'y: restarted');
			assert.equal(afterYes.State.Running, true);
			assert.equal(afterYes.RestartCount, before.RestartCount, 'restarted by us, not by a restart policy');
			const journals = join(stateHome, 'occ-doctor', 'probe');
			assert.deepEqual(existsSync(journals) ? readdirSync(journals) : [], [], 'both runs ended clean: no journal kept');
		} finally {
			await cleanup(docker, [volume]);
		}
	});
});
