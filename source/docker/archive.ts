// fs.promises, read where it is used: `check` loads this module, and node:fs/promises (with the readline modules it
// loads) would cost every check ~1 ms for the copies only a database count makes.
import {createWriteStream, promises as fsPromises} from 'node:fs';
import {once} from 'node:events';
import type {Duplex, Writable} from 'node:stream';
import {finished, pipeline} from 'node:stream/promises';
import type Docker from 'dockerode';
import {pipelined, type PipelineResponse, type PipelineStep} from './pipeline.js';

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

const BLOCK = 512;

/** A tar header's numeric field: octal text, or GNU base-256 when the high bit is set (files over 8 GB). */
function tarNumber(field: Buffer): number {
	if ((field[0]! & 0x80) !== 0) {
		return field.subarray(1).reduce((n, byte) => (n * 256) + byte, field[0]! & 0x7F);
	}

	const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
	return text ? Number.parseInt(text, 8) : 0;
}

/** The `size` record of a PAX extended header, which overrides the next header's size field. */
function paxSize(body: Buffer): number | null {
	const match = /(?:^|\n)\d+ size=(\d+)\n/.exec(body.toString('utf8'));
	return match ? Number(match[1]) : null;
}

/**
 * Write the first regular file of a tar stream to `file`, chunk by chunk as the engine sends it (no tar library,
 * no copy: the socket's own buffers are handed on, and a file stream writes those queued meanwhile in one writev). Returns its size, or null
 * when the stream holds no regular file. Throws when the stream ends inside the file.
 */
export async function writeFirstFile(stream: AsyncIterable<Buffer>, file: Writable, signal?: AbortSignal): Promise<number | null> {
	let header = Buffer.alloc(0);
	let skip = 0;
	let remaining = -1;
	let size = 0;
	let pax: Buffer[] | null = null;
	for await (const data of stream) {
		signal?.throwIfAborted();
		let chunk = data;
		while (chunk.length > 0) {
			if (remaining >= 0) {
				// The file's body: write what belongs to it straight from this chunk.
				const part = chunk.subarray(0, remaining);
				if (!file.write(part)) {
					await once(file, 'drain', {signal});
				}

				remaining -= part.length;
				if (remaining === 0) {
					return size;
				}

				chunk = chunk.subarray(part.length);
			} else if (skip > 0) {
				const part = chunk.subarray(0, skip);
				pax?.push(part);
				skip -= part.length;
				chunk = chunk.subarray(part.length);
			} else {
				const need = BLOCK - header.length;
				header = Buffer.concat([header, chunk.subarray(0, need)]);
				chunk = chunk.subarray(need);
				if (header.length < BLOCK) {
					continue;
				}

				if (header.every(byte => byte === 0)) {
					return null;
				}

				const type = String.fromCharCode(header[156]!);
				const fieldSize = tarNumber(header.subarray(124, 136));
				header = Buffer.alloc(0);
				if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
					// Extended headers and long names come before the entry they describe; only PAX's size matters here.
					pax = type === 'x' ? [] : null;
					skip = Math.ceil(fieldSize / BLOCK) * BLOCK;
					continue;
				}

				const entrySize = (pax ? paxSize(Buffer.concat(pax)) : null) ?? fieldSize;
				pax = null;
				if (type === '0' || type === '\0') {
					size = entrySize;
					remaining = entrySize;
					if (size === 0) {
						return 0;
					}

					continue;
				}

				skip = Math.ceil(entrySize / BLOCK) * BLOCK;
			}
		}
	}

	if (remaining > 0) {
		throw new Error(`the engine's stream ended ${remaining} bytes before the end of the file`);
	}

	return null;
}

/**
 * Copy one regular file out of the container to `destination`, via `destination.partial` and a rename,
 * so an interrupted copy never leaves a file under its final name. Returns the bytes written.
 */
export async function copyFileFromContainer(container: Docker.Container, path: string, destination: string, signal?: AbortSignal): Promise<number> {
	const stream = await getArchiveStream(container, path) as unknown as AsyncIterable<Buffer> & {destroy?: () => void};
	try {
		return await writeFileOf(stream, path, destination, signal);
	} finally {
		// Done with the file (or failed): the rest of the stream, if any, is not needed.
		stream.destroy?.();
	}
}

/** The first regular file of an archive stream into `destination`, via `destination.partial` and a rename. */
async function writeFileOf(stream: AsyncIterable<Buffer>, path: string, destination: string, signal?: AbortSignal): Promise<number> {
	const partial = `${destination}.partial`;
	const file = createWriteStream(partial, {mode: 0o600, highWaterMark: 1024 * 1024});
	try {
		const bytes = await writeFirstFile(stream, file, signal);
		file.end();
		await finished(file);
		if (bytes === null) {
			throw new Error(`${path} is not a regular file`);
		}

		await fsPromises.rename(partial, destination);
		return bytes;
	} catch (error) {
		file.destroy();
		await finished(file).catch(() => {});
		await fsPromises.rm(partial, {force: true});
		throw error;
	}
}

/** An answer other than 200/404 as docker-modem shapes it (statusCode, json.message), so callers read it alike. */
async function engineAnswerError(answer: PipelineResponse): Promise<Error> {
	let text = '';
	for await (const chunk of answer.body) {
		text += chunk.toString('utf8');
		if (text.length > 64 * 1024) {
			break;
		}
	}

	let message = text.trim();
	try {
		message = (JSON.parse(text) as {message?: string}).message ?? message;
	} catch {
		// Not JSON: the text as it came.
	}

	return Object.assign(new Error(`(HTTP code ${answer.statusCode}) ${message}`), {statusCode: answer.statusCode, json: {message}});
}

/**
 * Copy files out of the container, in the order given, then stat `stats`, all in one round trip: the requests go
 * out together on one connection and the engine answers them one after another (pipeline.ts), so every stat is
 * taken after every copy has been read, as when each request waits for the one before. Returns the stats (null:
 * absent). A file that vanished before its copy throws as copyFileFromContainer does (statusCode 404), and the
 * connection is closed at once: the later copies are not read.
 */
export async function copyThenStatInContainer(socket: Duplex, containerId: string, copies: Array<{path: string; destination: string}>, stats: string[], signal?: AbortSignal): Promise<Array<PathStat | null>> {
	const at = (path: string) => `/containers/${encodeURIComponent(containerId)}/archive?path=${encodeURIComponent(path)}`;
	const steps: PipelineStep[] = [...copies.map(c => ({method: 'GET' as const, path: at(c.path)})), ...stats.map(path => ({method: 'HEAD' as const, path: at(path)}))];
	const onAbort = () => socket.destroy(signal!.reason as Error);
	signal?.addEventListener('abort', onAbort, {once: true});
	let failure: Error | null = null;
	const after: Array<PathStat | null> = [];
	let step = 0;
	try {
		for await (const answer of pipelined(socket, steps)) {
			const copy = copies[step++];
			if (answer.statusCode === 404 && copy) {
				failure = Object.assign(new Error(`${copy.path} vanished during the copy`), {statusCode: 404});
			} else if (answer.statusCode === 404) {
				after.push(null);
			} else if (answer.statusCode !== 200) {
				failure = await engineAnswerError(answer);
			} else if (copy) {
				await writeFileOf(answer.body, copy.path, copy.destination, signal);
			} else {
				const header = answer.headers['x-docker-container-path-stat'];
				after.push(header ? decodePathStat(header) : null);
			}

			if (failure) {
				// The attempt is lost: close the connection rather than read the copies still coming.
				break;
			}
		}
	} finally {
		signal?.removeEventListener('abort', onAbort);
		socket.destroy();
	}

	signal?.throwIfAborted();
	if (failure) {
		throw failure;
	}

	return after;
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

/**
 * Owner and mode of a directory, from the first header of its tar stream. The stream is dropped after that header,
 * so a large tree is never transferred. null when the path does not exist.
 */
export async function ownerOf(container: Docker.Container, dir: string): Promise<{uid: number; gid: number; mode: number} | null> {
	let stream: NodeJS.ReadableStream & {destroy?: () => void};
	try {
		stream = await getArchiveStream(container, dir) as typeof stream;
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			return null;
		}

		throw error;
	}

	const extract = (await loadTar()).extract();
	return new Promise<{uid: number; gid: number; mode: number} | null>((resolve, reject) => {
		let settled = false;
		const done = (value: {uid: number; gid: number; mode: number} | null, error?: Error) => {
			if (settled) {
				return;
			}

			settled = true;
			stream.destroy?.();
			extract.destroy();
			if (error) {
				reject(error);
			} else {
				resolve(value);
			}
		};

		extract.on('entry', (header: {uid?: number; gid?: number; mode?: number}) => {
			done({uid: header.uid ?? 0, gid: header.gid ?? 0, mode: (header.mode ?? 0) & 0o7777});
		});
		extract.on('finish', () => done(null));
		extract.on('error', (error: Error) => done(null, error));
		stream.on('error', (error: Error) => done(null, error));
		stream.pipe(extract as unknown as NodeJS.WritableStream);
	});
}

