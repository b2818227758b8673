// `npm run bench`: occ-doctor restore (archive check and extraction, in one pass on a local root engine, every file
// verified against the index, rows counted) against the seeds' recipe (`docker run … sh -c "rm -rf /data/* && tar
// xzf …"` with a locally built busybox) on the same archive into the same emptied volume (the usual disaster: the new
// volume is empty, so no safety copy is needed), each run after the same deletion and sync, alternating which side
// goes first, median of BENCH_RUNS (default 3). BENCH_RESTORE_MB (default 300) sets the volume's size: half text-like
// files, a quarter already-compressed data, a quarter one SQLite database.
import {spawn, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import Database from 'better-sqlite3';
import {runBackup} from '../source/backup/index.js';
import {connect} from '../source/docker/engine.js';
import {buildBusyboxImage} from '../source/docker/fixture-image.js';
import {benchEngine} from './engine.js';

const MB = 1024 * 1024;

function fillVolume(dir: string, totalMb: number): void {
	const words = Array.from({length: 4000}, () => randomBytes(2 + Math.floor(Math.random() * 6)).toString('base64url'));
	const pool = Buffer.from(Array.from({length: 200_000}, () => Array.from({length: 12}, () => words[Math.floor(Math.random() * words.length)]).join(' ') + '\n').join(''));
	const slice = (n: number) => {
		const start = Math.floor(Math.random() * (pool.length - n));
		return pool.subarray(start, start + n);
	};

	let written = 0;
	for (let i = 0; written < totalMb * MB * 0.5; i++) {
		const sub = join(dir, `project-${i % 20}`, `src-${Math.floor(i / 20) % 50}`);
		mkdirSync(sub, {recursive: true});
		const n = 1024 + Math.floor(Math.random() * 40 * 1024);
		writeFileSync(join(sub, `file-${i}.ts`), slice(n));
		written += n;
	}

	mkdirSync(join(dir, 'packs'));
	for (let k = 0, size = 0; size < totalMb * MB * 0.25; k++) {
		const n = 4 * MB;
		writeFileSync(join(dir, 'packs', `pack-${k}.pack`), randomBytes(n));
		size += n;
	}

	const db = new Database(join(dir, 'opencode.db'));
	db.pragma('journal_mode = WAL');
	db.exec('CREATE TABLE part (id INTEGER PRIMARY KEY, data TEXT)');
	const insert = db.prepare('INSERT INTO part (data) VALUES (?)');
	for (let size = 0; size < totalMb * MB * 0.25;) {
		db.transaction(() => {
			for (let k = 0; k < 5000; k++) {
				const n = 500 + Math.floor(Math.random() * 3000);
				insert.run(slice(n).toString('latin1'));
				size += n + 40;
			}
		})();
	}

	db.close();
}

type Timed = {ms: number; maxRssKb: number | null; cpu: string; stderr: string};

function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M cpu=%U/%S', command, ...args], {env, stdio: ['ignore', 'ignore', 'pipe']});
		let stderr = '';
		child.stderr.on('data', c => (stderr += c));
		child.on('exit', code => {
			if (code !== 0) {
				reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-800)}`));
				return;
			}

			const rss = /maxrss=(\d+) cpu=(\S+)/.exec(stderr);
			resolve({ms: Date.now() - started, maxRssKb: rss ? Number(rss[1]) : null, cpu: rss?.[2] ?? '?', stderr});
		});
	});
}

function emptyDir(dir: string): void {
	for (const name of readdirSync(dir)) {
		rmSync(join(dir, name), {recursive: true, force: true});
	}
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mb = Number(process.env.BENCH_RESTORE_MB ?? 300);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// Seconds to wait after emptying the volume, untimed: ext4 without a journal avoids reusing an inode deleted in the
// last 60 s, and each run's file creation scans past the previous run's 7,300 (docs/restore.md, Performance).
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 0);
const {host, stop: stopEngine} = await benchEngine('restore');

const engine = await connect(host);
const {docker} = engine;
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'occ-bench-restore-'));
const env = {...process.env, DOCKER_HOST: host, XDG_STATE_HOME: join(work, 'state')};
const volume = `occ-bench-restore-${mb}`;
try {
	const tag = await buildBusyboxImage(docker, {tag: 'occ-doctor-bench/busybox:1'});
	await docker.getVolume(volume).remove({force: true}).catch(() => {});
	await docker.createVolume({Name: volume, Labels: {'dev.occ-doctor.bench': '1'}});
	const mountpoint = ((await docker.getVolume(volume).inspect()) as {Mountpoint: string}).Mountpoint;
	fillVolume(mountpoint, mb);
	const bytes = Number(spawnSync('du', ['-sb', mountpoint], {encoding: 'utf8'}).stdout.split('\t')[0]);
	const container = await docker.createContainer({name: `occ-bench-restore-${process.pid}`, Image: tag, Labels: {'dev.occ-doctor.bench': '1'}, HostConfig: {Binds: [`${volume}:/data`]}});
	try {
		const {dir, manifest} = await runBackup({host, container: container.id, out: join(work, 'backup')}, () => {}, engine);
		const archive = manifest.archives[0]!;
		const emptied = async () => {
			emptyDir(mountpoint);
			spawnSync('sync');
			await new Promise(resolve => setTimeout(resolve, SETTLE_S * 1000));
		};

		const recipe = async () => {
			await emptied();
			return timed('docker', ['run', '--rm', '-v', `${volume}:/data`, '-v', `${dir}:/backup:ro`, tag, 'sh', '-c', `rm -rf /data/* && tar xzf /backup/${archive.file} -C /data`], env);
		};

		const ours = async () => {
			await emptied();
			const r = await timed(process.execPath, [resolve('dist/cli.js'), 'restore', dir, '--container', container.id, '--yes', '--plain'], env);
			rmSync(join(work, 'state'), {recursive: true, force: true});
			return r;
		};

		const runs = {recipe: [] as Timed[], ours: [] as Timed[]};
		const loads: number[] = [];
		// Each side runs first every other time (ABBA): neither always follows the other's 336 MB deletion and sync.
		for (let i = 0; i < RUNS; i++) {
			if (i % 2 === 0) {
				runs.recipe.push(await recipe());
				runs.ours.push(await ours());
			} else {
				runs.ours.push(await ours());
				runs.recipe.push(await recipe());
			}

			loads.push(loadavg()[0]!);
		}

		const recipeMs = median(runs.recipe.map(r => r.ms));
		const oursMs = median(runs.ours.map(r => r.ms));
		const rate = (ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(1)} MB/s`;
		process.stdout.write([
			`\nrestore bench (${new Date().toISOString().slice(0, 10)}, ${process.version}): ${(bytes / MB).toFixed(0)} MB volume, ${(statSync(join(dir, archive.file)).size / MB).toFixed(0)} MB .tar.gz, median of ${RUNS}${SETTLE_S > 0 ? `, ${SETTLE_S} s after each emptying` : ''}, load ${median(loads).toFixed(2)} (${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)})`,
			'| run | time | speed-up of occ-doctor | target |',
			'|---|---|---|---|',
			`| occ-doctor restore (check + extract + verify every file + rows) | ${(oursMs / 1000).toFixed(1)} s (${rate(oursMs)}) | — | — |`,
			`| seeds' recipe (\`docker run … tar xzf\`, no verification) | ${(recipeMs / 1000).toFixed(1)} s (${rate(recipeMs)}) | ${(recipeMs / oursMs).toFixed(2)}× | ≥ 1.5× |`,
			`our peak RSS ${(median(runs.ours.map(r => r.maxRssKb ?? 0)) / 1024).toFixed(0)} MB (target ≤ 200 MB)`,
			`each run, in order: occ-doctor ${runs.ours.map(r => (r.ms / 1000).toFixed(1)).join(' ')} s; recipe ${runs.recipe.map(r => (r.ms / 1000).toFixed(1)).join(' ')} s`,
			// The recipe's CPU is spent in its container, out of /usr/bin/time's sight.
			`occ-doctor's user/system seconds each run: ${runs.ours.map(r => r.cpu).join(' ')}`,
		].join('\n') + '\n');
	} finally {
		await container.remove({force: true}).catch(() => {});
	}
} finally {
	await docker.getVolume(volume).remove({force: true}).catch(() => {});
	rmSync(work, {recursive: true, force: true});
	await stopEngine();
}
