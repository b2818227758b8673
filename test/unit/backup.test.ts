import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {analyze} from '../../source/core/analyze.js';
import {GENERIC_PROFILE} from '../../source/core/profiles.js';
import {isExcluded, rewriteName} from '../../source/backup/pack.js';
import {defaultBackupDir, planUnits, sanitise, selectUnits} from '../../source/backup/plan.js';
import {formatDuration, progressText, RateMeter} from '../../source/backup/progress.js';
import {volumeSizesFromDf} from '../../source/backup/sizes.js';
import {bind, makeFacts, vol} from '../helpers/facts.js';

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
		assert.equal(isExcluded('./inner/x', ['./inner']), true);
		assert.equal(isExcluded('./inner', ['./inner']), false);
		assert.equal(isExcluded('./innerx', ['./inner']), false);
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
		assert.equal(progressText(10_000_000, 30_000_000, meter), '10.0 MB / 30.0 MB  33%  10.0 MB/s  ETA 2s');
		assert.equal(progressText(5, null, new RateMeter()), '5 B');
		assert.equal(formatDuration(125), '2m05s');
	});
});
