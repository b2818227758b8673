// The engine dies mid-extract (its own private engine, SIGKILLed and started again on the same data root): the
// restore cannot roll back and says so in one line, keeping its journal; `restore --cleanup` then puts the old data
// back byte for byte and the container runs again. Killed itself after a one-pass swap, occ-doctor leaves a journal from which
// `restore --cleanup` moves the old contents back by renames.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, relative} from 'node:path';
import {after, describe, it} from 'node:test';
import {runBackup} from '../../source/backup/index.js';
import {connect, type Engine} from '../../source/docker/engine.js';
import {buildBusyboxImage} from '../../source/docker/fixture-image.js';
import {startPrivateEngine} from '../../source/docker/private-engine.js';
import {destroyEngine, dropStaleContainerdPid, killEngine, reaped, restartEngine} from '../helpers/engine-death.js';
import {cleanup, engineOrSkip, image, LABELS, uniqueName} from '../helpers/engine.js';
import {readOnlyTour} from '../helpers/host-snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'occt-rsf-'));
const stateHome = join(scratch, 'state');
after(() => rmSync(scratch, {recursive: true, force: true}));

function tree(root: string): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (dir: string) => {
		for (const name of readdirSync(dir).sort()) {
			const full = join(dir, name);
			const st = lstatSync(full);
			const rel = relative(root, full);
			if (st.isSymbolicLink()) {
				out.set(rel, `link ${readlinkSync(full)}`);
			} else if (st.isDirectory()) {
				out.set(rel, `dir ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
				walk(full);
			} else {
				out.set(rel, `file ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
			}
		}
	};

	walk(root);
	return out;
}

// The engine extracts only on the archive API's path (remote engines): a local root run writes the host directory
// itself, where the engine's death changes nothing while it extracts. This test pins the engine's path.
function cli(args: string[], host: string | undefined, onStderr?: (all: string) => void, via = 'engine'): {child: ReturnType<typeof spawn>; done: Promise<{code: number | null; stdout: string; stderr: string}>} {
	const child = spawn(process.execPath, ['--import', 'tsx', 'cli.tsx', ...args], {env: {...process.env, ...(host ? {DOCKER_HOST: host} : {}), XDG_STATE_HOME: stateHome, OCC_DOCTOR_RESTORE_VIA: via}, stdio: ['ignore', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', c => (stdout += c));
	child.stderr.on('data', c => {
		stderr += c;
		onStderr?.(stderr);
	});
	// 'close', not 'exit': the last lines of stderr can arrive after the process has exited.
	return {child, done: new Promise(resolve => child.on('close', code => resolve({code, stdout, stderr})))};
}

describe('restore faults on a real engine', {timeout: 300_000}, () => {
	it('the engine dies mid-extract: one line, the journal kept; restore --cleanup puts the old data back byte for byte, the container running', async t => {
		if (!(await engineOrSkip(t))) {
			return;
		}

		const own = await startPrivateEngine({prefix: 'occt-rf-'});
		let again: Awaited<ReturnType<typeof restartEngine>> | null = null;
		try {
			let engine: Engine = await connect(own.host);
			const tag = await buildBusyboxImage(engine.docker, {tag: 'occ-doctor-test/busybox:restore-death'});
			await engine.docker.createVolume({Name: 'occt-rdeath'});
			const container = await engine.docker.createContainer({name: 'occt-rdeath', Image: tag, HostConfig: {NetworkMode: 'none', Binds: ['occt-rdeath:/data']}});
			const volumeDir = ((await engine.docker.getVolume('occt-rdeath').inspect()) as {Mountpoint: string}).Mountpoint;
			// Big enough that extracting takes a while: random data does not compress.
			writeFileSync(join(volumeDir, 'big.bin'), randomBytes(48 * 1024 * 1024));
			writeFileSync(join(volumeDir, '.dotfile'), 'backed up\n');
			await container.start();
			await readOnlyTour(engine, container.id);
			const {dir} = await runBackup({host: own.host, container: 'occt-rdeath', out: join(scratch, 'backup')}, () => {}, engine);
			writeFileSync(join(volumeDir, 'big.bin'), randomBytes(1024));
			writeFileSync(join(volumeDir, 'after-backup.txt'), 'the old data of the restore\n');
			const old = tree(volumeDir);

			let pids: number[] = [];
			const run = cli(['restore', dir, '--container', 'occt-rdeath', '--yes', '--plain'], own.host, all => {
				if (pids.length === 0 && /^ {2}occt-rdeath: extracting \d/m.test(all)) {
					pids = killEngine(own);
				}
			});
			const {code, stderr} = await run.done;
			assert.ok(pids.length > 0, `never saw extracting progress: ${stderr}`);
			assert.equal(code, 1, stderr);
			const errorLines = stderr.split('\n').filter(l => l.startsWith('occ-doctor:'));
			assert.equal(errorLines.length, 1, stderr);
			assert.match(errorLines[0]!, /rollback failed .* run occ-doctor restore --cleanup/);
			assert.equal(readdirSync(join(stateHome, 'occ-doctor/restore')).length, 1, 'the journal is kept for --cleanup');

			await reaped(pids);
			dropStaleContainerdPid(own, pids);
			again = await restartEngine(own);
			engine = await connect(own.host);
			const cleanup = await cli(['restore', '--cleanup', '--plain'], own.host).done;
			assert.equal(cleanup.code, 0, cleanup.stdout + cleanup.stderr);
			assert.match(cleanup.stdout, /rolled back volume occt-rdeath from .*occ-doctor-pre-restore-occt-rdeath-/);
			assert.match(cleanup.stdout, /started occt-rdeath again/);
			assert.deepEqual(tree(volumeDir), old);
			assert.equal((await engine.docker.getContainer('occt-rdeath').inspect()).State.Running, true);
			assert.deepEqual(readdirSync(join(stateHome, 'occ-doctor/restore')), []);
			const helpers = await engine.docker.listContainers({all: true, filters: {label: ['dev.occ-doctor.role=restore-helper']}});
			assert.deepEqual(helpers, []);
		} finally {
			await destroyEngine(own, again);
		}
	});

	it('occ-doctor killed after the one pass swapped the new contents in: restore --cleanup moves the old ones back, byte for byte, nothing left beside the target', async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const name = uniqueName('rkill');
		const volume = uniqueName('rkill-data');
		await docker.createVolume({Name: volume, Labels: LABELS});
		try {
			const volumeDir = ((await docker.getVolume(volume).inspect()) as {Mountpoint: string}).Mountpoint;
			mkdirSync(join(volumeDir, 'sub/deeper'), {recursive: true});
			writeFileSync(join(volumeDir, 'sub/deeper/owned.txt'), 'owned\n');
			chownSync(join(volumeDir, 'sub'), 1000, 1000);
			writeFileSync(join(volumeDir, 'big.bin'), randomBytes(8 * 1024 * 1024));
			writeFileSync(join(volumeDir, '.dotfile'), 'backed up\n');
			// A health check that first runs after 3 s: the restore waits for it, which is when it is killed.
			const container = await docker.createContainer({name, Image: await image(docker), Labels: LABELS, Healthcheck: {Test: ['CMD-SHELL', 'test -e /data'], Interval: 3e9}, HostConfig: {NetworkMode: 'none', Binds: [`${volume}:/data`]}});
			await container.start();
			const {dir} = await runBackup({host: process.env.DOCKER_HOST, container: name, out: join(scratch, 'backup-kill')}, () => {}, engine);
			writeFileSync(join(volumeDir, 'big.bin'), randomBytes(1024));
			writeFileSync(join(volumeDir, 'after-backup.txt'), 'the old data of the restore\n');
			const old = tree(volumeDir);
			const inode = lstatSync(join(volumeDir, 'after-backup.txt')).ino;

			let killed = false;
			const run = cli(['restore', dir, '--container', name, '--yes', '--plain'], undefined, all => {
				if (!killed && /^starting the container/m.test(all)) {
					killed = true;
					run.child.kill('SIGKILL');
				}
			}, 'host');
			const {code, stderr} = await run.done;
			assert.ok(killed, stderr);
			assert.equal(code, null, `killed before it finished: ${stderr}`);
			assert.match(stderr, /^moving in the new contents of /m, 'the one pass swapped the target');
			assert.equal(tree(volumeDir).has('after-backup.txt'), false, 'the new contents were in place');

			const cleaned = await cli(['restore', '--cleanup', '--plain'], undefined, undefined, 'host').done;
			assert.equal(cleaned.code, 0, cleaned.stdout + cleaned.stderr);
			assert.match(cleaned.stdout, new RegExp(`rolled back volume ${volume} from .*occ-doctor-pre-restore-${name}-`));
			assert.deepEqual(tree(volumeDir), old);
			assert.equal(lstatSync(join(volumeDir, 'after-backup.txt')).ino, inode, 'moved back, not extracted again from the safety copy');
			assert.deepEqual(readdirSync(dirname(volumeDir)), ['_data'], 'no staging or old contents left beside the target');
			assert.equal((await container.inspect()).State.Running, true);
			assert.deepEqual(readdirSync(join(stateHome, 'occ-doctor/restore')), []);
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('refuses, changing nothing: a single-file bind in place (one line with the ways that work), and targets not there yet on too small a disk (a new volume on the engine\'s data root, a bind dir to be made)', async t => {
		if (!(await engineOrSkip(t))) {
			return;
		}

		const dir = mkdtempSync(join(tmpdir(), 'occt-rroom-'));
		const small = join(dir, 'small');
		const own = await startPrivateEngine({dir});
		try {
			// The engine's volumes on a 2 MB tmpfs (mounted once it runs: it binds its data root onto itself at start),
			// and a 1 MB tmpfs on the host for a bind dir: both too small for 4 MB.
			for (const [at, size] of [[join(dir, 'data', 'volumes'), '2m'], [small, '1m']] as const) {
				mkdirSync(at, {recursive: true});
				const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], {encoding: 'utf8'});
				assert.equal(mounted.status, 0, `mount a tmpfs (needs root): ${mounted.stderr}`);
			}

			const engine = await connect(own.host);
			const tag = await buildBusyboxImage(engine.docker, {tag: 'occ-doctor-test/busybox:restore-room'});
			const source = join(scratch, 'room-data');
			mkdirSync(source);
			writeFileSync(join(source, 'big.bin'), randomBytes(4 * 1024 * 1024));
			const conf = join(scratch, 'app.conf');
			writeFileSync(conf, 'backed up\n');
			// Two of 1.2 MB: each fits the 2 MB of volumes alone, not both.
			const halves = ['m1', 'm2'].map(m => join(scratch, `room-${m}`));
			for (const half of halves) {
				mkdirSync(half);
				writeFileSync(join(half, 'part.bin'), randomBytes(1200 * 1024));
			}

			const container = await engine.docker.createContainer({name: 'occt-rroom', Image: tag, Cmd: ['sleep', '3600'], HostConfig: {NetworkMode: 'none', Binds: [`${source}:/data`, `${conf}:/etc/app.conf`, `${halves[0]}:/m1`, `${halves[1]}:/m2`]}});
			await container.start();
			const {dir: backup, manifest} = await runBackup({host: own.host, container: 'occt-rroom', out: join(scratch, 'backup-room')}, () => {}, engine);
			const data = manifest.archives.find(a => a.containerPath === '/data')!.file.replace(/\.tar\.gz$/, '');
			const file = manifest.archives.find(a => a.containerPath === '/etc/app.conf')!.file.replace(/\.tar\.gz$/, '');
			writeFileSync(conf, 'changed since\n');
			const started = (await container.inspect()).State.StartedAt;

			const refused = await cli(['restore', backup, '--container', 'occt-rroom', '--yes'], own.host).done;
			assert.equal(refused.code, 2, refused.stderr);
			assert.deepEqual(refused.stderr.trim().split('\n').length, 1, refused.stderr);
			const [m1, m2] = ['/m1', '/m2'].map(p => manifest.archives.find(a => a.containerPath === p)!.file.replace(/\.tar\.gz$/, ''));
			assert.match(refused.stderr, new RegExp(`^occ-doctor: ${file}\\.tar\\.gz is the single file /etc/app\\.conf, bind-mounted from ${conf}, .*nothing was changed; restore the others with --only ${[data, m1, m2].sort().join(',')}; put it into a directory mount with --to ${file}=VOLUME, or by hand .*tar -xzOf `));
			assert.equal(readFileSync(conf, 'utf8'), 'changed since\n');
			// The ways it names work: the file into a volume (a directory mount); and by hand.
			const into = await cli(['restore', backup, '--container', 'occt-rroom', '--only', file, '--to', `${file}=occt-rroom-conf`, '--yes', '--json'], own.host).done;
			assert.equal(into.code, 0, into.stderr);
			const confVolume = ((await engine.docker.getVolume('occt-rroom-conf').inspect()) as {Mountpoint: string}).Mountpoint;
			assert.equal(readFileSync(join(confVolume, 'app.conf'), 'utf8'), 'backed up\n');
			const rehearsed = await cli(['restore', backup, '--container', 'occt-rroom', '--only', file, '--rehearse', '--json'], own.host).done;
			assert.equal(rehearsed.code, 0, rehearsed.stderr);
			assert.deepEqual(JSON.parse(rehearsed.stdout).archives.map((a: {status: string}) => a.status), ['rehearsed']);
			const byHand = /tar -xzOf \S+ \S+ > \S+$/.exec(refused.stderr.trim())![0];
			assert.equal(spawnSync('sh', ['-c', byHand]).status, 0, byHand);
			assert.equal(readFileSync(conf, 'utf8'), 'backed up\n');

			const volume = await cli(['restore', backup, '--container', 'occt-rroom', '--only', data, '--to', `${data}=occt-rroom-new`, '--yes'], own.host).done;
			assert.equal(volume.code, 2, volume.stderr);
			assert.match(volume.stderr, /^occ-doctor: not enough room in volume occt-rroom-new for .*: it needs 4\.\d MiB, \S+\/volumes \(where it would be made\) has .* free; nothing was changed/m);
			assert.equal(await engine.docker.getVolume('occt-rroom-new').inspect().then(() => true, () => false), false, 'the volume was not made');

			const bind = await cli(['restore', backup, '--container', 'occt-rroom', '--only', data, '--to', `${data}=${join(small, 'new')}`, '--yes'], own.host).done;
			assert.equal(bind.code, 2, bind.stderr);
			assert.match(bind.stderr, new RegExp(`^occ-doctor: not enough room in bind ${join(small, 'new')} for .*: it needs 4\\.\\d MiB, ${small} \\(where it would be made\\) has 1\\.0 MiB free; nothing was changed`, 'm'));
			assert.equal(existsSync(join(small, 'new')), false, 'the bind dir was not made');

			// Two new volumes that each fit, but not together; a rehearsal whose scratch volume does not fit.
			const both = await cli(['restore', backup, '--container', 'occt-rroom', '--only', `${m1},${m2}`, '--to', `${m1}=occt-rroom-m1`, '--to', `${m2}=occt-rroom-m2`, '--yes'], own.host).done;
			assert.equal(both.code, 2, both.stderr);
			assert.match(both.stderr, /^occ-doctor: not enough room in volume occt-rroom-m2 for .*has .* free \(1\.2 MiB of it for the other new targets\); nothing was changed/m);
			const volumes = ((await engine.docker.listVolumes()).Volumes ?? []).map(v => v.Name);
			assert.ok(!volumes.includes('occt-rroom-m1') && !volumes.includes('occt-rroom-m2'), volumes.join(', '));
			const rehearsal = await cli(['restore', backup, '--container', 'occt-rroom', '--only', data, '--rehearse'], own.host).done;
			assert.equal(rehearsal.code, 2, rehearsal.stderr);
			assert.match(rehearsal.stderr, /^occ-doctor: not enough room for the rehearsal of .*: its scratch volume needs 4\.\d MiB, .*nothing was changed, free some space on the engine's disk$/m);
			assert.equal((await container.inspect()).State.StartedAt, started, 'not restarted');
		} finally {
			await destroyEngine(own, null);
		}
	});
});
