// opencode-cloud's own compose layout: upstream's docker-compose.yml (test/fixtures/opencode-cloud/), brought up by
// docker-compose with a FROM-scratch busybox stand-in for its image: the Dockerfile's seven VOLUME lines, root as the
// image's user, and an entrypoint that does what upstream's does to ownership (the users store root 0700, a record in
// it, the data and ssh dirs the user's) before it drops to opencoder (uid 1000) under compose's `init: true`.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import type {Engine} from '../../source/docker/engine.js';
import {engineOrSkip, image, RUN_ID, skipOrFail} from '../helpers/engine.js';
import {cli, docker, REPO_ROOT, run} from '../helpers/docker-cli.js';
import {readOnlyTour, snapshotContainer, type ContainerSnapshot, type Tree} from '../helpers/host-snapshot.js';

const COMPOSE_FILE = join(REPO_ROOT, 'test/fixtures/opencode-cloud/docker-compose.yml');
const NAME = 'opencode-cloud-sandbox';
const HOME = '/home/opencoder';
const USERS = '/var/lib/opencode-users';
const project = `occt${RUN_ID}occ`;
const stateHome = mkdtempSync(join(tmpdir(), 'occt-occ-state-'));

/** What upstream's entrypoint does to ownership before it drops privileges (install -d and runuser there; busybox has mkdir and su). */
const ENTRYPOINT = [
	'#!/bin/sh',
	'set -e',
	`mkdir -p ${USERS} && chmod 0700 ${USERS}`,
	`[ -e ${USERS}/opencoder.json ] || { echo '{"username":"opencoder"}' > ${USERS}/opencoder.json; chmod 600 ${USERS}/opencoder.json; }`,
	`mkdir -p ${HOME}/.local/share/opencode`,
	`su opencoder -s /bin/sh -c 'test -w ${HOME}/.local/share/opencode' || chown -R 1000:1000 ${HOME}/.local/share/opencode`,
	`mkdir -p ${HOME}/.ssh && chmod 0700 ${HOME}/.ssh && chown 1000:1000 ${HOME}/.ssh`,
	`cd ${HOME}/workspace`,
	'exec su opencoder -s /bin/sh -c \'trap "exit 0" TERM INT; while true; do sleep 1 & wait $!; done\'',
];

/** The stand-in image: upstream's VOLUME lines one by one, its home made by opencoder, root at the entrypoint. */
async function sandboxImage(engine: Engine): Promise<string> {
	const script = ENTRYPOINT.map(line => `'${line.replaceAll('\'', '\'"\'"\'')}'`).join(' ');
	return image(engine.docker, {
		tag: 'occ-doctor-test/opencode-cloud-sandbox:busybox',
		lines: [
			`RUN mkdir -p ${HOME}/.config/opencode ${HOME}/.local/bin ${HOME}/.local/share/opencode ${HOME}/.local/state/opencode ${HOME}/.cache/opencode ${HOME}/workspace && chown -R 1000:1000 ${HOME} && chmod 0750 ${HOME} ${HOME}/.config/opencode`,
			`RUN echo '{}' > ${HOME}/.config/opencode/opencode.jsonc && chown 1000:1000 ${HOME}/.config/opencode/opencode.jsonc && chmod 0640 ${HOME}/.config/opencode/opencode.jsonc`,
			`RUN mkdir -p /usr/local/bin && printf '%s\\n' ${script} > /usr/local/bin/entrypoint.sh && chmod 0755 /usr/local/bin/entrypoint.sh`,
			`WORKDIR ${HOME}/workspace`,
			...['.local/share/opencode', '.local/state/opencode', '.cache/opencode', 'workspace', '.config/opencode'].map(p => `VOLUME ["${HOME}/${p}"]`),
			`VOLUME ["${USERS}"]`,
			`VOLUME ["${HOME}/.ssh"]`,
			'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]',
		],
		cmd: ['web'],
	});
}

async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as {port: number};
	await new Promise(resolve => server.close(resolve));
	return port;
}

let composeEnv: NodeJS.ProcessEnv | undefined;
const composeRun = async (...args: string[]) => run('docker-compose', ['-p', project, '-f', COMPOSE_FILE, ...args], {env: composeEnv});

/** Every file's type, mode, owner and content: what the probe must leave as found (its sentinels come and go, so times move). */
function contents(snapshot: ContainerSnapshot): Record<string, Tree> {
	return Object.fromEntries(Object.entries(snapshot.trees).map(([key, tree]) => [key, tree === 'missing' ? tree : Object.fromEntries(Object.entries(tree).map(([path, {mtimeNs, ctimeNs, size, ...rest}]) => [path, {...rest, size: rest.type === 'dir' ? 0 : size, mtimeNs: '', ctimeNs: ''}]))]));
}

describe('opencode-cloud\'s compose layout (upstream docker-compose.yml, FROM-scratch image)', () => {
	after(async () => {
		if (composeEnv) {
			await composeRun('down', '-v', '-t', '1');
		}

		rmSync(stateHome, {recursive: true, force: true});
	});

	it('check and the previews change nothing; probe exits 0 with no error finding, the users store kept, and leaves every file as found', {timeout: 240_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		if ((await run('docker-compose', ['version'])).code !== 0) {
			skipOrFail(t, 'docker-compose is not installed');
			return;
		}

		// Through the file's own variables: our image, never pulled (Debian's compose 1.29 predates `missing`), a free port.
		composeEnv = {...process.env, OPENCODE_IMAGE: await sandboxImage(engine), OPENCODE_PULL_POLICY: 'never', OPENCODE_PORT_MAPPING: `127.0.0.1:${await freePort()}:3000`};
		const up = await composeRun('up', '-d');
		assert.equal(up.code, 0, up.stderr);
		// The entrypoint has run when the app runs as opencoder: PID 1 is docker-init, its child su's shell.
		let ready = false;
		for (let i = 0; i < 100 && !ready; i++) {
			ready = (await run('docker', ['exec', NAME, 'test', '-e', `${USERS}/opencoder.json`])).code === 0;
			await new Promise(resolve => setTimeout(resolve, ready ? 0 : 100));
		}

		assert.ok(ready, `the entrypoint finished: ${(await run('docker', ['logs', NAME])).stderr}`);

		assert.equal(await docker('exec', NAME, 'stat', '-c', '%u %a', USERS), '0 700');
		await readOnlyTour(engine, NAME);

		const checked = await cli(['check', '--json', '--container', NAME]);
		const report = JSON.parse(checked.stdout) as {profile: {name: string}; findings: Array<{code: string; severity: string; path: string | null}>};
		assert.equal(report.profile.name, 'opencode-cloud');
		assert.deepEqual(report.findings.filter(f => f.severity === 'error'), [], checked.stdout);
		assert.equal(checked.code, 0, checked.stderr);

		const before = await snapshotContainer(engine.docker, NAME);
		const probed = await cli(['probe', '--yes', '--json', '--container', NAME], {env: {...process.env, XDG_STATE_HOME: stateHome}});
		assert.equal(probed.code, 0, probed.stderr + probed.stdout);
		const result = JSON.parse(probed.stdout) as {findings: Array<{code: string; severity: string; path: string | null}>; locations: Array<{path: string; observed?: {restart: string | null; recreate: string | null}}>; probe: {leftovers: string[]; restarted: boolean}};
		assert.deepEqual(result.findings.filter(f => f.severity === 'error'), [], probed.stdout);
		assert.deepEqual(result.locations.find(l => l.path === USERS)?.observed, {restart: 'kept', recreate: 'kept'});
		assert.ok(result.probe.restarted);
		assert.deepEqual(result.probe.leftovers, []);

		const after = await snapshotContainer(engine.docker, NAME);
		assert.deepEqual(contents(after), contents(before), 'every file in the seven volumes and the layer is as it was');
		assert.equal(after.state.status, 'running');
		assert.deepEqual(after.volumes, before.volumes);
		assert.deepEqual(after.containers.map(c => c.split(' ')[0]), before.containers.map(c => c.split(' ')[0]), 'no twin or helper left');
	});
});
