// Start-up and engine round trips, each beside its anchor from the same run, median of BENCH_RUNS (default 7):
// `node dist/cli.js --help` against `node -e 0` (the same Node start), and `check --json --no-databases` on the demo's
// opencode-cloud-like container (7 volumes) against `docker inspect` of it, as the installed command runs (dist/cli.js
// through its sh launcher) and as `node dist/cli.js`. Runs the dist/ that `npm run bench` has just built.
import {spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {loadavg} from 'node:os';
import {resolve} from 'node:path';
import {connect} from '../source/docker/engine.js';
import {canStartPrivateEngine, startPrivateEngine, type PrivateEngine} from '../source/docker/private-engine.js';
import {createDemo, removeDemo} from '../source/demo/setup.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CLI = resolve('dist/cli.js');

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)]!;
}

/** One run, spawn to exit: wall ms, and the CPU ms (user + system) /usr/bin/time saw, which load disturbs less. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): {ms: number; cpu: number; stdout: string} {
	const started = process.hrtime.bigint();
	const r = spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', command, ...args], {env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	if (r.status !== 0 && r.status !== 1) {
		throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-400)}`);
	}

	const [, user, system] = /CPU (\S+) (\S+)/.exec(r.stderr) ?? [];
	return {ms, cpu: (Number(user) + Number(system)) * 1000, stdout: r.stdout};
}

type Figure = {ms: number; cpu: number};

/** Runs the two alternately, so a change of load hits both alike. */
function pair(a: () => Figure, b: () => Figure): {a: Figure; b: Figure} {
	const as: Figure[] = [];
	const bs: Figure[] = [];
	a();
	b();
	for (let i = 0; i < RUNS; i++) {
		as.push(a());
		bs.push(b());
	}

	const med = (list: Figure[]) => ({ms: median(list.map(f => f.ms)), cpu: median(list.map(f => f.cpu))});
	return {a: med(as), b: med(bs)};
}

function row(figure: string, ours: Figure, anchorName: string, anchor: Figure, target: string): string {
	return `| ${figure} | ${ours.ms.toFixed(0)} ms | ${anchorName} | ${anchor.ms.toFixed(0)} ms | **${(ours.ms / anchor.ms).toFixed(2)}×** | ${ours.cpu.toFixed(0)} / ${anchor.cpu.toFixed(0)} ms | ${target} |`;
}

let own: PrivateEngine | undefined;
let host = process.env.DOCKER_HOST;
if (!host) {
	if (!canStartPrivateEngine()) {
		process.stdout.write('bench startup: no DOCKER_HOST and cannot start a private engine (root + docker.io needed): skipped\n');
		process.exit(0);
	}

	own = await startPrivateEngine({prefix: 'occs-'});
	host = own.host;
}

const env = {...process.env, DOCKER_HOST: host};
const engine = await connect(host);
const id = randomBytes(3).toString('hex');
const rows: string[] = [];
try {
	const demo = await createDemo(engine, id, new AbortController().signal, () => {});
	const help = pair(() => run(process.execPath, [CLI, '--help'], env), () => run(process.execPath, ['-e', '0'], env));
	rows.push(row('`node dist/cli.js --help`', help.a, '`node -e 0`', help.b, '≤ 1.5×'));
	// As the installed `occ-doctor` runs: dist/cli.js by its first line, through sh (scripts/bundle.mjs), which keeps
	// NODE_EXTRA_CA_CERTS from Node's start; and as `node dist/cli.js`, where Node reads that file first.
	const check = pair(
		() => run(CLI, ['check', '--json', '--no-databases', '--container', demo.containerId], env),
		() => run('docker', ['inspect', demo.containerId], env),
	);
	rows.push(row('`check --json --no-databases`, 7 volumes, as installed (`dist/cli.js`)', check.a, '`docker inspect`', check.b, '≤ 5×'));
	const viaNode = pair(
		() => run(process.execPath, [CLI, 'check', '--json', '--no-databases', '--container', demo.containerId], env),
		() => run('docker', ['inspect', demo.containerId], env),
	);
	rows.push(row(`the same as \`node dist/cli.js\`${env.NODE_EXTRA_CA_CERTS ? ' (NODE_EXTRA_CA_CERTS is set here: Node reads it first)' : ''}`, viaNode.a, '`docker inspect`', viaNode.b, '—'));
	const withDb = pair(
		() => run(CLI, ['check', '--json', '--container', demo.containerId], env),
		() => run('docker', ['inspect', demo.containerId], env),
	);
	rows.push(row('`check --json` (one small opencode.db), as installed', withDb.a, '`docker inspect`', withDb.b, '—'));
	for (const args of [['--no-databases'], []]) {
		const report = JSON.parse(run(process.execPath, [CLI, 'check', '--json', ...args, '--container', demo.containerId], env).stdout) as {timings?: {requests?: number}};
		rows.push(`| engine requests, \`check --json ${args.join(' ')}\` | ${report.timings?.requests ?? '?'} | — | — | — | — | ${args.length === 0 ? '≤ 6' : '—'} |`);
	}
} finally {
	await removeDemo(engine, id).catch(() => {});
	await own?.stop();
}

process.stdout.write(`\nstart-up bench (${new Date().toISOString().slice(0, 10)}, median of ${RUNS}, load ${loadavg().map(l => l.toFixed(2)).join(' ')}, ${process.version}):\n`
	+ '| figure | occ-doctor | anchor | anchor time | ratio | CPU ms, ours / anchor | target |\n|---|---|---|---|---|---|---|\n' + rows.join('\n') + '\n');
