// The ground truth of source/core/matrix.ts: write a nonce into every location, perform the operation for real,
// look for the nonce, and compare what happened with what `check` predicted.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it, type TestContext} from 'node:test';
import type Docker from 'dockerode';
import type {Scenario, Survival} from '../../source/core/types.js';
import type {Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, LABELS, removeFixture, RUN_ID, TEST_LABEL, tour, uniqueName} from '../helpers/engine.js';
import {cli, compose, docker, run} from '../helpers/docker-cli.js';
import {assertUnchanged, checkUnchanged} from '../helpers/host-snapshot.js';

const MEASURED: Scenario[] = ['restart', 'stop-start', 'recreate', 'compose-recreate', 'compose-down-up', 'compose-down-v'];

interface Target {
	path: string;
	/** The location is a bind-mounted file: the nonce is its content. */
	file?: boolean;
	/** Read-only locations: the nonce is written here, on the host side of the bind. */
	hostSeed?: string;
}

interface InspectMount {
	Type: string;
	Name?: string;
	Source: string;
	Destination: string;
}

interface Setup {
	name: string;
	targets: Target[];
	current(): Promise<string>;
	operations: Partial<Record<Scenario, (id: string) => Promise<void>>>;
}

type Row = Record<Scenario, Survival | null>;

const nonceFile = (t: Target) => (t.file ? t.path : `${t.path}/.nonce`);
const sq = (s: string) => `'${s.replaceAll('\'', '\'"\'"\'')}'`;

let engine: Engine | undefined;
let img = '';
const volumesSeen = new Set<string>();
const dirs: string[] = [];
const projects: Array<{project: string; file: string}> = [];

function hostDir(): string {
	const dir = mkdtempSync(join(tmpdir(), 'occt-matrix-'));
	dirs.push(dir);
	return dir;
}

async function inspectMounts(id: string): Promise<InspectMount[]> {
	const mounts = JSON.parse(await docker('inspect', '-f', '{{json .Mounts}}', id)) as InspectMount[];
	for (const m of mounts) {
		if (m.Type === 'volume' && m.Name) {
			volumesSeen.add(m.Name);
		}
	}

	return mounts;
}

async function writeNonce(id: string, targets: Target[], nonce: string): Promise<void> {
	const script = targets.filter(t => !t.hostSeed).map(t => {
		const file = nonceFile(t);
		return `mkdir -p ${sq(file.replace(/\/[^/]*$/, '') || '/')} && printf %s ${nonce} > ${sq(file)}`;
	}).join(' && ');
	await docker('exec', id, 'sh', '-c', script);
	for (const t of targets.filter(t => t.hostSeed)) {
		writeFileSync(t.hostSeed!, nonce);
	}
}

/** What the (new or same) container sees at each target: one line per target. */
async function readNonces(id: string, targets: Target[]): Promise<string[]> {
	// A marker per line, so an empty first line survives the trim.
	const script = targets.map(t => `echo "=$(cat ${sq(nonceFile(t))} 2>/dev/null)"`).join('; ');
	const out = await docker('exec', id, 'sh', '-c', script);
	return out.split('\n').map(line => line.slice(1));
}

/** Does the data still exist somewhere on the host: the old volume, the bind source, or the old container? */
async function onHost(target: Target, mounts: InspectMount[], oldId: string, nonce: string): Promise<boolean> {
	const file = nonceFile(target);
	const covering = mounts
		.filter(m => file === m.Destination || file.startsWith(m.Destination + '/'))
		.sort((a, b) => b.Destination.length - a.Destination.length)[0];
	const rel = covering ? file.slice(covering.Destination.length) : file;
	if (covering?.Type === 'volume' && covering.Name) {
		const exists = await run('docker', ['volume', 'inspect', covering.Name]);
		if (exists.code !== 0) {
			return false;
		}

		const labels = Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
		const read = await run('docker', ['run', '--rm', '--network', 'none', ...labels, '-v', `${covering.Name}:/v:ro`, img, 'cat', `/v${rel}`]);
		return read.stdout.includes(nonce);
	}

	if (covering?.Type === 'bind') {
		try {
			return readFileSync(covering.Source + rel, 'utf8').includes(nonce);
		} catch {
			return false;
		}
	}

	// Container layer (or tmpfs): only the old container, if it still exists, could hold it.
	const copied = await run('docker', ['cp', `${oldId}:${file}`, '-']);
	return copied.code === 0 && copied.stdout.includes(nonce);
}

async function measure(t: TestContext, setup: Setup): Promise<Record<string, Row>> {
	const observed: Record<string, Row> = {};
	for (const target of setup.targets) {
		observed[target.path] = Object.fromEntries(MEASURED.map(s => [s, null])) as Row;
	}

	for (const scenario of MEASURED) {
		const operation = setup.operations[scenario];
		if (!operation) {
			continue;
		}

		const id = await setup.current();
		const nonce = `${scenario}-${randomBytes(6).toString('hex')}`;
		const mounts = await inspectMounts(id);
		await writeNonce(id, setup.targets, nonce);
		const seenBefore = await readNonces(id, setup.targets);
		assert.deepEqual(seenBefore, setup.targets.map(() => nonce), `${setup.name}: every target holds the nonce before ${scenario}`);
		await operation(id);
		const now = await setup.current();
		await inspectMounts(now);
		const seen = await readNonces(now, setup.targets);
		for (const [i, target] of setup.targets.entries()) {
			// eslint-disable-next-line no-await-in-loop
			observed[target.path]![scenario] = seen[i] === nonce ? 'kept' : (await onHost(target, mounts, id, nonce) ? 'orphaned' : 'lost');
		}
	}

	t.diagnostic(`observed, ${setup.name}:`);
	t.diagnostic(`| location | ${MEASURED.join(' | ')} |`);
	for (const [path, row] of Object.entries(observed)) {
		t.diagnostic(`| ${path} | ${MEASURED.map(s => row[s] ?? '–').join(' | ')} |`);
	}

	return observed;
}

function predictedRows(locations: Array<{path: string; storage: string; survives: Record<string, Survival | null>}>, targets: Target[]): Record<string, Row> {
	const out: Record<string, Row> = {};
	for (const target of targets) {
		const location = locations.find(l => l.path === target.path);
		assert.ok(location, `check reports a location for ${target.path}`);
		out[target.path] = Object.fromEntries(MEASURED.map(s => [s, location.survives[s] ?? null])) as Row;
	}

	return out;
}

async function waitGone(ref: string): Promise<void> {
	for (let i = 0; i < 100; i++) {
		// eslint-disable-next-line no-await-in-loop
		if ((await run('docker', ['inspect', ref])).code !== 0) {
			return;
		}

		// eslint-disable-next-line no-await-in-loop
		await new Promise(resolve => setTimeout(resolve, 100));
	}
}

/** A `docker run` setup: the same flags for the first run and for every recreate. */
function runSetup(name: string, flags: string[], targets: Target[]): Setup {
	const labels = Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
	const start = async () => {
		await docker('run', '-d', '--name', name, '--network', 'none', ...labels, ...flags, img);
	};

	return {
		name,
		targets,
		current: async () => docker('inspect', '-f', '{{.Id}}', name),
		operations: {
			restart: async id => {
				await docker('restart', '-t', '1', id);
			},
			'stop-start': async id => {
				await docker('stop', '-t', '1', id);
				// A --rm container is gone once stopped: starting it again means running it again.
				await new Promise(resolve => setTimeout(resolve, 300));
				if ((await run('docker', ['start', id])).code !== 0) {
					await waitGone(id);
					await start();
				}
			},
			recreate: async id => {
				await removeFixture(engine!.docker, id);
				await waitGone(id);
				await start();
			},
		},
	};
}

async function namedVolume(): Promise<string> {
	const name = uniqueName('vol');
	await docker('volume', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, name);
	return name;
}

describe('what survives what, measured on a real engine', () => {
	after(async () => {
		// cleanup first: it tours the compose containers too (they carry the label), then down takes the rest.
		if (engine) {
			await cleanup(engine.docker, [...volumesSeen].filter(v => /^[0-9a-f]{64}$/.test(v) || v.startsWith('occt-')));
		}

		for (const {project, file} of projects) {
			await run('docker-compose', ['-p', project, '-f', file, 'down', '-v', '-t', '1']);
		}

		for (const dir of dirs) {
			rmSync(dir, {recursive: true, force: true});
		}
	});

	async function ready(t: TestContext): Promise<Docker | undefined> {
		engine ??= await engineOrSkip(t);
		if (!engine) {
			return undefined;
		}

		img ||= await image(engine.docker, {volumes: ['/imgvol']});
		return engine.docker;
	}

	it('docker run: named, anonymous (-v and image VOLUME), bind dir and file, nested, tmpfs both ways, read-only bind, layer', async t => {
		if (!await ready(t)) {
			return;
		}

		const dir = hostDir();
		for (const d of ['bind', 'inner', 'ro']) {
			mkdirSync(join(dir, d));
		}

		writeFileSync(join(dir, 'file.txt'), 'empty');
		const named = await namedVolume();
		const nest = await namedVolume();
		const flags = [
			'-v', `${named}:/named`,
			'-v', '/anon',
			'-v', `${join(dir, 'bind')}:/bind`,
			'-v', `${join(dir, 'file.txt')}:/file.txt`,
			'-v', `${nest}:/nest`,
			'-v', `${join(dir, 'inner')}:/nest/inner`,
			'--tmpfs', '/tmpfs',
			'--mount', 'type=tmpfs,destination=/tmpfs2',
			'-v', `${join(dir, 'ro')}:/ro:ro`,
		];
		const targets: Target[] = [
			{path: '/named'}, {path: '/anon'}, {path: '/imgvol'}, {path: '/bind'}, {path: '/file.txt', file: true},
			{path: '/nest'}, {path: '/nest/inner'}, {path: '/tmpfs'}, {path: '/tmpfs2'},
			{path: '/ro', hostSeed: join(dir, 'ro', '.nonce')}, {path: '/layer'},
		];
		const setup = runSetup(uniqueName('run'), flags, targets);
		await docker('run', '-d', '--name', setup.name, '--network', 'none', ...Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]), ...flags, img);
		const {report} = await checkUnchanged(engine!, {container: setup.name, paths: ['/layer']});
		const storage = Object.fromEntries(report.locations.map(l => [l.path, l.storage]));
		assert.deepEqual(targets.map(t => storage[t.path]), [
			'named-volume', 'anonymous-volume', 'anonymous-volume', 'bind', 'bind-file',
			'named-volume', 'bind', 'tmpfs', 'tmpfs', 'bind', 'container-layer',
		]);
		const predicted = predictedRows(report.locations, targets);
		const observed = await measure(t, setup);
		assert.deepEqual(observed, predicted);
	});

	it('docker run --rm: a stop removes the container and its anonymous volumes, `docker rm -f` does not', async t => {
		if (!await ready(t)) {
			return;
		}

		const named = await namedVolume();
		const targets: Target[] = [{path: '/named'}, {path: '/anon'}, {path: '/imgvol'}, {path: '/layer'}];
		const setup = runSetup(uniqueName('rm'), ['--rm', '-v', `${named}:/named`, '-v', '/anon'], targets);
		await docker('run', '-d', '--name', setup.name, '--network', 'none', ...Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]), '--rm', '-v', `${named}:/named`, '-v', '/anon', img);
		const {report} = await checkUnchanged(engine!, {container: setup.name, paths: ['/layer']});
		// Its stop removes it (--rm): toured now, as it was made.
		await tour(engine!.docker, setup.name);
		const predicted = predictedRows(report.locations, targets);
		const observed = await measure(t, setup);
		assert.deepEqual(observed, predicted);
	});

	it('compose 1.29: project and external volumes, anonymous volumes, binds, nested, tmpfs, read-only, layer (prediction via the CLI --json)', async t => {
		if (!await ready(t)) {
			return;
		}

		const dir = hostDir();
		for (const d of ['bind', 'inner', 'ro']) {
			mkdirSync(join(dir, d));
		}

		writeFileSync(join(dir, 'file.txt'), 'empty');
		const external = await namedVolume();
		const project = `occt${RUN_ID}${randomBytes(2).toString('hex')}`;
		// Made by hand under the name compose would give it, and declared without `external`: compose adopts it.
		await docker('volume', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, `${project}_premade`);
		const file = join(dir, 'compose.yml');
		const write = (generation: number) => writeFileSync(file, [
			'version: "2.4"',
			'services:',
			'  app:',
			`    image: ${img}`,
			'    network_mode: none',
			'    stop_grace_period: 1s',
			`    labels: {${JSON.stringify(TEST_LABEL)}: ${JSON.stringify(RUN_ID)}}`,
			`    environment: {GENERATION: "${generation}"}`,
			'    volumes:',
			'      - named:/named',
			'      - ext:/ext',
			'      - premade:/premade',
			'      - /anon',
			`      - ${join(dir, 'bind')}:/bind`,
			`      - ${join(dir, 'file.txt')}:/file.txt`,
			'      - nest:/nest',
			`      - ${join(dir, 'inner')}:/nest/inner`,
			`      - ${join(dir, 'ro')}:/ro:ro`,
			'    tmpfs: [/tmpfs]',
			'volumes:',
			`  named: {labels: {${JSON.stringify(TEST_LABEL)}: ${JSON.stringify(RUN_ID)}}}`,
			`  nest: {labels: {${JSON.stringify(TEST_LABEL)}: ${JSON.stringify(RUN_ID)}}}`,
			`  ext: {external: true, name: ${external}}`,
			'  premade: {}',
			'',
		].join('\n'));
		let generation = 1;
		write(generation);
		projects.push({project, file});
		await compose(project, file, 'up', '-d');
		const targets: Target[] = [
			{path: '/named'}, {path: '/ext'}, {path: '/premade'}, {path: '/anon'}, {path: '/imgvol'}, {path: '/bind'}, {path: '/file.txt', file: true},
			{path: '/nest'}, {path: '/nest/inner'}, {path: '/tmpfs'}, {path: '/ro', hostSeed: join(dir, 'ro', '.nonce')}, {path: '/layer'},
		];
		const current = async () => {
			const ids = (await docker('ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`)).split('\n').filter(Boolean);
			assert.equal(ids.length, 1, `one container in ${project}`);
			return ids[0]!;
		};

		const id = await current();
		const result = await assertUnchanged(engine!.docker, id, async () => cli(['check', '--json', '--container', id, '--path', '/layer']));
		assert.ok(result.code === 0 || result.code === 1, `check --json ran: ${result.stderr}`);
		const json = JSON.parse(result.stdout) as {container: {compose: unknown}; locations: Array<{path: string; storage: string; survives: Record<string, Survival | null>}>};
		assert.deepEqual(json.container.compose, {project, service: 'app'});
		const predicted = predictedRows(json.locations, targets);
		const setup: Setup = {
			name: `compose ${project}`,
			targets,
			current,
			operations: {
				restart: async id => {
					await docker('restart', '-t', '1', id);
				},
				'stop-start': async id => {
					await docker('stop', '-t', '1', id);
					await docker('start', id);
				},
				// By hand: remove the container, and let compose create it again with the same configuration.
				recreate: async id => {
					await removeFixture(engine!.docker, id);
					await compose(project, file, 'up', '-d');
				},
				'compose-recreate': async () => {
					write(++generation);
					await compose(project, file, 'up', '-d');
				},
				'compose-down-up': async () => {
					await compose(project, file, 'down', '-t', '1');
					await compose(project, file, 'up', '-d');
				},
				'compose-down-v': async () => {
					await compose(project, file, 'down', '-v', '-t', '1');
					await compose(project, file, 'up', '-d');
				},
			},
		};
		const observed = await measure(t, setup);
		assert.deepEqual(observed, predicted);
	});
});
