import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {createHash, randomBytes} from 'node:crypto';
import {execFileSync, spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {StreamCheck, verifyArchive, verifyWritten} from '../../source/backup/verify.js';
import {Readable} from 'node:stream';
import tar from 'tar-stream';
import {buffer} from 'node:stream/consumers';
import {gunzipSync, gzipSync} from 'node:zlib';
import {captureProblem, mtimeMs, QUIET_MS} from '../../source/backup/database.js';
import {blockLevel, ParallelGzip} from '../../source/backup/gzip.js';
import type {StreamCapture} from '../../source/backup/pack.js';
import type {PathStat} from '../../source/docker/archive.js';
import {analyze} from '../../source/core/analyze.js';
import {GENERIC_PROFILE} from '../../source/core/profiles.js';
import {isExcluded, rewriteName} from '../../source/backup/pack.js';
import {defaultBackupDir, planUnits, sanitise, selectUnits} from '../../source/backup/plan.js';
import {formatDuration, progressText, RateMeter} from '../../source/backup/progress.js';
import {volumeSizesFromDf} from '../../source/backup/sizes.js';
import {bind, makeFacts, vol} from '../helpers/facts.js';
import {engineReadsHere, HostReadFailed, hostDirOf, readerFromEnv, readOnHost, remapsOwners} from '../../source/backup/host-read.js';
import type {Engine} from '../../source/docker/engine.js';
import {hostname} from 'node:os';
import type {BackupUnit} from '../../source/backup/types.js';
import type {ContainerFacts} from '../../source/core/types.js';
import {pipeline} from 'node:stream/promises';

describe('backup plan', () => {
	const facts = makeFacts({
		mounts: [vol('opencode-data', '/data'), bind('/srv/inner', '/data/inner'), vol('a'.repeat(64), '/anon'), bind('/etc/app.json', '/app.json')],
		tmpfs: ['/data/tmp'],
		volumes: {'opencode-data': {name: 'opencode-data', driver: 'local', labels: {}, mountpoint: null}, ['a'.repeat(64)]: {name: 'a'.repeat(64), driver: 'local', labels: {}, mountpoint: null}},
		bindSourceIsFile: {'/etc/app.json': true},
	});
	const units = planUnits(facts, analyze(facts, GENERIC_PROFILE, 'test').locations);
	const by = new Map(units.map(u => [u.containerPath, u]));

	it('makes one unit per volume and bind, named for files, nested mounts excluded from the parent', () => {
		assert.deepEqual([...by.keys()].sort(), ['/anon', '/app.json', '/data', '/data/inner']);
		assert.equal(by.get('/data')!.name, 'opencode-data');
		assert.equal(by.get('/anon')!.name, 'anon-anon');
		assert.equal(by.get('/data/inner')!.name, 'bind-data-inner');
		assert.deepEqual(by.get('/data')!.excluded, ['/data/inner', '/data/tmp']);
		assert.equal(by.get('/app.json')!.isFile, true);
		assert.equal(new Set(units.map(u => u.name)).size, units.length);
	});

	it('selects by name, label, path or volume, and by priority', () => {
		assert.deepEqual(selectUnits(units, ['opencode-data']).map(u => u.containerPath), ['/data']);
		assert.deepEqual(selectUnits(units, ['/anon']).map(u => u.containerPath), ['/anon']);
		assert.deepEqual(selectUnits(units, undefined, ['critical']), []);
	});

	it('sanitises names and stamps the default directory in UTC', () => {
		assert.equal(sanitise('../x y/ü'), 'x-y');
		assert.equal(sanitise('///'), 'data');
		assert.equal(defaultBackupDir('my app', new Date('2025-01-02T03:04:05.678Z')), 'occ-doctor-backup-my-app-20250102T030405Z');
	});
});

describe('backup archive names', () => {
	it('rewrites the engine\'s base-name prefix to ./ as tar -C DIR . writes it', () => {
		assert.equal(rewriteName('data/', 'data', false), '.');
		assert.equal(rewriteName('data/a/b.txt', 'data', false), './a/b.txt');
		assert.equal(rewriteName('data/sub/', 'data', false), './sub');
		assert.equal(rewriteName('app.json', 'app.json', true), './app.json');
		// tar on the host (host-read.ts) names the root `./` and keeps a top-level directory named like the mount.
		assert.equal(rewriteName('./', '', false), '.');
		assert.equal(rewriteName('./data/x', '', false), './data/x');
		assert.equal(isExcluded('./inner/x', ['./inner']), true);
		assert.equal(isExcluded('./inner', ['./inner']), false);
		assert.equal(isExcluded('./innerx', ['./inner']), false);
		// A bind-mounted file nested in a volume shows the bind's content: it belongs to its own archive only.
		assert.equal(isExcluded('./auth.json', ['./auth.json'], false), true);
	});

	it('verify reports a truncated archive as damaged instead of crashing', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'occt-verify-'));
		try {
			writeFileSync(join(dir, 'big.bin'), randomBytes(3_000_000));
			execFileSync('tar', ['czf', join(dir, 'a.tar.gz'), '-C', dir, 'big.bin']);
			truncateSync(join(dir, 'a.tar.gz'), 2_000_000);
			const result = await verifyArchive(join(dir, 'a.tar.gz'));
			assert.equal(result.ok, false);
			assert.match(result.error ?? '', /a\.tar\.gz: .*(unexpected end|truncated)/);
		} finally {
			rmSync(dir, {recursive: true, force: true});
		}
	});
});

describe('verification while writing', () => {
	// The bytes of a real tar.gz, fed to StreamCheck as the backup's output stage feeds it: in pieces.
	const streamed = async (bytes: Buffer) => {
		const check = new StreamCheck();
		for (let at = 0; at < bytes.length; at += 50_000) {
			await check.write(bytes.subarray(at, at + 50_000));
		}

		return check.end();
	};

	it('walks every entry of a good archive, and verifyWritten proves the file holds those bytes', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'occt-written-'));
		try {
			writeFileSync(join(dir, 'a.bin'), randomBytes(700_000));
			writeFileSync(join(dir, 'b.txt'), 'hello\n'.repeat(9000));
			execFileSync('tar', ['czf', join(dir, 'x.tar.gz'), '-C', dir, 'a.bin', 'b.txt']);
			const bytes = readFileSync(join(dir, 'x.tar.gz'));
			const check = await streamed(bytes);
			assert.deepEqual(check, {entries: 2, error: null});
			const sha256 = createHash('sha256').update(bytes).digest('hex');
			const good = await verifyWritten(join(dir, 'x.tar.gz'), {sha256, entries: 2}, check);
			assert.equal(good.ok, true, good.error ?? '');
			// The disk holds other bytes than those checked: refused, though they would gunzip.
			const other = Buffer.from(bytes);
			other[other.length - 1]! ^= 0xFF;
			writeFileSync(join(dir, 'x.tar.gz'), other);
			const changed = await verifyWritten(join(dir, 'x.tar.gz'), {sha256, entries: 2}, check);
			assert.equal(changed.ok, false);
			assert.match(changed.error ?? '', /x\.tar\.gz: sha256 .* does not match/);
			assert.match((await verifyWritten(join(dir, 'x.tar.gz'), {sha256: createHash('sha256').update(other).digest('hex'), entries: 3}, check)).error ?? '', /2 entries, the manifest says 3/);
		} finally {
			rmSync(dir, {recursive: true, force: true});
		}
	});

	it('names a damaged or cut stream as verify does, without hanging the writer', async () => {
		const pack = tar.pack();
		pack.entry({name: 'a.txt'}, 'x'.repeat(3000));
		pack.finalize();
		const data = gzipSync(await buffer(pack as unknown as Readable));
		const flipped = Buffer.from(gzipSync(randomBytes(400_000)));
		flipped[flipped.length >> 1]! ^= 0xFF;
		assert.match((await streamed(flipped)).error ?? '', /^bad gzip|truncated or damaged tar/);
		assert.match((await streamed(data.subarray(0, data.length - 4))).error ?? '', /^bad gzip \(unexpected end of file\)/);
		// Bytes that gunzip but are no tar: named as verify names them (a garbled tar header reads as damaged data).
		assert.match((await streamed(gzipSync(randomBytes(2000)))).error ?? '', /^bad gzip \(Invalid tar header/);
		assert.match((await streamed(gzipSync(gunzipSync(data).subarray(0, 1024)))).error ?? '', /truncated or damaged tar \(Unexpected end of data\)/);
	});
});

describe('disk-usage sizes', () => {
	it('reads the old shape (Volumes[].UsageData.Size) and skips -1', () => {
		const sizes = volumeSizesFromDf({Volumes: [{Name: 'a', UsageData: {Size: 10, RefCount: 1}}, {Name: 'b', UsageData: {Size: -1, RefCount: 0}}]});
		assert.deepEqual([...sizes], [['a', 10]]);
	});

	it('reads the newer grouped shape (VolumesDiskUsage.Items / VolumeUsage)', () => {
		assert.deepEqual([...volumeSizesFromDf({VolumesDiskUsage: {TotalSize: 5, Items: [{Name: 'c', UsageData: {Size: 5}}]}})], [['c', 5]]);
		assert.deepEqual([...volumeSizesFromDf({VolumeUsage: [{Name: 'd', Size: 7}]})], [['d', 7]]);
		assert.deepEqual([...volumeSizesFromDf(null)], []);
	});
});

describe('progress', () => {
	it('computes rate, percent and ETA over a window', () => {
		const meter = new RateMeter(3000);
		meter.add(0, 0);
		meter.add(10_000_000, 1000);
		assert.equal(meter.rate(), 10_000_000);
		assert.equal(meter.eta(10_000_000, 30_000_000), 2);
		assert.equal(progressText(10_000_000, 30_000_000, meter), '9.5 MiB / 28.6 MiB  33%  9.5 MiB/s  ETA 2s');
		assert.equal(progressText(5, null, new RateMeter()), '5 B');
		assert.equal(formatDuration(125), '2m05s');
	});
});

describe('parallel gzip', () => {
	const gzipped = async (chunks: Buffer[], blockSize: number) => buffer(Readable.from(chunks).pipe(new ParallelGzip({level: 6, blockSize, parallel: 3})));

	it('writes one gzip member that gunzip reads back byte for byte, across many blocks', async () => {
		const text = Buffer.from(Array.from({length: 40_000}, (_, i) => `line ${i % 977} of some source text\n`).join(''));
		const data = Buffer.concat([text, randomBytes(300_000), text.subarray(0, 12_345)]);
		const chunks = Array.from({length: Math.ceil(data.length / 7000)}, (_, i) => data.subarray(i * 7000, (i + 1) * 7000));
		const out = await gzipped(chunks, 64 * 1024);
		assert.deepEqual(out.subarray(0, 3), Buffer.from([0x1F, 0x8B, 0x08]));
		assert.ok(gunzipSync(out).equals(data));
		// The previous block's window primes each block: the ratio stays gzip's.
		assert.ok(out.length < gzipSync(data, {level: 6}).length * 1.02, `${out.length}`);
	});

	it('writes a valid empty gzip for no input', async () => {
		assert.equal(gunzipSync(await gzipped([], 1024)).length, 0);
	});

	it('stores blocks of already-compressed data and deflates the rest, in one member that gzip(1) reads', async () => {
		const text = Buffer.from(Array.from({length: 60_000}, (_, i) => `const value${i % 991} = compute(${i % 37});\n`).join(''));
		const packed = gzipSync(randomBytes(400_000).toString('base64'));
		assert.equal(blockLevel(text.subarray(0, 256 * 1024), 6), 6);
		assert.equal(blockLevel(packed.subarray(0, 256 * 1024), 6), 0);
		assert.equal(blockLevel(Buffer.concat([text.subarray(0, 64 * 1024), packed.subarray(0, 192 * 1024)]), 6), 1);
		assert.equal(blockLevel(packed.subarray(0, 256 * 1024), 1), 1, 'a level of 1 or less is kept');
		const data = Buffer.concat([text, packed, text.subarray(0, 99_999)]);
		const out = await gzipped([data], 256 * 1024);
		assert.ok(gunzipSync(out).equals(data));
		const system = spawnSync('gzip', ['-dc'], {input: out, maxBuffer: 64 * 1024 * 1024});
		assert.equal(system.status, 0, String(system.stderr));
		assert.ok(system.stdout.equals(data), 'gzip -dc gives the same bytes');
		// Stored blocks cost a few bytes each; the text still compresses as gzip's does.
		assert.ok(out.length < packed.length + gzipSync(Buffer.concat([text, text.subarray(0, 99_999)]), {level: 6}).length * 1.05, `${out.length}`);
	});
	it('reads back a block that compresses far worse than the one before it (zlib\'s output outgrows the guess)', async () => {
		const zeros = Buffer.alloc(200_000);
		const base64 = Buffer.from(randomBytes(300_000).toString('base64'));
		assert.equal(blockLevel(base64.subarray(0, 64 * 1024), 6), 6, 'base64 is deflated, not stored');
		const data = Buffer.concat([zeros, base64, zeros]);
		const out = await gzipped([data], 64 * 1024);
		assert.ok(gunzipSync(out).equals(data));
		assert.equal(spawnSync('gzip', ['-t'], {input: out}).status, 0);
	});
});

describe('database capture proof', () => {
	const start = new Date('2025-03-01T12:00:10Z');
	const stat = (size: number, mtime: string): PathStat => ({name: 'x', size, mode: 0o644, mtime, linkTarget: '', isDir: false, isFile: true, isSymlink: false});
	const capture = (files: Array<[string, number, string]>, streamStart: Date | null = start): StreamCapture => ({
		dir: '/nowhere',
		streamStart,
		files: files.map(([suffix, size, mtime]) => ({suffix, path: `/nowhere/db${suffix}`, size, mtime: new Date(Math.floor(mtimeMs(mtime) / 1000) * 1000)})),
	});
	const old = '2025-03-01T12:00:01.5+00:00';

	it('reads the engine\'s nanosecond mtimes, rounding up', () => {
		assert.equal(mtimeMs('2025-03-01T12:00:00.000000001Z'), Date.parse('2025-03-01T12:00:00Z') + 1);
		assert.equal(mtimeMs('2025-03-01T13:00:00.25+01:00'), Date.parse('2025-03-01T12:00:00.250Z'));
		assert.ok(Number.isNaN(mtimeMs('yesterday')));
	});

	it('accepts files unchanged and quiet for QUIET_MS before the stream, in any read order', () => {
		assert.equal(QUIET_MS, 3000);
		const c = capture([['', 8192, old], ['-wal', 4152, old]]);
		assert.equal(captureProblem(c, {'': stat(8192, old), '-wal': stat(4152, old), '-journal': null}), null);
	});

	it('refuses a capture any write may have touched', () => {
		const c = capture([['', 8192, old], ['-wal', 4152, old]]);
		assert.match(captureProblem(c, {'': stat(8192, old), '-wal': stat(8272, old), '-journal': null})!, /-wal changed/);
		assert.match(captureProblem(c, {'': stat(8192, old), '-wal': null, '-journal': null})!, /-wal vanished/);
		assert.match(captureProblem(capture([['', 8192, old]]), {'': stat(8192, old), '-wal': stat(32, old), '-journal': null})!, /-wal appeared/);
		assert.match(captureProblem(c, {'': stat(8192, old), '-wal': stat(4152, '2025-03-01T12:00:02.5Z'), '-journal': null})!, /-wal changed/);
		const recent = '2025-03-01T12:00:07.100Z';
		assert.match(captureProblem(capture([['', 8192, recent]]), {'': stat(8192, recent), '-wal': null, '-journal': null})!, /within 3 s/);
		assert.match(captureProblem(capture([['', 8192, old]], null), {'': stat(8192, old), '-wal': null, '-journal': null})!, /no Date header/);
	});
});

describe('reading a mount with tar on this host (host-read.ts)', () => {
	const dir = mkdtempSync(join(tmpdir(), 'occt-hostread-'));
	const unit = (source: BackupUnit['source'], isFile = false): BackupUnit => ({name: 'u', label: 'u', containerPath: '/data', storage: 'named-volume', priority: 'high', source, isFile, excluded: [], estimate: {bytes: null, from: 'none'}});
	const facts = (volume: Partial<ContainerFacts['volumes'][string]>) => makeFacts({volumes: {data: {name: 'data', driver: 'local', labels: {}, mountpoint: dir, options: [], ...volume}}});

	it('takes the mount\'s directory only where it is the whole source: a bind directory or a plain local volume', () => {
		const volume = unit({type: 'volume', name: 'data', path: dir});
		assert.equal(hostDirOf(volume, facts({})), dir);
		assert.equal(hostDirOf(unit({type: 'bind', name: null, path: dir}), facts({})), dir);
		assert.equal(hostDirOf(unit({type: 'bind', name: null, path: join(dir, 'f')}, true), facts({})), null, 'a single-file bind');
		assert.equal(hostDirOf(volume, facts({options: ['type', 'o', 'device']})), null, 'an NFS local volume, mounted only while in use');
		assert.equal(hostDirOf(volume, facts({options: undefined})), null, 'options unknown');
		assert.equal(hostDirOf(volume, facts({driver: 'rclone'})), null, 'a plugin volume');
		assert.equal(hostDirOf(volume, facts({mountpoint: '/elsewhere'})), null, 'not the volume\'s own directory');
	});

	it('stands in for the engine only as root, on a unix socket whose engine has our host name and remaps no owners', async () => {
		const engine = (transport: string, info: object | Error) => ({target: {transport, local: transport === 'unix'}, docker: {info: async () => {
			if (info instanceof Error) {
				throw info;
			}

			return info;
		}}}) as unknown as Engine;
		const here = {Name: hostname(), SecurityOptions: ['name=seccomp,profile=default']};
		assert.equal(await engineReadsHere(engine('unix', here), true), true);
		assert.equal(await engineReadsHere(engine('unix', here), false), false, 'not root: the container\'s private files would stop tar');
		assert.equal(await engineReadsHere(engine('tcp', here), true), false, 'tcp://localhost: a forwarded port');
		assert.equal(await engineReadsHere(engine('unix', {...here, Name: 'docker-desktop'}), true), false, 'Docker Desktop\'s VM, or a socket mounted into a container');
		assert.equal(await engineReadsHere(engine('unix', {...here, SecurityOptions: ['name=seccomp,profile=default', 'name=rootless']}), true), false, 'rootless');
		assert.equal(await engineReadsHere(engine('unix', {...here, SecurityOptions: ['name=userns']}), true), false, 'userns-remap');
		assert.equal(await engineReadsHere(engine('unix', new Error('forbidden')), true), false, 'no /info: the engine reads');
		assert.equal(remapsOwners(undefined), true, 'unknown: the engine reads');
		assert.equal(readerFromEnv({OCC_DOCTOR_BACKUP_VIA: 'engine'}), 'archive-api');
		assert.equal(readerFromEnv({}), 'auto');
	});

	it('streams the directory as tar, names in byte order (a database before its -wal), owners by number; a failing tar rejects with its message', async () => {
		const root = mkdtempSync(join(tmpdir(), 'occt-hostread-tree-'));
		for (const name of ['b.db-wal', 'b.db', 'B', 'a']) {
			writeFileSync(join(root, name), name);
		}

		const read = readOnHost(root, new AbortController().signal);
		const names: string[] = [];
		const extract = tar.extract();
		extract.on('entry', (header, stream, next) => {
			names.push(`${header.name} ${header.uname ?? ''}`.trim());
			stream.resume();
			stream.on('end', next);
		});
		await pipeline(read.stream, extract);
		await read.finished;
		assert.deepEqual(names, ['./', './B', './a', './b.db', './b.db-wal']);
		// Below another mount's mount point: the hidden directory beneath, left out (its name has tar's wildcards in it).
		mkdirSync(join(root, 'in[n]er*/deep'), {recursive: true});
		writeFileSync(join(root, 'in[n]er*/deep/hidden'), 'x');
		writeFileSync(join(root, 'in[n]er*x'), 'a sibling the pattern must not take');
		const excluded = readOnHost(root, new AbortController().signal, ['./in[n]er*']);
		const listed = spawnSync('tar', ['tf', '-'], {input: await buffer(excluded.stream), encoding: 'utf8'}).stdout.split('\n').filter(Boolean);
		await excluded.finished;
		assert.deepEqual(listed, ['./', './B', './a', './b.db', './b.db-wal', './in[n]er*/', './in[n]er*x']);
		const missing = readOnHost(join(root, 'gone'), new AbortController().signal);
		missing.stream.resume();
		await assert.rejects(missing.finished, (error: Error) => error instanceof HostReadFailed && /^tar stopped: tar: .*gone.*No such file or directory/.test(error.message));
		rmSync(root, {recursive: true, force: true});
	});

	it('is killed when the backup stops, and that is no failure of its own', async () => {
		const stop = new AbortController();
		const read = readOnHost('/usr', stop.signal);
		await new Promise(resolve => read.stream.once('data', resolve));
		const started = Date.now();
		stop.abort();
		let bytes = 0;
		read.stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
		await read.finished;
		// /usr is gigabytes: ended by the signal, not read to its end.
		assert.ok(Date.now() - started < 5000 && bytes < 512 * 1024 * 1024, `${Date.now() - started} ms, ${bytes} bytes`);
		rmSync(dir, {recursive: true, force: true});
	});
});
