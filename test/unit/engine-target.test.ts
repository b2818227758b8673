import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {DoctorError, engineTarget, explainEngineError} from '../../source/docker/engine.js';

describe('engineTarget', () => {
	const certs = mkdtempSync(join(tmpdir(), 'occt-certs-'));
	for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
		writeFileSync(join(certs, file), `${file} contents`);
	}

	after(() => rmSync(certs, {recursive: true, force: true}));

	it('defaults to the local socket', () => {
		const target = engineTarget(undefined, {});
		assert.deepEqual(target, {label: 'unix:///var/run/docker.sock', options: {socketPath: '/var/run/docker.sock'}, local: true});
	});

	it('prefers --host over DOCKER_HOST, and takes unix:// and bare paths', () => {
		assert.equal(engineTarget('unix:///tmp/a.sock', {DOCKER_HOST: 'unix:///tmp/b.sock'}).options.socketPath, '/tmp/a.sock');
		assert.equal(engineTarget(undefined, {DOCKER_HOST: 'unix:///tmp/b.sock'}).options.socketPath, '/tmp/b.sock');
		assert.equal(engineTarget('/run/docker.sock', {}).label, 'unix:///run/docker.sock');
	});

	it('speaks plain http to tcp:// on 2375 unless told otherwise, and knows localhost is local', () => {
		const target = engineTarget('tcp://10.0.0.5', {});
		assert.equal(target.options.protocol, 'http');
		assert.equal(target.options.port, 2375);
		assert.equal(target.options.host, '10.0.0.5');
		assert.equal(target.local, false);
		assert.equal(engineTarget('tcp://127.0.0.1:2375', {}).local, true);
	});

	it('uses TLS with the certificates of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set', () => {
		const target = engineTarget('tcp://docker.example:2376', {DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs});
		assert.equal(target.options.protocol, 'https');
		assert.equal(String(target.options.port), '2376');
		assert.equal(String(target.options.ca), 'ca.pem contents');
		assert.equal(String(target.options.cert), 'cert.pem contents');
		assert.equal(String(target.options.key), 'key.pem contents');
		assert.equal(engineTarget('tcp://docker.example', {DOCKER_TLS_VERIFY: '0'}).options.protocol, 'http');
	});

	it('connects over ssh:// with the agent, and never calls it local', () => {
		const target = engineTarget('ssh://me@server:2222', {SSH_AUTH_SOCK: '/tmp/agent'});
		assert.equal(target.options.protocol, 'ssh');
		assert.equal(target.options.host, 'server');
		assert.equal(String(target.options.port), '2222');
		assert.equal(target.options.username, 'me');
		assert.equal(target.local, false);
	});

	it('refuses garbage and unknown schemes with a one-line error naming the accepted forms', () => {
		for (const raw of ['not a url', 'ftp://host', 'npipe:////./pipe/docker_engine']) {
			assert.throws(() => engineTarget(raw, {}), (error: unknown) => error instanceof DoctorError && /unix:\/\//.test(error.message) && !error.message.includes('\n') && error.exitCode === 2, raw);
		}
	});
});

describe('explainEngineError', () => {
	const target = engineTarget('unix:///var/run/docker.sock', {});

	it('names the docker group for permission denied, and starting the engine for a missing socket', () => {
		const denied = explainEngineError(Object.assign(new Error('connect EACCES /var/run/docker.sock'), {code: 'EACCES'}), target);
		assert.match(denied.message, /permission denied.*docker group/);
		const missing = explainEngineError(Object.assign(new Error('connect ENOENT'), {code: 'ENOENT'}), target);
		assert.match(missing.message, /no Docker engine answers.*DOCKER_HOST/);
	});
});
