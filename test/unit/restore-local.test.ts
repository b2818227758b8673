// The one pass on the host (source/restore/local.ts) on real files in a temp dir: a good archive is staged with its
// owners, modes, mtimes and links, swapped in and verified; the swap is undone by renames; a tar-slip, a byte that
// differs from the index, a sha256 that differs from the manifest and a truncated gzip write nothing outside the
// staging directory and are named. A restored database is counted through hard links without changing it.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {gzipSync} from 'node:zlib';
import Database from 'better-sqlite3';
import tar from 'tar-stream';
import {entryOf, type IndexEntry} from '../../source/backup/file-index.js';
import {compareTrees} from '../../source/restore/compare.js';
import {hostWork, listHostDir, moveAside, moveBack, moveIn, rootOf, stageArchive} from '../../source/restore/local.js';
import {reportDatabase} from '../../source/sqlite/index.js';
import {hostSource} from '../../source/sqlite/snapshot.js';

const root = mkdtempSync(join(tmpdir(), 'occt-rl-'));
after(() => rmSync(root, {recursive: true, force: true}));
const isRoot = process.getuid?.() === 0;

type Item = {header: tar.Headers; body?: string};

async function archive(items: Item[]): Promise<{gz: Buffer; index: IndexEntry[]}> {
	const pack = tar.pack();
	const index: IndexEntry[] = [];
	for (const {header, body} of items) {
		pack.entry(header, body);
		const entry = entryOf({size: body?.length ?? 0, ...header} as tar.Header);
		if (entry.type === 'file') {
			entry.sha256 = createHash('sha256').update(body ?? '').digest('hex');
		}

		index.push(entry);
	}

	pack.finalize();
	const chunks: Buffer[] = [];
	for await (const chunk of pack) {
		chunks.push(chunk as Buffer);
	}

	return {gz: gzipSync(Buffer.concat(chunks)), index};
}

const mtime = new Date(1_700_000_000_000);
const GOOD: Item[] = [
	{header: {name: './', type: 'directory', mode: 0o750, uid: isRoot ? 1000 : 0, gid: isRoot ? 1000 : 0, mtime}},
	{header: {name: './a/', type: 'directory', mode: 0o700, mtime}},
	{header: {name: './a/b.txt', mode: 0o640, uid: isRoot ? 1000 : 0, gid: isRoot ? 1000 : 0, mtime}, body: 'bee\n'},
	{header: {name: './.hidden', mode: 0o600, mtime}, body: 'dot\n'},
	{header: {name: './exec', mode: 0o4755, mtime}, body: '#!/bin/sh\n'},
	{header: {name: './link', type: 'symlink', linkname: 'a/b.txt', mode: 0o777, mtime}},
	{header: {name: './py', type: 'symlink', linkname: '/usr/bin/python3', mode: 0o777, mtime}},
	{header: {name: './hard', type: 'link', linkname: './a/b.txt', mode: 0o640, mtime}},
];

function sha(data: string | Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

/** A target with old contents, its parent holding nothing else. */
function target(name: string): string {
	const dir = join(mkdtempSync(join(root, `${name}-`)), 'data');
	mkdirSync(dir, {mode: 0o755});
	writeFileSync(join(dir, 'old.txt'), 'old\n');
	writeFileSync(join(dir, '.old-dotfile'), 'old\n');
	return dir;
}

async function stage(name: string, items: Item[], tamper?: (gz: Buffer, index: IndexEntry[]) => {sha256?: string}) {
	const dir = target(name);
	const {gz, index} = await archive(items);
	const expected = tamper?.(gz, index) ?? {sha256: sha(gz)};
	const file = join(root, `${name}.tar.gz`);
	writeFileSync(file, gz);
	const work = hostWork(dir, 'run1');
	const result = await stageArchive(file, {...expected, entries: index.length}, index, work.staged, undefined, () => {});
	return {dir, work, index, result};
}

describe('restore: the one pass on the host', () => {
	it('stages a good archive with owners, modes, mtimes, symlinks and hard links; swaps it in; the walk verifies it', async () => {
		const {dir, work, index, result} = await stage('good', GOOD);
		assert.equal(result.damage, null);
		assert.equal(result.unsafe, null);
		assert.deepEqual(readdirSync(dir).sort(), ['.old-dotfile', 'old.txt'], 'the target untouched while staging');
		const before = rootOf(dir);
		moveAside(work);
		moveIn(work, index.find(e => e.path === '.'));
		assert.deepEqual(readdirSync(dir).sort(), ['.hidden', 'a', 'exec', 'hard', 'link', 'py']);
		assert.equal(existsSync(work.staged), false);
		const diff = compareTrees(index, listHostDir(dir, result.written));
		assert.deepEqual([diff.added, diff.changed, diff.removed], [[], [], []]);
		assert.equal(readFileSync(join(dir, 'a/b.txt'), 'utf8'), 'bee\n');
		assert.equal(statSync(join(dir, 'a/b.txt')).mode & 0o7777, 0o640);
		assert.equal(statSync(join(dir, 'exec')).mode & 0o7777, 0o4755);
		assert.equal(statSync(join(dir, 'a')).mode & 0o7777, 0o700);
		assert.equal(statSync(dir).mode & 0o7777, 0o750);
		assert.equal(Math.floor(statSync(join(dir, '.hidden')).mtimeMs / 1000), 1_700_000_000);
		assert.equal(readlinkSync(join(dir, 'link')), 'a/b.txt');
		assert.equal(readlinkSync(join(dir, 'py')), '/usr/bin/python3');
		assert.equal(statSync(join(dir, 'hard')).ino, statSync(join(dir, 'a/b.txt')).ino);
		if (isRoot) {
			assert.equal(statSync(join(dir, 'a/b.txt')).uid, 1000);
			assert.equal(statSync(dir).gid, 1000);
		}

		// A file that is not the inode written is read back: a changed byte shows.
		rmSync(join(dir, '.hidden'));
		writeFileSync(join(dir, '.hidden'), 'DOT\n', {mode: 0o600});
		const changed = compareTrees(index, listHostDir(dir, result.written));
		assert.deepEqual(changed.changed, ['./.hidden']);

		// Undone by renames: the old entries back, the root's owner and mode as they were.
		moveBack(work, 'moving-in', before);
		assert.deepEqual(readdirSync(dir).sort(), ['.old-dotfile', 'old.txt']);
		assert.equal(statSync(dir).mode & 0o7777, 0o755);
		assert.deepEqual(readdirSync(join(dir, '..')).sort(), ['data'], 'nothing left beside the target');
	});

	it('refuses tar-slip (../, an absolute path, a write through a symlink out) and writes nothing outside the staging directory', async () => {
		const cases: Array<[Item[], RegExp]> = [
			[[{header: {name: './', type: 'directory'}}, {header: {name: './../escaped.txt'}, body: 'x'}], /\.\/\.\.\/escaped\.txt: a path with \.\./],
			[[{header: {name: './', type: 'directory'}}, {header: {name: '/tmp/evil'}, body: 'x'}], /\/tmp\/evil: an absolute path/],
			[[{header: {name: './', type: 'directory'}}, {header: {name: './out', type: 'symlink', linkname: '/tmp'}}, {header: {name: './out/evil'}, body: 'x'}], /\.\/out\/evil: written through the symlink out/],
		];
		for (const [i, [items, message]] of cases.entries()) {
			const {dir, work, result} = await stage(`slip${i}`, items);
			assert.match(result.unsafe ?? '', message);
			assert.equal(result.damage, null);
			assert.deepEqual(readdirSync(join(dir, '..')).sort(), [`.occ-doctor-restore-run1-data`, 'data']);
			assert.equal(existsSync(join(work.staged, 'out/evil')), false);
			assert.equal(existsSync('/tmp/evil'), false);
			assert.deepEqual(readdirSync(dir).sort(), ['.old-dotfile', 'old.txt']);
		}
	});

	it('names damage: a file that differs from the index, a sha256 that differs from the manifest, a truncated gzip', async () => {
		const differs = await stage('differs', GOOD, (_gz, index) => {
			index.find(e => e.path === './.hidden')!.sha256 = sha('something else');
			return {};
		});
		assert.match(differs.result.damage ?? '', /does not match its index: \.\/\.hidden: different content from the index/);

		const wrongSum = await stage('sum', GOOD, () => ({sha256: sha('not this archive')}));
		assert.match(wrongSum.result.damage ?? '', /sha256 .* does not match the manifest's/);

		const dir = target('cut');
		const {gz, index} = await archive(GOOD);
		const file = join(root, 'cut.tar.gz');
		writeFileSync(file, gz.subarray(0, gz.length - 20));
		const cut = await stageArchive(file, {sha256: sha(gz)}, index, hostWork(dir, 'run1').staged, undefined, () => {});
		assert.match(cut.damage ?? '', /cut\.tar\.gz: /);
		assert.deepEqual(readdirSync(dir).sort(), ['.old-dotfile', 'old.txt']);
	});
});

describe('restore: databases counted through hard links beside the target', () => {
	const snapshotOf = (path: string) => existsSync(path) ? `${sha(readFileSync(path))} ${statSync(path).mtimeMs} ${statSync(path).mode} links=${statSync(path).nlink}` : 'absent';

	it('counts a WAL database and its -wal read-only: the restored files keep their bytes, mtime and mode, nothing is left beside them', async () => {
		const dir = join(root, 'db-linked');
		const scratch = join(root, 'db-scratch');
		mkdirSync(dir);
		mkdirSync(scratch);
		const live = new Database(join(root, 'db-live.db'));
		live.pragma('journal_mode = WAL');
		live.pragma('wal_autocheckpoint = 0');
		live.exec('CREATE TABLE part (id INTEGER PRIMARY KEY)');
		live.prepare('INSERT INTO part DEFAULT VALUES').run();
		live.prepare('INSERT INTO part DEFAULT VALUES').run();
		// What a backup of a live database restores: the main file with its -wal, which holds the rows.
		copyFileSync(join(root, 'db-live.db-wal'), join(dir, 'app.db-wal'));
		copyFileSync(join(root, 'db-live.db'), join(dir, 'app.db'));
		live.close();
		chmodSync(join(dir, 'app.db'), 0o640);
		const before = [snapshotOf(join(dir, 'app.db')), snapshotOf(join(dir, 'app.db-wal'))];
		const report = await reportDatabase(hostSource(p => join(dir, p.replace(/^\/data\//, '')), {link: true}), '/data/app.db', scratch, {integrity: false});
		assert.equal(report.error, null);
		assert.deepEqual(report.tables, {part: 2});
		assert.deepEqual([snapshotOf(join(dir, 'app.db')), snapshotOf(join(dir, 'app.db-wal'))], before);
		assert.deepEqual(readdirSync(dir).sort(), ['app.db', 'app.db-wal']);
		assert.deepEqual(readdirSync(scratch), []);
	});

	it('refuses to link a database with a hot journal (SQLite would roll it back into the restored file)', async () => {
		const dir = join(root, 'db-journal');
		mkdirSync(dir);
		const db = new Database(join(dir, 'app.db'));
		db.exec('CREATE TABLE t (x)');
		db.close();
		writeFileSync(join(dir, 'app.db-journal'), 'not empty');
		const before = snapshotOf(join(dir, 'app.db'));
		const report = await reportDatabase(hostSource(p => join(dir, p.replace(/^\/data\//, '')), {link: true}), '/data/app.db', root, {integrity: false});
		assert.match(report.error ?? '', /hot journal: it needs a copy/);
		assert.equal(snapshotOf(join(dir, 'app.db')), before);
	});
});
