import {readFileSync} from 'node:fs';
import Docker from 'dockerode';
import {DoctorError} from './errors.js';

// Kept here too: every caller imports it from the engine. cli.tsx takes it from errors.ts, which loads no dockerode.
export {DoctorError};

export interface EngineTarget {
	/** What we tell the user, e.g. unix:///var/run/docker.sock */
	label: string;
	options: Docker.DockerOptions;
	/** True when the engine runs on this machine, so host paths of binds and volumes can be checked here. */
	local: boolean;
}

/** Resolve `--host`, then DOCKER_HOST, then the default socket. unix://, tcp:// (TLS per DOCKER_TLS_VERIFY) and ssh:// are understood. */
export function engineTarget(host?: string, env: NodeJS.ProcessEnv = process.env): EngineTarget {
	const raw = host ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
	if (raw.startsWith('unix://') || raw.startsWith('/')) {
		const socketPath = raw.replace(/^unix:\/\//, '');
		return {label: `unix://${socketPath}`, options: {socketPath}, local: true};
	}

	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new DoctorError(`cannot read the engine address "${raw}": use unix:///path, tcp://host:port or ssh://user@host`);
	}

	if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
		const tls = url.protocol === 'https:' || Boolean(env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0');
		const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
		return {
			label: raw,
			options: {
				host: url.hostname,
				port: url.port || (tls ? 2376 : 2375),
				protocol: tls ? 'https' : 'http',
				...(tls && env.DOCKER_CERT_PATH ? {
					ca: readCert(env.DOCKER_CERT_PATH, 'ca.pem'),
					cert: readCert(env.DOCKER_CERT_PATH, 'cert.pem'),
					key: readCert(env.DOCKER_CERT_PATH, 'key.pem'),
				} : {}),
			},
			local,
		};
	}

	if (url.protocol === 'ssh:') {
		return {
			label: raw,
			options: {
				protocol: 'ssh',
				host: url.hostname,
				port: url.port || 22,
				username: url.username || undefined,
				sshOptions: {agent: env.SSH_AUTH_SOCK},
			} as Docker.DockerOptions,
			local: false,
		};
	}

	throw new DoctorError(`unsupported engine address "${raw}": use unix://, tcp:// or ssh://`);
}

function readCert(dir: string, file: string): Buffer | undefined {
	try {
		return readFileSync(`${dir}/${file}`);
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

	if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'ENOTFOUND') {
		return new DoctorError(`no Docker engine answers at ${where} (${code}): start it (sudo systemctl start docker) or point DOCKER_HOST / --host at a running engine`);
	}

	if (/All configured authentication methods failed|ssh/i.test(err.message ?? '') && target.options.protocol === 'ssh') {
		return new DoctorError(`cannot reach the engine over ${where}: ${err.message}; check that \`ssh ${target.options.host}\` works with your agent (ssh-add)`);
	}

	const message = err.json?.message ?? err.reason ?? err.message ?? String(error);
	return new DoctorError(`the Docker engine at ${where} failed: ${String(message).split('\n')[0]}`);
}

export interface Engine {
	docker: Docker;
	target: EngineTarget;
}

/** Connect and ping, so a missing or forbidden engine fails here with a clear line rather than later. */
export async function connect(host?: string): Promise<Engine> {
	const target = engineTarget(host);
	const docker = new Docker(target.options);
	try {
		await docker.ping();
	} catch (error) {
		throw explainEngineError(error, target);
	}

	return {docker, target};
}
