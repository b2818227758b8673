// The engine over SSH against a real sshd on loopback: the user's ssh config and known_hosts, no agent, one login
// per run counted in sshd's own log, docker contexts, and one line per failure stage.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {connect, createServer, type Server} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import Database from 'better-sqlite3';
import type {Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, LABEL_FLAGS, tour, uniqueName} from '../helpers/engine.js';
import {cli, docker, REPO_ROOT, run, type Run} from '../helpers/docker-cli.js';
import {startSshd, type SshBox} from '../helpers/sshd.js';
import {assertUnchanged, snapshotTree} from '../helpers/host-snapshot.js';
import {WHERE_IS_THE_ENGINE} from '../../source/docker/ssh.js';

const ESC = '\u001B';
let engine: Engine | undefined;
let box: SshBox | undefined;
let name = '';
let volume = '';
const extraVolumes: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'occt-ssh-'));

/** The client's environment: our ssh first on PATH, no agent, no DOCKER_HOST (the address comes from flags or a context). */
function clientEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {...box!.env, DOCKER_CONFIG: join(dir, 'empty-docker-config'), TMPDIR: cliTmp};
	delete env.DOCKER_HOST;
	delete env.DOCKER_CONTEXT;
	return {...env, ...extra};
}

/** The CLI's temp dir (TMPDIR), ours alone: other test runs on this machine make control dirs of their own in /tmp. */
const cliTmp = join(dir, 'tmp');
mkdirSync(cliTmp);

function controlDirs(): Set<string> {
	return new Set(readdirSync(cliTmp).filter(n => n.startsWith('occ-ssh-')));
}

/** Run the CLI as a client of the sshd; count the logins it made, and check it left no SSH master behind. */
async function overSsh(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run & {logins: number}> {
	const before = box!.logins();
	const dirsBefore = controlDirs();
	const result = await cli(args, {env: clientEnv(extra)});
	const left = [...controlDirs()].filter(n => !dirsBefore.has(n));
	assert.deepEqual(left, [], 'the control directory (and its master) is gone when occ-doctor exits');
	return {...result, logins: box!.logins() - before};
}

function assertOneLine(result: Run, pattern: RegExp): void {
	assert.equal(result.code, 2, result.stderr);
	assert.equal(result.stdout, '');
	const lines = result.stderr.trim().split('\n');
	assert.equal(lines.length, 1, result.stderr);
	assert.match(lines[0]!, /^occ-doctor: /);
	assert.match(lines[0]!, pattern);
	assert.ok(!result.stderr.includes(ESC));
}

describe('the engine over SSH (real sshd on loopback)', () => {
	before(async t => {
		engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const host = process.env.DOCKER_HOST ?? '';
		assert.match(host, /^unix:\/\//, 'the SSH tests reach the test engine through its socket (DOCKER_HOST=unix://…)');
		box = await startSshd(host);
		const img = await image(engine.docker);
		name = uniqueName('ssh');
		volume = uniqueName('sshvol');
		await docker('volume', 'create', ...LABEL_FLAGS, volume);
		await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, '--label', 'managed-by=opencode-cloud', '-v', `${volume}:/home/opencoder/.local/share/opencode`, img, 'sleep', '3600');
		await docker('exec', name, 'sh', '-c', 'echo remote-session > /home/opencoder/.local/share/opencode/notes.txt');
		// A docker context whose host is the alias, made by the docker CLI itself.
		const made = await run('docker', ['context', 'create', 'remote', '--docker', 'host=ssh://box'], {env: clientEnv({DOCKER_CONFIG: join(dir, 'docker-config')})});
		assert.equal(made.code, 0, made.stderr);
	});

	after(async () => {
		await box?.stop();
		if (engine) {
			await cleanup(engine.docker, [volume, ...extraVolumes]);
		}

		rmSync(dir, {recursive: true, force: true});
	});

	it('checks over ssh://alias with the key from IdentityFile only, no agent, in ONE SSH connection', async () => {
		const result = await assertUnchanged(engine!.docker, name, async () => overSsh(['check', '--host', 'ssh://box', '--container', name]));
		assert.ok(result.code === 0 || result.code === 1, result.stderr);
		assert.equal(result.stderr, '', 'no warnings (DEP0170 or other) on stderr');
		assert.match(result.stdout, new RegExp(`occ-doctor check · ${name}`));
		assert.match(result.stdout, /^engine: ssh:\/\/box · ssh$/m);
		assert.match(result.stdout, /notes|opencode/);
		assert.equal(result.logins, 1, box!.log().split('\n').slice(-30).join('\n'));
	});

	it('logs in with an ssh that cannot forward a unix socket (before OpenSSH 6.7): without the early forward, one login', async () => {
		const old = join(dir, 'old-ssh');
		mkdirSync(old, {recursive: true});
		const real = (clientEnv().PATH ?? '').split(':').map(d => join(d, 'ssh')).find(p => existsSync(p))!;
		// As such an ssh answers the forward of the usual engine socket the login asks for (ssh.ts, startMaster).
		writeFileSync(join(old, 'ssh'), `#!/bin/sh\nfor a in "$@"; do case "$a" in *usual.sock:*) echo "Bad local forwarding specification '$a'" >&2; exit 255;; esac; done\nexec '${real}' "$@"\n`, {mode: 0o755});
		const result = await overSsh(['check', '--host', 'ssh://box', '--container', name], {PATH: `${old}:${clientEnv().PATH}`});
		assert.ok(result.code === 0 || result.code === 1, result.stderr);
		assert.equal(result.stderr, '');
		assert.match(result.stdout, /^engine: ssh:\/\/box · ssh$/m);
		assert.equal(result.logins, 1);
	});

	it('forwards the engine socket over that connection (one remote command per check: where the engine listens), or stays on dial-stdio where sshd refuses', async () => {
		const sessions = box!.sessions();
		const forwarded = await assertUnchanged(engine!.docker, name, async () => overSsh(['check', '--json', '--host', 'ssh://box', '--container', name]));
		assert.ok(forwarded.code === 0 || forwarded.code === 1, forwarded.stderr);
		assert.equal(forwarded.logins, 1, `forwarded: ${forwarded.stderr}\n${box!.log().split('\n').slice(-30).join('\n')}`);
		assert.equal(box!.sessions() - sessions, 1, `the login asks where the engine listens; every request goes through the forward:\n${box!.log().split('\n').slice(-25).join('\n')}`);
		const refused = await overSsh(['check', '--json', '--host', 'ssh://box-nofwd', '--container', name]);
		assert.equal(refused.stderr, '');
		assert.equal(refused.code, forwarded.code, `${refused.stdout}\n---\n${forwarded.stdout}`);
		assert.equal(refused.logins, 1, `refused: ${refused.stderr}\n${box!.log().split('\n').slice(-40).join('\n')}`);
		assert.deepEqual(JSON.parse(refused.stdout).locations, JSON.parse(forwarded.stdout).locations);
	});

	it('asks the remote shell where the engine listens, as the docker CLI there would resolve it (the CLI is the oracle)', async () => {
		const config = join(dir, 'where-config');
		const current = join(dir, 'where-current');
		const inConfig = (configDir: string, ...args: string[]) => run('docker', ['context', ...args], {env: {...clientEnv(), DOCKER_CONFIG: configDir}});
		assert.equal((await inConfig(config, 'create', 'elsewhere', '--docker', 'host=unix:///srv/elsewhere.sock')).code, 0);
		assert.equal((await inConfig(current, 'create', 'chosen', '--docker', 'host=unix:///srv/chosen.sock')).code, 0);
		assert.equal((await inConfig(current, 'use', 'chosen')).code, 0);
		const cases: Array<[string, NodeJS.ProcessEnv]> = [
			['DOCKER_HOST', {DOCKER_HOST: 'unix:///srv/from-env.sock', DOCKER_CONFIG: config}],
			['nothing set', {DOCKER_CONFIG: join(dir, 'no-config-here')}],
			['DOCKER_CONTEXT', {DOCKER_CONTEXT: 'elsewhere', DOCKER_CONFIG: config}],
			['currentContext', {DOCKER_CONFIG: current}],
		];
		for (const [what, extra] of cases) {
			const env = {...clientEnv(), ...extra};
			// eslint-disable-next-line no-await-in-loop
			const [ours, cli] = await Promise.all([run('sh', ['-c', WHERE_IS_THE_ENGINE], {env}), run('docker', ['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}'], {env})]);
			assert.equal(cli.code, 0, cli.stderr);
			assert.equal(ours.stdout, cli.stdout, what);
		}
	});

	it('says in the JSON which engine, context and transport were used', async () => {
		const result = await overSsh(['check', '--json', '--host', 'ssh://box', '--container', name]);
		assert.equal(result.stderr, '');
		const report = JSON.parse(result.stdout) as {engine: unknown; databases?: Array<{path: string}>};
		assert.deepEqual(report.engine, {context: null, host: 'ssh://box', transport: 'ssh'});
		assert.equal(result.logins, 1);
	});

	it('takes the engine from a docker context: --context, DOCKER_CONTEXT, then currentContext', async () => {
		const config = {DOCKER_CONFIG: join(dir, 'docker-config')};
		const byFlag = await overSsh(['check', '--json', '--context', 'remote', '--container', name], config);
		assert.equal(byFlag.stderr, '');
		assert.deepEqual(JSON.parse(byFlag.stdout).engine, {context: 'remote', host: 'ssh://box', transport: 'ssh'});
		assert.equal(byFlag.logins, 1);

		const byEnv = await overSsh(['check', '--json', '--container', name], {...config, DOCKER_CONTEXT: 'remote'});
		assert.equal(JSON.parse(byEnv.stdout).engine.context, 'remote', byEnv.stderr);

		const use = await run('docker', ['context', 'use', 'remote'], {env: clientEnv(config)});
		assert.equal(use.code, 0, use.stderr);
		const byCurrent = await overSsh(['check', '--container', name], config);
		assert.match(byCurrent.stdout, /^engine: ssh:\/\/box · context remote · ssh$/m, byCurrent.stderr);
		// DOCKER_HOST comes before the current context, as with the docker CLI.
		const byHost = await cli(['check', '--json', '--container', name], {env: {...clientEnv(config), DOCKER_HOST: process.env.DOCKER_HOST}});
		assert.deepEqual(JSON.parse(byHost.stdout).engine, {context: null, host: process.env.DOCKER_HOST, transport: 'unix'});
		await run('docker', ['context', 'use', 'default'], {env: clientEnv(config)});
	});

	it('names the contexts there are when the one asked for is missing', async () => {
		const result = await overSsh(['check', '--context', 'nope'], {DOCKER_CONFIG: join(dir, 'docker-config')});
		assertOneLine(result, /no Docker context "nope".*the contexts there are default, remote/);
		assert.equal(result.logins, 0);
	});

	it('backs up over ssh://alias and through the context, archive streams on the same one connection', async () => {
		for (const [label, args, extra] of [
			['alias', ['--host', 'ssh://box'], {}],
			['context', ['--context', 'remote'], {DOCKER_CONFIG: join(dir, 'docker-config')}],
		] as const) {
			const out = join(dir, `backup-${label}`);
			// eslint-disable-next-line no-await-in-loop
			const result = await overSsh(['backup', ...args, '--container', name, '--out', out], extra);
			assert.equal(result.code, 0, result.stderr);
			assert.equal(result.logins, 1, `${label}: one SSH login for the whole backup`);
			const archive = join(out, `${volume}.tar.gz`);
			assert.ok(existsSync(archive), `${label}: ${readdirSync(out).join(', ')}`);
			// eslint-disable-next-line no-await-in-loop
			const listed = await run('tar', ['xzOf', archive, './notes.txt']);
			assert.equal(listed.stdout, 'remote-session\n', listed.stderr);
		}
	});

	it('restores over ssh://alias and through the context, on one connection each', async () => {
		for (const [label, args, extra] of [
			['alias', ['--host', 'ssh://box'], {}],
			['context', ['--context', 'remote'], {DOCKER_CONFIG: join(dir, 'docker-config')}],
		] as const) {
			// eslint-disable-next-line no-await-in-loop
			await docker('exec', name, 'sh', '-c', `echo changed-${label} > /home/opencoder/.local/share/opencode/notes.txt`);
			// eslint-disable-next-line no-await-in-loop
			const result = await overSsh(['restore', join(dir, `backup-${label}`), ...args, '--container', name, '--yes', '--plain'], extra);
			assert.equal(result.code, 0, result.stderr);
			assert.equal(result.logins, 1, `${label}: one SSH login for the whole restore`);
			// eslint-disable-next-line no-await-in-loop
			assert.equal(await docker('exec', name, 'cat', '/home/opencoder/.local/share/opencode/notes.txt'), 'remote-session');
		}

	});

	it('refuses an unknown host key and a changed one, each with its own line and fix, exit 2', async () => {
		const unknown = await overSsh(['check', '--host', 'ssh://box-unknown']);
		assertOneLine(unknown, /host key of box-unknown is not in your known_hosts .*`ssh box-unknown`/);
		const changed = await overSsh(['check', '--host', 'ssh://box-changed']);
		assertOneLine(changed, /host key of box-changed has changed .*ssh-keygen -f ".*known_hosts_changed" -R "\[127\.0\.0\.1\]:\d+"/);
		assert.equal(unknown.logins + changed.logins, 0);
	});

	it('gives each stage that can fail its own line', async () => {
		const stages: Array<[string, RegExp]> = [
			['box-nxdomain', /\(name resolution\): /],
			['box-refused', /cannot open a TCP connection to box-refused \(Connection refused\)/],
			['box-denied', /\(authentication\): make `ssh box-denied true` work/],
			['box-nodocker', /no `docker` on the PATH .*\(remote docker CLI\)/],
			['box-noperm', /may not use the Docker socket .*\(remote permission\): add that user to the docker group/],
			['box-nodial', /no `docker system dial-stdio` \(remote docker too old\)/],
			['box-down', /the Docker engine on box-down is not running .*: start it there/],
		];
		const lines = new Set<string>();
		for (const [alias, pattern] of stages) {
			// eslint-disable-next-line no-await-in-loop
			const result = await overSsh(['check', '--host', `ssh://${alias}`]);
			assertOneLine(result, pattern);
			lines.add(result.stderr.replace(alias, 'HOST').split(':')[1]!);
			// Only the engine being down says to start it.
			assert.equal(/systemctl start docker/.test(result.stderr), alias === 'box-down', result.stderr);
		}

		assert.equal(lines.size, stages.length, 'each stage reads differently');
	});

	it('runs as `ssh host occ-doctor check` without -t: the plain report, no escape codes, no raw mode', async () => {
		const repo = process.cwd();
		const remote = `cd ${repo} && ${process.execPath} --import tsx cli.tsx --container ${name}`;
		const result = await run('ssh', ['box', remote], {env: clientEnv()});
		assert.ok(result.code === 0 || result.code === 1, result.stderr);
		assert.match(result.stdout, new RegExp(`occ-doctor check · ${name}`));
		assert.ok(!result.stdout.includes(ESC) && !result.stderr.includes(ESC));
		assert.doesNotMatch(result.stderr, /raw mode/i);
	});

	it('a link cut in the middle of a backup is one line naming the drop, exit 2, no archive under its final name', async () => {
		const big = uniqueName('sshbig');
		await docker('run', '-d', '--name', big, '--network', 'none', ...LABEL_FLAGS, '-v', `${big}:/data`, await image(engine!.docker), 'sleep', '3600');
		// Toured now, before the 1.5 GB that the snapshots would hash twice (this test removes it itself).
		await tour(engine!.docker, big);
		// Big enough that progress lines come while bytes still flow, however fast the link (1.5 GB, removed after).
		await docker('exec', big, 'dd', 'if=/dev/zero', 'of=/data/big', 'bs=1048576', 'count=1500');
		const out = join(dir, 'backup-cut');
		const child = spawn(process.execPath, ['--import', 'tsx', 'cli.tsx', 'backup', '--host', 'ssh://box', '--container', big, '--out', out], {cwd: REPO_ROOT, env: clientEnv(), stdio: ['ignore', 'pipe', 'pipe']});
		let stderr = '';
		let cut = 0;
		child.stderr.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
			// Cut once bytes flow: a progress line past 0 B.
			if (cut === 0 && /: [1-9][\d.]* [kKMG]?i?B \//.test(stderr)) {
				cut = box!.cutLinks();
			}
		});
		const code = await new Promise<number | null>(resolve => {
			child.on('close', resolve);
		});
		try {
			assert.ok(cut > 0, `the transfer was cut while it ran:\n${stderr}`);
			assert.equal(code, 2, stderr);
			const last = stderr.trim().split('\n').at(-1)!;
			assert.match(last, /^occ-doctor: (the engine went away while reading \S+: )?the SSH link to box dropped.*run again/);
			assert.deepEqual(existsSync(out) ? readdirSync(out).filter(n => n.endsWith('.tar.gz')) : [], [], 'no archive under its final name');
		} finally {
			await docker('rm', '-f', big);
			await docker('volume', 'rm', big);
		}
	});

	it('over ssh:// the bind sources are looked at on the host through the SSH connection: the database is counted, nothing changes', async () => {
		const {name} = await boundDataDir('sshbind');
		const result = await assertUnchanged(engine!.docker, name, async () => overSsh(['check', '--json', '--host', 'ssh://box', '--container', name]));
		assert.equal(result.stderr, '');
		assert.equal(result.logins, 1);
		const report = JSON.parse(result.stdout) as JsonReport;
		const db = report.databases?.find(d => d.path === `${DATA}/opencode.db`);
		assert.ok(db, `opencode.db is counted: ${JSON.stringify(report.databases)} skipped ${JSON.stringify(report.databasesSkipped)}`);
		assert.equal(db.error, null);
		assert.equal(db.tables.session, 2);
		assert.deepEqual(report.findings.filter(f => f.code === 'databases-not-counted' || f.code === 'missing-host-path'), []);
	});

	it('over ssh:// reads databases and data dirs on the engine\'s host through the login\'s shell, as a local check reads them, and through the archive API where that user may not', async () => {
		// A named volume: its mountpoint, under the engine's data root, is root's alone (no bind source to look at).
		const name = uniqueName('sshhost');
		const data = uniqueName('sshhostvol');
		extraVolumes.push(data);
		await docker('volume', 'create', ...LABEL_FLAGS, data);
		await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, '--label', 'managed-by=opencode-cloud', '-v', `${data}:${DATA}`, await image(engine!.docker), 'sleep', '3600');
		const made = join(dir, 'sshhost.db');
		const db = new Database(made);
		db.exec('CREATE TABLE session (id TEXT PRIMARY KEY); INSERT INTO session VALUES (\'ses_a\'), (\'ses_b\');');
		db.close();
		await docker('cp', made, `${name}:${DATA}/opencode.db`);
		// storage/ beside the database, in the layout opencode's legacy storage uses, and a nested dir to walk.
		await docker('exec', name, 'sh', '-c', `mkdir -p ${DATA}/storage/session/p1 ${DATA}/storage/project && echo '{}' > ${DATA}/storage/session/p1/ses_a.json && echo '{}' > ${DATA}/storage/project/p1.json`);
		const local = await cli(['check', '--json', '--container', name], {env: {...clientEnv(), DOCKER_HOST: process.env.DOCKER_HOST}});
		const sessions = box!.sessions();
		const onHost = await assertUnchanged(engine!.docker, name, async () => overSsh(['check', '--json', '--host', 'ssh://box', '--container', name]));
		assert.equal(box!.sessions() - sessions, 1, 'the login\'s own session is the shell: no other session');
		// nobody's shell cannot read the engine's data root: the same answers, through the engine's archive API.
		const archived = await assertUnchanged(engine!.docker, name, async () => overSsh(['check', '--json', '--host', 'ssh://box-nobody', '--container', name]));
		type Counted = JsonReport & {legacyStorage?: unknown; timings: {requests: number}};
		const [ours, viaShell, viaArchive] = [local, onHost, archived].map(r => JSON.parse(r.stdout) as Counted);
		assert.equal(onHost.stderr, '');
		assert.equal(archived.stderr, '');
		assert.equal(ours!.databases?.[0]?.tables.session, 2, JSON.stringify(ours!.databases));
		for (const [how, remote] of [['shell', viaShell!], ['archive', viaArchive!]] as const) {
			assert.deepEqual(remote.databases, ours!.databases, `${how}: ${JSON.stringify(remote)}`);
			assert.deepEqual(remote.legacyStorage, ours!.legacyStorage, how);
			assert.deepEqual(remote.databasesSkipped, ours!.databasesSkipped, how);
		}

		// What counting adds to a check's engine requests: a local check's (the layer's dirs go through the archive API
		// there too), and more where the archive API reads the data dir and the database.
		const withoutDatabases = async (args: string[], env: NodeJS.ProcessEnv) => (JSON.parse((await cli([...args, '--no-databases'], {env})).stdout) as Counted).timings.requests;
		const localCost = ours!.timings.requests - await withoutDatabases(['check', '--json', '--container', name], {...clientEnv(), DOCKER_HOST: process.env.DOCKER_HOST});
		const shellCost = viaShell!.timings.requests - await withoutDatabases(['check', '--json', '--host', 'ssh://box', '--container', name], clientEnv());
		const archiveCost = viaArchive!.timings.requests - await withoutDatabases(['check', '--json', '--host', 'ssh://box-nobody', '--container', name], clientEnv());
		assert.equal(shellCost, localCost, 'the data dir and its database were read on the host, as a local check reads them');
		assert.ok(archiveCost > localCost, `the archive API read them: ${archiveCost} requests against ${localCost}`);
	});

	it('over ssh:// a missing bind source is reported missing-host-path and not created', async () => {
		const {name, source} = await boundDataDir('sshgone');
		await docker('kill', name);
		rmSync(source, {recursive: true});
		const result = await assertUnchanged(engine!.docker, name, async () => overSsh(['check', '--json', '--host', 'ssh://box', '--container', name]));
		assert.equal(snapshotTree(source), 'missing', 'check did not make the bind source');
		assert.equal(result.code, 1, result.stderr);
		const report = JSON.parse(result.stdout) as JsonReport;
		const missing = report.findings.find(f => f.code === 'missing-host-path');
		assert.ok(missing, JSON.stringify(report.findings));
		assert.ok(missing.message.includes(source), missing.message);
		const notCounted = report.findings.find(f => f.code === 'databases-not-counted');
		assert.ok(notCounted, `the databases there are unknown, and the report says so: ${JSON.stringify(report.findings)}`);
		assert.match(notCounted.fix, /missing-host-path/);
	});

	it('over tcp:// there is no way to look at the host: the report says why the databases were not counted and how to count them', async () => {
		const {name} = await boundDataDir('tcpbind');
		const {server, host} = await tcpProxy();
		try {
			const json = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--json', '--host', host, '--container', name], {env: clientEnv()}));
			assert.equal(json.stderr, '');
			const report = JSON.parse(json.stdout) as JsonReport;
			assert.ok(!report.databases?.some(d => d.error === null), `nothing is counted through an engine that could create a bind source: ${JSON.stringify(report.databases)}`);
			const notCounted = report.findings.find(f => f.code === 'databases-not-counted');
			assert.ok(notCounted, JSON.stringify(report.findings));
			assert.match(notCounted.message, new RegExp(`${DATA}.*not searched or counted.*cannot see whether the bind source`));
			assert.match(notCounted.fix, new RegExp(`occ-doctor check --host ssh://127\\.0\\.0\\.2 --container ${name}`));
			const plain = await cli(['check', '--host', host, '--container', name], {env: clientEnv()});
			assert.match(plain.stdout, /databases-not-counted|not searched or counted/);
			assert.match(plain.stdout, /--host ssh:\/\/127\.0\.0\.2/);
		} finally {
			server.close();
		}
	});
});

const DATA = '/home/opencoder/.local/share/opencode';

interface JsonReport {
	findings: Array<{code: string; path: string | null; message: string; fix: string}>;
	databases?: Array<{path: string; error: string | null; tables: Record<string, number>}>;
	databasesSkipped?: string[];
}

/** A host directory holding opencode.db (2 sessions) bind-mounted with -v as the data dir of a container that ran. */
async function boundDataDir(label: string): Promise<{name: string; source: string}> {
	const source = join(dir, label);
	mkdirSync(source);
	const db = new Database(join(source, 'opencode.db'));
	db.exec('CREATE TABLE session (id TEXT PRIMARY KEY); INSERT INTO session VALUES (\'ses_a\'), (\'ses_b\');');
	db.close();
	const name = uniqueName(label);
	await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, '--label', 'managed-by=opencode-cloud', '-v', `${source}:${DATA}`, await image(engine!.docker), 'sleep', '3600');
	return {name, source};
}

/** The test engine's socket on a TCP port of 127.0.0.2: loopback, yet not a local engine to occ-doctor (like a remote tcp://). */
async function tcpProxy(): Promise<{server: Server; host: string}> {
	const socket = process.env.DOCKER_HOST!.replace(/^unix:\/\//, '');
	const server = createServer(client => {
		const upstream = connect(socket);
		client.on('error', () => upstream.destroy());
		upstream.on('error', () => client.destroy());
		client.pipe(upstream).pipe(client);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.2', resolve);
	});
	return {server, host: `tcp://127.0.0.2:${(server.address() as {port: number}).port}`};
}

