import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {buildLocations} from '../../source/core/model.js';
import {GENERIC_PROFILE} from '../../source/core/profiles.js';
import {canCreateIn, parseProcStatus, resolveUser} from '../../source/probe/access.js';
import {expectedObservation, probeFindings} from '../../source/probe/findings.js';
import {defaultStateDir, journalPath, ownerAlive, readJournals, removeJournal, writeJournal, type ProbeJournal} from '../../source/probe/journal.js';
import {initialTargets, sameStorageAncestors} from '../../source/probe/targets.js';
import {twinMounts} from '../../source/probe/twin.js';
import {bind, makeFacts, vol} from '../helpers/facts.js';

const ANON = 'a'.repeat(64);

describe('probe (pure parts)', () => {
	it('maps predictions to what a reader in the new container sees: orphaned is lost from there', () => {
		assert.equal(expectedObservation('kept'), 'kept');
		assert.equal(expectedObservation('orphaned'), 'lost');
		assert.equal(expectedObservation('lost'), 'lost');
		assert.equal(expectedObservation(null), null);
	});

	it('raises probe-mismatch naming both values, and nothing for agreeing or unwritable cells', () => {
		const facts = makeFacts({mounts: [vol(ANON, '/anon'), vol('data', '/data')]});
		const [anon, data] = buildLocations(facts, GENERIC_PROFILE);
		anon!.observed = {restart: 'kept', recreate: 'kept'};
		data!.observed = {restart: 'kept', recreate: 'unwritable', note: 'read-only: x'};
		const findings = probeFindings([anon!, data!]);
		assert.equal(findings.length, 1);
		assert.equal(findings[0]!.code, 'probe-mismatch');
		assert.equal(findings[0]!.severity, 'error');
		assert.match(findings[0]!.message, /predicted orphaned.*observed kept/);
	});

	it('resolves the container user from passwd and group, and judges a directory by owner and mode', () => {
		const passwd = 'root:x:0:0::/root:/bin/sh\nopencoder:x:1000:1000::/home/opencoder:/bin/sh\n';
		const group = 'root:x:0:\nopencoder:x:1000:\nshared:x:2000:opencoder\n';
		const user = resolveUser('opencoder', passwd, group);
		assert.deepEqual(user, {spec: 'opencoder', uid: 1000, gid: 1000, groups: [1000, 2000]});
		assert.equal(resolveUser('', null, null).uid, 0);
		assert.equal(resolveUser('1000:3000', passwd, group).gid, 3000);
		assert.equal(canCreateIn(user, {uid: 0, gid: 0, mode: 0o755}), false);
		assert.equal(canCreateIn(user, {uid: 1000, gid: 1000, mode: 0o755}), true);
		assert.equal(canCreateIn(user, {uid: 0, gid: 2000, mode: 0o775}), true);
		assert.equal(canCreateIn(user, {uid: 0, gid: 0, mode: 0o1777}), true);
		assert.equal(canCreateIn(resolveUser('', null, null), {uid: 5, gid: 5, mode: 0o700}), true);
	});

	it('gives the twin fresh anonymous volumes, the same named volumes and binds, and empty tmpfs', () => {
		const facts = makeFacts({mounts: [vol(ANON, '/anon'), vol('data', '/data', false), bind('/srv/x', '/x'), bind('/gone', '/gone')], tmpfs: ['/tm'], bindSourceExists: {'/gone': false}});
		const {mounts, tmpfs} = twinMounts(facts);
		assert.deepEqual(mounts, [
			{Type: 'volume', Source: '', Target: '/anon', ReadOnly: false},
			{Type: 'volume', Source: 'data', Target: '/data', ReadOnly: true},
			{Type: 'bind', Source: '/srv/x', Target: '/x', ReadOnly: false},
		]);
		assert.deepEqual(tmpfs, {'/tm': ''});
	});

	it('plans one sentinel per directory, tmpfs through exec, single-file binds and read-only mounts without writing', () => {
		const facts = makeFacts({
			mounts: [vol('data', '/data'), bind('/h/auth.json', '/cfg/auth.json'), bind('/h/ro', '/ro', false)],
			bindSourceIsFile: {'/h/auth.json': true},
			tmpfs: ['/tm'],
		});
		const targets = initialTargets(buildLocations(facts, GENERIC_PROFILE, ['/data/sub']), 'r1');
		const byDir = new Map(targets.map(t => [t.dir, t]));
		assert.equal(byDir.get('/data')?.sentinel, '/data/.occ-doctor-probe-r1');
		assert.equal(byDir.get('/tm')?.channel, 'exec');
		assert.deepEqual(byDir.get('/cfg/auth.json')?.skip, {observed: null, note: 'not probed (single file)'});
		assert.equal(byDir.get('/ro')?.skip?.observed, 'unwritable');
		assert.deepEqual(sameStorageAncestors('/data/sub/deeper', facts), ['/data/sub', '/data']);
		assert.deepEqual(sameStorageAncestors('/srv/app', facts), ['/srv', '/']);
	});

	it('keeps a journal under the XDG state dir: written atomically, read back, foreign files ignored, removed', () => {
		assert.equal(defaultStateDir({XDG_STATE_HOME: '/x/state', HOME: '/home/u'}), '/x/state/occ-doctor');
		assert.equal(defaultStateDir({HOME: '/home/u'}), '/home/u/.local/state/occ-doctor');
		assert.equal(defaultStateDir({XDG_STATE_HOME: 'relative', HOME: '/home/u'}), '/home/u/.local/state/occ-doctor');
		const dir = mkdtempSync(join(tmpdir(), 'occt-journal-'));
		try {
			const journal: ProbeJournal = {
				version: 1, runId: 'ab12cd34', engine: 'unix:///var/run/docker.sock', container: {id: 'f'.repeat(64), name: 'agent'},
				before: {status: 'running', running: true}, startedByUs: false, sentinels: [], twin: null, step: 'writing',
				pid: 2 ** 22 + 1, startedAt: new Date().toISOString(), updatedAt: '',
			};
			assert.equal(writeJournal(dir, journal), journalPath(dir, 'ab12cd34'));
			writeFileSync(join(dir, 'probe', 'zz.json'), '{half');
			writeFileSync(join(dir, 'probe', 'other.json'), JSON.stringify({...journal, runId: 'mismatch'}));
			const read = readJournals(dir);
			assert.equal(read.length, 1);
			assert.deepEqual({...read[0], updatedAt: ''}, journal);
			assert.equal(ownerAlive(read[0]!), false, 'a pid that does not run is not an owner');
			assert.equal(ownerAlive({...journal, pid: process.pid}), true);
			removeJournal(dir, 'ab12cd34');
			assert.deepEqual(readJournals(dir), []);
		} finally {
			rmSync(dir, {recursive: true, force: true});
		}
	});

	it('reads effective uid, gid, groups and parent from /proc/<pid>/status texts', () => {
		const text = 'Name:\ttini\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t \n'
			+ 'Name:\tnode\nPid:\t7\nPPid:\t1\nUid:\t1000\t1001\t1001\t1001\nGid:\t1000\t1000\t1000\t1000\nGroups:\t1000 2000 \n';
		assert.deepEqual(parseProcStatus(text), [
			{pid: 1, name: 'tini', ppid: 0, uid: 0, gid: 0, groups: []},
			{pid: 7, name: 'node', ppid: 1, uid: 1001, gid: 1000, groups: [1000, 2000]},
		]);
		assert.deepEqual(parseProcStatus(''), []);
	});
});
