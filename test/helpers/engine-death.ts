// The engine dies and comes back: a private engine's dockerd and containerd killed with SIGKILL (the containers'
// shims live on, as in a crash), then a dockerd started again on the same data and exec roots. For fault tests.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {closeSync, openSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {connect} from '../../source/docker/engine.js';
import {dockerdPath, type PrivateEngine} from '../../source/docker/private-engine.js';

/** Processes whose command line mentions a private engine's directory: its dockerd, containerd and shims. */
export function processesUnder(dir: string): Array<{pid: number; cmdline: string}> {
	const out: Array<{pid: number; cmdline: string}> = [];
	for (const proc of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
		try {
			const cmdline = readFileSync(`/proc/${proc}/cmdline`, 'utf8').replaceAll('\0', ' ');
			if (cmdline.includes(dir)) {
				out.push({pid: Number(proc), cmdline});
			}
		} catch {
			// Gone already.
		}
	}

	return out;
}

/** The engine dies: SIGKILL its dockerd and containerd (not the shims: the containers' processes live on, as in a crash). */
export function killEngine(own: PrivateEngine): number[] {
	const dockerd = Number(readFileSync(join(own.dir, 'dockerd.pid'), 'utf8'));
	const containerd = processesUnder(own.dir).filter(p => /(^|\/)containerd --config/.test(p.cmdline)).map(p => p.pid);
	for (const pid of [dockerd, ...containerd]) {
		process.kill(pid, 'SIGKILL');
	}

	return [dockerd, ...containerd];
}

/** Until the killed processes are reaped: a dockerd that finds its old containerd's pid alive waits for it forever. */
export async function reaped(pids: number[]): Promise<void> {
	const deadline = Date.now() + 30_000;
	const alive = (pid: number) => {
		try {
			return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
		} catch {
			return false;
		}
	};

	while (pids.some(pid => alive(pid)) && Date.now() < deadline) {
		// eslint-disable-next-line no-await-in-loop
		await new Promise(resolve => setTimeout(resolve, 100));
	}
}

/**
 * A killed containerd whose parent (dockerd) died too is reparented to PID 1; where PID 1 does not reap (this test's
 * sandbox, unlike systemd), it stays a zombie and a new dockerd, probing its pid with kill(0), waits for it forever.
 * Its pid file is then stale: remove it, as it is once the zombie is reaped.
 */
export function dropStaleContainerdPid(own: PrivateEngine, pids: number[]): void {
	const file = join(own.dir, 'exec', 'containerd', 'containerd.pid');
	try {
		const pid = Number(readFileSync(file, 'utf8'));
		if (pids.includes(pid)) {
			rmSync(file, {force: true});
		}
	} catch {
		// No pid file: nothing stale.
	}
}

/** A dockerd on the same data and exec roots as startPrivateEngine's, as a restarted daemon would be. */
export async function restartEngine(own: PrivateEngine): Promise<{child: ChildProcess; exited: () => boolean}> {
	const log = openSync(join(own.dir, 'dockerd-again.log'), 'a');
	const child = spawn(dockerdPath()!, [
		'--iptables=false', '--ip6tables=false', '--bridge=none', '--ip-masq=false',
		'--data-root', join(own.dir, 'data'), '--exec-root', join(own.dir, 'exec'), '--pidfile', join(own.dir, 'dockerd.pid'),
		'-H', own.host,
	], {stdio: ['ignore', log, log]});
	closeSync(log);
	let exited = false;
	child.on('exit', () => {
		exited = true;
	});
	const deadline = Date.now() + 30_000;
	while (Date.now() < deadline && !exited) {
		try {
			// eslint-disable-next-line no-await-in-loop
			await (await connect(own.host)).docker.ping();
			return {child, exited: () => exited};
		} catch {
			// eslint-disable-next-line no-await-in-loop
			await new Promise(resolve => setTimeout(resolve, 200));
		}
	}

	throw new Error(`the private engine did not come back: ${readFileSync(join(own.dir, 'dockerd-again.log'), 'utf8').trim().split('\n').filter(l => !/grpc/.test(l)).slice(-4).join(' | ')}`);
}

/** Stop whatever runs on the private engine's paths, release its mounts and remove it. Never touches another engine. */
export async function destroyEngine(own: PrivateEngine, again: {child: ChildProcess; exited: () => boolean} | null): Promise<void> {
	if (again && !again.exited()) {
		again.child.kill('SIGTERM');
		const deadline = Date.now() + 20_000;
		while (!again.exited() && Date.now() < deadline) {
			// eslint-disable-next-line no-await-in-loop
			await new Promise(resolve => setTimeout(resolve, 100));
		}
	}

	for (const {pid} of processesUnder(own.dir)) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {
			// Gone already.
		}
	}

	const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map(l => l.split(' ')[4] ?? '').filter(m => m.startsWith(own.dir));
	for (const m of mounts.sort((a, b) => b.length - a.length)) {
		spawnSync('umount', ['-l', m]);
	}

	await own.stop();
}

