import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {existsSync, mkdtempSync, openSync, closeSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {DoctorError, loadDockerode} from './engine.js';

export interface PrivateEngine {
	host: string;
	dir: string;
	/** `keep`: leave the data directory, so a new engine started on `dir` finds the same containers (an engine restart). */
	stop(options?: {keep?: boolean}): Promise<void>;
}

export function dockerdPath(): string | null {
	for (const candidate of ['/usr/sbin/dockerd', '/usr/bin/dockerd', '/usr/local/bin/dockerd']) {
		if (existsSync(candidate)) {
			return candidate;
		}
	}

	const which = spawnSync('sh', ['-c', 'command -v dockerd'], {encoding: 'utf8'});
	return which.status === 0 ? which.stdout.trim() : null;
}

/** Can this process start its own engine? Root, Linux, and dockerd installed (Debian: apt-get install docker.io). */
export function canStartPrivateEngine(): boolean {
	return process.platform === 'linux' && process.getuid?.() === 0 && dockerdPath() !== null;
}

/**
 * Start a dockerd of our own on private paths, with no iptables and no bridge (containers get no network),
 * so it can live beside any other engine. It is up in about two seconds.
 */
export async function startPrivateEngine(options: {prefix?: string; timeoutMs?: number; dir?: string} = {}): Promise<PrivateEngine> {
	const dockerd = dockerdPath();
	if (!dockerd || process.getuid?.() !== 0) {
		throw new DoctorError('cannot start a private Docker engine: it needs root and dockerd (sudo apt-get install docker.io)');
	}

	// Short paths: the socket path must fit in 108 bytes.
	const dir = options.dir ?? mkdtempSync(join(tmpdir(), options.prefix ?? 'occd-'));
	const socket = join(dir, 'd.sock');
	const logFd = openSync(join(dir, 'dockerd.log'), 'a');
	const child: ChildProcess = spawn(dockerd, [
		'--iptables=false', '--ip6tables=false', '--bridge=none', '--ip-masq=false',
		'--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'),
		'-H', `unix://${socket}`,
	], {stdio: ['ignore', logFd, logFd], detached: false});
	closeSync(logFd);
	let exited = false;
	child.on('exit', () => {
		exited = true;
	});

	const host = `unix://${socket}`;
	const Docker = loadDockerode();
	const docker = new Docker({socketPath: socket});
	const deadline = Date.now() + (options.timeoutMs ?? 30_000);
	while (Date.now() < deadline) {
		if (exited) {
			break;
		}

		try {
			// eslint-disable-next-line no-await-in-loop
			await docker.ping();
			return {
				host,
				dir,
				async stop(stopOptions = {}) {
					await stopChild(child, () => exited);
					if (!stopOptions.keep) {
						rmSync(dir, {recursive: true, force: true, maxRetries: 3});
					}
				},
			};
		} catch {
			// eslint-disable-next-line no-await-in-loop
			await new Promise(resolve => setTimeout(resolve, 100));
		}
	}

	await stopChild(child, () => exited);
	throw new DoctorError(`the private Docker engine did not start: see ${join(dir, 'dockerd.log')}`);
}

async function stopChild(child: ChildProcess, hasExited: () => boolean): Promise<void> {
	if (hasExited()) {
		return;
	}

	child.kill('SIGTERM');
	const deadline = Date.now() + 20_000;
	while (!hasExited() && Date.now() < deadline) {
		// eslint-disable-next-line no-await-in-loop
		await new Promise(resolve => setTimeout(resolve, 50));
	}

	if (!hasExited()) {
		child.kill('SIGKILL');
	}
}
