// Over tcp:// occ-doctor cannot look at the engine's host, so it cannot tell whether a `-v` bind source exists there;
// every archive call on the container mounts all its binds, and the engine makes a missing source a directory. So
// backup, probe and restore (and their previews) refuse before touching anything, --only or not.
import assert from 'node:assert/strict';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {connect as connectSocket, createServer, type Server} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {connect, type Engine} from '../../source/docker/engine.js';
import {planBackup} from '../../source/backup/index.js';
import {prepareProbe} from '../../source/probe/index.js';
import {planRestore} from '../../source/restore/index.js';
import {readRestoreJournals, writeRestoreJournal} from '../../source/restore/journal.js';
import {cleanup, engineOrSkip, image, LABEL_FLAGS, uniqueName} from '../helpers/engine.js';
import {cli, docker, type Run} from '../helpers/docker-cli.js';
import {assertUnchanged, snapshotTree} from '../helpers/host-snapshot.js';

let engine: Engine | undefined;
let server: Server | undefined;
let host = '';
let name = '';
let volume = '';
const dir = mkdtempSync(join(tmpdir(), 'occt-tcpbinds-'));
const source = join(dir, 'notes');
const backupDir = join(dir, 'backup');

function assertRefused(result: Run, verb: string): void {
	assert.equal(result.code, 2, result.stderr);
	assert.equal(result.stdout, '');
	// Progress lines may come first; the failure is one line, the last.
	const failures = result.stderr.trim().split('\n').filter(line => line.startsWith('occ-doctor:'));
	assert.equal(failures.length, 1, result.stderr);
	assert.equal(result.stderr.trim().split('\n').at(-1), failures[0]);
	const only = {probe: '', backup: ' \\(--only cannot avoid it\\)', restore: ' \\(--only cannot avoid it\\)'}[verb];
	assert.match(failures[0]!, new RegExp(`^occ-doctor: ${verb} stopped before touching anything: occ-doctor cannot tell whether the bind source ${source} of ${name} exists on the engine's host \\(tcp://127\\.0\\.0\\.2:\\d+ offers no way to look\\).*as a directory${only}: .*occ-doctor ${verb} .*--host ssh://127\\.0\\.0\\.2`));
}

/** The CLI over tcp://, proven to change nothing: the missing source stays missing, the container as it was. */
async function overTcp(args: string[]): Promise<Run> {
	const result = await assertUnchanged(engine!.docker, name, async () => cli([...args, '--host', host, '--container', name]));
	assert.equal(snapshotTree(source), 'missing', `${args[0]} did not make the bind source`);
	return result;
}

describe('over tcp:// an unseen -v bind source stops backup, probe and restore before they touch anything', () => {
	before(async t => {
		engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		({server, host} = await tcpProxy());
		name = uniqueName('tcpbinds');
		volume = uniqueName('tcpvol');
		mkdirSync(source);
		writeFileSync(join(source, 'todo.txt'), 'keep me\n');
		await docker('volume', 'create', ...LABEL_FLAGS, volume);
		await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, '-v', `${volume}:/data`, '-v', `${source}:/srv/notes`, await image(engine.docker), 'sleep', '3600');
		await docker('exec', name, 'sh', '-c', 'echo session > /data/state.txt');
		await docker('kill', name);
		// A good backup to restore from, made on the local engine while the source was there.
		const made = await cli(['backup', '--container', name, '--out', backupDir, '--plain']);
		assert.equal(made.code, 0, made.stderr);
		rmSync(source, {recursive: true});
	});

	after(async () => {
		server?.close();
		if (engine) {
			await cleanup(engine.docker, [volume]);
		}

		rmSync(dir, {recursive: true, force: true});
	});

	it('backup exits 2 with the line, leaves no directory, with and without --only', async () => {
		for (const only of [[], ['--only', '/data']]) {
			const out = join(dir, `out-${only.length}`);
			assertRefused(await overTcp(['backup', '--out', out, '--plain', ...only]), 'backup');
			assert.equal(existsSync(out), false, 'no backup directory, no .partial');
		}
	});

	it('probe exits 2 with the line, even with --yes', async () => {
		assertRefused(await overTcp(['probe', '--yes', '--plain']), 'probe');
	});

	it('--json gives the error object with the code bind-source-unknown', async () => {
		const result = await overTcp(['backup', '--json', '--out', join(dir, 'out-json')]);
		assert.equal(result.code, 2, result.stderr);
		const {error} = JSON.parse(result.stdout) as {error: {code: string; message: string}};
		assert.equal(error.code, 'bind-source-unknown');
		assert.match(error.message, new RegExp(`cannot tell whether the bind source ${source}`));
	});

	it('restore, its --dry-run and a rehearsal exit 2 with the line, with and without --only', async () => {
		for (const extra of [['--yes'], ['--yes', '--only', '/data'], ['--dry-run'], ['--rehearse', '--yes']]) {
			assertRefused(await overTcp(['restore', backupDir, '--plain', ...extra]), 'restore');
		}
	});

	it('on the local engine the source is seen missing: backup exits 2 with bind-source-missing and creates nothing', async () => {
		const out = join(dir, 'out-local');
		const result = await assertUnchanged(engine!.docker, name, async () => cli(['backup', '--json', '--container', name, '--out', out]));
		assert.equal(snapshotTree(source), 'missing');
		assert.equal(result.code, 2, result.stderr);
		const {error} = JSON.parse(result.stdout) as {error: {code: string; message: string}};
		assert.equal(error.code, 'bind-source-missing');
		assert.match(error.message, new RegExp(`the bind source ${source} of ${name} is missing .*put it back first`));
		assert.equal(existsSync(out), false);
	});

	it('probe --cleanup and restore --cleanup, which would read or start the container, refuse the same way (bind-source-missing, exit 2) and keep the journal', async () => {
		const probe = await assertUnchanged(engine!.docker, name, async () => cli(['probe', '--cleanup', '--json', '--container', name]));
		assert.equal(probe.code, 2, probe.stderr);
		const {error} = JSON.parse(probe.stdout) as {error: {code: string; message: string}};
		assert.equal(error.code, 'bind-source-missing');
		assert.match(error.message, new RegExp(`^probe --cleanup stopped before touching anything: the bind source ${source} of ${name} is missing .*put it back first`));

		// A restore that died after stopping the container: its --cleanup would start it again.
		const state = mkdtempSync(join(dir, 'state-'));
		const now = new Date().toISOString();
		const {Id: id} = await engine!.docker.getContainer(name).inspect();
		writeRestoreJournal(join(state, 'occ-doctor'), {version: 1, runId: 'deadrun01', engine: engine!.target.label, pid: 2 ** 22 + 1, startedAt: now, updatedAt: now, container: {id, name}, before: {running: true}, stopped: true, image: 'none', backup: backupDir, safetyCopy: null, targets: [], step: 'extracting'});
		const restore = await assertUnchanged(engine!.docker, name, async () => cli(['restore', '--cleanup', '--plain'], {env: {...process.env, XDG_STATE_HOME: state}}));
		assert.equal(restore.code, 2, restore.stderr);
		assert.match(restore.stderr, new RegExp(`^occ-doctor: restore --cleanup stopped before touching anything: the bind source ${source} of ${name} is missing .*put it back first.*\n$`));
		assert.equal(restore.stderr.trim().split('\n').length, 1, restore.stderr);
		assert.equal(readRestoreJournals(join(state, 'occ-doctor')).length, 1, 'the journal stays for a run once the source is back');
		assert.equal(snapshotTree(source), 'missing');
	});

	it('the previews (the TUI\'s Backup, Probe and Restore screens) refuse the same way and read nothing', async () => {
		const remote = await connect(host);
		assert.equal(remote.target.local, false, '127.0.0.2 is a remote engine to occ-doctor');
		await assertUnchanged(engine!.docker, name, async () => {
			await assert.rejects(planBackup({container: name}, remote), /backup stopped before touching anything: occ-doctor cannot tell/);
			await assert.rejects(prepareProbe({container: name}, remote), /probe stopped before touching anything: occ-doctor cannot tell/);
			await assert.rejects(planRestore({dir: backupDir, container: name}, remote, () => {}), /restore stopped before touching anything: occ-doctor cannot tell/);
		});
		assert.equal(snapshotTree(source), 'missing');
	});

	it('why --only cannot help: reading the volume alone through the archive API makes the engine create the bind source', async () => {
		const stream = await engine!.docker.getContainer(name).getArchive({path: '/data/state.txt'});
		stream.resume();
		await new Promise(resolve => {
			stream.on('end', resolve);
		});
		try {
			assert.ok(statSync(source).isDirectory(), 'the engine made the missing -v source a directory');
		} finally {
			rmSync(source, {recursive: true, force: true});
		}
	});

});

/** The test engine's socket on a TCP port of 127.0.0.2: loopback, yet not a local engine to occ-doctor (like a remote tcp://). */
async function tcpProxy(): Promise<{server: Server; host: string}> {
	const socket = process.env.DOCKER_HOST!.replace(/^unix:\/\//, '');
	const proxy = createServer(client => {
		const upstream = connectSocket(socket);
		client.on('error', () => upstream.destroy());
		upstream.on('error', () => client.destroy());
		client.pipe(upstream).pipe(client);
	});
	await new Promise<void>((resolve, reject) => {
		proxy.once('error', reject);
		proxy.listen(0, '127.0.0.2', resolve);
	});
	return {server: proxy, host: `tcp://127.0.0.2:${(proxy.address() as {port: number}).port}`};
}
