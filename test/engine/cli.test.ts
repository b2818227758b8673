// The CLI as users run it: exit codes, stdout for results, stderr for errors, the JSON contract's keys, no ESC when piped.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it, type TestContext} from 'node:test';
import {engineTarget, type Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, RUN_ID, TEST_LABEL, uniqueName, skipOrFail, LABEL_FLAGS} from '../helpers/engine.js';
import {cli, docker, readableCopy, type Run} from '../helpers/docker-cli.js';
import {assertUnchanged} from '../helpers/host-snapshot.js';

const CONTRACT_KEYS = ['schemaVersion', 'engine', 'container', 'profile', 'locations', 'findings', 'restartPolicy', 'comesBack'];
// Keys that only some reports have: database discovery, timings, Redis, compose stacks.
const LATER_KEYS = ['databases', 'legacyStorage', 'timings', 'redis', 'services'];
const LOCATION_KEYS = ['path', 'label', 'priority', 'expected', 'exists', 'storage', 'readOnly', 'mount', 'survives'];
const ESC = '\u001B';

let engine: Engine | undefined;
let img = '';
const dir = mkdtempSync(join(tmpdir(), 'occt-cli-'));

async function ready(t: TestContext): Promise<boolean> {
	engine ??= await engineOrSkip(t);
	if (!engine) {
		return false;
	}

	img ||= await image(engine.docker);
	return true;
}

async function container(...flags: string[]): Promise<string> {
	const name = uniqueName('cli');
	await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, ...flags, img);
	return name;
}

async function volume(): Promise<string> {
	const name = uniqueName('clivol');
	await docker('volume', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, name);
	return name;
}

/**
 * An error run: exit 2, one `occ-doctor: ...` line on stderr, and on stdout nothing, or under --json the error object
 * (docs/json.md, Errors) with the same message and its code.
 */
function assertCouldNotRun(result: Run, pattern: RegExp, json?: {code: string}): Record<string, any> | undefined {
	assert.equal(result.code, 2, result.stderr);
	const lines = result.stderr.trim().split('\n');
	assert.equal(lines.length, 1, result.stderr);
	assert.match(lines[0]!, /^occ-doctor: /);
	assert.match(lines[0]!, pattern);
	assert.ok(!result.stderr.includes(ESC) && !result.stdout.includes(ESC));
	if (!json) {
		assert.equal(result.stdout, '');
		return undefined;
	}

	const {error} = JSON.parse(result.stdout) as {error: Record<string, any>};
	assert.equal(error.code, json.code);
	assert.equal(error.exitCode, 2);
	assert.equal(`occ-doctor: ${error.message}`, lines[0]);
	return error;
}

describe('the occ-doctor CLI', () => {
	after(async () => {
		if (engine) {
			await cleanup(engine.docker);
		}

		rmSync(dir, {recursive: true, force: true});
	});

	it('exits 0 on a clean container, with the plain report on stdout, nothing on stderr and no ESC bytes', async t => {
		if (!await ready(t)) {
			return;
		}

		const name = await container('-v', `${await volume()}:/srv/data`);
		const result = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--container', name]));
		assert.equal(result.code, 0, result.stderr);
		assert.match(result.stdout, /\/srv\/data/);
		assert.equal(result.stderr, '');
		assert.ok(!result.stdout.includes(ESC), 'piped output has no escape sequences');
	});

	it('exits 1 when there are errors, still reporting on stdout', async t => {
		if (!await ready(t)) {
			return;
		}

		const name = await container('--label', 'managed-by=opencode-cloud');
		const result = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--container', name, '--plain']));
		assert.equal(result.code, 1, result.stderr);
		assert.match(result.stdout, /not-persistent|container's own layer/);
		assert.ok(!result.stdout.includes(ESC));
		assert.ok(!result.stderr.includes('occ-doctor:'), 'errors found is a result, not a failure');
	});

	it('--json has exactly the contract\'s keys, on stdout', async t => {
		if (!await ready(t)) {
			return;
		}

		const name = await container('-v', `${await volume()}:/srv/data`, '-v', '/srv/anon');
		const result = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--json', '--container', name]));
		assert.equal(result.code, 0, result.stderr);
		const json = JSON.parse(result.stdout) as Record<string, any>;
		const extra = Object.keys(json).filter(k => !CONTRACT_KEYS.includes(k));
		assert.deepEqual(CONTRACT_KEYS.filter(k => !(k in json)), [], 'every contract key is there');
		assert.deepEqual(extra.filter(k => !LATER_KEYS.includes(k)), [], 'no key outside the contract');
		assert.equal(json.schemaVersion, 1);
		assert.deepEqual(json.engine, {context: null, host: process.env.DOCKER_HOST, transport: 'unix'});
		assert.equal(json.container.name, name);
		assert.equal(json.container.compose, null);
		for (const key of ['id', 'name', 'image', 'compose']) {
			assert.ok(key in json.container, `container.${key}`);
		}

		const anon = json.locations.find((l: any) => l.path === '/srv/anon');
		for (const key of LOCATION_KEYS) {
			assert.ok(key in anon, `locations[].${key}`);
		}

		assert.equal(anon.storage, 'anonymous-volume');
		assert.deepEqual(Object.keys(anon.mount).sort(), ['destination', 'name', 'rw', 'source', 'type']);
		assert.equal(anon.survives.recreate, 'orphaned');
		assert.equal(anon.survives['compose-recreate'], null);
		const finding = json.findings.find((f: any) => f.code === 'anonymous-volume');
		assert.deepEqual(Object.keys(finding).sort(), ['code', 'fix', 'message', 'path', 'severity', 'steps']);
		assert.ok(!result.stdout.includes(ESC));
	});

	it('--path adds a location', async t => {
		if (!await ready(t)) {
			return;
		}

		const name = await container('-v', `${await volume()}:/srv/data`);
		// A path that exists: one that does not is not at risk (test/engine/findings.test.ts).
		await docker('exec', name, 'mkdir', '/srv/notes');
		const result = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--json', '--container', name, '--path', '/srv/notes', '-p', '/srv/data/sub']));
		const json = JSON.parse(result.stdout) as {locations: Array<{path: string; storage: string; label: string}>};
		const byPath = new Map(json.locations.map(l => [l.path, l]));
		assert.equal(byPath.get('/srv/notes')?.storage, 'container-layer');
		assert.equal(byPath.get('/srv/notes')?.label, 'given with --path');
		assert.equal(byPath.get('/srv/data/sub')?.storage, 'named-volume');
		assert.equal(result.code, 1, 'a --path on the container layer is an error');
	});

	it('takes a --profile from a JSON file and from a YAML file', async t => {
		if (!await ready(t)) {
			return;
		}

		const name = await container('-v', `${await volume()}:/srv/data`);
		await docker('exec', name, 'mkdir', '/srv/state');
		const jsonFile = join(dir, 'mine.json');
		writeFileSync(jsonFile, JSON.stringify({name: 'mine', locations: [{path: '/srv/data/db.sqlite', label: 'my database', priority: 'critical', kind: 'sqlite'}]}));
		const yamlFile = join(dir, 'mine.yaml');
		writeFileSync(yamlFile, 'name: mine-yaml\nlocations:\n  - path: /srv/state\n    label: my state\n    priority: critical\n');
		const fromJson = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--json', '--container', name, '--profile', jsonFile]));
		const a = JSON.parse(fromJson.stdout);
		assert.equal(a.profile.name, 'mine');
		assert.equal(a.locations.find((l: any) => l.path === '/srv/data/db.sqlite')?.label, 'my database');
		assert.equal(fromJson.code, 0, fromJson.stderr);
		const fromYaml = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--json', '--container', name, '--profile', yamlFile]));
		const b = JSON.parse(fromYaml.stdout);
		assert.equal(b.profile.name, 'mine-yaml');
		assert.equal(b.locations.find((l: any) => l.path === '/srv/state')?.storage, 'container-layer');
		assert.ok(b.findings.some((f: any) => f.code === 'not-persistent' && f.path === '/srv/state' && f.severity === 'error'));
		assert.equal(fromYaml.code, 1);
		assertCouldNotRun(await cli(['check', '--container', name, '--profile', join(dir, 'missing.yaml')]), /no profile .*missing\.yaml/);
		// A parse error is quoted whole on one line: the position and the offending line, not a cut-off "column 1:".
		const broken = join(dir, 'broken.yaml');
		writeFileSync(broken, 'name: broken\nlocations:\n  - path: /srv/state\n label: bad indent\n');
		const parse = assertCouldNotRun(await cli(['check', '--json', '--container', name, '--profile', broken]), /profile .*broken\.yaml is not valid YAML: .* at line \d+, column \d+: ".+"/, {code: 'bad-profile'});
		assert.ok(!parse?.message.endsWith(':'));
	});

	it('exits 2 for an unknown container', async t => {
		if (!await ready(t)) {
			return;
		}

		assertCouldNotRun(await cli(['check', '--container', `no-such-${RUN_ID}`]), /no container "no-such-.*docker ps -a/);
	});

	it('exits 2 listing the candidates on stderr, and under --json in the error object', async t => {
		if (!await ready(t)) {
			return;
		}

		const one = await container('--label', 'managed-by=opencode-cloud');
		const two = await container('--label', 'managed-by=opencode-cloud');
		const plain = await cli(['check']);
		assert.equal(plain.code, 2);
		assert.equal(plain.stdout, '');
		assert.match(plain.stderr, /Candidates:/);
		assert.ok(plain.stderr.includes(one) && plain.stderr.includes(two), plain.stderr);
		assert.match(plain.stderr.trim().split('\n').at(-1)!, /^occ-doctor: \d+ containers .*--container NAME/);
		const json = await cli(['check', '--json']);
		assert.equal(json.code, 2);
		const {error} = JSON.parse(json.stdout) as {error: {code: string; message: string; candidates: Array<{name: string; id: string; profile: string}>}};
		assert.equal(error.code, 'ambiguous-container');
		assert.match(error.message, /--container NAME/);
		const names = error.candidates.map(c => c.name);
		assert.ok(names.includes(one) && names.includes(two), names.join(' '));
		assert.ok(error.candidates.every(c => c.id && c.profile));
	});

	it('exits 2 for a --db that is not in the container, in plain and JSON', async t => {
		if (!await ready(t)) {
			return;
		}

		const name = await container('-v', `${await volume()}:/srv/data`);
		assertCouldNotRun(await cli(['check', '--container', name, '--db', '/srv/data/nope.db']), /--db \/srv\/data\/nope\.db: no such file in .*SQLite database/);
		assertCouldNotRun(await cli(['check', '--json', '--container', name, '--db', '/srv/data']), /--db \/srv\/data: not a file/, {code: 'missing-db'});
	});

	it('exits 2 with no engine', async () => {
		const env = {...process.env, DOCKER_HOST: 'unix:///nonexistent'};
		assertCouldNotRun(await cli(['check', '--json'], {env}), /no Docker engine answers at unix:\/\/\/nonexistent.*DOCKER_HOST/, {code: 'cannot-run'});
	});

	it('exits 2 naming the docker group when the socket is forbidden', async t => {
		if (!await ready(t)) {
			return;
		}

		const target = engineTarget(process.env.DOCKER_HOST);
		const socket = target.options.socketPath;
		if (process.getuid?.() !== 0 || !socket) {
			skipOrFail(t, 'needs root and a unix socket to run the CLI as another user');
			return;
		}

		if ((statSync(socket).mode & 0o006) !== 0) {
			skipOrFail(t, `${socket} is open to everyone: nothing to deny`);
			return;
		}

		// The checkout may sit in a 0700 directory that uid 65534 cannot enter: run a world-readable copy.
		const copy = readableCopy();
		try {
			const result = await cli(['check', '--json'], {uid: 65534, gid: 65534, cwd: copy.dir, env: {...process.env, HOME: '/tmp'}});
			assertCouldNotRun(result, /permission denied on unix:\/\/.*docker group/, {code: 'cannot-run'});
		} finally {
			copy.remove();
		}
	});
});

// Bad input never reaches the engine: each is one `occ-doctor:` line naming it and --help, exit 2 (docs/json.md, Errors).
describe('bad input', () => {
	const cases: Array<{args: string[]; line: RegExp; code: string}> = [
		{args: ['--bogus'], line: /^occ-doctor: unknown flag --bogus: see occ-doctor --help$/, code: 'unknown-flag'},
		{args: ['check', '--containr', 'x'], line: /^occ-doctor: unknown flag --containr: see occ-doctor --help$/, code: 'unknown-flag'},
		{args: ['frob'], line: /^occ-doctor: unknown command "frob" \(commands: check, probe, backup, [a-z, ]+\): see occ-doctor --help$/, code: 'unknown-command'},
		{args: ['check', '--container'], line: /^occ-doctor: --container needs a value: see occ-doctor --help$/, code: 'missing-value'},
		{args: ['check', '--container', '--plain'], line: /^occ-doctor: --container needs a value: see occ-doctor --help$/, code: 'missing-value'},
		{args: ['check', '-c', ''], line: /^occ-doctor: -c needs a value: see occ-doctor --help$/, code: 'missing-value'},
		{args: ['backup', '--out'], line: /^occ-doctor: --out needs a value: see occ-doctor --help$/, code: 'missing-value'},
		{args: ['check', '--plain=yes'], line: /^occ-doctor: --plain takes no value \(got "yes"\): see occ-doctor --help$/, code: 'unexpected-value'},
		{args: ['check', 'mybox'], line: /^occ-doctor: unexpected argument "mybox" after check: see occ-doctor --help$/, code: 'unexpected-argument'},
	];

	for (const {args, line, code} of cases) {
		it(`${args.join(' ')}: one line, exit 2; with --json also the error object`, async () => {
			const env = {...process.env, DOCKER_HOST: 'unix:///nonexistent'};
			assertCouldNotRun(await cli(args, {env}), line);
			assertCouldNotRun(await cli([...args.filter(a => a !== '--plain'), '--json'].filter((a, i, all) => !(a === '--json' && all.indexOf('--json') !== i)), {env}), line, {code});
		});
	}

	it('--help is the help on stdout, exit 0', async () => {
		const result = await cli(['check', '--help']);
		assert.equal(result.code, 0);
		assert.match(result.stdout, /^\n {2}Tells you whether/);
		assert.match(result.stdout, /--container, -c NAME/);
		assert.equal(result.stderr, '');
	});

	it('backup --verify on a garbage manifest quotes the parse error whole on one line, exit 1', async () => {
		const bad = mkdtempSync(join(tmpdir(), 'occt-verify-'));
		try {
			writeFileSync(join(bad, 'manifest.json'), 'garbage "quoted\nmore');
			const result = await cli(['backup', '--verify', bad, '--plain']);
			assert.equal(result.code, 1, result.stderr);
			const lines = result.stderr.trim().split('\n');
			assert.equal(lines.length, 1, result.stderr);
			assert.match(lines[0]!, /^occ-doctor: .*manifest\.json is damaged \(Unexpected token .*"garbage "quoted more" is not valid JSON\): the backup cannot be checked$/);
		} finally {
			rmSync(bad, {recursive: true, force: true});
		}
	});
});
