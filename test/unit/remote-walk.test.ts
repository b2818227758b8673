// The walk a check runs through the SSH login's shell, run here by this machine's real sh and GNU find (read through
// the real reply reader), against the walk of the same tree with readdir: the same databases, legacy storage and
// skips must come out. With BusyBox's find, a missing tool or a root it may not read, it declines (the archive API
// walks then).
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {ReplyReader, type ShellCommand, type ShellReply} from '../../source/docker/host-shell.js';
import {SQLITE_HEADER, walk, walkRemote, type WalkRoot} from '../../source/sqlite/discover.js';
import {probeHostFiles} from '../../source/sqlite/shell-source.js';

const dir = mkdtempSync(join(tmpdir(), 'occt-rwalk-'));
const BUSYBOX = '/bin/busybox';

/** A shell as HostShell runs it, on this machine: the command line, then the token line; PATH as given. */
function localShell(path: string): {run(command: ShellCommand): Promise<ShellReply>} {
	return {
		async run(command) {
			const token = 'tok-local';
			const result = spawnSync('sh', ['-c', `${command.line} </dev/null 2>/dev/null; printf '\\n%s %s\\n' ${token} "$?"`], {env: {PATH: path}});
			return new Promise((resolve, reject) => {
				const reader = new ReplyReader(token);
				reader.queue.push({...command, lines: [], files: 0, resolve, reject});
				reader.push(result.stdout);
				reader.fail(new Error('no token line'));
			});
		},
	};
}

/** A PATH where find, cmp, tr, head and printf are BusyBox's applets. */
function busyboxPath(): string {
	const bin = join(dir, 'busybox-bin');
	mkdirSync(bin, {recursive: true});
	for (const tool of ['find', 'cmp', 'tr', 'head', 'printf']) {
		symlinkSync(BUSYBOX, join(bin, tool));
	}

	return `${bin}:/usr/bin:/bin`;
}

function tree(): string {
	const root = join(dir, 'data');
	const put = (path: string, body: string | Buffer) => {
		mkdirSync(join(root, path, '..'), {recursive: true});
		writeFileSync(join(root, path), body);
	};

	const db = Buffer.concat([SQLITE_HEADER, Buffer.alloc(1008)]);
	put('opencode.db', db);
	put('opencode.db-wal', db); // A sidecar is never a candidate.
	put('nested/deeper/other.sqlite', db);
	put('small.db', SQLITE_HEADER); // Under 512 bytes: not a database.
	put('almost.db', Buffer.concat([Buffer.from('SQLite format 3!'), Buffer.alloc(1008)])); // The 16th byte is not NUL.
	put('node_modules/pkg/skipped.db', db); // A directory never walked.
	put('storage/session/p1/ses_a.json', '{}');
	put('storage/session/p1/ses_b.json', '{}');
	put('storage/project/p1.json', '{}');
	put('storage/message/ses_a/msg_1.json', '{}');
	put('weird\nname.db', db);
	put('a/b/c/too-deep.db', db); // Beyond a depth of 2.
	symlinkSync(join(root, 'opencode.db'), join(root, 'link.db')); // Symlinks are not followed, as readdir does not.
	return root;
}

const noEngine = {} as never; // Any archive call would throw: the walk must not need one.

describe('the remote walk (real sh and find) against the walk with readdir', () => {
	after(() => rmSync(dir, {recursive: true, force: true}));
	const root = tree();
	const roots: WalkRoot[] = [{path: '/c/data', hostPath: root}];
	const limits = {maxDepth: 2, maxEntries: 1000, maxArchiveBytes: 1024};

	it('finds the same databases, legacy storage and skips as readdir does (GNU find)', async () => {
		const expected = await walk(noEngine, roots, limits);
		assert.deepEqual(expected.sqlite, ['/c/data/nested/deeper/other.sqlite', '/c/data/opencode.db', '/c/data/weird\nname.db'], 'the readdir walk, as the oracle, found what the tree holds');
		const remote = await walk(noEngine, roots, limits, undefined, null, localShell('/usr/bin:/bin'));
		assert.deepEqual(remote.sqlite, expected.sqlite);
		assert.deepEqual([...remote.storage], [...expected.storage]);
		assert.deepEqual([...remote.sessions], [...expected.sessions]);
		assert.deepEqual(remote.skipped.sort(), expected.skipped.sort());
	});

	it('declines on a host whose find is BusyBox\'s (its batched -exec of an or-branch is lost): the archive API walks', async () => {
		assert.notEqual(spawnSync(BUSYBOX, ['find', '--help']).status, null, 'busybox-static is installed (.ci/run)');
		assert.equal(await walkRemote(localShell(busyboxPath()), roots, limits), null);
		assert.notEqual(await walkRemote(localShell('/usr/bin:/bin'), roots, limits), null);
	});

	it('declines a root it may not read, and a tool missing there', async () => {
		assert.equal(await walkRemote(localShell('/usr/bin:/bin'), [{path: '/c/x', hostPath: join(dir, 'no-such-dir')}], limits), null);
		const noCmp = join(dir, 'no-cmp');
		mkdirSync(noCmp);
		for (const tool of ['find', 'tr', 'head', 'sh']) {
			symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).stdout.trim(), join(noCmp, tool));
		}

		assert.equal(await walkRemote(localShell(noCmp), roots, limits), null);
	});

	it('says "beyond N entries" as the readdir walk does, and reads two roots in one command', async () => {
		const small = {...limits, maxEntries: 3};
		const expected = await walk(noEngine, roots, small);
		const remote = await walk(noEngine, roots, small, undefined, null, localShell('/usr/bin:/bin'));
		assert.ok(expected.skipped.includes('/c/data beyond 3 entries'), JSON.stringify(expected.skipped));
		assert.ok(remote.skipped.includes('/c/data beyond 3 entries'), JSON.stringify(remote.skipped));
		let commands = 0;
		const shell = localShell('/usr/bin:/bin');
		const counting = {run: async (command: ShellCommand) => {
			commands++;
			return shell.run(command);
		}};
		const two = await walk(noEngine, [{path: '/c/one', hostPath: join(root, 'nested')}, {path: '/c/storage', hostPath: join(root, 'storage')}], limits, undefined, null, counting);
		assert.equal(commands, 1);
		assert.deepEqual(two.sqlite, ['/c/one/deeper/other.sqlite']);
		assert.deepEqual(two.storage.get('/c/storage')?.session, 2);
	});

	it('walks roots inside one another one command each, as readdir does', async () => {
		const nested = [{path: '/a', hostPath: root}, {path: '/b', hostPath: join(root, 'nested')}];
		const expected = await walk(noEngine, nested, limits);
		const remote = await walk(noEngine, nested, limits, undefined, null, localShell('/usr/bin:/bin'));
		assert.ok(expected.sqlite.includes('/a/nested/deeper/other.sqlite') && expected.sqlite.includes('/b/deeper/other.sqlite'), JSON.stringify(expected.sqlite));
		assert.deepEqual(remote.sqlite, expected.sqlite);
	});

	it('takes a database file as unknown (the archive API reads it) when a symlink on its way leaves the mount', async () => {
		const secret = join(dir, 'secret');
		mkdirSync(secret);
		writeFileSync(join(secret, 'host.db'), 'not the container\'s');
		symlinkSync(secret, join(root, 'escape'));
		const answers = await probeHostFiles(localShell('/usr/bin:/bin'), [[root, join(root, 'opencode.db')], [root, join(root, 'escape', 'host.db')], [root, join(root, 'link.db')], [root, join(root, 'gone.db')]]);
		assert.equal(typeof answers[0], 'object');
		assert.deepEqual(answers.slice(1), ['unknown', 'unknown', 'absent']);
	});
});
