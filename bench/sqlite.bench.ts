// Row counting: our countLocalDatabase (in a child, so its peak RSS is its own) versus the sqlite3 CLI counting the same
// tables of the same generated opencode.db, at two sizes. Median of 5 runs each. Figures go to docs/databases.md.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import {countLocalDatabase} from '../source/sqlite/count.js';

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

const dir = mkdtempSync(join(tmpdir(), 'occ-bench-sqlite-'));
try {
	const rows: string[] = [];
	for (const parts of [250_000, 1_000_000]) {
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
	}

	process.stdout.write('\n| parts | file | work | occ-doctor | sqlite3 CLI | ratio | occ-doctor peak RSS | CLI peak RSS |\n|---|---|---|---|---|---|---|---|\n');
	process.stdout.write(rows.join('\n') + '\n');
	process.stdout.write('\nocc-doctor time is the counting inside the child (after Node start-up and loading the addon); the CLI time is spawn to exit. Peak RSS includes Node and tsx; "+N MB counting" is the growth during the counting.\n');
} finally {
	rmSync(dir, {recursive: true, force: true});
}
