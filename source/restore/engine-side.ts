// What restore does through the engine: helper containers from the container's own image (or a FROM-scratch
// busybox one; never a registry), so it works the same on local, TCP and SSH engines and for binds on the engine's
// host. Extraction and listing go through the archive API; only emptying and measuring need a shell.
import {createReadStream, existsSync} from 'node:fs';
import {Transform} from 'node:stream';
import {createGunzip} from 'node:zlib';
import {pipeline} from 'node:stream/promises';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {createHash} from 'node:crypto';
import {entryOf, type IndexEntry} from '../backup/file-index.js';
import {rewriteName} from '../backup/pack.js';
import {getArchiveStream, statInContainer} from '../docker/archive.js';
import {DoctorError, type Engine} from '../docker/engine.js';
import {quote} from '../docker/host-shell.js';
import {BUSYBOX, buildBusyboxImage} from '../docker/fixture-image.js';

export const ROLE_LABEL = 'dev.occ-doctor.role';
export const RUN_LABEL = 'dev.occ-doctor.run';
/** Where a helper mounts the target it works on. */
export const AT = '/target';
const BUSYBOX_TAG = 'occ-doctor-helper:busybox';

/** A volume (by name) or a bind's host directory on the engine's machine. */
export interface Target {
	kind: 'volume' | 'bind';
	name: string;
}

export function describeTarget(target: Target): string {
	return target.kind === 'volume' ? `volume ${target.name}` : `bind ${target.name}`;
}

/** The image helpers run: the container's own when it has a shell, else busybox built FROM scratch from this host. */
export async function helperImage(engine: Engine, container: Docker.Container, imageId: string): Promise<string> {
	if (await statInContainer(container, '/bin/sh').catch(() => null)) {
		return imageId;
	}

	if (existsSync(BUSYBOX)) {
		return buildBusyboxImage(engine.docker, {tag: BUSYBOX_TAG});
	}

	throw new DoctorError(`the container's image has no /bin/sh to empty a target with, and this machine has no ${BUSYBOX} to build a helper from: sudo apt-get install busybox-static`);
}

/**
 * A helper with each target at its path. `create: true` lets the engine make a missing bind directory (the legacy
 * -v form does); otherwise a missing bind fails rather than being created.
 */
export async function createHelper(engine: Engine, options: {image: string; runId: string; role: string; mounts: Array<{target: Target; at: string}>; script?: string; create?: boolean}): Promise<Docker.Container> {
	const labels = {[ROLE_LABEL]: options.role, [RUN_LABEL]: options.runId};
	const binds = options.mounts.filter(m => m.target.kind === 'volume' || options.create).map(m => `${m.target.name}:${m.at}`);
	const mounts = options.mounts.filter(m => m.target.kind === 'bind' && !options.create).map(m => ({Type: 'bind' as const, Source: m.target.name, Target: m.at}));
	return engine.docker.createContainer({
		Image: options.image,
		Entrypoint: ['/bin/sh', '-c'],
		Cmd: [options.script ?? 'true'],
		User: '0',
		Labels: labels,
		NetworkDisabled: true,
		HostConfig: {Binds: binds, Mounts: mounts, NetworkMode: 'none'},
	});
}

/** Remove a helper and the anonymous volumes its image's VOLUMEs made; named volumes and binds stay. */
export async function removeHelper(container: Docker.Container): Promise<void> {
	await container.remove({force: true, v: true}).catch(() => {});
}

/** Run a shell script in a one-off helper with the target at /target; its output (tty) and exit code. */
export async function runScript(engine: Engine, options: {image: string; runId: string; target: Target; script: string; create?: boolean}): Promise<{exitCode: number; output: string}> {
	// The -v form makes a missing bind directory; measuring must not, so it mounts binds the strict way.
	const strict = options.target.kind === 'bind' && options.create === false;
	const helper = await engine.docker.createContainer({
		Image: options.image,
		Entrypoint: ['/bin/sh', '-c'],
		Cmd: [options.script],
		User: '0',
		Tty: true,
		Labels: {[ROLE_LABEL]: 'restore-helper', [RUN_LABEL]: options.runId},
		NetworkDisabled: true,
		HostConfig: {
			NetworkMode: 'none',
			...(strict ? {Mounts: [{Type: 'bind', Source: options.target.name, Target: AT}]} : {Binds: [`${options.target.name}:${AT}`]}),
		},
	});
	try {
		await helper.start();
		const {StatusCode} = await helper.wait() as {StatusCode: number};
		const logs = await helper.logs({stdout: true, stderr: true}) as unknown as Buffer;
		return {exitCode: StatusCode, output: Buffer.isBuffer(logs) ? logs.toString('utf8') : String(logs)};
	} finally {
		await removeHelper(helper);
	}
}

export interface TargetState {
	empty: boolean;
	/** Bytes the target's files take on disk (du), and bytes free on its file system (df). */
	usedBytes: number;
	availableBytes: number;
	/**
	 * A file beneath another mount's mount point (`./nested/x`): the container cannot see it and the backup does not
	 * hold it, so a restore, which empties the target, would delete it for good.
	 */
	hidden?: string | null;
}

/**
 * Is the target empty, how much does it hold, how much room is left, and what lies beneath the mount points in it
 * (`beneath`: paths relative to the target, of other mounts nested in it). Reads only.
 */
export async function measureTarget(engine: Engine, image: string, runId: string, target: Target, beneath: string[] = []): Promise<TargetState> {
	const hidden = beneath.map(rel => `f=$(ls -A ${quote(`./${rel}`)} 2>/dev/null | head -n 1); [ -n "$f" ] && echo "hidden ./${rel.replace(/[^\w./-]/g, '?')}/$f"`).join('; ');
	const script = `cd ${AT} || exit 3; echo "free $(df -Pk . | tail -n 1 | awk '{print $4}')"; echo "used $(du -sk . | cut -f1)"; echo "first $(ls -A | head -n 1)"; ${hidden || ':'}; true`;
	const {exitCode, output} = await runScript(engine, {image, runId, target, script, create: false});
	const free = /free (\d+)/.exec(output)?.[1];
	const used = /used (\d+)/.exec(output)?.[1];
	const first = /first ?(.*)/.exec(output)?.[1]?.trim();
	if (exitCode !== 0 || free === undefined || used === undefined) {
		throw new DoctorError(`cannot measure ${describeTarget(target)} (exit ${exitCode}: ${output.trim().split('\n')[0] ?? ''}): the helper image needs df, du and ls`);
	}

	return {empty: !first, usedBytes: Number(used) * 1024, availableBytes: Number(free) * 1024, hidden: /^hidden (.+)$/m.exec(output)?.[1]?.trim() ?? null};
}

/**
 * Empty the target, dotfiles included (replace, never merge), and give its root the archive's owner and mode: the
 * engine's extraction does not apply the root entry's metadata to the directory it extracts into.
 */
export async function emptyTarget(engine: Engine, image: string, runId: string, target: Target, root?: {mode: number; uid: number; gid: number}): Promise<void> {
	// Unmatched globs stay literal and rm -f ignores them; `..?*` and `.[!.]*` are every dotfile but . and ..
	const own = root ? ` && chown ${root.uid}:${root.gid} . && chmod ${root.mode.toString(8)} .` : '';
	const script = `cd ${AT} || exit 3; rm -rf -- ..?* .[!.]* * ; test -z "$(ls -A)"${own}`;
	const {exitCode, output} = await runScript(engine, {image, runId, target, script});
	if (exitCode !== 0) {
		throw new DoctorError(`could not empty ${describeTarget(target)} (exit ${exitCode}: ${output.trim().split('\n').at(-1) ?? ''})`);
	}
}

/**
 * Stream a .tar.gz into the helper's /target: the engine extracts with numeric owners, modes and mtimes. We gunzip
 * here (zlib, on our core) and send the plain tar, so the engine only writes files (its own gunzip is slower, and
 * would share its core with the writing).
 */
export async function extractInto(helper: Docker.Container, file: string, signal: AbortSignal | undefined, onBytes: (bytes: number) => void): Promise<void> {
	let bytes = 0;
	const counter = new Transform({
		transform(chunk: Buffer, _encoding, done) {
			bytes += chunk.length;
			onBytes(bytes);
			done(null, chunk);
		},
	});
	const source = createReadStream(file, {highWaterMark: 1024 * 1024});
	const gunzip = createGunzip({chunkSize: 256 * 1024});
	const upload = helper.putArchive(gunzip as unknown as NodeJS.ReadableStream, {path: AT});
	await Promise.all([pipeline(source, counter, gunzip, {signal}), upload]);
}

/** Every entry under the helper's /target, in the index's shape, with each file's sha256. */
export async function listTarget(helper: Docker.Container, signal?: AbortSignal): Promise<IndexEntry[]> {
	const stream = await getArchiveStream(helper, AT);
	const entries: IndexEntry[] = [];
	const extract = tar.extract();
	extract.on('entry', (header, body, next) => {
		const path = rewriteName(header.name, 'target', false);
		const entry = entryOf({...header, name: path, linkname: header.type === 'link' && header.linkname ? rewriteName(header.linkname, 'target', false) : header.linkname});
		entries.push(entry);
		const hash = header.type === 'file' ? createHash('sha256') : null;
		body.on('data', (chunk: unknown) => {
			hash?.update(chunk as Buffer);
		});
		body.on('end', () => {
			if (hash) {
				entry.sha256 = hash.digest('hex');
			}

			next();
		});
		body.on('error', () => {});
	});
	await pipeline(stream, extract, {signal});
	return entries;
}
