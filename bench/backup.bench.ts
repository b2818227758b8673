// `npm run bench`: occ-doctor backup (progress and verification on) against the seeds' recipe
// (`docker run --rm -v VOL:/data:ro -v OUT:/backup busybox tar czf /backup/x.tar.gz -C /data .`) on the same volume of
// many small files and one large SQLite database, at two sizes, to show throughput and that memory stays flat.
// BENCH_BACKUP_MB=1024 (default) sets the large size; the small one is a quarter of it.
import {spawn, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {pathToFileURL} from 'node:url';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import {connect, engineTarget} from '../source/docker/engine.js';
import {buildBusyboxImage} from '../source/docker/fixture-image.js';
import {canStartPrivateEngine, startPrivateEngine, type PrivateEngine} from '../source/docker/private-engine.js';

const MB = 1024 * 1024;

// One backup in a fresh process, so its peak RSS is ours alone. It runs the compiled dist/ that `npm run bench` has
// just built, as `occ-doctor` runs, when that is newer than every source/backup file; else the sources through tsx.
const CHILD = `
const [host, container, out] = process.argv.slice(1);
const {runBackup} = await import(process.env.BENCH_BACKUP_MODULE);
const started = Date.now();
let lines = 0;
// Phase times (ms since start): the stream done and its databases copied, the archive written, verified.
const phases = {};
const {manifest} = await runBackup({host, container, out, gzipLevel: process.env.BENCH_GZIP_LEVEL ? Number(process.env.BENCH_GZIP_LEVEL) : undefined}, e => {
	if (e.type === 'progress') {
		lines++;
	} else if (['start', 'snapshot', 'written', 'verify'].includes(e.type)) {
		phases[e.type] = Date.now() - started;
	}
});
process.stdout.write(JSON.stringify({ms: Date.now() - started, maxRssKb: process.resourceUsage().maxRSS, progressEvents: lines, phases, databases: manifest.archives.flatMap(a => a.databases.map(d => d.method))}) + '\\n');
process.exit(0);
`;

function childCommand(): {args: string[]; module: string; from: string} {
	const dist = resolve('dist/source/backup/index.js');
	const built = (f: string) => join('dist/source/backup', f.replace(/\.ts$/, '.js'));
	const fresh = readdirSync('source/backup').every(f => existsSync(built(f)) && statSync(built(f)).mtimeMs >= statSync(join('source/backup', f)).mtimeMs);
	return fresh
		? {args: ['--input-type=module', '-e', CHILD], module: pathToFileURL(dist).href, from: 'dist/'}
		: {args: ['--import', 'tsx', '--input-type=module', '-e', CHILD], module: pathToFileURL(resolve('source/backup/index.ts')).href, from: 'tsx'};
}

/** Text-like content (source code and JSON compress about 3-4x), cut from one pool so generation is fast. */
function makePool(): Buffer {
	const words = Array.from({length: 4000}, () => randomBytes(2 + Math.floor(Math.random() * 6)).toString('base64url'));
	const parts: string[] = [];
	let size = 0;
	while (size < 16 * MB) {
		const line = Array.from({length: 12}, () => words[Math.floor(Math.random() * words.length)]).join(' ') + ` ${randomBytes(6).toString('hex')}\n`;
		parts.push(line);
		size += line.length;
	}

	return Buffer.from(parts.join(''));
}

function slice(pool: Buffer, n: number): Buffer {
	const start = Math.floor(Math.random() * (pool.length - n));
	return pool.subarray(start, start + n);
}

/** ~60% small files (1-40 kB, 2 levels of dirs), ~40% one SQLite database. */
function fillVolume(dir: string, totalMb: number, pool: Buffer): void {
	const filesBytes = totalMb * MB * 0.6;
	let written = 0;
	let i = 0;
	while (written < filesBytes) {
		const sub = join(dir, `project-${i % 20}`, `src-${Math.floor(i / 20) % 50}`);
		if (i < 1000) {
			mkdirSync(sub, {recursive: true});
		}

		const n = 1024 + Math.floor(Math.random() * 40 * 1024);
		writeFileSync(join(sub, `file-${i}.ts`), slice(pool, n));
		written += n;
		i++;
	}

	const db = new Database(join(dir, 'opencode.db'));
	db.pragma('journal_mode = WAL');
	db.exec('CREATE TABLE part (id INTEGER PRIMARY KEY, session TEXT, data TEXT)');
	const insert = db.prepare('INSERT INTO part (session, data) VALUES (?, ?)');
	const dbBytes = totalMb * MB * 0.4;
	let rows = 0;
	for (let size = 0; size < dbBytes;) {
		db.transaction(() => {
			for (let k = 0; k < 5000 && size < dbBytes; k++) {
				const n = 500 + Math.floor(Math.random() * 3000);
				insert.run(`ses_${rows % 500}`, slice(pool, n).toString('latin1'));
				size += n + 40;
				rows++;
			}
		})();
	}

	db.close();
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ms: number; maxRssKb: number | null; stdout: string}> {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', command, ...args], {env, stdio: ['ignore', 'pipe', 'pipe']});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', c => (stdout += c));
		child.stderr.on('data', c => (stderr += c));
		child.on('exit', code => {
			if (code !== 0) {
				reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-500)}`));
				return;
			}

			const rss = /maxrss=(\d+)/.exec(stderr);
			resolve({ms: Date.now() - started, maxRssKb: rss ? Number(rss[1]) : null, stdout});
		});
	});
}

function duBytes(path: string): number {
	return Number(spawnSync('du', ['-sb', path], {encoding: 'utf8'}).stdout.split('\t')[0]);
}

const largeMb = Number(process.env.BENCH_BACKUP_MB ?? 1024);
const sizes = [Math.max(16, Math.round(largeMb / 4)), largeMb];
let own: PrivateEngine | undefined;
let host = process.env.DOCKER_HOST;
try {
	await new Docker(engineTarget(host).options).ping();
} catch {
	if (!canStartPrivateEngine()) {
		process.stdout.write('bench backup: no Docker engine and cannot start one (root + docker.io needed): skipped\n');
		process.exit(0);
	}

	own = await startPrivateEngine({prefix: 'occb-'});
	host = own.host;
}

const engine = await connect(host);
const {docker} = engine;
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'occ-bench-backup-'));
const env = {...process.env, DOCKER_HOST: host};
const rows: string[] = [];
try {
	const tag = await buildBusyboxImage(docker, {tag: 'occ-doctor-bench/busybox:1'});
	const pool = makePool();
	for (const mb of sizes) {
		const volume = `occ-bench-backup-${mb}`;
		await docker.getVolume(volume).remove({force: true}).catch(() => {});
		await docker.createVolume({Name: volume, Labels: {'dev.occ-doctor.bench': '1'}});
		const mountpoint = ((await docker.getVolume(volume).inspect()) as {Mountpoint: string}).Mountpoint;
		fillVolume(mountpoint, mb, pool);
		const bytes = duBytes(mountpoint);
		const container = await docker.createContainer({Image: tag, Labels: {'dev.occ-doctor.bench': '1'}, HostConfig: {Binds: [`${volume}:/data`]}});
		try {
			spawnSync('sync');
			const recipeOut = join(work, `recipe-${mb}`);
			mkdirSync(recipeOut);
			const recipe = await timed('docker', ['run', '--rm', '-v', `${volume}:/data:ro`, '-v', `${recipeOut}:/backup`, tag, 'tar', 'czf', '/backup/x.tar.gz', '-C', '/data', '.'], env);
			const recipeSize = statSync(join(recipeOut, 'x.tar.gz')).size;
			rmSync(recipeOut, {recursive: true, force: true});

			spawnSync('sync');
			const oursOut = join(work, `ours-${mb}`);
			const command = childCommand();
			const ours = await timed(process.execPath, [...command.args, host!, container.id, oursOut], {...env, BENCH_BACKUP_MODULE: command.module});
			const child = JSON.parse(ours.stdout.trim().split('\n').at(-1)!) as {ms: number; maxRssKb: number; progressEvents: number; phases: Record<string, number>; databases: string[]};
			const phase = (from: string, to: string) => ((child.phases[to]! - child.phases[from]!) / 1000).toFixed(1);
			const oursSize = duBytes(oursOut);
			rmSync(oursOut, {recursive: true, force: true});

			const rate = (ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(1)} MB/s`;
			rows.push(
				`${(bytes / MB).toFixed(0)} MB volume: recipe ${(recipe.ms / 1000).toFixed(1)} s (${rate(recipe.ms)}, ${(recipeSize / MB).toFixed(0)} MB .tar.gz) · `
				+ `occ-doctor ${(ours.ms / 1000).toFixed(1)} s (${rate(ours.ms)}, ${(oursSize / MB).toFixed(0)} MB, in-process ${(child.ms / 1000).toFixed(1)} s) · `
				+ `ratio ${(recipe.ms / ours.ms).toFixed(2)}x · our peak RSS ${((ours.maxRssKb ?? child.maxRssKb) / 1024).toFixed(0)} MB · ${child.progressEvents} progress events · `
				+ `phases: plan ${(child.phases.start! / 1000).toFixed(1)} s, stream ${phase('start', 'snapshot')} s, database (${child.databases.join(', ')}) ${phase('snapshot', 'written')} s, `
				+ `verify ${phase('written', 'verify')} s · load ${loadavg()[0]!.toFixed(2)} · ours from ${command.from}`,
			);
			process.stdout.write(rows.at(-1) + '\n');
		} finally {
			await container.remove({force: true}).catch(() => {});
			await docker.getVolume(volume).remove({force: true}).catch(() => {});
		}
	}
} finally {
	rmSync(work, {recursive: true, force: true});
	await own?.stop();
}

process.stdout.write(`\nbackup bench (${new Date().toISOString().slice(0, 10)}, ${process.env.BENCH_BACKUP_MB ? `BENCH_BACKUP_MB=${process.env.BENCH_BACKUP_MB}` : '~1 GB'}):\n${rows.map(r => `  ${r}`).join('\n')}\n`);
