import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {analyze} from '../../source/core/analyze.js';
import {findProfile} from '../../source/core/profiles.js';
import {DEFAULT_SAVE, describeSave, isRedis, mergeSettings, parseCommandLine, parseConfigFile, redisProfile, withRedis} from '../../source/core/redis.js';
import {makeFacts, vol} from '../helpers/facts.js';

describe('Redis settings', () => {
	it('reads redis-server\'s command line behind an entrypoint or sh -c, with quoted and repeated --save', () => {
		assert.deepEqual(parseCommandLine(['docker-entrypoint.sh', 'redis-server', '--appendonly', 'yes', '--dir', '/var/lib/redis']).values, {appendonly: 'yes', dir: '/var/lib/redis'});
		assert.deepEqual(parseCommandLine(['redis-server', '--save', '60', '1', '--save', '300 10']).values, {save: '60 1 300 10'});
		assert.deepEqual(parseCommandLine(['/bin/sh', '-c', 'exec redis-server /etc/redis.conf --save "" --port 6380']), {configFile: '/etc/redis.conf', values: {save: ''}, port: '6380', password: false});
		assert.equal(parseCommandLine(['redis-server', '--requirepass', 'x']).password, true);
		assert.equal(isRedis({command: ['node', 'server.js']}), false);
		assert.equal(isRedis({command: ['/usr/local/bin/redis-server', '--appendonly', 'yes']}), true);
	});

	it('reads a config file: comments skipped, save lines add up, save "" clears those before it', () => {
		assert.deepEqual(parseConfigFile('# appendonly yes\nappendonly no\nsave 900 1\nsave 300 10\ndir ./db\n'), {password: false, appendonly: 'no', save: '900 1 300 10', dir: './db'});
		assert.deepEqual(parseConfigFile('save 900 1\nsave ""\nsave 60 5\nrequirepass secret\n'), {password: true, save: '60 5'});
	});

	it('merges: the running server, then the command line, then the file, then the defaults; dir relative to the working dir', () => {
		const settings = mergeSettings([{from: 'command line', values: {appendonly: 'yes'}}, {from: '/etc/redis.conf', values: {appendonly: 'no', dir: 'db'}}], '/data', '/etc/redis.conf', []);
		assert.deepEqual(settings, {appendonly: true, save: DEFAULT_SAVE, dir: '/data/db', from: {appendonly: 'command line', save: 'default', dir: '/etc/redis.conf'}, configFile: '/etc/redis.conf', notes: []});
		assert.equal(mergeSettings([], '', null, []).dir, '/');
	});

	it('describes the snapshot schedule and its worst gap', () => {
		assert.deepEqual(describeSave(DEFAULT_SAVE), {worst: '1 h', rules: 'after 1 min if ≥10000 writes, after 5 min if ≥100 writes, after 1 h if ≥1 write'});
		assert.equal(describeSave(''), null);
	});

	it('redis-no-aof: a warning with snapshots, an error without; redis-data-not-persistent replaces not-persistent on the layer', () => {
		const facts = makeFacts({name: 'q', command: ['redis-server'], workingDir: '/data', restartPolicy: 'unless-stopped', labels: {'com.docker.compose.service': 'redis', 'com.docker.compose.project': 'p'}});
		const judge = (values: Record<string, string>, f = facts) => {
			const redis = mergeSettings([{from: 'command line', values}], '/data', null, []);
			const {profile, detectedBy} = redisProfile({profile: findProfile('redis-aof')!, detectedBy: 'x'}, redis);
			return withRedis(analyze(f, profile, detectedBy, []), f, redis).findings;
		};

		const snapshots = judge({});
		assert.deepEqual(snapshots.map(f => [f.code, f.severity]), [['redis-data-not-persistent', 'error'], ['redis-no-aof', 'warning']]);
		assert.match(snapshots[1]!.message, /up to 1 h of writes/);
		assert.match(snapshots[1]!.fix, /command: \["redis-server", "--appendonly", "yes"\] under services\.redis/);
		assert.match(snapshots[0]!.fix, /redis-data:\/data/);
		const nothing = judge({save: ''}, {...facts, mounts: [vol('redisdata', '/data')]});
		assert.deepEqual(nothing.map(f => [f.code, f.severity]), [['redis-no-aof', 'error']]);
		assert.match(nothing[0]!.message, /every restart loses everything/);
		assert.deepEqual(judge({appendonly: 'yes'}, {...facts, mounts: [vol('redisdata', '/data')]}), []);
	});
});
