import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import type Docker from 'dockerode';
import {DoctorError, type Engine} from '../../source/docker/engine.js';
import {runProbe, runProbeCleanup, type ProbeEvent, type ProbeResult} from '../../source/probe/index.js';
import {listHelpers} from '../../source/probe/twin.js';
import {LABELS, cleanup, engineOrSkip, image, removeFixture, tour, uniqueName, volumeNames} from '../helpers/engine.js';
import {sentinelsLeft} from '../helpers/probe.js';

const IDLE = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while true; do sleep 1 & wait $!; done'];
// Probe journals go to this run's own state dir (the CLI children inherit it); a clean run leaves none.
const stateHome = mkdtempSync(join(tmpdir(), 'occt-state-'));
process.env.XDG_STATE_HOME = stateHome;
const journals = () => {
	try {
		return readdirSync(join(stateHome, 'occ-doctor', 'probe'));
	} catch {
		return [];
	}
};

const dirs: string[] = [stateHome];

function hostDir(mode = 0o755, uid = 0): string {
	const dir = mkdtempSync(join(tmpdir(), 'occt-probe-'));
	dirs.push(dir);
	chmodSync(dir, mode);
	chownSync(dir, uid, uid);
	return dir;
}

function observedByPath(result: ProbeResult): Record<string, {restart: string | null; recreate: string | null; note?: string}> {
	return Object.fromEntries(result.locations.filter(l => l.observed).map(l => [l.path, l.observed!]));
}

async function run(docker: Docker, options: Docker.ContainerCreateOptions, start = true): Promise<Docker.Container> {
	const container = await docker.createContainer({name: uniqueName('probe'), Labels: LABELS, ...options, HostConfig: {NetworkMode: 'none', ...options.HostConfig}});
	if (start) {
		await container.start();
	}

	return container;
}

after(() => {
	for (const dir of dirs) {
		spawnSync('umount', [dir], {stdio: 'ignore'});
		rmSync(dir, {recursive: true, force: true});
	}
});

describe('probe on a real engine', {timeout: 300_000}, () => {
	it('observes restart and recreate for a named volume, anonymous volumes, a bind, tmpfs, the layer and a read-only bind', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('named');
		const volumesBefore = await volumeNames(docker);
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const tag = await image(docker, {volumes: ['/ivol'], lines: ['RUN mkdir -p /srv/data /tm']});
			const bdir = hostDir();
			const rob = hostDir();
			const container = await run(docker, {
				Image: tag,
				Cmd: IDLE,
				Volumes: {'/anon': {}},
				HostConfig: {Binds: [`${volume}:/named`, `${bdir}:/bdir`, `${rob}:/rob:ro`], Tmpfs: {'/tm': 'mode=1777'}},
			});
			const before = await container.inspect();
			const events: ProbeEvent[] = [];
			const result = await runProbe({container: container.id, paths: ['/srv/data'], labels: LABELS}, {onEvent: e => events.push(e)}, engine);
			const o = observedByPath(result);
			assert.deepEqual({restart: o['/named']?.restart, recreate: o['/named']?.recreate}, {restart: 'kept', recreate: 'kept'});
			assert.deepEqual({restart: o['/ivol']?.restart, recreate: o['/ivol']?.recreate}, {restart: 'kept', recreate: 'lost'});
			assert.deepEqual({restart: o['/anon']?.restart, recreate: o['/anon']?.recreate}, {restart: 'kept', recreate: 'lost'});
			assert.deepEqual({restart: o['/bdir']?.restart, recreate: o['/bdir']?.recreate}, {restart: 'kept', recreate: 'kept'});
			assert.deepEqual({restart: o['/tm']?.restart, recreate: o['/tm']?.recreate}, {restart: 'lost', recreate: 'lost'});
			assert.deepEqual({restart: o['/srv/data']?.restart, recreate: o['/srv/data']?.recreate}, {restart: 'kept', recreate: 'lost'});
			assert.equal(o['/rob']?.restart, 'unwritable');
			assert.equal(o['/rob']?.recreate, 'unwritable');
			assert.match(o['/rob']?.note ?? '', /read-only/);
			assert.deepEqual(result.findings.filter(f => f.code === 'probe-mismatch'), []);
			assert.ok(result.probe.restarted);
			assert.deepEqual(result.probe.leftovers, []);
			assert.deepEqual(journals(), []);
			// The steps a screen shows, in order.
			const steps = events.filter(e => e.type === 'step').map(e => (e as {step: string}).step);
			assert.deepEqual(steps, ['preparing', 'writing', 'restarting', 'waiting', 'reading', 'recreate', 'cleanup']);

			// Left as found: running, same id, restarted once by us (not by a restart policy), nothing of ours left.
			const now = await container.inspect();
			assert.equal(now.Id, before.Id);
			assert.equal(now.State.Running, true);
			assert.equal(now.RestartCount, before.RestartCount);
			assert.notEqual(now.State.StartedAt, before.State.StartedAt);
			assert.deepEqual(await sentinelsLeft(container, ['/named', '/ivol', '/anon', '/bdir', '/tm', '/srv/data', '/srv']), []);
			assert.deepEqual(readdirSync(bdir), []);
			assert.deepEqual(await listHelpers(engine, result.probe.runId), []);
			await removeFixture(docker, container.id, {v: true});
			const volumesAfter = await volumeNames(docker);
			assert.deepEqual([...volumesAfter].filter(v => !volumesBefore.has(v) && v !== volume), []);
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('--path entries that do not exist or are files get a note naming the directory probed instead', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('named');
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const tag = await image(docker, {lines: ['RUN mkdir -p /srv /tm && echo x > /srv/file.txt']});
			const container = await run(docker, {Image: tag, Cmd: IDLE, HostConfig: {Binds: [`${volume}:/named`], Tmpfs: {'/tm': 'mode=1777'}}});
			await docker.getContainer(container.id).exec({Cmd: ['mkdir', '-p', '/tm/a'], User: '0'}).then(async e => e.start({})).then(async s => new Promise(resolve => {
				s.on('end', resolve);
				s.resume();
			}));
			const paths = ['/srv/missing/deep', '/nowhere/at/all', '/named/not/yet', '/tm/a/b', '/srv/file.txt'];
			const result = await runProbe({container: container.id, paths, noRestart: true, labels: LABELS}, {}, engine);
			const o = observedByPath(result);
			assert.deepEqual(o['/srv/missing/deep'], {restart: null, recreate: 'lost', note: '/srv/missing/deep does not exist yet: probed its nearest existing parent /srv (same storage: the container layer)'});
			assert.deepEqual(o['/nowhere/at/all'], {restart: null, recreate: 'lost', note: '/nowhere/at/all does not exist yet: probed its nearest existing parent / (same storage: the container layer)'});
			assert.deepEqual(o['/named/not/yet'], {restart: null, recreate: 'kept', note: '/named/not/yet does not exist yet: probed its nearest existing parent /named (same storage: the volume at /named)'});
			// tmpfs: the twin's is empty, so lost; the parent found through the shell, on the same tmpfs.
			assert.deepEqual(o['/tm/a/b'], {restart: null, recreate: 'lost', note: '/tm/a/b does not exist yet: probed its parent /tm/a on the same tmpfs'});
			assert.deepEqual(o['/srv/file.txt'], {restart: null, recreate: 'lost', note: '/srv/file.txt is a file: probed its directory /srv on the same storage'});
			assert.deepEqual(result.findings.filter(f => f.code === 'probe-mismatch' || f.code === 'probe-unwritable'), []);
			assert.deepEqual(await sentinelsLeft(container, ['/srv', '/', '/named', '/tm', '/tm/a']), []);
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('reports a bind owned by another UID as unwritable with both UIDs and the fix', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		try {
			const tag = await image(docker, {user: '1000', lines: ['RUN mkdir -p /home/opencoder && chown 1000:1000 /home/opencoder']});
			const owned = hostDir(0o755, 0);
			const container = await run(docker, {Image: tag, Cmd: IDLE, HostConfig: {Binds: [`${owned}:/home/opencoder/data`]}});
			const result = await runProbe({container: container.id, labels: LABELS}, {}, engine);
			const o = observedByPath(result)['/home/opencoder/data'];
			assert.equal(o?.restart, 'unwritable');
			assert.equal(o?.recreate, 'unwritable');
			assert.match(o?.note ?? '', /owned by uid 0/);
			assert.match(o?.note ?? '', /runs as uid 1000/);
			assert.match(o?.note ?? '', new RegExp(`sudo chown -R 1000:1000 ${owned}`));
			assert.ok(result.findings.some(f => f.code === 'probe-unwritable' && f.fix.includes('chown')));
			assert.deepEqual(readdirSync(owned), []);
		} finally {
			await cleanup(docker);
		}
	});

	it('opencode-cloud\'s layout probes clean: its users store is root 0700 on purpose, written by the root entrypoint', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		try {
			const tag = await image(docker, {user: '1000', labels: {'managed-by': 'opencode-cloud'}, lines: ['RUN mkdir -p /home/opencoder/.local/share/opencode /home/opencoder/.local/state/opencode /home/opencoder/.config/opencode /home/opencoder/.cache/opencode /home/opencoder/.ssh /home/opencoder/workspace /var/lib/opencode-users && chown -R 1000:1000 /home/opencoder && chmod 0700 /var/lib/opencode-users']});
			const binds: string[] = [];
			for (const [volume, path] of [['data', '/home/opencoder/.local/share/opencode'], ['users', '/var/lib/opencode-users']] as const) {
				const name = uniqueName(volume);
				await docker.createVolume({Name: name, Labels: LABELS});
				binds.push(`${name}:${path}`);
			}

			const container = await run(docker, {Image: tag, Cmd: IDLE, HostConfig: {Binds: binds, RestartPolicy: {Name: 'unless-stopped'}}}, false);
			// The volumes take the image's owners at first start: the data dir the user's, the users store root 0700.
			await container.start();
			const result = await runProbe({container: container.id, labels: LABELS}, {}, engine);
			assert.deepEqual(result.findings.filter(f => f.code === 'probe-unwritable' || f.code === 'probe-mismatch'), []);
			assert.equal(observedByPath(result)['/var/lib/opencode-users']?.restart, 'kept');
		} finally {
			await cleanup(docker);
		}
	});

	it('judges by the user the entrypoint drops to (su), not Config.User, when the container runs', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		try {
			// Config.User is root; the entrypoint execs the app as opencoder (uid 1000), as gosu or su-exec would.
			const tag = await image(docker, {});
			const owned = hostDir(0o755, 0);
			const open = hostDir(0o755, 1000);
			const container = await run(docker, {Image: tag, Cmd: ['su', 'opencoder', '-c', IDLE[2]!], HostConfig: {Binds: [`${owned}:/data`, `${open}:/open`]}});
			assert.equal((await container.inspect()).Config.User, '');
			const result = await runProbe({container: container.id, paths: ['/data', '/open'], noRestart: true, labels: LABELS}, {}, engine);
			const o = observedByPath(result);
			assert.equal(o['/data']?.recreate, 'unwritable');
			assert.match(o['/data']?.note ?? '', /owned by uid 0 .* runs as uid 1000 \(process 1 \(sh\) runs as uid 1000 \(gid 1000\); Config\.User says root\)/);
			assert.match(o['/data']?.note ?? '', new RegExp(`sudo chown -R 1000:1000 ${owned}`));
			assert.equal(o['/open']?.recreate, 'kept');
			assert.deepEqual(readdirSync(owned), []);
			assert.deepEqual(readdirSync(open), []);
		} finally {
			await cleanup(docker);
		}
	});

	it('starts a stopped container only for the probe and stops it again; --no-restart leaves it stopped', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('named');
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const tag = await image(docker, {});
			const container = await run(docker, {Image: tag, Cmd: IDLE, HostConfig: {Binds: [`${volume}:/named`]}}, false);
			const noRestart = await runProbe({container: container.id, noRestart: true, labels: LABELS}, {}, engine);
			assert.deepEqual(observedByPath(noRestart)['/named'], {restart: null, recreate: 'kept'});
			assert.equal((await container.inspect()).State.Status, 'created');

			const started = await runProbe({container: container.id, labels: LABELS}, {}, engine);
			assert.equal(started.probe.startedStopped, true);
			assert.deepEqual({...observedByPath(started)['/named']}, {restart: 'kept', recreate: 'kept'});
			const now = await container.inspect();
			assert.equal(now.State.Running, false);
			// Nothing left on the volume: look through a fresh container.
			const look = await run(docker, {Image: tag, Cmd: IDLE, HostConfig: {Binds: [`${volume}:/named`]}});
			assert.deepEqual(await sentinelsLeft(look, ['/named']), []);
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('faults: a read-only root filesystem and a full disk are unwritable with the reason, not a crash', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		try {
			const tag = await image(docker, {lines: ['RUN mkdir -p /srv/data']});
			const full = hostDir();
			const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]).status === 0;
			if (mounted) {
				// Fill it to the last block.
				spawnSync('sh', ['-c', `dd if=/dev/zero of=${full}/fill bs=4k 2>/dev/null; true`]);
			}

			const container = await run(docker, {Image: tag, Cmd: IDLE, HostConfig: {ReadonlyRootfs: true, Binds: mounted ? [`${full}:/full`] : [], Tmpfs: {'/tmp': ''}}});
			const result = await runProbe({container: container.id, paths: ['/srv/data'], labels: LABELS}, {}, engine);
			const o = observedByPath(result);
			assert.equal(o['/srv/data']?.restart, 'unwritable');
			assert.match(o['/srv/data']?.note ?? '', /read-only/);
			if (mounted) {
				assert.equal(o['/full']?.restart, 'unwritable');
				assert.match(o['/full']?.note ?? '', /disk full|no space/);
				assert.deepEqual(readdirSync(full).filter(n => n.includes('occ-doctor')), []);
			} else {
				t.diagnostic('could not mount a small tmpfs (not root?): full-disk case not run');
			}

			assert.equal((await container.inspect()).State.Running, true);
		} finally {
			await cleanup(docker);
		}
	});

	it('faults: the container removed mid-probe gives a clear error and leaves no sentinel or twin', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		try {
			const tag = await image(docker, {});
			const bdir = hostDir();
			const container = await run(docker, {Image: tag, Cmd: IDLE, HostConfig: {Binds: [`${bdir}:/bdir`]}});
			// The fault removes it mid-probe: toured now, as it was made.
			await tour(docker, container.id);
			let removal: Promise<unknown> | null = null;
			await assert.rejects(runProbe({container: container.id, labels: LABELS}, {
				onEvent(event) {
					if (event.type === 'step' && event.step === 'restarting') {
						removal = container.remove({force: true, v: true});
					}
				},
			}, engine), (error: unknown) => error instanceof DoctorError && error.exitCode !== 0 && /removed during the probe|no such container/i.test(error.message));
			await removal;
			assert.deepEqual(readdirSync(bdir), []);
			assert.deepEqual((await listHelpers(engine)).filter(h => h.Labels?.['dev.occ-doctor.test'] === LABELS['dev.occ-doctor.test']), []);
		} finally {
			await cleanup(docker);
		}
	});

	it('after SIGINT mid-restart and probe --cleanup, no sentinel, twin or volume of ours remains and the container runs', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('named');
		const volumesBefore = await volumeNames(docker);
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const tag = await image(docker, {volumes: ['/ivol']});
			// Ignores TERM, so the restart waits out the 3 s stop timeout: time to interrupt it.
			const container = await run(docker, {Image: tag, Cmd: ['/bin/sh', '-c', 'trap "" TERM; while true; do sleep 1; done'], StopTimeout: 3, HostConfig: {Binds: [`${volume}:/named`]}});
			const cli = spawn(process.execPath, ['--import', 'tsx', 'cli.tsx', 'probe', '--container', container.id, '--yes', '--plain'], {env: {...process.env}, stdio: ['ignore', 'pipe', 'pipe']});
			let stderr = '';
			cli.stderr.on('data', (c: Buffer) => {
				stderr += c.toString();
				if (stderr.includes('restarting') && !cli.killed) {
					cli.kill('SIGINT');
				}
			});
			const code = await new Promise<number | null>(resolve => cli.on('close', resolve)); // close: all of stderr read
			assert.equal(code, 130, stderr);
			assert.match(stderr, /interrupted/);
			assert.equal((await container.inspect()).State.Running, true, 'an interrupted restart still ends running');
			assert.deepEqual(journals(), [], 'a run that cleaned up after itself drops its journal');

			const cleaned = await runProbeCleanup({container: container.id, labels: LABELS}, engine);
			assert.deepEqual(cleaned.left, []);
			assert.deepEqual(await sentinelsLeft(container, ['/named', '/ivol', '/']), []);
			assert.deepEqual(await listHelpers(engine), []);
			await removeFixture(docker, container.id, {v: true});
			assert.deepEqual([...await volumeNames(docker)].filter(v => !volumesBefore.has(v) && v !== volume), []);
		} finally {
			await cleanup(docker, [volume]);
		}
	});
});

export type {Engine};
