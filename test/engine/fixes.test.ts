// The fixes check prints work: on each fixture, every command step of every finding is run as printed, from a
// scratch directory, and every advice step is performed the way its words say (a recreate with one -v more or one
// bind less, a compose edit): only the test knows the container's whole `docker run` line or owns its compose file.
// Afterwards the findings are gone and the data is still there.
import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it, type TestContext} from 'node:test';
import YAML from 'yaml';
import type {Finding, FixStep} from '../../source/core/types.js';
import type {Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, LABEL_FLAGS, redisImage, removeFixture, RUN_ID, skipOrFail, TEST_LABEL, tour, uniqueName} from '../helpers/engine.js';
import {docker, run} from '../helpers/docker-cli.js';
import {checkUnchanged} from '../helpers/host-snapshot.js';

const DATA = '/root/.local/share/opencode';
const work = mkdtempSync(join(tmpdir(), 'occt-fixes-'));
const made: string[] = [];
const projects: Array<{project: string; file: string}> = [];
let engine: Engine | undefined;

interface Mount {
	source: string | null;
	destination: string;
	ro?: boolean;
}

/** A container the test can recreate: `docker run` with its flags and mounts, or a service of a compose file the test owns. */
interface Fixture {
	name: string;
	image: string;
	mounts: Mount[];
	flags: string[];
	compose?: {project: string; file: string; service: string};
	/** Where its commands run (their ./saved copies are its own). */
	cwd: string;
	/** Its command, when not the image's. */
	command?: string[];
	/** Waits after each start until the app answers (a printed command may talk to it at once). */
	ready?: (name: string) => Promise<void>;
	/** It had its read-only tour (see recreate). */
	toured?: boolean;
}

async function start(fixture: Fixture): Promise<void> {
	const volumes = fixture.mounts.flatMap(m => ['-v', m.source ? `${m.source}:${m.destination}${m.ro ? ':ro' : ''}` : m.destination]);
	await docker('run', '-d', '--name', fixture.name, '--network', 'none', ...LABEL_FLAGS, ...fixture.flags, ...volumes, fixture.image, ...fixture.command ?? []);
	await fixture.ready?.(fixture.name);
}

/** `docker run` flags without `--tmpfs PATH`: a mount on PATH takes its place. */
const withoutTmpfs = (flags: string[], path: string) => flags.filter((f, i) => !(f === '--tmpfs' && flags[i + 1] === path) && !(flags[i - 1] === '--tmpfs' && f === path));

/** redis-cli in the container, once Redis answers (and has loaded its data). */
async function redisCli(container: string, ...args: string[]): Promise<string> {
	for (let i = 0; i < 100; i++) {
		const result = await run('docker', ['exec', container, 'redis-cli', ...args]);
		if (result.code === 0 && !result.stdout.startsWith('LOADING')) {
			return result.stdout.trim();
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}

	throw new Error(`redis-cli ${args.join(' ')} never answered`);
}

async function recreate(fixture: Fixture, change: (mounts: Mount[]) => Mount[]): Promise<void> {
	// The fixture as built gets the read-only tour before its first recreate (cleanup tours the last one); the
	// halfway states between fixes do not: a tour costs about half a second.
	if (!fixture.toured) {
		fixture.toured = true;
		await tour(engine!.docker, fixture.name);
	}

	await docker('rm', '-f', fixture.name);
	fixture.mounts = change(fixture.mounts);
	await start(fixture);
}

/** A compose edit as the advice words it, on the test's own file. */
function editCompose(fixture: Fixture, file: string, service: string, edit: (service: Record<string, any>, doc: Record<string, any>) => void): void {
	assert.equal(file, fixture.compose?.file, 'the advice names the compose file the service came from');
	assert.equal(service, fixture.compose?.service);
	const doc = YAML.parse(readFileSync(file, 'utf8')) as Record<string, any>;
	edit(doc.services[service], doc);
	// YAML 1.1, as compose 1.29 reads it: `yes` must stay a string.
	writeFileSync(file, YAML.stringify(doc, {version: '1.1'}));
}

/** Perform one advice step; false for a pointer to another finding's fix. Advice the test cannot perform fails it. */
async function perform(text: string, fixture: Fixture): Promise<boolean> {
	let m: RegExpExecArray | null;
	if ((m = /^recreate (\S+) with -v (\S+):(\S+)$/.exec(text))) {
		assert.equal(m[1], fixture.name);
		const [, , source, destination] = m as unknown as [string, string, string, string];
		made.push(source);
		fixture.flags = withoutTmpfs(fixture.flags, destination);
		await recreate(fixture, mounts => [...mounts.filter(x => x.destination !== destination), {source, destination}]);
		return true;
	}

	if ((m = /^recreate (\S+) without --rm and with --restart (\S+) \(a --rm container cannot have a restart policy\)$/.exec(text))) {
		assert.equal(m[1], fixture.name);
		fixture.flags = [...fixture.flags.filter(f => f !== '--rm'), '--restart', m[2]!];
		await recreate(fixture, mounts => mounts);
		return true;
	}

	if ((m = /^to keep it: recreate (\S+) with (.+) as its command$/.exec(text))) {
		assert.equal(m[1], fixture.name);
		fixture.command = m[2]!.split(' ');
		await recreate(fixture, mounts => mounts);
		return true;
	}

	if ((m = /^recreate (\S+) without the file bind of (\S+)$/.exec(text))) {
		assert.equal(m[1], fixture.name);
		await recreate(fixture, mounts => mounts.filter(x => x.destination !== m![2]));
		return true;
	}

	if ((m = /^recreate (\S+) without the mounts of (\S+(?:, \S+)*)$/.exec(text))) {
		assert.equal(m[1], fixture.name);
		const drop = m[2]!.split(', ');
		await recreate(fixture, mounts => mounts.filter(x => !drop.includes(x.destination)));
		return true;
	}

	if ((m = /^bind-mount the directory instead: recreate (\S+) with -v (\S+):(\S+) in place of the file bind$/.exec(text))) {
		assert.equal(m[1], fixture.name);
		const [, , source, destination] = m as unknown as [string, string, string, string];
		await recreate(fixture, mounts => [...mounts.filter(x => x.destination !== destination && !x.destination.startsWith(`${destination}/`)), {source, destination}]);
		return true;
	}

	if ((m = /^drop :ro from the mount of (\S+)$/.exec(text))) {
		await recreate(fixture, mounts => mounts.map(x => (x.destination === m![1] ? {...x, ro: false} : x)));
		return true;
	}

	if ((m = /^add volumes: \["(\S+):(\S+)"\] under services\.(\S+) in (\S+) \(and (\S+): under top-level volumes:\)$/.exec(text))) {
		const [, volume, path, service, file] = m as unknown as [string, string, string, string, string];
		editCompose(fixture, file, service, (s, doc) => {
			s.volumes = [...(s.volumes ?? []).filter((v: string) => !v.endsWith(`:${path}`) && v !== path), `${volume}:${path}`];
			doc.volumes = {...doc.volumes, [volume]: {labels: {[TEST_LABEL]: RUN_ID}}};
		});
		return true;
	}

	if ((m = /^to keep it: command: (\[.*\]) under services\.(\S+) in (\S+)$/.exec(text))) {
		const command = JSON.parse(m[1]!) as string[];
		editCompose(fixture, m[3]!, m[2]!, s => {
			s.command = command;
		});
		return true;
	}

	if ((m = /^add `restart: unless-stopped` under services\.(\S+) in (\S+)$/.exec(text))) {
		editCompose(fixture, m[2]!, m[1]!, s => {
			s.restart = 'unless-stopped';
		});
		return true;
	}

	if (/^move \S+ \(the fix under it\)/.test(text)) {
		return false;
	}

	assert.fail(`advice the test cannot perform: ${text}`);
}

async function runStep(step: FixStep, fixture: Fixture): Promise<boolean> {
	if ('advice' in step) {
		return perform(step.advice, fixture);
	}

	const result = await run('sh', ['-c', step.command], {cwd: fixture.cwd});
	assert.equal(result.code, 0, `${step.command}: ${result.stderr}`);
	// The user's own run line gets the policy too, so a later recreate keeps it.
	const policy = /^docker update --restart (\S+) /.exec(step.command);
	if (policy) {
		fixture.flags.push('--restart', policy[1]!);
	}

	return true;
}

/** Every step of every finding but the infos; returns how many were commands and performed advice. */
async function runFixes(findings: Finding[], fixture: Fixture, t?: TestContext): Promise<{commands: number; advice: number}> {
	const ran = {commands: 0, advice: 0};
	for (const finding of findings.filter(f => f.severity !== 'info')) {
		t?.diagnostic(`${finding.code} ${finding.path ?? ''}: ${finding.fix}`);
		assert.ok(finding.steps.length > 0, `${finding.code} has steps`);
		for (const step of finding.steps) {
			if (await runStep(step, fixture)) {
				ran['command' in step ? 'commands' : 'advice']++;
			}
		}
	}

	return ran;
}

async function ready(t: TestContext): Promise<Engine | undefined> {
	engine ??= await engineOrSkip(t);
	return engine;
}

const codesOf = (findings: Finding[]) => findings.filter(f => f.severity !== 'info').map(f => `${f.code} ${f.path ?? ''}`.trim()).sort();

describe('the printed fixes work', () => {
	after(async () => {
		if (engine) {
			await cleanup(engine.docker, made);
		}

		for (const {project, file} of projects) {
			await run('docker-compose', ['-p', project, '-f', file, 'down', '-v', '-t', '1']);
		}

		rmSync(work, {recursive: true, force: true});
	});

	it('opencode-cloud as uid 1000 before its first run (its data, state and users dirs absent): each volume made the app user\'s first (root\'s for the users store), then mounted; it writes there', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const home = '/home/opencoder';
		const fixture: Fixture = {
			name: uniqueName('fix-absent'),
			image: await image(engine.docker, {user: '1000', labels: {'managed-by': 'opencode-cloud'}, lines: [`RUN mkdir -p ${home} && chown 1000:1000 ${home}`]}),
			mounts: [],
			flags: ['--restart', 'unless-stopped'],
			cwd: mkdtempSync(join(work, 'cwd-')),
		};
		await start(fixture);
		const {report} = await checkUnchanged(engine, {container: fixture.name, databases: false});
		const codes = codesOf(report.findings);
		assert.ok(codes.includes(`not-persistent ${home}/.local/share/opencode`), codes.join(', '));
		assert.match(report.findings.find(f => f.path === `${home}/.local/share/opencode`)?.fix ?? '', /^make the volume the app user's first: docker run --rm -u 0 --network none --entrypoint chown -v opencode-data:\/d \S+ 1000:1000 \/d ; then recreate /);

		await runFixes(report.findings, fixture, t);
		const {report: after} = await checkUnchanged(engine, {container: fixture.name, databases: false});
		assert.deepEqual(codesOf(after.findings), []);
		await docker('exec', fixture.name, 'sh', '-c', `echo s > ${home}/.local/share/opencode/new && echo s > ${home}/.local/state/opencode/new`);
		assert.equal(await docker('exec', '-u', '0', fixture.name, 'stat', '-c', '%u %a', '/var/lib/opencode-users'), '0 755');
		// The fix names its volumes as opencode-cloud does, whoever runs it: gone now, so a later test starts without them.
		const volumes = fixture.mounts.map(m => m.source!);
		await removeFixture(engine.docker, fixture.name);
		await docker('volume', 'rm', ...volumes);
	});

	it('opencode data on the layer (a dir with a file and a database in it) and an anonymous volume: every fix runs, the data survives a recreate', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const fixture: Fixture = {
			name: uniqueName('fix'),
			image: await image(engine.docker, {lines: [`RUN mkdir -p ${DATA}/storage /srv/anon`]}),
			mounts: [{source: null, destination: '/srv/anon'}],
			flags: ['--restart', 'unless-stopped'],
			cwd: mkdtempSync(join(work, 'cwd-')),
		};
		await start(fixture);
		await docker('exec', fixture.name, 'sh', '-c', `echo '{"k":1}' > ${DATA}/auth.json && echo db > ${DATA}/opencode.db && echo kept > /srv/anon/notes`);
		const {report} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		const codes = codesOf(report.findings);
		assert.ok(codes.includes(`not-persistent ${DATA}`), codes.join(', '));
		assert.ok(codes.includes(`not-persistent ${DATA}/auth.json`), codes.join(', '));
		assert.ok(codes.includes('anonymous-volume /srv/anon'), codes.join(', '));

		// Fill a named volume, recreate for the data dir; copy, recreate for the anonymous volume.
		assert.deepEqual(await runFixes(report.findings, fixture, t), {commands: 2, advice: 2});

		const {report: after} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		assert.deepEqual(codesOf(after.findings), []);
		assert.equal(await docker('exec', fixture.name, 'cat', `${DATA}/auth.json`), '{"k":1}');
		assert.equal(await docker('exec', fixture.name, 'cat', `${DATA}/opencode.db`), 'db');
		assert.equal(await docker('exec', fixture.name, 'cat', '/srv/anon/notes'), 'kept');
		// And the data is now where a recreate keeps it.
		assert.ok(after.locations.filter(l => l.path === DATA || l.path === '/srv/anon').every(l => l.survives.recreate === 'kept'));
	});

	it('opencode-cloud running as uid 1000 with its data on the layer: after the fixes its files are still its own (owners kept), and it writes there', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const home = '/home/opencoder/.local/share/opencode';
		const fixture: Fixture = {
			name: uniqueName('fix-occ'),
			image: await image(engine.docker, {user: '1000', labels: {'managed-by': 'opencode-cloud'}, lines: [`RUN mkdir -p ${home} && chown -R 1000:1000 /home/opencoder`]}),
			mounts: [],
			flags: ['--restart', 'unless-stopped'],
			cwd: mkdtempSync(join(work, 'cwd-')),
		};
		await start(fixture);
		await docker('exec', fixture.name, 'sh', '-c', `echo '{"k":3}' > ${home}/auth.json && mkdir ${home}/storage && echo s > ${home}/storage/ses && chmod 600 ${home}/auth.json`);
		const {report} = await checkUnchanged(engine, {container: fixture.name, databases: false});
		const codes = codesOf(report.findings);
		assert.ok(codes.includes(`not-persistent ${home}`), codes.join(', '));

		await runFixes(report.findings, fixture, t);
		const {report: after} = await checkUnchanged(engine, {container: fixture.name, databases: false});
		assert.deepEqual(codesOf(after.findings), []);
		assert.equal(await docker('exec', fixture.name, 'cat', `${home}/auth.json`), '{"k":3}');
		assert.equal(await docker('exec', fixture.name, 'stat', '-c', '%u:%g %a', home, `${home}/auth.json`, `${home}/storage/ses`), '1000:1000 755\n1000:1000 600\n1000:1000 644');
		await docker('exec', fixture.name, 'sh', '-c', `echo new > ${home}/new && echo more >> ${home}/auth.json`);
	});

	it('single files: one bound inside a volume moves into it, one in a layer directory gets its directory bound; a read-only data mount is made writable; a restart policy is set', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const host = mkdtempSync(join(work, 'host-'));
		writeFileSync(join(host, 'auth.json'), '{"provider":"api"}');
		writeFileSync(join(host, 'settings.json'), '{"theme":"dark"}');
		const ro = mkdtempSync(join(work, 'ro-'));
		writeFileSync(join(ro, 'notes'), 'read me');
		const volume = uniqueName('fixvol');
		await docker('volume', 'create', ...LABEL_FLAGS, volume);
		made.push(volume);
		const fixture: Fixture = {
			name: uniqueName('fix-file'),
			image: await image(engine.docker, {lines: ['RUN mkdir -p /srv/conf']}),
			mounts: [
				{source: volume, destination: DATA},
				{source: join(host, 'auth.json'), destination: `${DATA}/auth.json`},
				{source: join(host, 'settings.json'), destination: '/srv/conf/settings.json'},
				{source: ro, destination: '/root/.local/state/opencode', ro: true},
			],
			flags: [],
			cwd: mkdtempSync(join(work, 'cwd-')),
		};
		await start(fixture);
		const {report} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		const codes = codesOf(report.findings);
		for (const expected of [`single-file-mount ${DATA}/auth.json`, 'single-file-mount /srv/conf/settings.json', 'read-only-data /root/.local/state/opencode', 'no-restart-policy']) {
			assert.ok(codes.includes(expected), `${expected} in ${codes.join(', ')}`);
		}

		const ran = await runFixes(report.findings, fixture, t);
		assert.ok(ran.commands >= 3 && ran.advice >= 3, JSON.stringify(ran));
		const {report: after} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		assert.deepEqual(codesOf(after.findings), []);
		assert.equal(await docker('exec', fixture.name, 'cat', `${DATA}/auth.json`), '{"provider":"api"}');
		assert.equal(await docker('exec', fixture.name, 'cat', '/srv/conf/settings.json'), '{"theme":"dark"}');
		assert.equal(await docker('exec', fixture.name, 'cat', '/root/.local/state/opencode/notes'), 'read me');
		assert.equal(await docker('inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', fixture.name), 'unless-stopped');
	});

	it('a database split from its -wal (a volume on each file path, inside the data volume): the mounts on the file paths go, and SQLite keeps its commits in the directory', async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const data = uniqueName('fixdata');
		await docker('volume', 'create', ...LABEL_FLAGS, data);
		made.push(data);
		const fixture: Fixture = {
			name: uniqueName('fix-split'),
			image: await image(engine.docker),
			mounts: [{source: data, destination: DATA}, {source: uniqueName('fixdb'), destination: `${DATA}/opencode.db`}, {source: uniqueName('fixwal'), destination: `${DATA}/opencode.db-wal`}],
			flags: ['--restart', 'unless-stopped'],
			cwd: mkdtempSync(join(work, 'cwd-')),
		};
		made.push(fixture.mounts[1]!.source!, fixture.mounts[2]!.source!);
		await start(fixture);
		await docker('exec', fixture.name, 'sh', '-c', `echo '{"k":4}' > ${DATA}/auth.json`);
		const {report} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		const split = report.findings.find(f => f.code === 'sqlite-sidecar-split');
		assert.equal(split?.fix, `recreate ${fixture.name} without the mounts of ${DATA}/opencode.db, ${DATA}/opencode.db-wal`);

		assert.deepEqual(await runFixes(report.findings, fixture, t), {commands: 0, advice: 1});
		const {report: after} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		assert.deepEqual(codesOf(after.findings), []);
		assert.equal(await docker('exec', fixture.name, 'cat', `${DATA}/auth.json`), '{"k":4}');
		// The database is now a file's place on the data volume, where its -wal and -shm land too and a recreate keeps them.
		const db = after.locations.find(l => l.path === `${DATA}/opencode.db`);
		assert.equal(db?.mount?.name, data);
		assert.equal(db?.survives.recreate, 'kept');
	});

	it('Redis by `docker run --rm` with /data on a tmpfs and no AOF: its dataset kept through every printed step (the tmpfs read through tar, the --rm recreate advice, the command advice)', {timeout: 180_000}, async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		const fixture: Fixture = {
			name: uniqueName('fix-redis'),
			image: await redisImage(engine.docker),
			mounts: [],
			flags: ['--rm', '--tmpfs', '/data'],
			cwd: mkdtempSync(join(work, 'cwd-')),
			ready: async name => {
				await redisCli(name, 'PING');
			},
		};
		await start(fixture);
		assert.equal(await redisCli(fixture.name, 'SET', 'queue:task', 'keep me'), 'OK');
		assert.equal(await redisCli(fixture.name, 'SAVE'), 'OK');
		const {report} = await checkUnchanged(engine, {container: fixture.name});
		const codes = codesOf(report.findings);
		for (const expected of ['redis-data-not-persistent /data', 'redis-no-aof /data', 'no-restart-policy']) {
			assert.ok(codes.includes(expected), `${expected} in ${codes.join(', ')}`);
		}

		made.push('redis-data');
		const ran = await runFixes(report.findings, fixture, t);
		assert.ok(ran.commands >= 2 && ran.advice >= 3, JSON.stringify(ran));
		const {report: after} = await checkUnchanged(engine, {container: fixture.name});
		assert.deepEqual(codesOf(after.findings), []);
		assert.equal(after.redis?.appendonly, true);
		await docker('restart', fixture.name);
		assert.equal(await redisCli(fixture.name, 'GET', 'queue:task'), 'keep me', 'kept across the recreates and a restart, from the volume');
		// The fix names its volume redis-data, whoever runs it: gone now, so no later test finds it filled.
		await removeFixture(engine.docker, fixture.name);
		await docker('volume', 'rm', 'redis-data');
	});

	it('Redis in compose (docker-compose 1.29) with /data on its layer, no AOF and no restart policy: its dataset kept through every printed step', {timeout: 180_000}, async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		if ((await run('docker-compose', ['version'])).code !== 0) {
			skipOrFail(t, 'docker-compose is not installed');
			return;
		}

		const project = `occt${RUN_ID}redis`;
		const file = join(work, 'redis-compose.yml');
		writeFileSync(file, YAML.stringify({
			version: '2.4',
			services: {redis: {image: await redisImage(engine.docker), network_mode: 'none', stop_grace_period: '5s', labels: {[TEST_LABEL]: RUN_ID}, command: ['redis-server']}},
		}));
		projects.push({project, file});
		const up = await run('docker-compose', ['-p', project, '-f', file, 'up', '-d']);
		assert.equal(up.code, 0, up.stderr);
		const container = `${project}_redis_1`;
		const cli = async (...args: string[]) => redisCli(container, ...args);

		assert.equal(await cli('SET', 'queue:task', 'keep me'), 'OK');
		assert.equal(await cli('SAVE'), 'OK');
		const fixture: Fixture = {name: container, image: '', mounts: [], flags: [], compose: {project, file, service: 'redis'}, cwd: mkdtempSync(join(work, 'cwd-'))};
		const {report} = await checkUnchanged(engine, {container});
		// The fixes' `up -d` recreates it: toured now, as it was made.
		await tour(engine.docker, container);
		const codes = codesOf(report.findings);
		for (const expected of ['redis-data-not-persistent /data', 'redis-no-aof /data', 'no-restart-policy']) {
			assert.ok(codes.includes(expected), `${expected} in ${codes.join(', ')}`);
		}

		const ran = await runFixes(report.findings, fixture, t);
		assert.equal(await cli('GET', 'queue:task'), 'keep me');
		assert.ok(ran.commands >= 5 && ran.advice >= 3, JSON.stringify(ran));
		const {report: after} = await checkUnchanged(engine, {container});
		assert.deepEqual(codesOf(after.findings), []);
		assert.equal(after.redis?.appendonly, true);
		await docker('restart', container);
		assert.equal(await cli('GET', 'queue:task'), 'keep me', 'kept across a restart, from the volume');
	});

	it('a compose service (docker-compose 1.29) with its data on the layer, an anonymous volume and no restart policy: the compose edits and `up -d` as printed, the data kept', {timeout: 180_000}, async t => {
		const engine = await ready(t);
		if (!engine) {
			return;
		}

		if ((await run('docker-compose', ['version'])).code !== 0) {
			skipOrFail(t, 'docker-compose is not installed');
			return;
		}

		const project = `occt${RUN_ID}fix`;
		const file = join(work, 'docker-compose.yml');
		const label = {[TEST_LABEL]: RUN_ID};
		writeFileSync(file, YAML.stringify({
			version: '2.4',
			services: {app: {image: await image(engine.docker, {lines: [`RUN mkdir -p ${DATA} /srv/anon`]}), network_mode: 'none', stop_grace_period: '1s', labels: label, volumes: ['/srv/anon']}},
		}));
		projects.push({project, file});
		const up = await run('docker-compose', ['-p', project, '-f', file, 'up', '-d']);
		assert.equal(up.code, 0, up.stderr);
		const name = await docker('ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`);
		const container = await docker('inspect', '-f', '{{.Name}}', name).then(n => n.replace(/^\//, ''));
		await docker('exec', container, 'sh', '-c', `echo '{"k":2}' > ${DATA}/auth.json && echo kept > /srv/anon/notes`);
		const fixture: Fixture = {name: container, image: '', mounts: [], flags: [], compose: {project, file, service: 'app'}, cwd: mkdtempSync(join(work, 'cwd-'))};
		const {report} = await checkUnchanged(engine, {container, profile: 'opencode', databases: false});
		await tour(engine.docker, container);
		const codes = codesOf(report.findings);
		for (const expected of [`not-persistent ${DATA}`, 'anonymous-volume /srv/anon', 'no-restart-policy']) {
			assert.ok(codes.includes(expected), `${expected} in ${codes.join(', ')}`);
		}

		const ran = await runFixes(report.findings, fixture, t);
		assert.ok(ran.commands >= 4 && ran.advice >= 3, JSON.stringify(ran));
		const {report: after} = await checkUnchanged(engine, {container, profile: 'opencode', databases: false});
		assert.deepEqual(codesOf(after.findings), []);
		assert.equal(await docker('exec', container, 'cat', `${DATA}/auth.json`), '{"k":2}');
		assert.equal(await docker('exec', container, 'cat', '/srv/anon/notes'), 'kept');
	});
});
