import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {join} from 'node:path';
import type {Agent as HttpsAgent, AgentOptions as HttpsAgentOptions} from 'node:https';
import type Docker from 'dockerode';
import {modemApi, pingThrough, unixApi, type EngineApi, type EngineVersion} from './api.js';
import {chooseEngine, dockerConfigDir, type EngineChoice, type TlsFiles} from './context.js';
import {DoctorError} from './errors.js';
import {SshTransport} from './ssh.js';
import {countRequests, requestsMade} from './requests.js';

export {DoctorError} from './errors.js';
export type {EngineChoice} from './context.js';

/** How we talk to the engine. */
export type Transport = 'unix' | 'tcp' | 'tls' | 'ssh';

export interface EngineTarget {
	/** The engine's address, e.g. unix:///var/run/docker.sock or ssh://box */
	label: string;
	/** The docker context it came from; null when --host or DOCKER_HOST named it (or nothing did). */
	context: string | null;
	transport: Transport;
	options: Docker.DockerOptions;
	/** True when the engine runs on this machine, so host paths of binds and volumes can be checked here. */
	local: boolean;
	/** For ssh://: the one SSH connection every request of this run goes through. */
	ssh?: SshTransport;
}

/** The oldest Engine API we speak (Docker 19.03). */
export const MIN_API_VERSION = '1.40';

/** Every option spelled out: docker-modem would otherwise fill the gaps from DOCKER_HOST, which a context overrides. */
const BLANK: Docker.DockerOptions = {socketPath: undefined, host: undefined, port: undefined, protocol: undefined, ca: undefined, cert: undefined, key: undefined};

/**
 * Resolve the engine as the docker CLI does (`--context`, `--host`, DOCKER_HOST, DOCKER_CONTEXT, currentContext,
 * the default socket). unix://, tcp:// (TLS from the context, or per DOCKER_TLS_VERIFY) and ssh:// are understood.
 */
export function engineTarget(choice?: string | EngineChoice, env: NodeJS.ProcessEnv = process.env): EngineTarget {
	const chosen = chooseEngine(typeof choice === 'string' ? {host: choice} : choice, env);
	const raw = chosen.host;
	const context = chosen.context;
	if (raw.startsWith('unix://') || raw.startsWith('/')) {
		const socketPath = raw.replace(/^unix:\/\//, '');
		return {label: `unix://${socketPath}`, context, transport: 'unix', options: {...BLANK, socketPath}, local: true};
	}

	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new DoctorError(`cannot read the engine address "${raw}": use unix:///path, tcp://host:port or ssh://[user@]host`);
	}

	if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
		const tls = chosen.tls ?? envTls(env);
		const secure = url.protocol === 'https:' || Boolean(tls);
		const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
		return {
			label: raw,
			context,
			transport: secure ? 'tls' : 'tcp',
			options: {
				...BLANK,
				host: url.hostname,
				port: url.port || (secure ? 2376 : 2375),
				protocol: secure ? 'https' : 'http',
				...(tls ? {ca: tls.ca, cert: tls.cert, key: tls.key} : {}),
				...(secure && !tls?.ca && env.OCC_DOCTOR_EXTRA_CA_CERTS ? {ca: extraRoots(env.OCC_DOCTOR_EXTRA_CA_CERTS)} : {}),
				...(tls?.skipVerify ? {agent: httpsAgent({rejectUnauthorized: false, ca: tls.ca, cert: tls.cert, key: tls.key})} : {}),
			},
			local,
		};
	}

	if (url.protocol === 'ssh:') {
		const ssh = new SshTransport(raw);
		// Plain HTTP through our agent: each connection is a dial-stdio session on the one SSH connection.
		return {label: raw, context, transport: 'ssh', options: {...BLANK, protocol: 'http', host: 'docker', port: 80, agent: ssh.agent} as Docker.DockerOptions, local: false, ssh};
	}

	throw new DoctorError(`unsupported engine address "${raw}": use unix://, tcp:// or ssh://`);
}

/**
 * Node's roots and the certificates of NODE_EXTRA_CA_CERTS, which the installed command's launcher keeps from Node's
 * start (it reads them all before any script runs, ~35 ms) and hands on as OCC_DOCTOR_EXTRA_CA_CERTS: a TLS engine with
 * no ca.pem of its own trusts what it would have trusted (scripts/bundle.mjs, docs/startup.md).
 */
function extraRoots(path: string): string[] {
	const {rootCertificates} = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
	try {
		return [...rootCertificates, readFileSync(path, 'utf8')];
	} catch (error) {
		throw new DoctorError(`cannot read NODE_EXTRA_CA_CERTS (${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): fix or unset it`);
	}
}

/** node:https (and node:tls with it) loads only for the TLS engine that needs its own agent: it costs ~5 ms to load. */
function httpsAgent(options: HttpsAgentOptions): HttpsAgent {
	const https = createRequire(import.meta.url)('node:https') as typeof import('node:https');
	return new https.Agent(options);
}

/** DOCKER_TLS_VERIFY with DOCKER_CERT_PATH (default: the docker config dir), as the docker CLI reads them. */
function envTls(env: NodeJS.ProcessEnv): TlsFiles | undefined {
	if (!env.DOCKER_TLS_VERIFY || env.DOCKER_TLS_VERIFY === '0') {
		return undefined;
	}

	const dir = env.DOCKER_CERT_PATH || dockerConfigDir(env);
	return {ca: readCert(dir, 'ca.pem'), cert: readCert(dir, 'cert.pem'), key: readCert(dir, 'key.pem'), skipVerify: false};
}

/** Say which engine: the address, and the context when one chose it. */
export function describeEngine(target: EngineTarget): string {
	return target.context && target.context !== 'default' ? `${target.label} (context ${target.context})` : target.label;
}

function readCert(dir: string, file: string): Buffer | undefined {
	try {
		return readFileSync(join(dir, file));
	} catch {
		return undefined;
	}
}

/** Translate a raw error from the engine connection into one line with the cause and the fix. */
export function explainEngineError(error: unknown, target: EngineTarget): DoctorError {
	if (error instanceof DoctorError) {
		return error;
	}

	const err = error as NodeJS.ErrnoException & {statusCode?: number; reason?: string; json?: {message?: string}};
	const code = err.code ?? '';
	const where = target.label;
	if (code === 'EACCES' || code === 'EPERM') {
		return new DoctorError(`permission denied on ${where}: add your user to the docker group (sudo usermod -aG docker $USER, then log in again) or run with sudo`);
	}

	// Over ssh:// a socket error is the forwarded socket's (dial-stdio's failures are DoctorErrors already): the
	// master is gone (refused, no such socket) or the link under it reset. Never "start docker".
	if (target.transport === 'ssh' && (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ENOENT'].includes(code) || /socket hang up/i.test(err.message ?? ''))) {
		return new DoctorError(`the SSH link to ${target.ssh?.host ?? where} dropped (${code || err.message}): check the network and run again (in the TUI, press r to reconnect)`);
	}

	if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'ENOTFOUND') {
		return new DoctorError(`no Docker engine answers at ${where} (${code}): start it (sudo systemctl start docker) or point DOCKER_HOST / --host at a running engine`);
	}

	if (target.ssh?.lost) {
		return target.ssh.lost;
	}

	const message = err.json?.message ?? err.reason ?? err.message ?? String(error);
	return new DoctorError(`the Docker engine at ${where} failed: ${String(message).split('\n')[0]}`);
}

export interface Engine {
	/** dockerode, loaded on first use: `check` on a local engine never needs it (see `api`). */
	readonly docker: Docker;
	/** The plain GETs `check` makes, without loading dockerode on a unix socket (api.ts). */
	api: EngineApi;
	target: EngineTarget;
	/** Requests made so far through either client, streams included (`timings.requests`). */
	readonly requests: number;
}

// The bundle (scripts/bundle.mjs) points this at its own one-file copy of dockerode, required only when used.
const DOCKERODE = 'dockerode';

/** dockerode's class, loaded now: a few hundred ms of modules when unbundled, ~30 ms bundled, so only on first use. */
export function loadDockerode(): typeof Docker {
	return createRequire(import.meta.url)(DOCKERODE) as typeof Docker;
}

/** The engine's clients for a target: dockerode made on first use, the GETs of `check` through `api`. */
export function engineFor(target: EngineTarget): Engine {
	let docker: Docker | undefined;
	const load = (): Docker => {
		if (!docker) {
			const Dockerode = loadDockerode();
			docker = new Dockerode(target.options);
			countRequests(docker);
		}

		return docker;
	};

	const ssh = target.ssh;
	const api = target.transport === 'unix' ? unixApi(target.options.socketPath as string) : modemApi(load, ssh ? pingThrough(ssh.agent, async () => ssh.prefetched('/_ping')) : undefined);
	return {
		get docker() {
			return load();
		},
		api,
		target,
		get requests() {
			return api.requests + (docker ? requestsMade(docker) : 0) + (target.ssh?.pipelinedRequests ?? 0);
		},
	};
}


/** Is the engine's API at least `min`? Versions are MAJOR.MINOR. */
export function apiAtLeast(version: string, min: string = MIN_API_VERSION): boolean {
	const [a = 0, b = 0] = version.split('.').map(Number);
	const [c = 0, d = 0] = min.split('.').map(Number);
	return a > c || (a === c && b >= d);
}

/**
 * The engine's version. Over ssh:// it is also the proof of the forwarded socket, so no separate ping waits on the
 * link: when it fails through the forward, it is asked again through dial-stdio, whose docker CLI says what is wrong.
 */
async function askVersion(api: EngineApi, target: EngineTarget): Promise<{version: EngineVersion; retried: boolean}> {
	try {
		return {version: await api.version(), retried: false};
	} catch (error) {
		if (!target.ssh?.dropForward()) {
			throw error;
		}

		return {version: await api.version(), retried: true};
	}
}

function prefetchPath(ref: string): string {
	return `/containers/${encodeURIComponent(ref)}/json`;
}

/**
 * Send the inspect of a container named up front (`check --container`) with the version, not one wave after it: the
 * first `api.json` of that path takes the answer already on its way. Over a link that is a round trip; on the local
 * socket, the engine's time for one request. The version still decides first whether there is an engine to ask.
 */
function inspectEarly(engine: Engine, ref: string): {discard: () => void} {
	const path = `/containers/${ref}/json`;
	// Over ssh:// it went out with the login itself (SshTransport.prefetch), when it could.
	const ssh = engine.target.ssh;
	const early = ssh ? ssh.prefetched(prefetchPath(ref)).then(async answer => (answer?.statusCode === 200 ? JSON.parse(answer.body.toString('utf8')) : engine.api.json(path))) : engine.api.json(path);
	early.catch(() => {}); // Whoever asks gets the failure; unasked, it is nobody's.
	const json = engine.api.json.bind(engine.api);
	let taken = false;
	engine.api.json = async (asked, query) => {
		if (!taken && asked === path && query === undefined) {
			taken = true;
			return early;
		}

		return json(asked, query);
	};

	return {discard() {
		taken = true;
	}};
}

/** Connect and ask the version, so a missing, forbidden or too old engine fails here with a clear line rather than later. */
export async function connect(choice?: string | (EngineChoice & {container?: string})): Promise<Engine> {
	const target = engineTarget(choice);
	const engine = engineFor(target);
	const container = typeof choice === 'object' ? choice.container : undefined;
	// Over ssh:// the version and the inspect leave with the login's last round trip, not one after it.
	target.ssh?.prefetch(['/_ping', ...(container ? [prefetchPath(container)] : [])]);
	const early = container ? inspectEarly(engine, container) : undefined;
	let version: EngineVersion;
	try {
		const asked = await askVersion(engine.api, target);
		version = asked.version;
		if (asked.retried) {
			early?.discard(); // It went through the forward that failed: ask again.
		}
	} catch (error) {
		target.ssh?.close();
		throw explainEngineError(error, target);
	}

	if (version.ApiVersion && !apiAtLeast(version.ApiVersion)) {
		target.ssh?.close();
		throw new DoctorError(`the Docker engine at ${describeEngine(target)} speaks API ${version.ApiVersion} (Docker ${version.Version ?? '?'}), older than the ${MIN_API_VERSION} occ-doctor needs (API version too old): upgrade Docker there to 19.03 or later`);
	}

	return engine;
}

/** End what the engine connection holds open (the SSH master). The process's exit does it too. */
export function disconnect(engine: Engine): void {
	engine.target.ssh?.close();
}
