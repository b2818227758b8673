import {execFileSync} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import type {TestContext} from 'node:test';
import type Docker from 'dockerode';
import {connect, type Engine} from '../../source/docker/engine.js';
import {buildBusyboxImage, type ImageSpec} from '../../source/docker/fixture-image.js';
import {tourEach} from './host-snapshot.js';

/**
 * True under CI. test/run.ts passes CI on as OCC_TEST_CI and takes CI itself out of the tests' environment,
 * because Ink reads CI once at import and then renders no live frames, which the screen tests need.
 */
export const IN_CI = process.env.OCC_TEST_CI === 'true' || process.env.CI === 'true';

/** Every container and volume a test makes carries this label, so cleanup finds them even after a failure. */
export const TEST_LABEL = 'dev.occ-doctor.test';
export const RUN_ID = randomBytes(3).toString('hex');
export const LABELS = {[TEST_LABEL]: RUN_ID};
/** The same labels as `docker run` flags. */
export const LABEL_FLAGS = Object.entries(LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

/**
 * The engine at DOCKER_HOST (npm test starts a private one when none answers).
 * Without an engine the test is skipped locally, and fails under CI=true: there, engine tests must run.
 */
export async function engineOrSkip(t: TestContext): Promise<Engine | undefined> {
	try {
		return await connect(process.env.DOCKER_HOST);
	} catch (error) {
		if (IN_CI) {
			throw error;
		}

		t.skip(`no Docker engine: ${(error as Error).message}`);
		return undefined;
	}
}

export function uniqueName(prefix: string): string {
	return `occt-${prefix}-${RUN_ID}-${randomBytes(2).toString('hex')}`;
}

const built = new Map<string, Promise<string>>();

/** Build (once per process) a FROM-scratch busybox image. */
export async function image(docker: Docker, spec: Omit<ImageSpec, 'tag'> & {tag?: string} = {}): Promise<string> {
	const tag = spec.tag ?? `occ-doctor-test/busybox:${createHash('sha1').update(JSON.stringify(spec)).digest('hex').slice(0, 12)}`;
	if (!built.has(tag)) {
		built.set(tag, buildBusyboxImage(docker, {...spec, tag}));
	}

	return built.get(tag)!;
}

/** The shared libraries a host binary loads, as `ldd` lists them (the loader included). */
export function librariesOf(binary: string): string[] {
	const out = execFileSync('ldd', [binary], {encoding: 'utf8'});
	return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map(m => m[1]!);
}

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';

/**
 * Debian's real redis-server and redis-cli with their libraries in a FROM-scratch image (no registry), working in
 * /data like the official image, without its VOLUME: each test decides where /data lives. `cli: false` leaves
 * redis-cli out, so CONFIG GET cannot be asked; `config` is written to /etc/redis.conf.
 */
export async function redisImage(docker: Docker, options: {cli?: boolean; config?: string} = {}): Promise<string> {
	const binaries = options.cli === false ? [REDIS_SERVER] : [REDIS_SERVER, REDIS_CLI];
	const files = [...new Set(binaries.flatMap(b => [b, ...librariesOf(b)]))].sort();
	// `config` becomes /etc/redis.conf, one printf line per config line.
	const config = options.config === undefined ? [] : [`RUN printf '%s\\n' ${options.config.split('\n').map(l => `'${l}'`).join(' ')} > /etc/redis.conf`];
	return image(docker, {files, lines: ['RUN mkdir -p /data', ...config, 'WORKDIR /data'], cmd: ['redis-server']});
}

/**
 * Remove every container and volume of this run (and the named volumes given), whatever state the test left. First
 * every one of those containers, as the test left it, goes through the read-only tour (check, the Backup screen's
 * choices, the Probe screen's plan) between two host snapshots: so every fixture a test builds proves that reads
 * change nothing, and a test fails, after its containers are gone, when one of them changed.
 */
export async function cleanup(docker: Docker, extraVolumes: string[] = []): Promise<void> {
	const containers = await docker.listContainers({all: true, filters: {label: [`${TEST_LABEL}=${RUN_ID}`]}});
	const changed = await tourEach(docker, containers.map(c => c.Id));
	for (const c of containers) {
		await docker.getContainer(c.Id).remove({force: true, v: true}).catch(() => {});
	}

	const {Volumes: volumes} = await docker.listVolumes({filters: {label: [`${TEST_LABEL}=${RUN_ID}`]}});
	for (const v of volumes ?? []) {
		await docker.getVolume(v.Name).remove({force: true}).catch(() => {});
	}

	for (const name of extraVolumes) {
		await docker.getVolume(name).remove({force: true}).catch(() => {});
	}

	if (changed.length > 0) {
		throw new Error(`a read changed a fixture:\n${changed.join('\n')}`);
	}
}

/**
 * The read-only tour of `cleanup` now, on fixtures a test removes, recreates or fills itself before `cleanup`
 * would reach them; throws when a read changed one.
 */
export async function tour(docker: Docker, ...refs: string[]): Promise<void> {
	const changed = await tourEach(docker, refs);
	if (changed.length > 0) {
		throw new Error(`a read changed a fixture:\n${changed.join('\n')}`);
	}
}

/** `docker rm -f` of a fixture (`v`: and its anonymous volumes), after its read-only tour. */
export async function removeFixture(docker: Docker, ref: string, options: {v?: boolean} = {}): Promise<void> {
	try {
		await tour(docker, ref);
	} finally {
		await docker.getContainer(ref).remove({force: true, v: options.v ?? false});
	}
}

/** Volumes that existed before: tests compare against this to prove they leave none behind. */
export async function volumeNames(docker: Docker): Promise<Set<string>> {
	const {Volumes: volumes} = await docker.listVolumes();
	return new Set((volumes ?? []).map(v => v.Name));
}

/** Skip locally when a precondition is missing; under CI=true that is a failure, never a skip. */
export function skipOrFail(t: TestContext, reason: string): void {
	if (IN_CI) {
		throw new Error(`${reason} (CI=true: this test must run)`);
	}

	t.skip(reason);
}
