// The probe's hard faults: the engine dies mid-probe (its own private engine, killed with SIGKILL and started again on
// the same data root), and leftovers of an interrupted run that `probe --cleanup` must find and remove, touching
// nothing else.
import assert from 'node:assert/strict';
import {spawn, type ChildProcess} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import type Docker from 'dockerode';
import {putFiles, readFileFromContainer} from '../../source/docker/archive.js';
import {connect, type Engine} from '../../source/docker/engine.js';
import {buildBusyboxImage} from '../../source/docker/fixture-image.js';
import {gatherFacts} from '../../source/docker/inspect.js';
import {startPrivateEngine} from '../../source/docker/private-engine.js';
import {newRunId} from '../../source/probe/index.js';
import {journalDir} from '../../source/probe/journal.js';
import {sentinelContent, sentinelName} from '../../source/probe/targets.js';
import {listHelpers, twinCreateOptions} from '../../source/probe/twin.js';
import {LABELS, cleanup, engineOrSkip, image, uniqueName, volumeNames} from '../helpers/engine.js';
import {readOnlyTour} from '../helpers/host-snapshot.js';
import {sentinelsLeft} from '../helpers/probe.js';
import {destroyEngine, dropStaleContainerdPid, killEngine, reaped, restartEngine} from '../helpers/engine-death.js';

// Journals go to a state dir of this test run, for the CLI children too (they inherit the environment).
const stateHome = mkdtempSync(join(tmpdir(), 'occt-state-'));
process.env.XDG_STATE_HOME = stateHome;
const stateDir = join(stateHome, 'occ-doctor');
const dirs: string[] = [stateHome];

after(() => {
	for (const dir of dirs) {
		rmSync(dir, {recursive: true, force: true});
	}
});

function hostDir(): string {
	const dir = mkdtempSync(join(tmpdir(), 'occt-probef-'));
	dirs.push(dir);
	return dir;
}

interface CliRun {
	child: ChildProcess;
	stdout: string;
	stderr: string;
	code: Promise<number | null>;
}

function cli(args: string[], env: Record<string, string>, onStderr?: (all: string) => void): CliRun {
	const child = spawn(process.execPath, ['--import', 'tsx', 'cli.tsx', ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
	const run: CliRun = {child, stdout: '', stderr: '', code: new Promise(resolve => child.on('close', resolve))}; // close: all output read
	child.stdout!.on('data', (c: Buffer) => {
		run.stdout += c.toString();
	});
	child.stderr!.on('data', (c: Buffer) => {
		run.stderr += c.toString();
		onStderr?.(run.stderr);
	});
	return run;
}

describe('probe faults on a real engine', {timeout: 300_000}, () => {
	it('the engine dies mid-restart: one-line error, exit 2; once it is back, probe --cleanup puts the container back running and nothing of ours remains', async t => {
		if (!(await engineOrSkip(t))) {
			return;
		}

		const own = await startPrivateEngine({prefix: 'occt-pd-'});
		let again: Awaited<ReturnType<typeof restartEngine>> | null = null;
		try {
			let engine: Engine = await connect(own.host);
			const tag = await buildBusyboxImage(engine.docker, {tag: 'occ-doctor-test/busybox:death', volumes: ['/ivol'], lines: ['RUN mkdir -p /srv/data']});
			await engine.docker.createVolume({Name: 'occt-death'});
			const bdir = hostDir();
			writeFileSync(join(bdir, 'user.txt'), 'the user\'s\n');
			// Ignores TERM: the restart waits out its 3 s stop timeout, and the engine dies inside it. No restart policy.
			const created = await engine.docker.createContainer({
				name: 'occt-death',
				Image: tag,
				Cmd: ['/bin/sh', '-c', 'trap "" TERM; while true; do sleep 1; done'],
				StopTimeout: 3,
				HostConfig: {NetworkMode: 'none', Binds: ['occt-death:/named', `${bdir}:/bdir`]},
			});
			await created.start();
			await readOnlyTour(engine, created.id);
			const before = await created.inspect();
			const volumesBefore = await volumeNames(engine.docker);

			let killed = false;
			let pids: number[] = [];
			const run = cli(['probe', '--container', 'occt-death', '--path', '/srv/data', '--yes', '--plain'], {DOCKER_HOST: own.host}, all => {
				if (!killed && all.includes('probe: restarting')) {
					killed = true;
					setTimeout(() => {
						pids = killEngine(own);
					}, 500);
				}
			});
			const code = await run.code;
			assert.ok(killed, run.stderr);
			assert.equal(code, 2, run.stderr);
			// One line of error, the last one, and no stack trace.
			const errorLines = run.stderr.split('\n').filter(l => l.startsWith('occ-doctor:'));
			assert.equal(errorLines.length, 1, run.stderr);
			assert.equal(run.stderr.trimEnd().split('\n').at(-1), errorLines[0]);
			assert.doesNotMatch(run.stderr, /^\s+at /m);
			t.diagnostic(errorLines[0]!);
			assert.match(errorLines[0]!, /engine at unix:\/\/.* went away during the probe/);
			assert.match(errorLines[0]!, /probe --cleanup --container occt-death/);
			const journals = readdirSync(journalDir(stateDir));
			assert.equal(journals.length, 1, 'the run keeps its journal for --cleanup');
			const journal = JSON.parse(readFileSync(join(journalDir(stateDir), journals[0]!), 'utf8'));
			assert.deepEqual(journal.before, {status: 'running', running: true});
			assert.equal(journal.container.id, before.Id);

			await reaped(pids);
			dropStaleContainerdPid(own, pids);
			again = await restartEngine(own);
			engine = await connect(own.host);
			const container = engine.docker.getContainer(before.Id);
			const found = await container.inspect();
			// Without a restart policy an engine that comes back leaves it stopped: not as we found it.
			assert.equal(found.State.Running, false, 'the returning engine leaves the container stopped');

			const cleanupRun = cli(['probe', '--cleanup', '--container', 'occt-death', '--plain'], {DOCKER_HOST: own.host});
			assert.equal(await cleanupRun.code, 0, cleanupRun.stdout + cleanupRun.stderr);
			t.diagnostic(cleanupRun.stdout.trim().replaceAll('\n', ' ¶ '));
			assert.match(cleanupRun.stdout, /restored 1 container state/);
			assert.match(cleanupRun.stdout, /occt-death \(probe run [0-9a-f]+\): started again, it was running before the probe/);

			// As found: the same container, running, with the same config and no restart policy added.
			const now = await container.inspect();
			assert.equal(now.Id, before.Id);
			assert.equal(now.State.Running, true);
			assert.equal(now.HostConfig.RestartPolicy?.Name ?? '', before.HostConfig.RestartPolicy?.Name ?? '');
			assert.deepEqual(now.Config.Labels, before.Config.Labels);
			// Nothing of ours: no sentinel anywhere we wrote, no twin or helper, no new volume, no journal.
			assert.deepEqual(await sentinelsLeft(container, ['/named', '/ivol', '/bdir', '/srv/data', '/srv', '/']), []);
			assert.deepEqual(readdirSync(bdir), ['user.txt']);
			assert.deepEqual(await listHelpers(engine), []);
			assert.deepEqual([...await volumeNames(engine.docker)].filter(v => !volumesBefore.has(v)), []);
			assert.deepEqual(readdirSync(journalDir(stateDir)), []);
		} finally {
			await destroyEngine(own, again);
		}
	});

	it('probe --cleanup removes planted leftovers (sentinels on a volume and a bind, a twin with its anonymous volume), reports them, and touches nothing else', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('named');
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const tag = await image(docker, {volumes: ['/ivol']});
			const bdir = hostDir();
			const container = await docker.createContainer({name: uniqueName('planted'), Image: tag, Labels: LABELS, HostConfig: {NetworkMode: 'none', Binds: [`${volume}:/named`, `${bdir}:/bdir`]}});
			await container.start();
			// Another container that is not ours, and looks a bit like it: it stays.
			const bystander = await docker.createContainer({name: uniqueName('occ-doctor-twin-not'), Image: tag, Labels: {...LABELS, 'dev.occ-doctor.role': 'user-thing'}, HostConfig: {NetworkMode: 'none'}});

			// What an interrupted run leaves: its sentinels, as it writes them, and its twin (made by the probe's own code).
			const runId = newRunId();
			const content = sentinelContent(runId, randomBytes(16).toString('hex'));
			await putFiles(container, '/named', [{name: sentinelName(runId), content}]);
			writeFileSync(join(bdir, sentinelName(runId)), content);
			const facts = await gatherFacts(engine, container.id);
			const info = await container.inspect();
			const twin = await docker.createContainer(twinCreateOptions(info, facts, runId, LABELS));
			const twinVolumes = ((await twin.inspect()).Mounts as Array<{Type: string; Name?: string}>).filter(m => m.Type === 'volume' && m.Name !== volume).map(m => m.Name!);
			assert.equal(twinVolumes.length, 1, 'the twin has a fresh anonymous volume for /ivol');

			// The user's files next to them, and one with a sentinel-like name that is not a sentinel.
			const userBytes = randomBytes(4096);
			writeFileSync(join(bdir, 'notes.bin'), userBytes);
			writeFileSync(join(bdir, '.occ-doctor-probe-deadbeef'), 'my own file, not yours\n');
			await putFiles(container, '/named', [{name: 'keep.bin', content: userBytes}]);
			const volumesBefore = await volumeNames(docker);

			const run = cli(['probe', '--cleanup', '--container', container.id, '--plain'], {});
			assert.equal(await run.code, 0, run.stdout + run.stderr);
			assert.match(run.stdout, /removed 1 twin\/helper container\(s\) and 2 sentinel\(s\)/);
			assert.match(run.stdout, new RegExp(`✓ container occ-doctor-twin-${runId}`));
			assert.match(run.stdout, new RegExp(`✓ ${facts.name}:/named/\\.occ-doctor-probe-${runId}`));
			assert.match(run.stdout, new RegExp(`✓ ${facts.name}:/bdir/\\.occ-doctor-probe-${runId}`));
			assert.doesNotMatch(run.stdout, /deadbeef|✗/);

			// Gone: both sentinels, the twin and its anonymous volume.
			assert.deepEqual(await sentinelsLeft(container, ['/named']), []);
			assert.deepEqual(readdirSync(bdir).sort(), ['.occ-doctor-probe-deadbeef', 'notes.bin']);
			assert.equal(await twin.inspect().then(() => true, () => false), false);
			const volumesAfter = await volumeNames(docker);
			assert.deepEqual(twinVolumes.filter(v => volumesAfter.has(v)), []);
			// Untouched: the user's files byte for byte, the bystander, the named volume, the container (not restarted).
			assert.deepEqual(readFileSync(join(bdir, 'notes.bin')), userBytes);
			assert.equal(readFileSync(join(bdir, '.occ-doctor-probe-deadbeef'), 'utf8'), 'my own file, not yours\n');
			assert.deepEqual(await readFileFromContainer(container, '/named/keep.bin'), userBytes);
			assert.equal(await bystander.inspect().then(() => true, () => false), true);
			assert.deepEqual([...volumesBefore].filter(v => !volumesAfter.has(v)), twinVolumes);
			const now = await container.inspect();
			assert.equal(now.State.Running, true);
			assert.equal(now.State.StartedAt, info.State.StartedAt);
		} finally {
			await cleanup(docker, [volume]);
		}
	});
});
