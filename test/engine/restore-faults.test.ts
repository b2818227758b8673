// The engine dies mid-extract (its own private engine, SIGKILLed and started again on the same data root): the
// restore cannot roll back and says so in one line, keeping its journal; `restore --cleanup` then puts the old data
// back byte for byte and the container runs again.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {after, describe, it} from 'node:test';
import {runBackup} from '../../source/backup/index.js';
import {connect, type Engine} from '../../source/docker/engine.js';
import {buildBusyboxImage} from '../../source/docker/fixture-image.js';
import {startPrivateEngine} from '../../source/docker/private-engine.js';
import {destroyEngine, dropStaleContainerdPid, killEngine, reaped, restartEngine} from '../helpers/engine-death.js';
import {engineOrSkip} from '../helpers/engine.js';

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

function cli(args: string[], host: string, onStderr?: (all: string) => void): {child: ReturnType<typeof spawn>; done: Promise<{code: number | null; stdout: string; stderr: string}>} {
	const child = spawn(process.execPath, ['--import', 'tsx', 'cli.tsx', ...args], {env: {...process.env, DOCKER_HOST: host, XDG_STATE_HOME: stateHome}, stdio: ['ignore', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', c => (stdout += c));
	child.stderr.on('data', c => {
		stderr += c;
		onStderr?.(stderr);
	});
	return {child, done: new Promise(resolve => child.on('exit', code => resolve({code, stdout, stderr})))};
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
});
