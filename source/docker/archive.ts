import {createWriteStream} from 'node:fs';
import {rename, rm} from 'node:fs/promises';
import {pipeline} from 'node:stream/promises';
import type Docker from 'dockerode';

/** The tar parser, loaded by the first call that needs one (check without databases never does). */
async function loadTar(): Promise<typeof import('tar-stream')> {
	return (await import('tar-stream')).default;
}

// The engine's archive API (GET/PUT/HEAD /containers/{id}/archive) works on running and stopped containers,
// needs no shell in the image, and reaches volumes and binds as the container sees them. It cannot reach tmpfs.

export interface PathStat {
	name: string;
	size: number;
	/** Go os.FileMode bits as the engine sends them. */
	mode: number;
	mtime: string;
	linkTarget: string;
	isDir: boolean;
	isFile: boolean;
	isSymlink: boolean;
}

const GO_MODE_DIR = 0x80_00_00_00;
const GO_MODE_SYMLINK = 0x08_00_00_00;
const GO_MODE_TYPE = 0x8F_28_00_00;

export function decodePathStat(header: string): PathStat {
	const raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as {name: string; size: number; mode: number; mtime: string; linkTarget: string};
	const mode = raw.mode >>> 0;
	return {
		...raw,
		mode,
		isDir: (mode & GO_MODE_DIR) !== 0,
		isSymlink: (mode & GO_MODE_SYMLINK) !== 0,
		isFile: (mode & GO_MODE_TYPE) === 0,
	};
}

/** Stat a path inside the container. null when it does not exist. Other engine errors are thrown. */
export async function statInContainer(container: Docker.Container, path: string): Promise<PathStat | null> {
	try {
		// dockerode resolves HEAD with the IncomingMessage itself: the stat is in its headers.
		const response = await (container as any).infoArchive({path}) as {headers?: Record<string, string>; resume?: () => void} & Record<string, string>;
		response.resume?.();
		const headers = (response.headers ?? response) as Record<string, string>;
		const header = headers['x-docker-container-path-stat'];
		return header ? decodePathStat(header) : null;
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			return null;
		}

		throw error;
	}
}

/** A tar stream of a path inside the container (a directory's entries are prefixed with its base name). */
export async function getArchiveStream(container: Docker.Container, path: string): Promise<NodeJS.ReadableStream> {
	return container.getArchive({path}) as unknown as Promise<NodeJS.ReadableStream>;
}

/** Read one regular file out of the container into memory (small files: sentinels, JSON). null when missing. */
export async function readFileFromContainer(container: Docker.Container, path: string): Promise<Buffer | null> {
	let stream: NodeJS.ReadableStream;
	try {
		stream = await getArchiveStream(container, path);
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			return null;
		}

		throw error;
	}

	const extract = (await loadTar()).extract();
	let found: Buffer | null = null;
	extract.on('entry', (header, entry, next) => {
		const chunks: Buffer[] = [];
		entry.on('data', (c: unknown) => chunks.push(c as Buffer));
		entry.on('end', () => {
			if (found === null && header.type === 'file') {
				found = Buffer.concat(chunks);
			}

			next();
		});
		entry.resume();
	});
	await pipeline(stream, extract);
	return found;
}

/**
 * Copy one regular file out of the container to `destination`, via `destination.partial` and a rename,
 * so an interrupted copy never leaves a file under its final name. Returns the bytes written.
 */
export async function copyFileFromContainer(container: Docker.Container, path: string, destination: string, signal?: AbortSignal): Promise<number> {
	const stream = await getArchiveStream(container, path);
	const partial = `${destination}.partial`;
	let bytes = 0;
	const extract = (await loadTar()).extract();
	let wrote = false;
	extract.on('entry', (header, entry, next) => {
		if (wrote || header.type !== 'file') {
			entry.on('end', next);
			entry.resume();
			return;
		}

		wrote = true;
		const out = createWriteStream(partial, {mode: 0o600});
		entry.on('data', (c: unknown) => {
			bytes += (c as Buffer).length;
		});
		pipeline(entry, out).then(() => next(), next);
	});
	try {
		await pipeline(stream, extract, {signal});
		if (!wrote) {
			throw new Error(`${path} is not a regular file`);
		}

		await rename(partial, destination);
		return bytes;
	} catch (error) {
		await rm(partial, {force: true});
		throw error;
	}
}

/** Write small files into a directory of the container (created 0644 unless given). The directory must exist. */
export async function putFiles(container: Docker.Container, directory: string, files: Array<{name: string; content: string | Buffer; mode?: number; uid?: number; gid?: number}>): Promise<void> {
	const pack = (await loadTar()).pack();
	for (const file of files) {
		pack.entry({name: file.name, mode: file.mode ?? 0o644, uid: file.uid ?? 0, gid: file.gid ?? 0}, file.content);
	}

	pack.finalize();
	await container.putArchive(pack as unknown as NodeJS.ReadableStream, {path: directory});
}
