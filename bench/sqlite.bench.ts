// Row counting: our countLocalDatabase (in a child, so its peak RSS is its own) versus the sqlite3 CLI counting the same
// tables of the same generated opencode.db, at two sizes; then the whole `occ-doctor check --json` on a container whose
// volume holds that database, against doing it by hand (`docker cp` it out, `sqlite3` counts every table).
// Median of 5 runs each. Figures go to docs/databases.md.
import {spawnSync} from 'node:child_process';
import {copyFileSync, chownSync, existsSync, mkdtempSync, rmSync, statSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import Database from 'better-sqlite3';
import {countLocalDatabase} from '../source/sqlite/count.js';
import {connect, type Engine} from '../source/docker/engine.js';
import {buildBusyboxImage} from '../source/docker/fixture-image.js';
import {canStartPrivateEngine, startPrivateEngine, type PrivateEngine} from '../source/docker/private-engine.js';

const TABLES = ['project', 'session', 'message', 'part'];

if (process.argv[2] === '--child') {
	// Child mode: count one file, print the time of the counting itself and this process's peak RSS.
	// Load the native addon first (the CLI's own start-up is not timed either), and note the RSS before counting.
	new Database(':memory:').close();
	const baselineKb = process.resourceUsage().maxRSS;
	const started = process.hrtime.bigint();
	const result = countLocalDatabase(process.argv[3]!, {integrity: process.argv[4] === 'integrity'});
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	process.stdout.write(JSON.stringify({ms, maxRssKb: process.resourceUsage().maxRSS, baselineKb, rows: result.tables.part, error: result.error}) + '\n');
	process.exit(0);
}

function generate(file: string, parts: number): void {
	const db = new Database(file);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = OFF');
	db.exec(`
		CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT, time_created INTEGER);
		CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT, title TEXT, time_created INTEGER, time_updated INTEGER);
		CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, role TEXT, data TEXT, time_created INTEGER);
		CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT, type TEXT, data TEXT, time_created INTEGER);
		CREATE INDEX part_message ON part (message_id);
		CREATE INDEX message_session ON message (session_id);
	`);
	const messages = Math.ceil(parts / 10);
	const sessions = Math.ceil(messages / 50);
	const text = 'x'.repeat(120);
	db.transaction(() => {
		for (let p = 0; p < 20; p++) {
			db.prepare('INSERT INTO project VALUES (?, ?, ?)').run(`prj_${p}`, `/home/opencoder/workspace/p${p}`, p);
		}

		const s = db.prepare('INSERT INTO session VALUES (?, ?, ?, ?, ?)');
		for (let i = 0; i < sessions; i++) {
			s.run(`ses_${i}`, `prj_${i % 20}`, `session ${i}`, i, i);
		}

		const m = db.prepare('INSERT INTO message VALUES (?, ?, ?, ?, ?)');
		for (let i = 0; i < messages; i++) {
			m.run(`msg_${i.toString(36).padStart(8, '0')}`, `ses_${i % sessions}`, i % 2 ? 'assistant' : 'user', `{"tokens":${i}}`, i);
		}

		const pt = db.prepare('INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)');
		for (let i = 0; i < parts; i++) {
			pt.run(`prt_${i.toString(36).padStart(10, '0')}`, `msg_${(i % messages).toString(36).padStart(8, '0')}`, `ses_${i % sessions}`, 'text', `{"text":"${text}","n":${i}}`, i);
		}
	})();
	db.close();
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)]!;
}

const RUNS = [1, 2, 3, 4, 5];
function ours(file: string, integrity: boolean): {ms: number; kb: number; growthKb: number} {
	const runs = RUNS.map(() => {
		const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/sqlite.bench.ts', '--child', file, integrity ? 'integrity' : ''], {encoding: 'utf8'});
		const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {ms: number; maxRssKb: number; baselineKb: number; error: string | null};
		if (out.error) {
			throw new Error(out.error);
		}

		return out;
	});
	return {ms: median(runs.map(r => r.ms)), kb: median(runs.map(r => r.maxRssKb)), growthKb: median(runs.map(r => r.maxRssKb - r.baselineKb))};
}

const hasTime = existsSync('/usr/bin/time');
function cli(file: string, integrity: boolean): {ms: number; kb: number | null} {
	const sql = TABLES.map(t => `SELECT count(*) FROM ${t};`).join(' ') + (integrity ? ' PRAGMA quick_check(1);' : '');
	const runs = RUNS.map(() => {
		const args = ['-readonly', file, sql];
		const started = process.hrtime.bigint();
		const r = hasTime ? spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', 'sqlite3', ...args], {encoding: 'utf8'}) : spawnSync('sqlite3', args, {encoding: 'utf8'});
		const ms = Number(process.hrtime.bigint() - started) / 1e6;
		if (r.status !== 0) {
			throw new Error(`sqlite3 failed: ${r.stderr}`);
		}

		const kb = hasTime ? Number(/TIME \S+ (\d+)/.exec(r.stderr)?.[1]) : null;
		return {ms, kb};
	});
	return {ms: median(runs.map(r => r.ms)), kb: hasTime ? median(runs.map(r => r.kb!)) : null};
}

if (!existsSync('/usr/bin/sqlite3')) {
	process.stdout.write('sqlite3 CLI not installed (apt-get install sqlite3): nothing to compare against\n');
	process.exit(0);
}

const DATA = '/home/opencoder/.local/share/opencode';

interface CheckTimings {
	phases?: Record<string, number>;
	requests?: number;
}

/** One run under /usr/bin/time: wall ms (spawn to exit), peak RSS, stdout. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): {ms: number; kb: number; stdout: string} {
	const started = process.hrtime.bigint();
	const r = spawnSync('/usr/bin/time', ['-f', 'TIME %M', command, ...args], {encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024});
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	if (r.status !== 0 && r.status !== 1) {
		throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-400)}`);
	}

	return {ms, kb: Number(/TIME (\d+)/.exec(r.stderr)?.[1]), stdout: r.stdout};
}

/**
 * `check --json` on a stopped container whose named volume holds the file, against the same by hand: `docker cp`
 * the database out, then `sqlite3` counts every table of the copy. Alternating, median of 5, page cache warm.
 */
async function checkVsByHand(engine: Engine, host: string, image: string, file: string, parts: number): Promise<string> {
	const {docker} = engine;
	const env = {...process.env, DOCKER_HOST: host};
	const volume = `occ-bench-sqlite-${parts}`;
	await docker.getVolume(volume).remove({force: true}).catch(() => {});
	await docker.createVolume({Name: volume, Labels: {'dev.occ-doctor.bench': '1'}});
	const mountpoint = ((await docker.getVolume(volume).inspect()) as {Mountpoint: string}).Mountpoint;
	copyFileSync(file, join(mountpoint, 'opencode.db'));
	chownSync(join(mountpoint, 'opencode.db'), 1000, 1000);
	const container = await docker.createContainer({Image: image, Labels: {'dev.occ-doctor.bench': '1'}, HostConfig: {Mounts: [{Type: 'volume', Source: volume, Target: DATA}]}});
	const out = mkdtempSync(join(tmpdir(), 'occ-bench-cp-'));
	try {
		const sql = TABLES.map(t => `SELECT count(*) FROM ${t};`).join(' ');
		const byHand = () => {
			rmSync(join(out, 'opencode.db'), {force: true});
			const cp = timed('docker', ['cp', `${container.id}:${DATA}/opencode.db`, out], env);
			const count = timed('sqlite3', ['-readonly', join(out, 'opencode.db'), sql], env);
			return {ms: cp.ms + count.ms, kb: Math.max(cp.kb, count.kb)};
		};

		const ours = () => timed(process.execPath, [resolve('dist/cli.js'), 'check', '--json', '--container', container.id], env);
		byHand();
		ours();
		const a: Array<ReturnType<typeof ours>> = [];
		const b: Array<ReturnType<typeof byHand>> = [];
		for (const _ of RUNS) {
			a.push(ours());
			b.push(byHand());
		}

		const report = JSON.parse(a.at(-1)!.stdout) as {databases?: Array<{tables: Record<string, number>}>; timings?: CheckTimings};
		const counted = report.databases?.[0]?.tables.part;
		if (counted !== parts) {
			throw new Error(`check counted ${counted} parts, not ${parts}`);
		}

		const phases = report.timings?.phases ? Object.entries(report.timings.phases).map(([k, v]) => `${k} ${v} ms`).join(', ') : '?';
		const oursMs = median(a.map(r => r.ms));
		const handMs = median(b.map(r => r.ms));
		return `| ${parts.toLocaleString('en-US')} | ${(statSync(file).size / 1024 / 1024).toFixed(0)} MB | ${oursMs.toFixed(0)} ms | ${handMs.toFixed(0)} ms | ${(oursMs / handMs).toFixed(2)}× | ${(median(a.map(r => r.kb)) / 1024).toFixed(0)} MB | ${report.timings?.requests ?? '?'} | ${phases} | ${loadavg()[0]!.toFixed(2)} |`;
	} finally {
		rmSync(out, {recursive: true, force: true});
		await container.remove({force: true}).catch(() => {});
		await docker.getVolume(volume).remove({force: true}).catch(() => {});
	}
}

let own: PrivateEngine | undefined;
let host = process.env.DOCKER_HOST;
if (!host && canStartPrivateEngine()) {
	own = await startPrivateEngine({prefix: 'occq-'});
	host = own.host;
}

const engine = host ? await connect(host) : undefined;
const image = engine ? await buildBusyboxImage(engine.docker, {tag: 'occ-doctor-bench/busybox:1'}) : '';
const dir = mkdtempSync(join(tmpdir(), 'occ-bench-sqlite-'));
const checkRows: string[] = [];
try {
	const rows: string[] = [];
	for (const parts of (process.env.BENCH_SQLITE_PARTS ?? '250000,1000000').split(',').map(Number)) {
		const file = join(dir, `opencode-${parts}.db`);
		const t0 = Date.now();
		generate(file, parts);
		const mb = statSync(file).size / 1024 / 1024;
		process.stdout.write(`generated ${parts.toLocaleString('en-US')} parts (${mb.toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
		// Warm the page cache once so both sides read from memory.
		cli(file, false);
		for (const integrity of [false, true]) {
			const a = ours(file, integrity);
			const b = cli(file, integrity);
			const what = integrity ? 'counts + quick_check' : 'counts';
			rows.push(`| ${parts.toLocaleString('en-US')} | ${mb.toFixed(0)} MB | ${what} | ${a.ms.toFixed(0)} ms | ${b.ms.toFixed(0)} ms | ${(a.ms / b.ms).toFixed(2)}× | ${(a.kb / 1024).toFixed(0)} MB (+${(a.growthKb / 1024).toFixed(1)} MB counting) | ${b.kb === null ? '?' : `${(b.kb / 1024).toFixed(0)} MB`} |`);
		}

		if (engine) {
			checkRows.push(await checkVsByHand(engine, host!, image, file, parts));
		}
	}

	process.stdout.write('\n| parts | file | work | occ-doctor | sqlite3 CLI | ratio | occ-doctor peak RSS | CLI peak RSS |\n|---|---|---|---|---|---|---|---|\n');
	process.stdout.write(rows.join('\n') + '\n');
	process.stdout.write('\nocc-doctor time is the counting inside the child (after Node start-up and loading the addon); the CLI time is spawn to exit. Peak RSS includes Node and tsx; "+N MB counting" is the growth during the counting.\n');
	if (checkRows.length > 0) {
		process.stdout.write('\n`check --json` on a container whose volume holds the database, against `docker cp` + `sqlite3` counting by hand:\n'
			+ '| parts | file | check --json | by hand | ratio | check peak RSS | engine requests | check phases | load |\n|---|---|---|---|---|---|---|---|---|\n' + checkRows.join('\n') + '\n');
	} else {
		process.stdout.write('\nno Docker engine (and cannot start one): check --json against docker cp + sqlite3 not measured\n');
	}
} finally {
	rmSync(dir, {recursive: true, force: true});
	await own?.stop();
}
