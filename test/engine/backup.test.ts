import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {after, describe, it} from 'node:test';
import Database from 'better-sqlite3';
import type Docker from 'dockerode';
import {runBackup, type BackupEvent} from '../../source/backup/index.js';
import {dockerOn} from '../../source/left-undone.js';
import {readIndex} from '../../source/backup/file-index.js';
import {connect, type Engine} from '../../source/docker/engine.js';
import {buildBusyboxImage} from '../../source/docker/fixture-image.js';
import {startPrivateEngine} from '../../source/docker/private-engine.js';
import {cleanup, engineOrSkip, image, LABELS, skipOrFail, tour, uniqueName} from '../helpers/engine.js';
import {readOnlyTour} from '../helpers/host-snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'occt-bk-'));
after(() => rmSync(scratch, {recursive: true, force: true}));
const CLI = join(process.cwd(), 'cli.tsx');

/** Every entry under root: type, mode, owner, and the content's sha256 or the link's target. */
function tree(root: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (dir: string) => {
		for (const name of readdirSync(dir).sort()) {
			const full = join(dir, name);
			const rel = relative(root, full);
			if (skip(rel)) {
				continue;
			}

			const st = lstatSync(full);
			const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
			if (st.isSymbolicLink()) {
				out.set(rel, `link ${readlinkSync(full)}`);
			} else if (st.isDirectory()) {
				out.set(rel, `dir ${meta}`);
				walk(full);
			} else {
				out.set(rel, `file ${meta} ${createHash('sha256').update(readFileSync(full)).digest('hex')} mtime ${Math.floor(st.mtimeMs / 1000)}`);
			}
		}
	};

	walk(root);
	return out;
}

function untar(archive: string): string {
	const dir = mkdtempSync(join(scratch, 'x-'));
	const result = spawnSync('tar', ['xzf', archive, '-C', dir]);
	assert.equal(result.status, 0, `tar xzf ${archive}: ${result.stderr}`);
	return dir;
}

/** A tree with nested dirs, a symlink, odd names, an empty dir, modes and owners. */
function fill(root: string, tag: string): void {
	mkdirSync(join(root, 'a/b/c'), {recursive: true});
	writeFileSync(join(root, 'a/b/c/deep.txt'), `deep ${tag}\n`);
	writeFileSync(join(root, 'sp ace & "quote" ü.txt'), 'odd name\n');
	writeFileSync(join(root, `${'long-name-'.repeat(14)}.txt`), 'a name past 100 bytes\n');
	mkdirSync(join(root, 'empty'));
	writeFileSync(join(root, 'secret.key'), randomBytes(64));
	chmodSync(join(root, 'secret.key'), 0o600);
	chmodSync(join(root, 'a'), 0o750);
	writeFileSync(join(root, 'owned.txt'), 'opencoder\n');
	chownSync(join(root, 'owned.txt'), 1000, 1000);
	symlinkSync('a/b/c/deep.txt', join(root, 'link-to-deep'));
	writeFileSync(join(root, 'random.bin'), randomBytes(300_000));
}

async function volumePath(docker: Docker, name: string): Promise<string> {
	return ((await docker.getVolume(name).inspect()) as {Mountpoint: string}).Mountpoint;
}

/** A volume of `mb` MB of random data (slow to gzip), for interrupting a backup mid-way. */
async function bigVolume(docker: Docker, name: string, mb: number): Promise<void> {
	await docker.createVolume({Name: name, Labels: LABELS});
	const dir = await volumePath(docker, name);
	// Random hex: slow to deflate, as random bytes were, but not stored as already-compressed data (gzip.ts), so the
	// backup still takes long enough for the faults these tests inject mid-way.
	for (let i = 0; i < mb / 8; i++) {
		writeFileSync(join(dir, `chunk-${i}.txt`), randomBytes(4 * 1024 * 1024).toString('hex'));
	}
}

function finalNames(dir: string): string[] {
	return existsSync(dir) ? readdirSync(dir).filter(f => !f.endsWith('.partial')) : [];
}

/** `group`: the CLI leads a process group of its own, so a signal can go to the group, as a terminal's Ctrl+C does. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}, group = false): {child: ReturnType<typeof spawn>; done: Promise<{code: number | null; stdout: string; stderr: string}>; stderr: () => string} {
	const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe'], detached: group});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', c => (stdout += c));
	child.stderr.on('data', c => (stderr += c));
	const done = new Promise<{code: number | null; stdout: string; stderr: string}>(resolve => {
		// 'close', not 'exit': the last lines of stderr can arrive after the process has exited.
		child.on('close', code => resolve({code, stdout, stderr}));
	});
	return {child, done, stderr: () => stderr};
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
	const deadline = Date.now() + ms;
	while (!check()) {
		if (Date.now() > deadline) {
			throw new Error('timed out waiting');
		}

		await new Promise(resolve => setTimeout(resolve, 50));
	}
}

/** A backup whose private engine is SIGKILLed at its first progress event must fail with one clear line. */
async function engineGoesAway(reader: 'auto' | 'archive-api'): Promise<void> {
	const own = await startPrivateEngine({prefix: 'occt-bk-'});
	try {
		const engine: Engine = await connect(own.host);
		const tag = await buildBusyboxImage(engine.docker, {tag: 'occ-doctor-test/busybox:away'});
		const volume = 'occt-away';
		await bigVolume(engine.docker, volume, 96);
		// Created, never started: the engine's death leaves no container process behind.
		const container = await engine.docker.createContainer({Image: tag, HostConfig: {Binds: [`${volume}:/data`]}});
		await readOnlyTour(engine, container.id);
		const out = join(scratch, `away-${reader}`);
		const pid = Number(readFileSync(join(own.dir, 'dockerd.pid'), 'utf8'));
		let killed = false;
		const readers: string[] = [];
		await assert.rejects(runBackup({host: own.host, container: container.id, out, reader}, e => {
			if (e.type === 'progress' && !killed) {
				killed = true;
				process.kill(pid, 'SIGKILL');
			}

			if (e.type === 'written') {
				readers.push(e.archive.reader!);
			}
		}, engine), /engine went away.*no Docker engine answers/, reader);
		assert.deepEqual(finalNames(out), [], reader);
		if (reader === 'auto' && process.getuid?.() === 0) {
			// Read to its end from the disk, then the check that the container is still there finds no engine.
			assert.deepEqual(readers, ['host-tar']);
		} else {
			assert.ok(readers.every(r => r === 'archive-api'), readers.join());
		}
	} finally {
		// The containerd this dockerd started runs on under our private paths: end it by its pid.
		for (const proc of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
			try {
				if (readFileSync(`/proc/${proc}/cmdline`, 'utf8').includes(own.dir)) {
					process.kill(Number(proc), 'SIGKILL');
				}
			} catch {
				// Gone already.
			}
		}

		// Its mounts too (volumes, shm), deepest first, so the private paths can be removed.
		const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map(l => l.split(' ')[4] ?? '').filter(m => m.startsWith(own.dir));
		for (const m of mounts.sort((a, b) => b.length - a.length)) {
			spawnSync('umount', ['-l', m]);
		}

		await own.stop();
	}
}

describe('backup (real engine)', () => {
	let backupDir = '';

	it('backs up volumes and binds to archives that extract byte-identical, with a consistent WAL database and its row counts', {timeout: 180_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-data');
		const bind = mkdtempSync(join(scratch, 'bind-'));
		const nested = mkdtempSync(join(scratch, 'nested-'));
		let writer: Database.Database | undefined;
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const volumeDir = await volumePath(docker, volume);
			fill(volumeDir, 'volume');
			fill(bind, 'bind');
			writeFileSync(join(nested, 'inside.txt'), 'a bind nested in the volume\n');

			// A live WAL database whose newest rows are only in -wal: the writer stays open, no autocheckpoint.
			writer = new Database(join(bind, 'opencode.db'));
			writer.pragma('journal_mode = WAL');
			writer.pragma('wal_autocheckpoint = 0');
			writer.exec('CREATE TABLE session (id TEXT); CREATE TABLE part (id TEXT, data TEXT)');
			const insert = writer.prepare('INSERT INTO part VALUES (?, ?)');
			writer.transaction(() => {
				for (let i = 0; i < 5000; i++) {
					insert.run(`p${i}`, 'x'.repeat(100));
				}
			})();
			writer.exec('INSERT INTO session VALUES (\'s1\'), (\'s2\'), (\'s3\')');
			assert.ok(statSync(join(bind, 'opencode.db-wal')).size > 100_000, 'rows live in -wal');

			const tag = await image(docker);
			const container = await docker.createContainer({
				name: uniqueName('bk'),
				Image: tag,
				Labels: LABELS,
				HostConfig: {
					Binds: [`${volume}:/data`, `${bind}:/srv/agent`, `${nested}:/data/inner`],
					Mounts: [{Type: 'volume', Target: '/anon'}],
				},
			});
			await container.start();

			const out = join(scratch, 'out');
			const events: BackupEvent[] = [];
			const {dir, manifest} = await runBackup({host: process.env.DOCKER_HOST, container: container.id, out}, e => events.push(e), engine);
			backupDir = dir;

			// Modes: the directory 0700, every file 0600, whatever the umask.
			assert.equal(statSync(dir).mode & 0o777, 0o700);
			for (const f of readdirSync(dir)) {
				assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
			}

			assert.deepEqual(readdirSync(dir).sort(), [...manifest.archives.flatMap(a => [a.file, a.index!]), 'manifest.json'].sort());
			assert.equal(manifest.verified, true);
			assert.equal(manifest.version, 2);
			assert.ok(events.some(e => e.type === 'progress'));
			assert.ok(events.some(e => e.type === 'notice' && /credentials/.test(e.message)));

			const byPath = new Map(manifest.archives.map(a => [a.containerPath, a]));
			assert.deepEqual([...byPath.keys()].sort(), ['/anon', '/data', '/data/inner', '/srv/agent']);
			assert.equal(byPath.get('/data')!.file, `${volume}.tar.gz`);
			assert.deepEqual(byPath.get('/data')!.excluded, ['/data/inner']);

			for (const archive of manifest.archives) {
				const bytes = readFileSync(join(dir, archive.file));
				assert.equal(createHash('sha256').update(bytes).digest('hex'), archive.sha256, archive.file);
				// Entries are relative, as `tar czf X -C /data .` writes them.
				const list = spawnSync('tar', ['tzf', join(dir, archive.file)], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean);
				assert.ok(list.every(n => n === './' || n.startsWith('./')), `${archive.file}: ${list.slice(0, 3).join(' ')}`);
			}

			// The volume: identical to its host directory; the nested bind's mount point is there, empty.
			const fromVolume = untar(join(dir, byPath.get('/data')!.file));
			// The nested mount point is an empty directory; the engine shows it with the nested mount's own mode.
			const notMountPoint = (rel: string) => rel === 'inner';
			assert.deepEqual(tree(fromVolume, notMountPoint), tree(volumeDir, notMountPoint));
			// Manifest v2: the index lists every entry of the archive as extracted, with each file's sha256.
			const index = await readIndex(join(dir, byPath.get('/data')!.index!));
			assert.equal(index.entries.length, byPath.get('/data')!.entries);
			const extracted = tree(fromVolume);
			for (const entry of index.entries.filter(e => e.path !== '.')) {
				const seen = extracted.get(entry.path.slice(2));
				assert.ok(seen, entry.path);
				if (entry.type === 'file') {
					assert.ok(seen.includes(` ${entry.sha256} mtime ${entry.mtime}`) && seen.startsWith(`file ${entry.mode.toString(8)} ${entry.uid}:${entry.gid} `), `${entry.path}: ${seen} vs ${JSON.stringify(entry)}`);
				}
			}

			assert.equal(index.entries.filter(e => e.path !== '.').length, extracted.size);
			assert.deepEqual(byPath.get('/data')!.volume, {driver: 'local', labels: LABELS});
			assert.equal(byPath.get('/srv/agent')!.volume, null);
			assert.deepEqual(readdirSync(join(fromVolume, 'inner')), []);
			assert.deepEqual(tree(untar(join(dir, byPath.get('/data/inner')!.file))), tree(nested));

			// The bind: identical except the database, which is a consistent snapshot in one file.
			const fromBind = untar(join(dir, byPath.get('/srv/agent')!.file));
			const notDb = (rel: string) => rel.startsWith('opencode.db');
			assert.deepEqual(tree(fromBind, notDb), tree(bind, notDb));
			assert.ok(!existsSync(join(fromBind, 'opencode.db-wal')), 'no live -wal in the archive');
			const copy = new Database(join(fromBind, 'opencode.db'), {readonly: true});
			assert.equal((copy.prepare('SELECT count(*) AS n FROM part').get() as {n: number}).n, 5000);
			assert.equal((copy.prepare('SELECT count(*) AS n FROM session').get() as {n: number}).n, 3);
			copy.close();
			assert.deepEqual(byPath.get('/srv/agent')!.databases.map(d => [d.path, d.tables]), [['./opencode.db', {part: 5000, session: 3}]]);
			assert.equal(byPath.get('/srv/agent')!.databases[0]!.error, null);

			// The source is untouched: the writer still sees its rows, the -wal still holds them.
			assert.ok(statSync(join(bind, 'opencode.db-wal')).size > 100_000);
		} finally {
			writer?.close();
			await cleanup(docker, [volume]);
		}
	});

	it('backup --verify passes on a good backup and names the archive with a flipped byte', {timeout: 60_000}, async t => {
		if (!backupDir) {
			skipOrFail(t, 'no backup from the previous test');
			return;
		}

		const good = await runCli(['backup', '--verify', backupDir, '--plain']).done;
		assert.equal(good.code, 0, good.stdout + good.stderr);
		const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as {archives: Array<{file: string}>};
		const victim = join(backupDir, manifest.archives[0]!.file);
		const bytes = readFileSync(victim);
		bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
		writeFileSync(victim, bytes);
		const bad = await runCli(['backup', '--verify', backupDir, '--plain']).done;
		assert.equal(bad.code, 1, bad.stdout + bad.stderr);
		assert.match(bad.stdout, new RegExp(`✗ ${manifest.archives[0]!.file.replace(/[.]/g, '\\.')}`));
		rmSync(join(backupDir, manifest.archives.at(-1)!.file));
		const missing = await runCli(['backup', '--verify', backupDir, '--plain']).done;
		assert.equal(missing.code, 1);
		assert.match(missing.stdout, /missing/);
	});

	it('tar on this host and the engine\'s archive API write the same archive: entries, owners, modes, times, links, contents, database', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		if (process.getuid?.() !== 0) {
			skipOrFail(t, 'tar on the host reads for root only');
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-same');
		const bind = mkdtempSync(join(scratch, 'same-bind-'));
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const volumeDir = await volumePath(docker, volume);
			for (const root of [volumeDir, bind]) {
				fill(root, 'same');
				// What fill lacks: a hard link, a FIFO, setuid and sticky modes, a symlink out, a closed WAL database.
				linkSync(join(root, 'a/b/c/deep.txt'), join(root, 'hard-link'));
				assert.equal(spawnSync('mkfifo', [join(root, 'fifo')]).status, 0);
				writeFileSync(join(root, 'tool'), '#!/bin/sh\n');
				chmodSync(join(root, 'tool'), 0o4755);
				mkdirSync(join(root, 'shared'));
				chmodSync(join(root, 'shared'), 0o1777);
				symlinkSync('/etc/passwd', join(root, 'out-link'));
				const db = new Database(join(root, 'app.db'));
				db.pragma('journal_mode = WAL');
				db.exec('CREATE TABLE t (x TEXT); INSERT INTO t VALUES (\'one\'), (\'two\');');
				db.close();
				// Idle for a minute: both readers may take it from their own stream (database.ts, QUIET_MS).
				const idle = new Date(Date.now() - 60_000);
				utimesSync(join(root, 'app.db'), idle, idle);
			}

			const container = await docker.createContainer({name: uniqueName('bk-same'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`, `${bind}:/work`]}});
			const backups: Record<string, Awaited<ReturnType<typeof runBackup>>> = {};
			for (const reader of ['auto', 'archive-api'] as const) {
				backups[reader] = await runBackup({container: container.id, out: join(scratch, `same-${reader}`), reader}, () => {}, engine);
			}

			const host = backups.auto!;
			const api = backups['archive-api']!;
			assert.deepEqual(host.manifest.archives.map(a => a.reader), ['host-tar', 'host-tar']);
			assert.deepEqual(api.manifest.archives.map(a => a.reader), ['archive-api', 'archive-api']);
			for (const [i, archive] of host.manifest.archives.entries()) {
				const other = api.manifest.archives[i]!;
				assert.equal(archive.file, other.file);
				// Owners by id: the engine names them from the container's /etc/passwd, tar on the host leaves the names out.
				const listing = (dir: string) => spawnSync('tar', ['tvzf', join(dir, archive.file), '--full-time', '--numeric-owner'], {encoding: 'utf8'}).stdout;
				assert.equal(listing(host.dir), listing(api.dir), `${archive.file}: the same entries, in the same order, with the same owners, modes and times`);
				assert.ok(listing(host.dir).includes('./hard-link link to ./a/b/c/deep.txt'), listing(host.dir));
				assert.deepEqual((await readIndex(join(host.dir, archive.index!))).entries, (await readIndex(join(api.dir, other.index!))).entries, `${archive.file}: the same contents`);
				assert.deepEqual(archive.databases.map(d => [d.path, d.tables, d.method]), [['./app.db', {t: 2}, 'stream']]);
				assert.deepEqual(other.databases.map(d => [d.path, d.tables, d.method]), [['./app.db', {t: 2}, 'stream']]);
			}
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('a running container\'s bind source replaced on the host: tar there reads what the archive API reads (the engine mounts the path again)', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const bind = mkdtempSync(join(scratch, 'swapped-'));
		writeFileSync(join(bind, 'the-containers.txt'), 'mounted\n');
		try {
			const container = await docker.createContainer({name: uniqueName('bk-swap'), Image: await image(docker), Labels: LABELS, Cmd: ['sleep', '3600'], HostConfig: {NetworkMode: 'none', Binds: [`${bind}:/work`]}});
			await container.start();
			// The container keeps the directory it mounted; the path now names another one.
			renameSync(bind, `${bind}.old`);
			mkdirSync(bind, {mode: 0o700});
			writeFileSync(join(bind, 'someone-elses.txt'), 'not mounted\n');
			const seen: string[][] = [];
			for (const reader of ['auto', 'archive-api'] as const) {
				const {dir, manifest} = await runBackup({container: container.id, out: join(scratch, `swapped-${reader}`), reader}, () => {}, engine);
				seen.push([manifest.archives[0]!.reader!, ...readdirSync(untar(join(dir, manifest.archives[0]!.file)))]);
			}

			// Not what the running container has mounted, either way: the engine sets the mount up again from the path.
			assert.deepEqual(seen, [[process.getuid?.() === 0 ? 'host-tar' : 'archive-api', 'someone-elses.txt'], ['archive-api', 'someone-elses.txt']]);
		} finally {
			await cleanup(docker);
			rmSync(`${bind}.old`, {recursive: true, force: true});
		}
	});

	it('where tar on this host fails, or is not GNU tar, the mount is read through the engine instead, and the archive says so', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-tarfail');
		// A tar that meets a file it cannot read (as GNU tar does where root may not: FUSE, a restricted root), then would
		// read on for half a minute: it is stopped at that first error, not waited for.
		const bin = mkdtempSync(join(scratch, 'bin-'));
		writeFileSync(join(bin, 'tar'), '#!/bin/sh\n[ "$1" = --version ] && exec echo "tar (GNU tar) 1.34"\necho "tar: ./x: Cannot open: Permission denied" >&2\nhead -c 1536 /dev/zero\nexec sleep 30\n', {mode: 0o755});
		const started = Date.now();
		const path = process.env.PATH;
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			fill(await volumePath(docker, volume), 'fallback');
			const container = await docker.createContainer({name: uniqueName('bk-tarfail'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`]}});
			process.env.PATH = `${bin}:${path}`;
			const notices: string[] = [];
			const {dir, manifest} = await runBackup({container: container.id, out: join(scratch, 'tarfail')}, e => {
				if (e.type === 'notice') {
					notices.push(e.message);
				}
			}, engine);
			process.env.PATH = path;
			assert.equal(manifest.archives[0]!.reader, 'archive-api');
			assert.ok(notices.some(n => /tar stopped: tar: \.\/x: Cannot open: Permission denied; reading it through the engine instead/.test(n)), notices.join('\n'));
			assert.ok(Date.now() - started < 20_000, `${Date.now() - started} ms: tar was waited for`);
			const extracted = untar(join(dir, manifest.archives[0]!.file));
			assert.deepEqual(tree(extracted), tree(await volumePath(docker, volume)));
			// No tar at all on this host, and BusyBox's (which exits 1, as GNU tar does for a file that changed, on an
			// option it does not know, having written nothing): the engine reads, and the archive is whole.
			const busybox = mkdtempSync(join(scratch, 'busybox-bin-'));
			symlinkSync('/bin/busybox', join(busybox, 'tar'));
			for (const [name, bin] of [['notar', mkdtempSync(join(scratch, 'empty-bin-'))], ['busybox', busybox]]) {
				process.env.PATH = bin;
				const other = await runBackup({container: container.id, out: join(scratch, name!)}, () => {}, engine);
				process.env.PATH = path;
				assert.equal(other.manifest.archives[0]!.reader, 'archive-api', name);
				assert.deepEqual(tree(untar(join(other.dir, other.manifest.archives[0]!.file))), tree(await volumePath(docker, volume)), name);
			}
		} finally {
			process.env.PATH = path;
			await cleanup(docker, [volume]);
		}
	});

	it('an idle WAL database is taken from the backup\'s own stream, proven unchanged, whole and counted', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const bind = mkdtempSync(join(scratch, 'idle-'));
		let writer: Database.Database | undefined;
		try {
			writeFileSync(join(bind, 'notes.txt'), 'beside the database\n');
			writer = new Database(join(bind, 'opencode.db'));
			writer.pragma('journal_mode = WAL');
			writer.pragma('wal_autocheckpoint = 0');
			writer.exec('CREATE TABLE part (id INTEGER PRIMARY KEY, data TEXT)');
			const insert = writer.prepare('INSERT INTO part (data) VALUES (?)');
			writer.transaction(() => {
				for (let i = 0; i < 3000; i++) {
					insert.run('y'.repeat(120));
				}
			})();
			assert.ok(statSync(join(bind, 'opencode.db-wal')).size > 100_000, 'rows live in -wal');
			// Idle: the last write is older than the proof's quiet time (3 s) before the stream's Date (whole seconds).
			await new Promise(resolve => setTimeout(resolve, 5000));
			const container = await docker.createContainer({name: uniqueName('bk-idle'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${bind}:/srv/agent`]}});
			await container.start();
			const {dir, manifest} = await runBackup({container: container.id, out: join(scratch, 'idle-out')}, () => {}, engine);
			const archive = manifest.archives[0]!;
			assert.deepEqual(archive.databases.map(d => [d.path, d.method, d.tables]), [['./opencode.db', 'stream', {part: 3000}]]);
			const restored = untar(join(dir, archive.file));
			assert.ok(!existsSync(join(restored, 'opencode.db-wal')), 'the -wal is folded into the archived file');
			const copy = new Database(join(restored, 'opencode.db'), {readonly: true});
			assert.equal((copy.prepare('SELECT count(*) AS n FROM part').get() as {n: number}).n, 3000);
			assert.equal(copy.pragma('integrity_check', {simple: true}), 'ok');
			copy.close();
			assert.equal(readFileSync(join(restored, 'notes.txt'), 'utf8'), 'beside the database\n');
			assert.ok(statSync(join(bind, 'opencode.db-wal')).size > 100_000, 'the source is untouched');
		} finally {
			writer?.close();
			await cleanup(docker);
		}
	});

	it('a database written while the backup streams is still archived consistently: the manifest\'s rows are the archive\'s', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const bind = mkdtempSync(join(scratch, 'busy-'));
		let writer: Database.Database | undefined;
		let timer: NodeJS.Timeout | undefined;
		try {
			// Random data streams slowly, and sorts before the database: the writer is busy while the stream runs.
			for (let i = 0; i < 4; i++) {
				writeFileSync(join(bind, `chunk-${i}.bin`), randomBytes(6 * 1024 * 1024));
			}

			writer = new Database(join(bind, 'opencode.db'));
			writer.pragma('journal_mode = WAL');
			writer.exec('CREATE TABLE part (id INTEGER PRIMARY KEY, data TEXT)');
			const insert = writer.prepare('INSERT INTO part (data) VALUES (?)');
			const batch = writer.transaction((n: number) => {
				for (let i = 0; i < n; i++) {
					insert.run(randomBytes(200).toString('hex'));
				}
			});
			batch(2000);
			let writes = 0;
			timer = setInterval(() => {
				batch(20);
				writes++;
			}, 250);
			const container = await docker.createContainer({name: uniqueName('bk-busy'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${bind}:/srv/agent`]}});
			await container.start();
			// The writer stops two thirds into the stream: snapshotDatabase's retries against a busy writer are not under test.
			const {dir, manifest} = await runBackup({container: container.id, out: join(scratch, 'busy-out')}, e => {
				if (e.type === 'progress' && e.bytes >= 16 * 1024 * 1024) {
					clearInterval(timer);
				}
			}, engine);
			clearInterval(timer);
			assert.ok(writes > 0, 'the writer wrote during the backup');
			const [db] = manifest.archives[0]!.databases;
			// Written during the stream: the capture cannot be proven, so it was snapshotted.
			assert.equal(db!.method, 'snapshot');
			assert.equal(db!.error, null);
			const restored = untar(join(dir, manifest.archives[0]!.file));
			const copy = new Database(join(restored, 'opencode.db'), {readonly: true});
			const rows = (copy.prepare('SELECT count(*) AS n FROM part').get() as {n: number}).n;
			assert.equal(copy.pragma('integrity_check', {simple: true}), 'ok');
			copy.close();
			assert.equal(db!.tables!.part, rows);
			assert.ok(rows >= 2000 && (rows - 2000) % 20 === 0, `whole transactions only: ${rows}`);
		} finally {
			clearInterval(timer);
			writer?.close();
			await cleanup(docker);
		}
	});

	for (const how of ['to the process', 'to its process group']) {
		it(`Ctrl+C (SIGINT) mid-way, ${how}: exit 130, no final-named file, the directory it made is gone`, {timeout: 120_000}, async t => {
			const engine = await engineOrSkip(t);
			if (!engine) {
				return;
			}

			const {docker} = engine;
			const volume = uniqueName('bk-sigint');
			try {
				await bigVolume(docker, volume, 96);
				const container = await docker.createContainer({name: uniqueName('bk-sigint'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`]}});
				const out = join(scratch, `sigint-${how.length}`);
				const run = runCli(['backup', '--container', container.id, '--out', out, '--plain'], {}, how === 'to its process group');
				await until(() => /overall/.test(run.stderr()));
				if (how === 'to its process group') {
					// Both the launcher and its child get it, and the launcher passes its copy on: still one interrupt, cleaned up.
					process.kill(-run.child.pid!, 'SIGINT');
				} else {
					run.child.kill('SIGINT');
				}

				const {code, stderr} = await run.done;
				assert.equal(code, 130, stderr);
				assert.match(stderr, /interrupted/);
				assert.deepEqual(finalNames(out), []);
				assert.ok(!existsSync(out), 'the directory the backup made is removed');
			} finally {
				await cleanup(docker, [volume]);
			}
		});
	}

	it('runs in a child with a larger heap (source/relaunch.ts); the launcher killed outright (SIGKILL), the child cleans up and ends: nothing left', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-sigkill');
		try {
			await bigVolume(docker, volume, 96);
			const container = await docker.createContainer({name: uniqueName('bk-sigkill'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`]}});
			const out = join(scratch, 'sigkill');
			const relaunched = () => readdirSync('/proc').filter(p => /^\d+$/.test(p)).filter(p => {
				try {
					const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
					return cmdline.includes('--initial-old-space-size=64') && cmdline.includes(out);
				} catch {
					return false;
				}
			});
			const run = runCli(['backup', '--container', container.id, '--out', out, '--plain']);
			await until(() => /overall/.test(run.stderr()));
			assert.equal(relaunched().length, 1, 'the backup runs in one child started with the heap flag');
			run.child.kill('SIGKILL');
			// 'close' comes once every holder of the output pipes has gone: the child too.
			const {code} = await run.done;
			assert.equal(code, null);
			await until(() => relaunched().length === 0, 5000);
			assert.deepEqual(finalNames(out), []);
			assert.ok(!existsSync(out), 'the child cleaned up as on SIGTERM: the directory it made is removed');
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	for (const {signal, readerGone, what} of [
		{signal: 'SIGHUP', readerGone: false, what: 'a hangup (SIGHUP: the terminal or the ssh session gone) is cleaned up as Ctrl+C is'},
		{signal: 'SIGINT', readerGone: true, what: 'Ctrl+C while the reader of its output is gone (| tee killed too)'},
	] as const) {
		it(`--stop, then ${what}: the container runs again`, {timeout: 120_000}, async t => {
			const engine = await engineOrSkip(t);
			if (!engine) {
				return;
			}

			const {docker} = engine;
			const volume = uniqueName(`bk-${signal.toLowerCase()}`);
			try {
				await bigVolume(docker, volume, 96);
				const container = await docker.createContainer({name: uniqueName(`bk-${signal.toLowerCase()}`), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`]}});
				await container.start();
				const out = join(scratch, `stop-${signal}`);
				const run = runCli(['backup', '--container', container.id, '--out', out, '--plain', '--stop', '--yes']);
				await until(() => /overall/.test(run.stderr()));
				assert.equal((await container.inspect()).State.Running, false, 'stopped for the backup');
				if (readerGone) {
					// The reader goes first, as `| tee` does on Ctrl+C: every later write hits a closed pipe.
					run.child.stdout!.destroy();
					run.child.stderr!.destroy();
				}

				run.child.kill(signal);
				const {code, stderr} = await run.done;
				assert.equal(code, 130, stderr);
				assert.equal((await container.inspect()).State.Running, true, 'started again after the interrupted backup');
				assert.deepEqual(finalNames(out), []);
				if (!readerGone) {
					assert.match(stderr, new RegExp(`interrupted by ${signal}`));
					assert.ok(!existsSync(out), 'the directory the backup made is removed');
				}
			} finally {
				await cleanup(docker, [volume]);
			}
		});
	}

	it('--stop, then Ctrl+C twice while the container stops: it leaves at once and says how to start the container again', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-twice');
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const name = uniqueName('bk-twice');
			// PID 1 ignores SIGTERM: the engine's stop waits its 6 s timeout, and the second Ctrl+C comes meanwhile.
			const container = await docker.createContainer({name, Image: await image(docker), Labels: LABELS, Cmd: ['sleep', '3600'], StopTimeout: 6, HostConfig: {NetworkMode: 'none', Binds: [`${volume}:/data`]}});
			await container.start();
			const out = join(scratch, 'twice');
			const run = runCli(['backup', '--container', container.id, '--out', out, '--plain', '--stop', '--yes']);
			await until(() => /^stopping /m.test(run.stderr()));
			run.child.kill('SIGINT');
			// Past the window in which a copy of the same interrupt is ignored (source/relaunch.ts).
			await new Promise(resolve => setTimeout(resolve, 1500));
			run.child.kill('SIGINT');
			const {code, stderr} = await run.done;
			assert.equal(code, 130, stderr);
			assert.match(stderr, /^occ-doctor: interrupted again: left before the cleanup finished$/m);
			// Aimed at this run's engine: `docker` on the default socket, `docker -H …` on the test's private engine.
			assert.ok(stderr.split('\n').includes(`occ-doctor: ${name} was stopped for the backup: start it again with \`${dockerOn(engine.target)} start ${name}\``), stderr);
			assert.deepEqual(finalNames(out), []);
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('the container removed mid-backup, read by tar on the host or by the engine: a clear error, no final-named file', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-rm');
		try {
			await bigVolume(docker, volume, 64);
			for (const reader of ['auto', 'archive-api'] as const) {
				const container = await docker.createContainer({name: uniqueName('bk-rm'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`]}});
				// The backup's fault removes it: toured now, as it was made.
				await tour(docker, container.id);
				const out = join(scratch, `removed-${reader}`);
				let removal: Promise<unknown> | undefined;
				const readers: string[] = [];
				await assert.rejects(runBackup({container: container.id, out, reader}, e => {
					if (e.type === 'progress' && !removal) {
						removal = container.remove({force: true}).catch(error => error);
					}

					if (e.type === 'written') {
						readers.push(e.archive.reader!);
					}
				}, engine), /container was removed/, reader);
				await removal;
				assert.deepEqual(finalNames(out), [], reader);
				// Tar on the host reads on, and the check after the archive fails; through the engine the stream may break first.
				if (reader === 'auto' && process.getuid?.() === 0) {
					assert.deepEqual(readers, ['host-tar']);
				} else {
					assert.ok(readers.every(r => r === 'archive-api'), readers.join());
				}
			}
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('--out on a directory that holds other files is refused, and left as it was (not made 0700)', {timeout: 60_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-out');
		const shared = mkdtempSync(join(scratch, 'shared-'));
		chmodSync(shared, 0o1777);
		writeFileSync(join(shared, 'someone-elses.txt'), 'keep me\n');
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const container = await docker.createContainer({name: uniqueName('bk-out'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`]}});
			await assert.rejects(runBackup({container: container.id, out: shared}, () => {}, engine), /is not empty: pass --out with a new or empty directory/);
			assert.equal(statSync(shared).mode & 0o7777, 0o1777);
			assert.deepEqual(readdirSync(shared), ['someone-elses.txt']);
		} finally {
			await cleanup(docker, [volume]);
		}
	});

	it('the disk fills up: a clear error, the partial removed, no final-named file', {timeout: 120_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('bk-full');
		const full = mkdtempSync(join(scratch, 'full-'));
		const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', full]).status === 0;
		if (!mounted) {
			skipOrFail(t, 'cannot mount a tmpfs here (needs root)');
			return;
		}

		try {
			await bigVolume(docker, volume, 8);
			const container = await docker.createContainer({name: uniqueName('bk-full'), Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`]}});
			const out = join(full, 'backup');
			await assert.rejects(runBackup({container: container.id, out}, () => {}, engine), /no space left in .*: free some space or pass --out/);
			assert.deepEqual(finalNames(out), []);
			assert.deepEqual(readdirSync(full), [], 'nothing left on the full disk');
		} finally {
			spawnSync('umount', [full]);
			await cleanup(docker, [volume]);
		}
	});

	it('the engine goes away mid-backup, read by the engine or by tar on the host: a clear error, no final-named file', {timeout: 240_000}, async t => {
		if (!(await engineOrSkip(t))) {
			return;
		}

		// Through the engine its death cuts the stream itself; tar on the host reads on, and the calls after it fail.
		for (const reader of ['archive-api', 'auto'] as const) {
			// eslint-disable-next-line no-await-in-loop
			await engineGoesAway(reader);
		}
	});
});
