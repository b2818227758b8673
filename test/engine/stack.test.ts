// Whole compose stacks and Redis: Debian's real redis-server in a FROM-scratch image, next to an app, in
// docker-compose 1.29 projects with and without `--appendonly yes`; check reports every service.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it, type TestContext} from 'node:test';
import type {Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, redisImage, RUN_ID, skipOrFail, TEST_LABEL} from '../helpers/engine.js';
import {cli, compose, docker, run} from '../helpers/docker-cli.js';
import {assertUnchanged} from '../helpers/host-snapshot.js';

const dir = mkdtempSync(join(tmpdir(), 'occt-stack-'));
const projects: Array<{project: string; file: string}> = [];
let engine: Engine | undefined;

const label = `{${JSON.stringify(TEST_LABEL)}: ${JSON.stringify(RUN_ID)}}`;

/** app (busybox, its data on a volume) + redis (the real one); `aof` adds --appendonly yes, `redisVolume` puts /data on a volume. */
async function stack(e: Engine, options: {aof: boolean; redisVolume: boolean}): Promise<{project: string; app: string; redis: string}> {
	const project = `occt${RUN_ID}${randomBytes(2).toString('hex')}`;
	const file = join(dir, `${project}.yml`);
	writeFileSync(file, [
		'version: "2.4"',
		'services:',
		'  app:',
		`    image: ${await image(e.docker)}`,
		'    network_mode: none',
		'    stop_grace_period: 1s',
		'    restart: unless-stopped',
		`    labels: ${label}`,
		'    volumes: ["appdata:/srv/data"]',
		'  redis:',
		`    image: ${await redisImage(e.docker)}`,
		'    network_mode: none',
		'    restart: unless-stopped',
		`    labels: ${label}`,
		`    command: ${JSON.stringify(['redis-server', ...(options.aof ? ['--appendonly', 'yes'] : [])])}`,
		...(options.redisVolume ? ['    volumes: ["redisdata:/data"]'] : []),
		'volumes:',
		`  appdata: {labels: ${label}}`,
		`  redisdata: {labels: ${label}}`,
		'',
	].join('\n'));
	projects.push({project, file});
	await compose(project, file, 'up', '-d');
	const id = async (service: string) => docker('ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`);
	const redis = await id('redis');
	// Wait until the server answers: CONFIG GET needs it up.
	for (let i = 0; i < 100; i++) {
		const ping = await run('docker', ['exec', redis, 'redis-cli', 'ping']);
		if (ping.stdout.trim() === 'PONG') {
			break;
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}

	return {project, app: await id('app'), redis};
}

interface Json {
	container: {name: string; compose: {project: string; service: string} | null};
	profile: {name: string};
	findings: Array<{code: string; severity: string; path: string | null; fix: string}>;
	redis?: {appendonly: boolean; save: string; dir: string; from: Record<string, string>; notes: string[]};
	services?: Array<{name: string; container: {id: string; name: string; state: string}; profile: string; verdict: string; counts: {errors: number; warnings: number}; findings: Array<{code: string; severity: string}>; redis?: {appendonly: boolean}}>;
}

async function ready(t: TestContext): Promise<Engine | undefined> {
	engine ??= await engineOrSkip(t);
	return engine;
}

describe('compose stacks with Redis', () => {
	after(async () => {
		// cleanup first: it takes every service through the read-only tour before it removes them.
		if (engine) {
			await cleanup(engine.docker);
		}

		for (const {project, file} of projects) {
			await run('docker-compose', ['-p', project, '-f', file, 'down', '-v', '-t', '1']);
		}

		rmSync(dir, {recursive: true, force: true});
	});

	it('reports both services; redis-no-aof only on the Redis without --appendonly yes, read from CONFIG GET', {timeout: 240_000}, async t => {
		const e = await ready(t);
		if (!e) {
			return;
		}

		for (const [tool, args] of [['docker-compose', ['version']], ['redis-server', ['--version']]] as const) {
			if ((await run(tool, [...args])).code !== 0) {
				skipOrFail(t, `${tool} is not installed`);
				return;
			}
		}

		const withAof = await stack(e, {aof: true, redisVolume: true});
		const without = await stack(e, {aof: false, redisVolume: true});
		for (const [s, aof] of [[withAof, true], [without, false]] as const) {
			const result = await assertUnchanged(e.docker, s.redis, async () => cli(['check', '--json', '--container', s.app]));
			const json = JSON.parse(result.stdout) as Json;
			assert.equal(json.container.compose?.service, 'app', result.stderr);
			assert.deepEqual(json.services?.map(x => x.name), ['app', 'redis']);
			const redis = json.services!.find(x => x.name === 'redis')!;
			assert.equal(redis.container.id, s.redis);
			assert.equal(redis.profile, 'redis-aof');
			assert.equal(redis.redis?.appendonly, aof);
			const codes = json.services!.flatMap(x => x.findings.map(f => `${x.name}:${f.code}`));
			assert.equal(codes.includes('redis:redis-no-aof'), !aof, codes.join(' '));
			assert.ok(!codes.some(c => c.startsWith('app:redis-')), codes.join(' '));
			assert.equal(redis.verdict, aof ? 'ok' : 'warnings', JSON.stringify(redis.findings));
			// A warning is not an error: both stacks exit 0.
			assert.equal(result.code, 0, result.stderr);
		}

		const unknown = await cli(['check', '--json', '--container', without.app, '--service', 'worker']);
		assert.equal(unknown.code, 2);
		assert.equal(JSON.parse(unknown.stdout).error.code, 'unknown-service');
		assert.match(unknown.stderr, new RegExp(`^occ-doctor: --service worker: compose project ${without.project} has no such service \\(services: app, redis\\)\n$`));
		const alone = JSON.parse((await cli(['check', '--json', '--container', without.app, '--service', 'redis'])).stdout) as Json;
		assert.equal(alone.container.compose?.service, 'redis');
		assert.equal(alone.services, undefined, '--service checks one service');
		assert.deepEqual({appendonly: alone.redis?.appendonly, save: alone.redis?.save, dir: alone.redis?.dir}, {appendonly: false, save: '3600 1 300 100 60 10000', dir: '/data'});
		assert.deepEqual(alone.redis?.from, {appendonly: 'CONFIG GET', save: 'CONFIG GET', dir: 'CONFIG GET'});
		const noAof = alone.findings.find(f => f.code === 'redis-no-aof')!;
		assert.equal(noAof.severity, 'warning');
		assert.match(JSON.stringify(noAof), /up to 1 h of writes/);
		// The printed fix works: AOF on at once, as CONFIG GET then says.
		const now = /docker exec (\S+) redis-cli CONFIG SET appendonly yes/.exec(noAof.fix);
		assert.ok(now, noAof.fix);
		await docker('exec', now[1]!, 'redis-cli', 'CONFIG', 'SET', 'appendonly', 'yes');
		const after = JSON.parse((await cli(['check', '--json', '--container', without.redis])).stdout) as Json;
		assert.equal(after.redis?.appendonly, true);
		assert.ok(!after.findings.some(f => f.code === 'redis-no-aof'));
	});

	it('a Redis whose /data is on its layer is redis-data-not-persistent and makes the stack exit 1; plain names each service', {timeout: 240_000}, async t => {
		const e = await ready(t);
		if (!e) {
			return;
		}

		if ((await run('docker-compose', ['version'])).code !== 0 || (await run('redis-server', ['--version'])).code !== 0) {
			skipOrFail(t, 'docker-compose 1.29 and redis-server are needed');
			return;
		}

		const s = await stack(e, {aof: true, redisVolume: false});
		const plain = await cli(['check', '--plain', '--no-databases', '--container', s.app]);
		assert.equal(plain.code, 1, 'the worst service decides: the app alone has no error');
		assert.match(plain.stdout, new RegExp(`Stack: compose project ${s.project}, 2 services`));
		assert.match(plain.stdout, /[✓!] app .*0 errors.*\(above\)/);
		assert.match(plain.stdout, /✗ redis .*1 error/);
		assert.match(plain.stdout, /Redis writes its RDB and AOF files to \/data .* container's own layer/);
		assert.match(plain.stdout, /fix: copy it into the named volume first: \$ docker create --name \S+-fill -v \S+_redis-data:\/data \S+ && docker cp \S+:\/data - \| docker cp -a - \S+-fill:\/ && docker rm \S+-fill ; then by hand: add volumes: \["redis-data:\/data"\] under services\.redis in \S+ .* ; then \$ docker-compose -p \S+ -f \S+ up -d\n/);
		assert.match(plain.stdout, /✗ stack .*: 1 of 2 services with errors/);
		// Stopped: the settings come from the command line, and nothing is asked of the engine that could change the host.
		await docker('stop', '-t', '1', s.redis);
		const stopped = JSON.parse((await assertUnchanged(e.docker, s.redis, async () => cli(['check', '--json', '--container', s.redis, '--service', 'redis']))).stdout) as Json;
		assert.deepEqual(stopped.redis?.from, {appendonly: 'command line', save: 'default', dir: 'default'});
		assert.equal(stopped.redis?.appendonly, true);
		assert.ok(stopped.findings.some(f => f.code === 'redis-data-not-persistent' && f.severity === 'error' && f.path === '/data'));
		assert.ok(!stopped.findings.some(f => f.code === 'not-persistent' && f.path === '/data'), 'the Redis finding replaces the generic one');
	});

	it('a Redis outside compose, without redis-cli, reads its config file: no AOF and save "" is an error, with the docker run fix', {timeout: 120_000}, async t => {
		const e = await ready(t);
		if (!e) {
			return;
		}

		if ((await run('redis-server', ['--version'])).code !== 0) {
			skipOrFail(t, 'redis-server is needed');
			return;
		}

		const img = await redisImage(e.docker, {cli: false, config: 'appendonly no\nsave ""'});
		const name = `occt-redis-${RUN_ID}-${randomBytes(2).toString('hex')}`;
		await docker('run', '-d', '--name', name, '--network', 'none', '--restart', 'unless-stopped', '--label', `${TEST_LABEL}=${RUN_ID}`, img, 'redis-server', '/etc/redis.conf');
		const result = await assertUnchanged(e.docker, name, async () => cli(['check', '--json', '--container', name]));
		const json = JSON.parse(result.stdout) as Json;
		assert.equal(result.code, 1, result.stderr);
		assert.equal(json.services, undefined, 'not a compose service: no stack');
		assert.equal(json.profile.name, 'redis-aof');
		assert.deepEqual(json.redis?.from, {appendonly: '/etc/redis.conf', save: '/etc/redis.conf', dir: 'default'});
		assert.deepEqual([json.redis?.appendonly, json.redis?.save, json.redis?.dir], [false, '', '/data']);
		assert.ok(json.redis?.notes.some(n => /no redis-cli/.test(n)), json.redis?.notes.join('; '));
		const noAof = json.findings.find(f => f.code === 'redis-no-aof')!;
		assert.equal(noAof.severity, 'error');
		assert.match(noAof.fix, new RegExp(`recreate ${name} with redis-server --appendonly yes`));
		assert.ok(json.findings.some(f => f.code === 'redis-data-not-persistent' && f.fix.includes(`-v redis-data:/data`)));
		const notCompose = await cli(['check', '--container', name, '--service', 'redis']);
		assert.equal(notCompose.code, 2);
		assert.match(notCompose.stderr, new RegExp(`^occ-doctor: --service redis: ${name} is not a compose service: .*\n$`));
	});
});
