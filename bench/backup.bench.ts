// `npm run bench`: occ-doctor backup (progress and verification on) against two anchors on the same volume, from one
// run, alternating, median of BENCH_RUNS (default 5): the seeds' recipe (`docker run --rm -v VOL:/data:ro -v
// OUT:/backup busybox tar czf /backup/x.tar.gz -C /data .`) and `tar -C <host path> -cf - . | pigz -p 2`.
// The volume is mixed like a workspace: text files, one SQLite database, and a quarter already-compressed data
// (git packs, images). BENCH_BACKUP_MB (default 300; a comma list for several sizes) sets its size.
import {spawn, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import Database from 'better-sqlite3';
import {connect} from '../source/docker/engine.js';
import {buildBusyboxImage} from '../source/docker/fixture-image.js';
import {benchEngine} from './engine.js';

const MB = 1024 * 1024;

// Ours is `occ-doctor backup --json` as a user runs it: the dist/cli.js that `npm run bench` has just built, run as
// the installed command (through its sh launcher, docs/startup.md), with progress (stderr, piped) and verification
// on, in a fresh process (peak RSS: the largest process of its tree, which includes the child it relaunches itself
// in, source/relaunch.ts). The phases come from the JSON's `timings`.
const CLI = resolve('dist/cli.js');

interface BackupJson {
	timings: {ms: number; phases: {plan: number; archives: Record<string, {stream: number; databases: number}>; verify: number}};
	archives: Array<{databases: Array<{method: string}>; reader: string}>;
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

/** ~50% small text files (1-40 kB, 2 levels of dirs), ~25% one SQLite database, ~25% already compressed (packs, images). */
function fillVolume(dir: string, totalMb: number, pool: Buffer): void {
	const filesBytes = totalMb * MB * 0.5;
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

	// Random bytes stand in for compressed data: git packs of a few MB, images of tens of kB.
	const packs = join(dir, 'project-0', '.git', 'objects', 'pack');
	const images = join(dir, 'project-1', 'assets');
	mkdirSync(packs, {recursive: true});
	mkdirSync(images, {recursive: true});
	let compressed = 0;
	for (let k = 0; compressed < totalMb * MB * 0.25; k++) {
		const big = k % 2 === 0;
		const n = big ? 4 * MB + Math.floor(Math.random() * 4 * MB) : 20 * 1024 + Math.floor(Math.random() * 200 * 1024);
		writeFileSync(join(big ? packs : images, big ? `pack-${k}.pack` : `image-${k}.png`), randomBytes(n));
		compressed += n;
	}

	const db = new Database(join(dir, 'opencode.db'));
	db.pragma('journal_mode = WAL');
	db.exec('CREATE TABLE part (id INTEGER PRIMARY KEY, session TEXT, data TEXT)');
	const insert = db.prepare('INSERT INTO part (session, data) VALUES (?, ?)');
	const dbBytes = totalMb * MB * 0.25;
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

/** CPU seconds (user + system of the command and its children) are the figure the machine's load disturbs least. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ms: number; maxRssKb: number | null; cpu: number | null; stdout: string}> {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M cpu=%U+%S', command, ...args], {env, stdio: ['ignore', 'pipe', 'pipe']});
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
			const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(stderr);
			resolve({ms: Date.now() - started, maxRssKb: rss ? Number(rss[1]) : null, cpu: cpu ? Number(cpu[1]) + Number(cpu[2]) : null, stdout});
		});
	});
}

function duBytes(path: string): number {
	return Number(spawnSync('du', ['-sb', path], {encoding: 'utf8'}).stdout.split('\t')[0]);
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)]!;
}

const sizes = (process.env.BENCH_BACKUP_MB ?? '300').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const {host, stop: stopEngine} = await benchEngine('backup');

const engine = await connect(host);
const {docker} = engine;
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'occ-bench-backup-'));
const env = {...process.env, DOCKER_HOST: host};
const rows: string[] = [];
const hasPigz = spawnSync('sh', ['-c', 'command -v pigz']).status === 0;
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
			const out = join(work, 'out');
			const recipe = async () => {
				mkdirSync(out);
				const r = await timed('docker', ['run', '--rm', '-v', `${volume}:/data:ro`, '-v', `${out}:/backup`, tag, 'tar', 'czf', '/backup/x.tar.gz', '-C', '/data', '.'], env);
				const size = statSync(join(out, 'x.tar.gz')).size;
				rmSync(out, {recursive: true, force: true});
				return {...r, size};
			};

			const pigz = async () => {
				mkdirSync(out);
				const r = await timed('sh', ['-c', `tar -C '${mountpoint}' -cf - . | pigz -p 2 > '${out}/x.tar.gz'`], env);
				const size = statSync(join(out, 'x.tar.gz')).size;
				rmSync(out, {recursive: true, force: true});
				return {...r, size};
			};

			// Where tar on this host may read the volume (root, a local engine) ours does; the engine's archive API is
			// timed too, as it runs for everyone else (source/backup/host-read.ts).
			const ours = async (reader: 'auto' | 'archive-api' = 'auto') => {
				const r = await timed(CLI, ['backup', '--container', container.id, '--out', out, '--json'], {...env, OCC_DOCTOR_BACKUP_VIA: reader === 'archive-api' ? 'engine' : ''});
				const child = JSON.parse(r.stdout) as BackupJson;
				const size = duBytes(out);
				rmSync(out, {recursive: true, force: true});
				return {...r, size, child};
			};

			const runs: {recipe: Array<Awaited<ReturnType<typeof recipe>>>; pigz: Array<Awaited<ReturnType<typeof pigz>>>; ours: Array<Awaited<ReturnType<typeof ours>>>; api: Array<Awaited<ReturnType<typeof ours>>>} = {recipe: [], pigz: [], ours: [], api: []};
			const loads: number[] = [];
			for (let i = 0; i < RUNS; i++) {
				// Alternating, so a change of load hits every side alike.
				runs.recipe.push(await recipe());
				if (hasPigz) {
					runs.pigz.push(await pigz());
				}

				runs.ours.push(await ours());
				runs.api.push(await ours('archive-api'));
				loads.push(loadavg()[0]!);
			}

			const ms = (list: Array<{ms: number}>) => median(list.map(r => r.ms));
			const oursMs = ms(runs.ours);
			const phase = (pick: (t: BackupJson['timings']['phases']) => number) => median(runs.ours.map(r => pick(r.child.timings.phases))) / 1000;
			const archive = (t: BackupJson['timings']['phases']) => Object.values(t.archives)[0]!;
			const rate = (t: number) => `${(bytes / MB / (t / 1000)).toFixed(1)} MB/s`;
			const size = (list: Array<{size: number}>) => median(list.map(r => r.size));
			const line = (name: string, list: Array<{ms: number; size: number}>, target: string) =>
				`| ${name} | ${(ms(list) / 1000).toFixed(1)} s (${rate(ms(list))}) | ${(size(list) / MB).toFixed(0)} MB | ${(ms(list) / oursMs).toFixed(2)}× | ${(size(runs.ours) / size(list)).toFixed(2)}× | ${target} |`;
			rows.push(
				`${(bytes / MB).toFixed(0)} MB mixed volume (50% text, 25% SQLite, 25% compressed), median of ${RUNS}, load ${median(loads).toFixed(2)} (${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}), ours: occ-doctor backup --json from dist/:`,
				'| run | time | .tar.gz | speed-up of occ-doctor | our size ÷ theirs | target |',
				'|---|---|---|---|---|---|',
				`| occ-doctor backup (read by ${runs.ours[0]!.child.archives[0]!.reader}) | ${(oursMs / 1000).toFixed(1)} s (${rate(oursMs)}) | ${(size(runs.ours) / MB).toFixed(0)} MB | — | — | — |`,
				`| occ-doctor backup, through the engine (OCC_DOCTOR_BACKUP_VIA=engine) | ${(ms(runs.api) / 1000).toFixed(1)} s (${rate(ms(runs.api))}) | ${(size(runs.api) / MB).toFixed(0)} MB | recipe ${(ms(runs.recipe) / ms(runs.api)).toFixed(2)}×, pigz ${hasPigz ? (ms(runs.pigz) / ms(runs.api)).toFixed(2) : '—'}× | ${(size(runs.api) / size(runs.recipe)).toFixed(2)}× | — |`,
				line('seeds\' recipe (`docker run … tar czf`)', runs.recipe, '≥ 2×, size ≤ 1.1×'),
				...(hasPigz ? [line('`tar -cf - . \\| pigz -p 2`', runs.pigz, '≥ 0.8×')] : ['| pigz | not installed | | | | |']),
				`CPU seconds (user + system, medians): ours ${median(runs.ours.map(r => r.cpu ?? 0)).toFixed(1)} s (the engine's own share of streaming not counted)${hasPigz ? `, tar | pigz -p 2 ${median(runs.pigz.map(r => r.cpu ?? 0)).toFixed(1)} s` : ''} · `
				+ `our peak RSS ${(median(runs.ours.map(r => r.maxRssKb ?? 0)) / 1024).toFixed(0)} MB (target ≤ 200 MB) · `
				+ `phases: plan ${phase(t => t.plan).toFixed(1)} s, stream ${phase(t => archive(t).stream).toFixed(1)} s, database (${runs.ours[0]!.child.archives.flatMap(a => a.databases.map(d => d.method)).join(', ')}) ${phase(t => archive(t).databases).toFixed(1)} s, verify ${phase(t => t.verify).toFixed(1)} s`,
			);
			process.stdout.write(rows.slice(-8).join('\n') + '\n');
		} finally {
			await container.remove({force: true}).catch(() => {});
			await docker.getVolume(volume).remove({force: true}).catch(() => {});
		}
	}
} finally {
	rmSync(work, {recursive: true, force: true});
	await stopEngine();
}

process.stdout.write(`\nbackup bench (${new Date().toISOString().slice(0, 10)}, ${process.version}):\n${rows.join('\n')}\n`);
