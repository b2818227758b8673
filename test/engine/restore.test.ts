// `occ-doctor restore` on a real engine, through the CLI: a restore after changes is byte-identical to the backup,
// --to a new volume and a bind dir, refusals that change nothing (tar-slip, a flipped byte, a too-small disk),
// Ctrl+C at each phase (old data or new, never a mix), rehearsals, a version 1 backup.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {chmodSync, chownSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {gzipSync} from 'node:zlib';
import {after, before, describe, it} from 'node:test';
import Database from 'better-sqlite3';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {runBackup, type Manifest} from '../../source/backup/index.js';
import type {Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, LABELS, removeFixture, uniqueName} from '../helpers/engine.js';
import {assertUnchanged} from '../helpers/host-snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'occt-rs-'));
const stateHome = join(scratch, 'state');
after(() => rmSync(scratch, {recursive: true, force: true}));
const CLI = join(process.cwd(), 'cli.tsx');

/** Every entry under root: type, mode, owner, the content's sha256 and mtime, or the link's target and mtime. */
function tree(root: string): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (dir: string) => {
		for (const name of readdirSync(dir).sort()) {
			const full = join(dir, name);
			const rel = relative(root, full);
			const st = lstatSync(full);
			const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
			if (st.isSymbolicLink()) {
				out.set(rel, `link ${readlinkSync(full)} ${st.uid}:${st.gid} mtime ${Math.floor(st.mtimeMs / 1000)}`);
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
	const result = spawnSync('tar', ['xzf', archive, '-C', dir, '--numeric-owner']);
	assert.equal(result.status, 0, `tar xzf ${archive}: ${result.stderr}`);
	return dir;
}

/** Nested dirs, dotfiles, a symlink, modes, owners, a WAL database with rows. */
function fill(root: string, bigMb: number): void {
	mkdirSync(join(root, 'a/b'), {recursive: true});
	writeFileSync(join(root, 'a/b/deep.txt'), 'deep\n');
	writeFileSync(join(root, '.hidden'), 'dotfile\n');
	mkdirSync(join(root, '.config'));
	writeFileSync(join(root, '.config/settings.json'), '{"a":1}\n');
	writeFileSync(join(root, 'secret.key'), randomBytes(64));
	chmodSync(join(root, 'secret.key'), 0o600);
	chmodSync(join(root, 'a'), 0o750);
	writeFileSync(join(root, 'owned.txt'), 'opencoder\n');
	chownSync(join(root, 'owned.txt'), 1000, 1000);
	chownSync(join(root, '.config'), 1000, 1000);
	symlinkSync('a/b/deep.txt', join(root, 'link-to-deep'));
	writeFileSync(join(root, 'big.bin'), randomBytes(bigMb * 1024 * 1024));
	const db = new Database(join(root, 'agent.db'));
	db.pragma('journal_mode = WAL');
	db.exec('CREATE TABLE session (id TEXT); CREATE TABLE part (id TEXT, data TEXT)');
	const insert = db.prepare('INSERT INTO part VALUES (?, ?)');
	db.transaction(() => {
		for (let i = 0; i < 2000; i++) {
			insert.run(`p${i}`, 'x'.repeat(50));
		}
	})();
	db.exec('INSERT INTO session VALUES (\'s1\'), (\'s2\')');
	db.close();
}

/** What a user does after the backup: files added, changed and deleted, rows inserted and left in a stray -wal. */
function change(root: string): Database.Database {
	writeFileSync(join(root, 'added.txt'), 'new\n');
	writeFileSync(join(root, '.added-dotfile'), 'new\n');
	writeFileSync(join(root, 'a/b/deep.txt'), 'changed\n');
	unlinkSync(join(root, 'owned.txt'));
	const db = new Database(join(root, 'agent.db'));
	db.pragma('wal_autocheckpoint = 0');
	db.exec('INSERT INTO session VALUES (\'s3\'), (\'s4\'), (\'s5\')');
	assert.ok(existsSync(join(root, 'agent.db-wal')), 'a -wal with the new rows');
	// Left open: its -wal stays on the disk, as an agent's would.
	return db;
}

function rows(file: string): Record<string, number> {
	const copy = join(mkdtempSync(join(scratch, 'db-')), 'copy.db');
	copyFileSync(file, copy);
	const db = new Database(copy);
	const out = Object.fromEntries(['part', 'session'].map(t => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as {n: number}).n]));
	db.close();
	return out;
}

function runCli(args: string[], onStderr?: (all: string) => void, env: NodeJS.ProcessEnv = {}): {child: ReturnType<typeof spawn>; done: Promise<{code: number | null; stdout: string; stderr: string}>} {
	const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {env: {...process.env, XDG_STATE_HOME: stateHome, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', c => (stdout += c));
	child.stderr.on('data', c => {
		stderr += c;
		onStderr?.(stderr);
	});
	const done = new Promise<{code: number | null; stdout: string; stderr: string}>(resolve => {
		// 'close', not 'exit': the last lines of stderr can arrive after the process has exited.
		child.on('close', code => resolve({code, stdout, stderr}));
	});
	return {child, done};
}

async function volumePath(docker: Docker, name: string): Promise<string> {
	return ((await docker.getVolume(name).inspect()) as {Mountpoint: string}).Mountpoint;
}

async function running(docker: Docker, id: string): Promise<boolean> {
	return Boolean((await docker.getContainer(id).inspect()).State?.Running);
}

interface Sandbox {
	engine: Engine;
	container: Docker.Container;
	name: string;
	volume: string;
	volumeDir: string;
	bind: string;
	backup: string;
	manifest: Manifest;
	/** The trees the backup holds, extracted with tar. */
	want: {volume: Map<string, string>; bind: Map<string, string>};
	archive: {volume: string; bind: string};
}

let box: Sandbox | undefined;

before(async () => {
	const engine = await engineOrSkip({skip: () => {}} as any);
	if (!engine) {
		return;
	}

	const {docker} = engine;
	const name = uniqueName('rs');
	const volume = uniqueName('rs-data');
	await docker.createVolume({Name: volume, Labels: LABELS});
	const volumeDir = await volumePath(docker, volume);
	const bind = mkdtempSync(join(scratch, 'bind-'));
	fill(volumeDir, 4);
	writeFileSync(join(bind, 'notes.md'), 'bind notes\n');
	mkdirSync(join(bind, '.ssh'), {mode: 0o700});
	writeFileSync(join(bind, '.ssh/id_ed25519'), 'key\n', {mode: 0o600});
	const tag = await image(docker);
	const container = await docker.createContainer({name, Image: tag, Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`, `${bind}:/srv`]}});
	await container.start();
	const {dir, manifest} = await runBackup({host: process.env.DOCKER_HOST, container: container.id, out: join(scratch, 'backup')}, () => {}, engine);
	const byPath = new Map(manifest.archives.map(a => [a.containerPath, a]));
	const archive = {volume: join(dir, byPath.get('/data')!.file), bind: join(dir, byPath.get('/srv')!.file)};
	box = {engine, container, name, volume, volumeDir, bind, backup: dir, manifest, archive, want: {volume: tree(untar(archive.volume)), bind: tree(untar(archive.bind))}};
});

after(async () => {
	if (box) {
		await cleanup(box.engine.docker, [box.volume]);
	}
});

function need(t: {skip: (m: string) => void}): Sandbox | undefined {
	if (!box) {
		t.skip('no engine');
	}

	return box;
}

/** Back to the state a user has after the backup: changed files, new rows, a stray -wal. */
function changed(s: Sandbox): Database.Database {
	rmSync(s.volumeDir, {recursive: true, force: true});
	mkdirSync(s.volumeDir);
	spawnSync('tar', ['xzf', s.archive.volume, '-C', s.volumeDir, '--numeric-owner']);
	return change(s.volumeDir);
}

describe('restore (real engine)', () => {
	it('after changes: byte-identical to the backup with modes, owners, symlinks and dotfiles; exact rows; no stale -wal; running', {timeout: 180_000}, async t => {
		const s = need(t);
		if (!s) {
			return;
		}

		const writer = changed(s);
		writeFileSync(join(s.bind, 'stray.txt'), 'not in the backup\n');
		try {
			const before = tree(s.volumeDir);
			assert.notDeepEqual(before, s.want.volume);
			// The preview: what would be added, changed and removed, rows now → backup; nothing touched.
			const dry = await assertUnchanged(s.engine.docker, s.container.id, async () => runCli(['restore', s.backup, '--container', s.name, '--dry-run', '--json']).done);
			assert.equal(dry.code, 0, dry.stderr);
			const data = JSON.parse(dry.stdout).archives.find((a: any) => a.containerPath === '/data');
			assert.deepEqual(data.preview.samples, {added: ['./owned.txt'], changed: ['./a/b/deep.txt'], removed: ['./.added-dotfile', './added.txt', './agent.db-shm', './agent.db-wal'].filter(p => before.has(p.slice(2)))});
			assert.deepEqual(data.databases[0].now, {part: 2000, session: 5});
			assert.deepEqual(data.databases[0].backup, {part: 2000, session: 2});
			assert.deepEqual(tree(s.volumeDir), before);
			const run = await runCli(['restore', s.backup, '--container', s.name, '--yes', '--json']).done;
			assert.equal(run.code, 0, run.stderr);
			const result = JSON.parse(run.stdout);
			assert.deepEqual(result.archives.map((a: any) => a.status), ['restored', 'restored']);
			assert.ok(result.safetyCopy && existsSync(join(result.safetyCopy, 'manifest.json')), 'a safety copy next to the backup');
			assert.equal(statSync(result.safetyCopy).mode & 0o777, 0o700);
			assert.equal(JSON.parse(readFileSync(join(result.safetyCopy, 'manifest.json'), 'utf8')).container.name, s.name, 'the safety copy names the container, not the helper');
			assert.match(result.rollbackCommand, new RegExp(`^occ-doctor restore ${result.safetyCopy} --container ${s.name} --yes$`));
			assert.deepEqual(tree(s.volumeDir), s.want.volume);
			assert.deepEqual(tree(s.bind), s.want.bind);
			assert.ok(!existsSync(join(s.volumeDir, 'agent.db-wal')), 'no stale -wal');
			assert.deepEqual(rows(join(s.volumeDir, 'agent.db')), s.manifest.archives.find(a => a.containerPath === '/data')!.databases[0]!.tables);
			assert.ok(await running(s.engine.docker, s.container.id));

			// The safety copy holds the data as it was before: restoring it is the rollback.
			const back = await runCli(result.rollbackCommand.split(' ').slice(1)).done;
			assert.equal(back.code, 0, back.stderr);
			const old = tree(s.volumeDir);
			assert.equal(old.get('added.txt')?.startsWith('file'), true);
			assert.equal(old.has('owned.txt'), false);
		} finally {
			writer.close();
			rmSync(join(s.bind, 'stray.txt'), {force: true});
		}
	});

	it('--to a new named volume (with the recorded labels) and a new bind directory: byte-identical', {timeout: 180_000}, async t => {
		const s = need(t);
		if (!s) {
			return;
		}

		const volume = uniqueName('rs-to');
		const dir = join(mkdtempSync(join(scratch, 'to-')), 'new-bind');
		const names = s.manifest.archives.map(a => a.file.replace(/\.tar\.gz$/, ''));
		const run = await runCli(['restore', s.backup, '--container', s.name, '--to', `${names.find(n => n.startsWith('occt'))}=${volume}`, '--to', `/srv=${dir}`, '--yes', '--json']).done;
		try {
			assert.equal(run.code, 0, run.stderr);
			const result = JSON.parse(run.stdout);
			assert.equal(result.safetyCopy, null, 'new targets are empty: nothing to keep');
			const info = await s.engine.docker.getVolume(volume).inspect() as {Labels: Record<string, string>; Mountpoint: string};
			assert.deepEqual(info.Labels, LABELS);
			assert.deepEqual(tree(info.Mountpoint), s.want.volume);
			assert.deepEqual(tree(dir), s.want.bind);
			assert.ok(await running(s.engine.docker, s.container.id));
		} finally {
			await s.engine.docker.getVolume(volume).remove({force: true}).catch(() => {});
		}
	});

	/** A copy of the backup whose volume archive is replaced by `entries`, the manifest updated to match. */
	function craftedBackup(s: Sandbox, entries: Array<{header: tar.Headers; body?: string}>): Promise<string> {
		const dir = mkdtempSync(join(scratch, 'evil-'));
		cpSync(s.backup, dir, {recursive: true});
		const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
		const record = manifest.archives.find(a => a.containerPath === '/data')!;
		const pack = tar.pack();
		for (const e of entries) {
			pack.entry(e.header, e.body);
		}

		pack.finalize();
		const chunks: Buffer[] = [];
		pack.on('data', (c: Buffer) => chunks.push(c));
		return new Promise(resolve => {
			pack.on('end', () => {
				const gz = gzipSync(Buffer.concat(chunks));
				writeFileSync(join(dir, record.file), gz);
				record.sha256 = createHash('sha256').update(gz).digest('hex');
				record.entries = entries.length;
				delete record.index;
				writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
				resolve(dir);
			});
		});
	}

	it('refuses a tar-slip archive (../, an absolute path, a symlink out), a flipped byte, a volume another running container uses and a too-small disk: exit 2, target untouched, not restarted', {timeout: 240_000}, async t => {
		const s = need(t);
		if (!s) {
			return;
		}

		const writer = changed(s);
		writer.close();
		const before = tree(s.volumeDir);
		const started = (await s.container.inspect()).State.StartedAt;
		const root = {name: './', type: 'directory' as const, mode: 0o755};
		const cases: Array<[string, string, RegExp]> = [
			['../', await craftedBackup(s, [{header: root}, {header: {name: './../escaped.txt'}, body: 'x'}]), /\.\/\.\.\/escaped\.txt: a path with \.\./],
			['absolute', await craftedBackup(s, [{header: root}, {header: {name: '/etc/evil'}, body: 'x'}]), /\/etc\/evil: an absolute path/],
			['symlink out', await craftedBackup(s, [{header: root}, {header: {name: './out', type: 'symlink', linkname: '../../../../etc'}}, {header: {name: './out/evil'}, body: 'x'}]), /\.\/out: a symlink to \.\.\/\.\.\/\.\.\/\.\.\/etc, out of the target/],
		];
		const flipped = mkdtempSync(join(scratch, 'flip-'));
		cpSync(s.backup, flipped, {recursive: true});
		const victim = join(flipped, s.manifest.archives.find(a => a.containerPath === '/data')!.file);
		const bytes = readFileSync(victim);
		bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
		writeFileSync(victim, bytes);
		cases.push(['flipped byte', flipped, /bad gzip|sha256 .* does not match the manifest/]);

		for (const [what, dir, message] of cases) {
			const run = await runCli(['restore', dir, '--container', s.name, '--only', '/data', '--yes']).done;
			assert.equal(run.code, 2, `${what}: ${run.stderr}`);
			assert.match(run.stderr, message, what);
			assert.match(run.stderr, /^occ-doctor: .*nothing was changed/m, what);
			assert.deepEqual(tree(s.volumeDir), before, what);
		}

		// Another running container on the same volume would see its data replaced under it.
		const bystander = await s.engine.docker.createContainer({name: uniqueName('rs-other'), Image: (await s.container.inspect()).Image, Labels: LABELS, HostConfig: {Binds: [`${s.volume}:/shared`]}});
		await bystander.start();
		try {
			const run = await runCli(['restore', s.backup, '--container', s.name, '--only', '/data', '--yes']).done;
			assert.equal(run.code, 2, run.stderr);
			assert.match(run.stderr, /is in use by the running container occt-rs-other-.*: stop it first .* or pass --force; nothing was changed/);
		} finally {
			await removeFixture(s.engine.docker, bystander.id);
		}

		// A disk too small: a 1 MB tmpfs volume, with something in it, and the 4 MB archive forced onto it.
		const small = uniqueName('rs-small');
		await s.engine.docker.createVolume({Name: small, Labels: LABELS, Driver: 'local', DriverOpts: {type: 'tmpfs', device: 'tmpfs', o: 'size=1m'}});
		try {
			const run = await runCli(['restore', s.backup, '--container', s.name, '--only', '/data', '--to', `/data=${small}`, '--force', '--yes']).done;
			assert.equal(run.code, 2, run.stderr);
			assert.match(run.stderr, /not enough room in volume .* nothing was changed/);
		} finally {
			await s.engine.docker.getVolume(small).remove({force: true}).catch(() => {});
		}

		assert.equal((await s.container.inspect()).State.StartedAt, started, 'not restarted');
		assert.deepEqual(tree(s.volumeDir), before);
	});

	for (const phase of ['writing the safety copy', 'emptying the target', 'moving in the new contents', 'extracting', 'verifying']) {
		it(`SIGINT while ${phase}: the old data byte for byte (exit 130) or the restore finished (exit 0), never a mix; running`, {timeout: 180_000}, async t => {
			const s = need(t);
			if (!s) {
				return;
			}

			const writer = changed(s);
			writer.close();
			const old = tree(s.volumeDir);
			const oldBind = tree(s.bind);
			let sent = false;
			const run = runCli(['restore', s.backup, '--container', s.name, '--yes', '--plain'], all => {
				if (!sent && all.split('\n').some(l => l.startsWith(phase))) {
					sent = true;
					run.child.kill('SIGINT');
				}
			});
			const {code, stderr} = await run.done;
			assert.ok(sent, `never saw "${phase}": ${stderr}`);
			// Before verifying ends, an interrupt always rolls back; only the last checks may let the restore finish.
			if (phase !== 'verifying') {
				assert.equal(code, 130, stderr);
			}

			if (code === 130) {
				assert.match(stderr, /interrupted by SIGINT/);
				assert.deepEqual(tree(s.volumeDir), old);
				assert.deepEqual(tree(s.bind), oldBind);
			} else {
				assert.equal(code, 0, stderr);
				assert.deepEqual(tree(s.volumeDir), s.want.volume);
				assert.deepEqual(tree(s.bind), s.want.bind);
			}

			assert.ok(await running(s.engine.docker, s.container.id));
			assert.deepEqual(readdirSync(join(stateHome, 'occ-doctor/restore')).filter(f => f.endsWith('.json')), [], 'no journal left');
		});
	}

	it('refuses to delete a file that lies beneath a nested mount point, which the container cannot see and the backup does not hold (either way it restores)', {timeout: 180_000}, async t => {
		const engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		const volume = uniqueName('rs-hide');
		const nested = mkdtempSync(join(scratch, 'nested-'));
		writeFileSync(join(nested, 'seen.txt'), 'the bind\n');
		let id: string | undefined;
		try {
			await docker.createVolume({Name: volume, Labels: LABELS});
			const volumeDir = await volumePath(docker, volume);
			writeFileSync(join(volumeDir, 'app.txt'), 'data\n');
			// Written into the volume before the bind covered it: on disk, invisible to the container.
			mkdirSync(join(volumeDir, 'nested'));
			writeFileSync(join(volumeDir, 'nested', 'hidden.txt'), 'beneath the mount point\n');
			const name = uniqueName('rs-hide');
			const container = await docker.createContainer({name, Image: await image(docker), Labels: LABELS, HostConfig: {Binds: [`${volume}:/data`, `${nested}:/data/nested`]}});
			id = container.id;
			const {dir} = await runBackup({container: container.id, out: join(scratch, 'hide-backup')}, () => {}, engine);
			for (const via of ['', 'engine']) {
				const run = await runCli(['restore', dir, '--container', name, '--only', '/data', '--yes'], undefined, {OCC_DOCTOR_RESTORE_VIA: via}).done;
				assert.equal(run.code, 2, `${via}: ${run.stderr}`);
				assert.match(run.stderr, /holds \.\/nested\/hidden\.txt beneath the mount point of another mount, .* move it out of the way first, then restore \(nothing was changed\)/, via);
				assert.equal(readFileSync(join(volumeDir, 'nested', 'hidden.txt'), 'utf8'), 'beneath the mount point\n', via);
			}

			// Moved away, the restore goes ahead and leaves the nested bind alone.
			rmSync(join(volumeDir, 'nested', 'hidden.txt'));
			const run = await runCli(['restore', dir, '--container', name, '--only', '/data', '--yes']).done;
			assert.equal(run.code, 0, run.stderr);
			assert.equal(readFileSync(join(volumeDir, 'app.txt'), 'utf8'), 'data\n');
			assert.deepEqual(readdirSync(nested), ['seen.txt']);
		} finally {
			// Only what this test made: the file's other tests share the sandbox made before them.
			if (id) {
				await removeFixture(docker, id);
			}

			await docker.getVolume(volume).remove({force: true}).catch(() => {});
		}
	});

	it('a rehearsal of a good backup passes and touches nothing; a damaged one names the archive (exit 1)', {timeout: 180_000}, async t => {
		const s = need(t);
		if (!s) {
			return;
		}

		const writer = changed(s);
		writer.close();
		const before = tree(s.volumeDir);
		const startedAt = (await s.container.inspect()).State.StartedAt;
		const volumesBefore = ((await s.engine.docker.listVolumes()).Volumes ?? []).length;
		const good = await runCli(['restore', s.backup, '--container', s.name, '--rehearse', '--json']).done;
		assert.equal(good.code, 0, good.stderr);
		const result = JSON.parse(good.stdout);
		assert.deepEqual(result.archives.map((a: any) => a.status), ['rehearsed', 'rehearsed']);
		assert.deepEqual(result.archives.find((a: any) => a.containerPath === '/data').databases[0].integrity, 'ok');
		assert.deepEqual(tree(s.volumeDir), before);
		assert.equal((await s.container.inspect()).State.StartedAt, startedAt);
		assert.equal(((await s.engine.docker.listVolumes()).Volumes ?? []).length, volumesBefore, 'scratch volumes removed');

		// backup --rehearse: the same rehearsal, on the backup it just wrote.
		const fresh = await runCli(['backup', '--container', s.name, '--out', join(scratch, 'rehearsed-backup'), '--rehearse', '--json']).done;
		assert.equal(fresh.code, 0, fresh.stderr);
		const written = JSON.parse(fresh.stdout);
		assert.equal(written.rehearsal.outcome, 'rehearsed');
		assert.deepEqual(written.rehearsal.archives.map((a: any) => a.status), ['rehearsed', 'rehearsed']);
		assert.deepEqual(tree(s.volumeDir), before);

		const damaged = mkdtempSync(join(scratch, 'dmg-'));
		cpSync(s.backup, damaged, {recursive: true});
		const file = s.manifest.archives.find(a => a.containerPath === '/srv')!.file;
		const bytes = readFileSync(join(damaged, file));
		bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
		writeFileSync(join(damaged, file), bytes);
		const bad = await runCli(['restore', damaged, '--container', s.name, '--rehearse', '--plain']).done;
		assert.equal(bad.code, 1, bad.stderr);
		assert.match(bad.stderr, new RegExp(`occ-doctor: not restorable: ${file.replaceAll('.', '\\.')}`));
	});

	it('a version 1 backup (no index, no volume records) restores', {timeout: 180_000}, async t => {
		const s = need(t);
		if (!s) {
			return;
		}

		const v1 = mkdtempSync(join(scratch, 'v1-'));
		cpSync(s.backup, v1, {recursive: true});
		const manifest = JSON.parse(readFileSync(join(v1, 'manifest.json'), 'utf8'));
		manifest.version = 1;
		for (const a of manifest.archives) {
			rmSync(join(v1, a.index));
			delete a.index;
			delete a.volume;
		}

		writeFileSync(join(v1, 'manifest.json'), JSON.stringify(manifest));
		const writer = changed(s);
		writer.close();
		const run = await runCli(['restore', v1, '--container', s.name, '--yes', '--plain']).done;
		assert.equal(run.code, 0, run.stderr);
		assert.deepEqual(tree(s.volumeDir), s.want.volume);
		assert.ok(await running(s.engine.docker, s.container.id));
	});
});
