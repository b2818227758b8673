import assert from 'node:assert/strict';
import {mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {after, describe, it} from 'node:test';
import type Docker from 'dockerode';
import {DEMO_LABEL} from '../../source/demo/setup.js';
import {docker as dockerCli} from '../helpers/docker-cli.js';
import {engineOrSkip} from '../helpers/engine.js';
import {buildCli, closeTerminals, envPrefix, key, openTerminal, tmuxSandbox, type, waitForScreen} from './tmux.js';

const DATA = '/home/opencoder/.local/share/opencode';
const MARK = `${DATA}/written-after-the-backup.txt`;
const exists = async (container: string, path: string) => (await dockerCli('exec', container, '/bin/busybox', 'sh', '-c', `test -e ${path} && echo yes || echo no`)) === 'yes';
/** The pane's text with the wrapping undone, to find a name the screen wrapped. */
const flat = (text: string) => text.replace(/\n/g, '');

describe('Restore screen in tmux at 80×24', () => {
	const work = mkdtempSync(join(tmpdir(), 'occ-tui-restore-'));
	after(() => {
		closeTerminals();
		rmSync(work, {recursive: true, force: true});
	});

	it('backs up the demo sandbox on screen 7, then restores it on screen 8 by keys, and rolls back with u', async t => {
		const engine = await engineOrSkip(t as any);
		if (!engine) {
			return;
		}

		const cli = resolve(buildCli());
		const {session} = openTerminal(80, 24, 'restore');
		type(session, `cd ${work} && ${envPrefix()}node ${cli} demo; echo "EXIT=$?"`, true);
		await waitForScreen(session, s => s.includes('Fix this first'), 120_000);
		const [sandbox] = await engine.docker.listContainers({filters: {label: [DEMO_LABEL]}}).then(list => list.filter(c => c.Names.some(n => n.includes('occ-doctor-demo-sandbox-'))));
		assert.ok(sandbox, 'the demo started its sandbox');
		const name = sandbox.Names[0]!.replace(/^\//, '');

		// Back up (critical and high are preselected), then change the data after the backup.
		type(session, '7');
		await waitForScreen(session, s => s.includes('locations selected'), 60_000);
		key(session, 'Enter');
		await waitForScreen(session, s => s.includes('y or ⏎ start'));
		type(session, 'y');
		await waitForScreen(session, s => /✓ backup verified/.test(s), 120_000);
		assert.equal(readdirSync(work).filter(n => n.startsWith('occ-doctor-backup-')).length, 1, 'the backup is in the current directory');
		await dockerCli('exec', name, '/bin/busybox', 'sh', '-c', `echo after > ${MARK}`);

		// Restore: the backup, its archives, the preview, the name typed, progress, verification.
		type(session, '8');
		await waitForScreen(session, s => s.includes('newest first'), 30_000);
		key(session, 'Enter');
		await waitForScreen(session, s => /\d+ of \d+ archives? selected/.test(s));
		key(session, 'Enter');
		let text = await waitForScreen(session, s => s.includes('Type the container\'s name'), 120_000);
		assert.match(text, /• opencode-data-\S+ → volume opencode-data-\S+\n +\+0 added {2}~\d+ changed {2}−[1-9]\d* removed/, 'the preview counts the file written after the backup as one to remove');
		assert.match(text, /is stopped,\s+\d+\s+targets?\s+replaced/, 'the plan in words shows whole');
		type(session, 'not-the-name');
		key(session, 'Enter');
		text = await waitForScreen(session, s => s.includes('nothing was changed'));
		assert.ok(await exists(name, MARK), 'a wrong name changes nothing');
		type(session, name);
		key(session, 'Enter');
		text = await waitForScreen(session, s => s.includes('restored and verified'), 180_000);
		assert.ok(text.split('\n').every(l => [...l].length <= 80));
		assert.ok(flat(text).includes('occ-doctor-pre-restore-'), text);
		assert.equal(await exists(name, MARK), false, 'the data is the backup\'s again');
		assert.equal((await engine.docker.getContainer(name).inspect()).State.Running, true, 'the container runs');

		// One key rolls back: the file written after the backup is back.
		type(session, 'u');
		text = await waitForScreen(session, s => s.includes('rolled back: the data from before the restore is back'), 180_000);
		assert.ok(await exists(name, MARK), 'the rollback put the old data back');
		assert.equal((await engine.docker.getContainer(name).inspect()).State.Running, true);

		type(session, 'q');
		text = await waitForScreen(session, s => /EXIT=\d+/.test(s), 60_000);
		assert.match(text, /EXIT=0/);
		const left = await (engine.docker as Docker).listContainers({all: true, filters: {label: [DEMO_LABEL]}});
		assert.equal(left.filter(c => c.Names.some(n => n.includes(name))).length, 0, 'the demo removed its sandbox');
	});
});

describe('occ-doctor restore without DIR in a terminal', () => {
	const sandbox = tmuxSandbox('occt-rst');
	const empty = mkdtempSync(join(tmpdir(), 'occ-tui-restore-none-'));
	after(() => rmSync(empty, {recursive: true, force: true}));

	it('opens the Restore screen, which lists the backups here (none) and says how to make one', async t => {
		if (!sandbox.docker) {
			return t.skip('no engine');
		}

		const {session} = openTerminal(80, 24, 'restore-none');
		type(session, `cd ${empty} && ${envPrefix()}node ${resolve(sandbox.cli)} restore --container ${sandbox.name}; echo "EXIT=$?"`, true);
		const text = await waitForScreen(session, s => s.includes('no backup here: occ-doctor backup writes one (screen 7)'), 60_000);
		assert.match(text, new RegExp(`Restore ${sandbox.name} from a backup`));
		type(session, 'q');
		await waitForScreen(session, s => /EXIT=\d+/.test(s));
	});
});
