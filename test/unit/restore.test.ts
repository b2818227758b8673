import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';
import {describe, it} from 'node:test';
import type {IndexEntry} from '../../source/backup/file-index.js';
import {indexPath} from '../../source/backup/file-index.js';
import {compareTrees, describeDiff} from '../../source/restore/compare.js';
import {neededBytes, parseTo, planRestore} from '../../source/restore/plan.js';
import type {Engine} from '../../source/docker/engine.js';
import {claimSafetyDir} from '../../source/restore/restore.js';
import {unsafeEntry} from '../../source/restore/scan.js';
import {findBackups} from '../../source/restore/find.js';
import {mkdirSync, writeFileSync} from 'node:fs';

const file = (path: string, sha256: string, extra: Partial<IndexEntry> = {}): IndexEntry => ({path, type: 'file', size: 3, mode: 0o644, uid: 0, gid: 0, mtime: 100, sha256, ...extra});

describe('restore: unsafe entries', () => {
	const check = (entries: Array<{name: string; type?: any; linkname?: string}>) => {
		const symlinks = new Set<string>();
		return entries.map(e => unsafeEntry({type: 'file', ...e}, symlinks)).find(Boolean) ?? null;
	};

	it('refuses .., absolute paths, devices, relative symlinks out, writes through a symlink, hard links out', () => {
		assert.match(check([{name: './a/../../x'}])!, /a path with \.\./);
		assert.match(check([{name: '/etc/passwd'}])!, /an absolute path/);
		assert.match(check([{name: './dev', type: 'character-device'}])!, /device file/);
		assert.match(check([{name: './l', type: 'symlink', linkname: '../x'}])!, /out of the target/);
		assert.match(check([{name: './d/l', type: 'symlink', linkname: '../../x'}])!, /out of the target/);
		assert.match(check([{name: './l', type: 'symlink', linkname: '/etc'}, {name: './l/passwd'}])!, /written through the symlink l/);
		assert.match(check([{name: './h', type: 'link', linkname: '../etc/passwd'}])!, /hard link/);
		assert.match(check([{name: './h', type: 'link', linkname: '/etc/passwd'}])!, /hard link/);
	});

	it('accepts ordinary trees: links inside, an absolute symlink (into the container, as the app made it), the root', () => {
		assert.equal(check([{name: './', type: 'directory'}, {name: './a/b'}, {name: './d/l', type: 'symlink', linkname: '../a/b'}, {name: './h', type: 'link', linkname: './a/b'}, {name: './py', type: 'symlink', linkname: '/usr/bin/python3'}, {name: './..hidden'}]), null);
	});
});

describe('restore: comparing trees', () => {
	it('counts added, changed and removed, and says why', () => {
		const want = [file('./same', 'a'), file('./changed', 'b'), file('./mode', 'c'), file('./new', 'd')];
		const have = [file('./same', 'a'), file('./changed', 'x'), file('./mode', 'c', {mode: 0o600}), file('./gone', 'e')];
		const diff = compareTrees(want, have);
		assert.deepEqual([diff.added, diff.changed, diff.removed], [['./new'], ['./changed', './mode'], ['./gone']]);
		assert.match(describeDiff(diff), /\.\/new: missing, \.\/changed: different content, \.\/mode: mode 600 instead of 644 and 1 more/);
	});

	it('a hard link may come back as a file; directory mtimes are not data', () => {
		const diff = compareTrees([{...file('./h', ''), type: 'link', linkname: './a'}, {path: './d', type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: 1}], [file('./h', 'z'), {path: './d', type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: 2}]);
		assert.deepEqual([diff.added, diff.changed, diff.removed], [[], [], []]);
	});

	it('index paths: ./a/b/ and a/b are ./a/b; the root is .', () => {
		assert.deepEqual(['./a/b/', 'a/b', './', '.'].map(indexPath), ['./a/b', './a/b', '.', '.']);
	});
});

describe('restore: plan pieces', () => {
	it('--to NAME=VOLUME and NAME=/dir; anything else is refused', () => {
		assert.deepEqual(parseTo(['data=vol2', '/srv=/tmp/x/']), [{name: 'data', target: {kind: 'volume', name: 'vol2'}}, {name: '/srv', target: {kind: 'bind', name: '/tmp/x'}}]);
		assert.throws(() => parseTo(['novalue']), /--to NAME=VOLUME/);
	});

	it('room: content in 4 KiB blocks, a block per other entry', () => {
		assert.equal(neededBytes([file('./a', 'x', {size: 1}), file('./b', 'x', {size: 4097}), {path: '.', type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: 0}]), 4096 + 8192 + 4096);
	});

	it('two safety copies in the same second get different directories, 0700, next to the backup', async () => {
		const parent = mkdtempSync(join(tmpdir(), 'occt-safety-'));
		try {
			const now = new Date('2026-01-02T03:04:05.678Z');
			const [a, b] = await Promise.all([claimSafetyDir(join(parent, 'backup'), 'my box', now), claimSafetyDir(join(parent, 'backup'), 'my box', now)]);
			assert.notEqual(a, b);
			assert.deepEqual([basename(a), basename(b)].sort(), ['occ-doctor-pre-restore-my-box-20260102T030405Z', 'occ-doctor-pre-restore-my-box-20260102T030405Z-2']);
			assert.equal(statSync(a).mode & 0o777, 0o700);
		} finally {
			rmSync(parent, {recursive: true, force: true});
		}
	});
});

describe('restore: finding backups', () => {
	it('lists backups and safety copies with a manifest, newest first; anything else is left out', async () => {
		const parent = mkdtempSync(join(tmpdir(), 'occt-find-'));
		try {
			const manifest = (createdAt: string) => JSON.stringify({format: 'occ-doctor-backup', version: 2, createdAt, container: {name: 'box'}, archives: [{compressedBytes: 10}, {compressedBytes: 5}], verified: true});
			for (const [name, createdAt] of [['occ-doctor-backup-box-1', '2026-01-01T00:00:00Z'], ['occ-doctor-pre-restore-box-2', '2026-01-02T00:00:00Z'], ['something-else', '2026-01-03T00:00:00Z']] as const) {
				mkdirSync(join(parent, name));
				writeFileSync(join(parent, name, 'manifest.json'), manifest(createdAt));
			}

			mkdirSync(join(parent, 'occ-doctor-backup-broken'));
			const found = await findBackups([parent]);
			assert.deepEqual(found.map(f => [basename(f.dir), f.archives, f.compressedBytes, f.verified]), [['occ-doctor-pre-restore-box-2', 2, 15, true], ['occ-doctor-backup-box-1', 2, 15, true]]);
		} finally {
			rmSync(parent, {recursive: true, force: true});
		}
	});
});

describe('restore: a damaged manifest', () => {
	it('is refused before the engine is asked (exit 2, nothing changed); a rehearsal reports it as damage (exit 1)', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'occ-manifest-'));
		try {
			writeFileSync(join(dir, 'manifest.json'), 'x');
			const noEngine = {} as Engine;
			await assert.rejects(planRestore({dir}, noEngine, () => {}), (error: any) => error.kind === 'cannot-run' && /is damaged .*nothing was changed/.test(error.message));
			await assert.rejects(planRestore({dir, rehearse: true}, noEngine, () => {}), (error: any) => error.kind === 'failed');
		} finally {
			rmSync(dir, {recursive: true, force: true});
		}
	});
});
