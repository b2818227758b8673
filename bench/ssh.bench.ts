// `check --json` over ssh:// against the same check on the local socket, and against one bare `ssh HOST true` (one
// login: the floor of any SSH transport) on the same link: on loopback, and through a delaying TCP proxy of our own
// that adds 50 ms of round trip (this kernel has no netem). Median of BENCH_RUNS (default 5), run alternately.
// Also counted at the proxy: the round trips (client bursts that wait for an answer) of a check and of a login.
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {loadavg} from 'node:os';
import {createConnection, createServer, type Server, type Socket} from 'node:net';
import {resolve} from 'node:path';
import {connect} from '../source/docker/engine.js';
import {canStartPrivateEngine, startPrivateEngine, type PrivateEngine} from '../source/docker/private-engine.js';
import {createDemo, removeDemo} from '../source/demo/setup.js';
import {freePort, startSshd, type SshBox} from '../test/helpers/sshd.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RTT_MS = 50;
const CLI = resolve('dist/cli.js');

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall time of one run, spawn to exit, in ms (async: the proxy lives in this process's event loop). */
async function wall(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
	const started = process.hrtime.bigint();
	const child = spawn(command, args, {env, stdio: ['ignore', 'ignore', 'pipe']});
	let stderr = '';
	child.stderr.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	const code = await new Promise<number | null>(done => {
		child.on('close', done);
	});
	if (code !== 0 && code !== 1) {
		throw new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-400)}`);
	}

	return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * A TCP proxy on loopback that holds every chunk for half the RTT in each direction, in order. It also counts round
 * trips: each time the client sends after having received something (a new wave of requests).
 */
function delayingProxy(listenPort: number, targetPort: number, oneWayMs: number): {server: Server; waves: () => number; reset: () => void} {
	let waves = 0;
	// No Nagle on either leg (as ssh itself sets TCP_NODELAY): a proxy that holds small writes back for an ACK adds
	// delayed-ACK waits (~40 ms) that a real 50 ms link does not have.
	const server = createServer({noDelay: true}, (client: Socket) => {
		const upstream = createConnection({host: '127.0.0.1', port: targetPort, noDelay: true});
		let answered = true;
		const relay = (from: Socket, to: Socket, upward: boolean) => {
			from.on('data', chunk => {
				if (upward && answered) {
					waves++;
					answered = false;
				} else if (!upward) {
					answered = true;
				}

				setTimeout(() => to.write(chunk), oneWayMs);
			});
			from.on('end', () => setTimeout(() => to.end(), oneWayMs));
			from.on('error', () => to.destroy());
		};

		relay(client, upstream, true);
		relay(upstream, client, false);
	});
	server.listen(listenPort, '127.0.0.1');
	return {server, waves: () => waves, reset: () => {
		waves = 0;
	}};
}

let own: PrivateEngine | undefined;
let host = process.env.DOCKER_HOST;
if (!host?.startsWith('unix://')) {
	if (!canStartPrivateEngine()) {
		process.stdout.write('bench ssh: needs a unix:// DOCKER_HOST or root with docker.io and openssh-server: skipped\n');
		process.exit(0);
	}

	own = await startPrivateEngine({prefix: 'occb-'});
	host = own.host;
}

const engine = await connect(host);
const id = randomBytes(3).toString('hex');
const slowPort = await freePort();
let box: SshBox | undefined;
let slow: ReturnType<typeof delayingProxy> | undefined;
try {
	const demo = await createDemo(engine, id, new AbortController().signal, () => {});
	box = await startSshd(host, {slowPort});
	slow = delayingProxy(slowPort, box.port, RTT_MS / 2);
	const local = {...process.env, DOCKER_HOST: host};
	const remote: NodeJS.ProcessEnv = {...box.env};
	delete remote.DOCKER_HOST;
	delete remote.DOCKER_CONTEXT;
	const check = (env: NodeJS.ProcessEnv, ...extra: string[]) => wall(process.execPath, [CLI, 'check', '--json', '--container', demo.containerId, ...extra], env);
	const measure = async (runs: Array<() => Promise<number>>) => {
		const times: number[][] = runs.map(() => []);
		for (const run of runs) {
			await run(); // Warm caches (and the page cache of dist/).
		}

		for (let i = 0; i < RUNS; i++) {
			for (const [j, run] of runs.entries()) {
				// eslint-disable-next-line no-await-in-loop
				times[j]!.push(await run());
			}
		}

		return times.map(median);
	};

	const [tLocal, tSsh, tLogin] = await measure([() => check(local), () => check(remote, '--host', 'ssh://box'), () => wall('ssh', ['box', 'true'], remote)]);
	const [tSlow, tSlowLogin] = await measure([() => check(remote, '--host', 'ssh://box-slow'), () => wall('ssh', ['box-slow', 'true'], remote)]);
	// Round trips, median of 3 each: concurrent requests may or may not leave in the same burst.
	const countWaves = async (run: () => Promise<number>) => {
		const counts: number[] = [];
		for (let i = 0; i < 3; i++) {
			slow!.reset();
			// eslint-disable-next-line no-await-in-loop
			await run();
			counts.push(slow!.waves());
		}

		return median(counts);
	};

	const loginsBefore = box.logins();
	const checkWaves = await countWaves(async () => check(remote, '--host', 'ssh://box-slow'));
	const checkLogins = (box.logins() - loginsBefore) / 3;
	const loginWaves = await countWaves(async () => wall('ssh', ['box-slow', 'true'], remote));

	const loopExtra = (tSsh! - tLocal!) / tLogin!;
	const slowExtraRtts = (tSlow! - tSlowLogin! - tLocal!) / RTT_MS;
	process.stdout.write([
		`check --json (demo container, 7 volumes, one opencode.db), median of ${RUNS}; load ${loadavg().map(l => l.toFixed(1)).join(' ')}`,
		'',
		'| link | local socket | over ssh:// | one `ssh HOST true` | extra over local | target |',
		'|---|---|---|---|---|---|',
		`| loopback | ${tLocal!.toFixed(0)} ms | ${tSsh!.toFixed(0)} ms | ${tLogin!.toFixed(0)} ms | ${(tSsh! - tLocal!).toFixed(0)} ms = ${loopExtra.toFixed(2)} logins | ≤ 1.3 logins |`,
		`| +${RTT_MS} ms RTT | ${tLocal!.toFixed(0)} ms | ${tSlow!.toFixed(0)} ms | ${tSlowLogin!.toFixed(0)} ms | one login + ${slowExtraRtts.toFixed(1)} RTT (over local + login) | ≤ one login + 3 RTT |`,
		'',
		`round trips counted at the proxy: a check over ssh:// ${checkWaves}, one \`ssh HOST true\` ${loginWaves}: the check takes ${checkWaves - loginWaves} more (target ≤ 3: ${checkWaves - loginWaves <= 3 ? 'met' : 'not met'}); SSH logins per check (sshd's log): ${checkLogins}`,
		`targets: loopback ${loopExtra <= 1.3 ? 'met' : 'not met'}, +${RTT_MS} ms RTT ${slowExtraRtts <= 3 ? 'met' : 'not met'}`,
		'',
	].join('\n'));
} finally {
	slow?.server.close();
	await box?.stop();
	await removeDemo(engine, id).catch(() => {});
	await own?.stop();
}
