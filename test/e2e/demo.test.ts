import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {after, before, describe, it} from 'node:test';
import type Docker from 'dockerode';
import {DEMO_LABEL} from '../../source/demo/setup.js';
import {engineOrSkip} from '../helpers/engine.js';
import {buildCli, closeTerminals, envPrefix, openTerminal, type, waitForScreen} from './tmux.js';

async function leftovers(docker: Docker, id: string): Promise<number> {
	const filters = {label: [`${DEMO_LABEL}=${id}`]};
	const [containers, {Volumes: volumes}, images] = await Promise.all([
		docker.listContainers({all: true, filters}), docker.listVolumes({filters}), docker.listImages({filters}),
	]);
	return containers.length + (volumes?.length ?? 0) + images.length;
}

const idOf = (stderr: string) => /dev\.occ-doctor\.demo=([0-9a-f]+)/.exec(stderr)?.[1];

describe('occ-doctor demo', () => {
	let docker: Docker | undefined;
	let cli = '';
	before(async t => {
		docker = (await engineOrSkip(t as any))?.docker;
		cli = docker ? buildCli() : '';
	});
	after(() => closeTerminals());

	it('without a TTY prints the report with the planted error, exits 0 and removes everything it made', async t => {
		if (!docker) {
			return t.skip('no engine');
		}

		const before = (await docker.listVolumes()).Volumes?.length ?? 0;
		const result = spawnSync(process.execPath, [cli, 'demo'], {encoding: 'utf8', env: process.env});
		assert.equal(result.status, 0, result.stderr);
		assert.match(result.stdout, /✗ \/home\/opencoder\/workspace\s+critical\s+anonymous-volume/);
		assert.match(result.stdout, /✓ \/home\/opencoder\/\.ssh\s+high\s+named-volume opencode-ssh-/);
		assert.match(result.stderr, /removed 1 container\(s\), 6 volume\(s\) and 1 image\(s\)/);
		const id = idOf(result.stderr)!;
		assert.equal(await leftovers(docker, id), 0);
		assert.equal((await docker.listVolumes()).Volumes?.length ?? 0, before, 'the anonymous workspace volume went too');
	});

	it('cleans up when interrupted with SIGINT while it runs', async t => {
		if (!docker) {
			return t.skip('no engine');
		}

		const child = spawn(process.execPath, [cli, 'demo'], {env: process.env, stdio: ['ignore', 'pipe', 'pipe']});
		let stderr = '';
		let sent = false;
		child.stderr.on('data', chunk => {
			stderr += String(chunk);
			if (stderr.includes('starting ') && !sent) {
				sent = true;
				child.kill('SIGINT');
			}
		});
		const code = await new Promise<number | null>(resolve => child.on('close', resolve)); // close: all of stderr read
		assert.equal(code, 130, stderr);
		const id = idOf(stderr);
		assert.ok(id, stderr);
		assert.equal(await leftovers(docker, id), 0);
	});

	it('in a terminal opens the TUI on the demo, and q removes everything', async t => {
		if (!docker) {
			return t.skip('no engine');
		}

		const {session} = openTerminal(80, 24);
		type(session, `${envPrefix()}node ${cli} demo; echo "EXIT=$?"`, true);
		await waitForScreen(session, s => s.includes('Fix this first') && s.includes('occ-doctor-demo-sandbox-'));
		type(session, '3');
		await waitForScreen(session, s => /\/home\/opencoder\/workspace\s+✓\s+✓\s+◐/.test(s));
		type(session, 'q');
		const text = await waitForScreen(session, s => /EXIT=\d+/.test(s));
		assert.match(text, /EXIT=0/);
		const id = idOf(text.replace(/\n/g, ''))!;
		assert.ok(id, text);
		assert.equal(await leftovers(docker, id), 0);
	});
});
