import type {Agent} from 'node:http';
import {createRequire} from 'node:module';
import {connect} from 'node:net';
import type Docker from 'dockerode';

// The few GETs `check` makes (version, inspect, image, volumes, logs, container lists), as plain HTTP. On a unix
// socket they go through this small client: loading dockerode and its modem costs more than the requests take, and
// check is what people wait for (docs/startup.md). Other transports (tcp, tls, ssh) go through dockerode's modem.

/** The query of a GET: objects (filters) are sent as JSON, as the Engine API and docker-modem expect. */
export type Query = Record<string, string | number | boolean | object | undefined>;

export interface EngineApi {
	/** GET path?query: the parsed JSON body. Fails as docker-modem does: `statusCode`, `reason`, `json`, one-line message. */
	json<T = any>(path: string, query?: Query): Promise<T>;
	/** GET path?query: the raw body (e.g. a container's multiplexed logs). */
	buffer(path: string, query?: Query): Promise<Buffer>;
	/** The engine's API version and Docker's (`Version`, when it says), asked as cheaply as the transport allows. */
	version(): Promise<EngineVersion>;
	/** Requests made so far (one dial each). */
	readonly requests: number;
}

export interface EngineVersion {
	ApiVersion?: string;
	Version?: string;
}

export function queryString(query: Query = {}): string {
	const params = new URLSearchParams();
	for (const [key, value] of Object.entries(query)) {
		if (value !== undefined) {
			params.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
		}
	}

	const text = params.toString();
	return text ? `?${text}` : '';
}

/** docker-modem's error for a status it does not expect, so callers (404 → "no container ...") need not know the client. */
export function statusError(statusCode: number, body: Buffer): Error & {statusCode: number; reason: string; json: unknown} {
	let json: unknown = null;
	try {
		json = JSON.parse(body.toString('utf8'));
	} catch {
		json = body.length > 0 ? body.toString('utf8') : null;
	}

	const reason = statusCode === 404 ? 'not found' : statusCode === 500 ? 'server error' : 'unexpected';
	const cause = (json as {message?: string} | null)?.message ?? json ?? '';
	return Object.assign(new Error(`(HTTP code ${statusCode}) ${reason} - ${String(cause)} `), {statusCode, reason, json});
}

/** A body sent with `Transfer-Encoding: chunked`, joined. */
export function dechunk(body: Buffer): Buffer {
	const parts: Buffer[] = [];
	let at = 0;
	for (;;) {
		const eol = body.indexOf('\r\n', at);
		const size = eol === -1 ? Number.NaN : Number.parseInt(body.toString('latin1', at, eol), 16);
		if (Number.isNaN(size) || eol + 2 + size > body.length) {
			throw new Error('the engine sent a malformed chunked body');
		}

		if (size === 0) {
			return Buffer.concat(parts);
		}

		parts.push(body.subarray(eol + 2, eol + 2 + size));
		at = eol + 2 + size + 2;
	}
}

/** A whole HTTP/1.1 response (the engine closed the connection after it): status, head (status line and headers) and body. */
export function parseResponse(raw: Buffer): {statusCode: number; head: string; body: Buffer} {
	const end = raw.indexOf('\r\n\r\n');
	const head = end === -1 ? '' : raw.toString('latin1', 0, end);
	const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
	if (!status) {
		throw new Error('the engine sent no HTTP response');
	}

	const body = raw.subarray(end + 4);
	return {statusCode: Number(status[1]), head, body: /\r\ntransfer-encoding:\s*chunked/i.test(head) ? dechunk(body) : body};
}

/**
 * The versions in the head of the engine's answer to `/_ping`: `Api-Version`, and `Server: Docker/20.10.24 (linux)`.
 * Null without an `Api-Version` (something other than the engine answered, or a very old one): then ask `/version`.
 */
export function versionFromPing(head: string): EngineVersion | null {
	const api = /\r\napi-version:[ \t]*([\d.]+)/i.exec(head)?.[1];
	if (!api) {
		return null;
	}

	const docker = /\r\nserver:[ \t]*docker\/([^\s(]+)/i.exec(head)?.[1];
	return docker ? {ApiVersion: api, Version: docker} : {ApiVersion: api};
}

/**
 * GETs over the engine's unix socket, one connection each (`Connection: close`, so the response ends with the
 * connection). node:net alone: node:http's modules and its agent's first request cost more than the five requests.
 */
export function unixApi(socketPath: string): EngineApi {
	let requests = 0;
	const get = async (path: string, query?: Query) => (await request(path, query)).body;
	const request = async (path: string, query?: Query) => new Promise<{head: string; body: Buffer}>((resolve, reject) => {
		requests++;
		const chunks: Buffer[] = [];
		// write, not end: the engine (Go's net/http) takes a half-closed connection for a client gone away.
		const socket = connect(socketPath, () => {
			socket.write(`GET ${path}${queryString(query)} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`);
		});
		socket.on('data', (chunk: Buffer) => chunks.push(chunk));
		socket.on('error', reject);
		socket.on('end', () => {
			try {
				const {statusCode, head, body} = parseResponse(Buffer.concat(chunks));
				if (statusCode === 200) {
					resolve({head, body});
				} else {
					reject(statusError(statusCode, body));
				}
			} catch (error) {
				reject(error);
			}
		});
	});

	const json = async (path: string, query?: Query) => JSON.parse((await get(path, query)).toString('utf8'));
	return {
		json,
		buffer: get,
		// The ping's head says the versions, as the docker CLI reads them: /version makes the engine ask containerd and
		// the kernel for its components (~5 ms on Engine 20.10, against well under 1 ms for the ping).
		async version() {
			return versionFromPing((await request('/_ping')).head) ?? json('/version');
		},
		get requests() {
			return requests;
		},
	};
}

/**
 * GET /_ping through an http.Agent (the ssh transport's, whose connections are channels on its one SSH connection):
 * the head of the answer, for versionFromPing. node:http is loaded by that transport already.
 */
export function pingThrough(agent: Agent, prefetched?: () => Promise<{statusCode: number; headers: Record<string, string>} | undefined>): () => Promise<{head: string; asked: boolean}> {
	const http = () => createRequire(import.meta.url)('node:http') as typeof import('node:http');
	const head = (headers: Record<string, unknown>) => Object.entries(headers).map(([name, value]) => `\r\n${name}: ${String(value)}`).join('');
	return async () => {
		// Sent before the login had said where the engine listens (SshTransport.prefetch), and now known to be its.
		// The transport counted it when it was sent.
		const early = await prefetched?.();
		return early?.statusCode === 200 ? {head: head(early.headers), asked: false} : {head: await ask(), asked: true};
	};

	async function ask(): Promise<string> {
		return new Promise((resolve, reject) => {
		const request = http().get({agent, host: 'docker', path: '/_ping'}, response => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('error', reject);
			response.on('end', () => {
				if (response.statusCode === 200) {
					resolve(head(response.headers));
				} else {
					reject(statusError(response.statusCode ?? 0, Buffer.concat(chunks)));
				}
			});
		});
		request.on('error', reject);
		});
	}
}

/**
 * The same calls through dockerode's modem (tcp, tls, ssh): its agents, TLS options and error shapes. `ping`, where
 * given (ssh), reads the versions from /_ping's head, as unixApi does: the version is on the critical path of every
 * check, and /version costs the engine more than the ping (see unixApi).
 */
export function modemApi(docker: () => Docker, ping?: () => Promise<{head: string; asked: boolean}>): EngineApi {
	let pings = 0;
	const dial = async (path: string, query?: Query) => new Promise<any>((resolve, reject) => {
		const modem = (docker() as unknown as {modem: {dial: (options: object, callback: (error: unknown, data: unknown) => void) => void}}).modem;
		// As dockerode calls it: a path ending in '?' takes the query from `options` (objects as JSON).
		modem.dial({path: `${path}?`, options: Object.fromEntries(Object.entries(query ?? {}).filter(([, value]) => value !== undefined)), method: 'GET', statusCodes: {200: true, 404: 'not found', 500: 'server error'}}, (error, data) => {
			if (error) {
				reject(error);
			} else {
				resolve(data);
			}
		});
	});

	return {
		json: dial,
		// The modem hands over no headers: without `ping`, /version.
		async version() {
			if (!ping) {
				return dial('/version');
			}

			const {head, asked} = await ping();
			pings += asked ? 1 : 0;
			return versionFromPing(head) ?? dial('/version');
		},
		async buffer(path, query) {
			const data = await dial(path, query);
			return Buffer.isBuffer(data) ? data : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
		},
		// The modem's own requests are counted on dockerode (requests.ts).
		get requests() {
			return pings;
		},
	};
}
