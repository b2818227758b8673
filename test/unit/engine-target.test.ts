import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {createHash} from 'node:crypto';
import {mkdirSync} from 'node:fs';
import {rootCertificates} from 'node:tls';
import {apiAtLeast, DoctorError, engineTarget, explainEngineError} from '../../source/docker/engine.js';
import {chooseEngine} from '../../source/docker/context.js';
import {explainSshFailure, sshDestination} from '../../source/docker/ssh.js';

/** An environment with a docker config dir of its own, so the real ~/.docker never decides. */
const NO_CONFIG = {DOCKER_CONFIG: '/nonexistent/occ-doctor-test'};

describe('engineTarget', () => {
	const certs = mkdtempSync(join(tmpdir(), 'occt-certs-'));
	for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
		writeFileSync(join(certs, file), `${file} contents`);
	}

	after(() => rmSync(certs, {recursive: true, force: true}));

	it('defaults to the local socket', () => {
		const target = engineTarget(undefined, NO_CONFIG);
		assert.equal(target.label, 'unix:///var/run/docker.sock');
		assert.equal(target.options.socketPath, '/var/run/docker.sock');
		assert.equal(target.options.host, undefined, 'nothing left for docker-modem to fill from DOCKER_HOST');
		assert.deepEqual([target.context, target.transport, target.local], [null, 'unix', true]);
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

	it('trusts NODE_EXTRA_CA_CERTS on a TLS engine without a ca.pem, as the launcher hands it on (OCC_DOCTOR_EXTRA_CA_CERTS)', () => {
		const extra = join(certs, 'corporate.pem');
		writeFileSync(extra, 'corporate root');
		const roots = engineTarget('https://docker.example', {...NO_CONFIG, OCC_DOCTOR_EXTRA_CA_CERTS: extra}).options.ca as string[];
		assert.equal(roots.length, rootCertificates.length + 1, 'Node\'s own roots and the extra one');
		assert.equal(String(roots.at(-1)), 'corporate root');
		assert.equal(engineTarget('https://docker.example', NO_CONFIG).options.ca, undefined, 'none: Node\'s defaults');
		assert.equal(String(engineTarget('tcp://docker.example:2376', {DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs, OCC_DOCTOR_EXTRA_CA_CERTS: extra}).options.ca), 'ca.pem contents', 'a ca.pem decides alone');
		assert.equal(engineTarget('tcp://docker.example', {OCC_DOCTOR_EXTRA_CA_CERTS: extra}).options.ca, undefined, 'plain http');
		assert.throws(() => engineTarget('https://docker.example', {...NO_CONFIG, OCC_DOCTOR_EXTRA_CA_CERTS: join(certs, 'gone.pem')}), /cannot read NODE_EXTRA_CA_CERTS \(.*gone\.pem: ENOENT\): fix or unset it/);
	});

	it('connects over ssh:// through the system ssh (no agent needed), plain HTTP over its sessions, never local', () => {
		const target = engineTarget('ssh://me@server:2222', NO_CONFIG);
		assert.equal(target.transport, 'ssh');
		assert.equal(target.options.protocol, 'http');
		assert.ok(target.ssh && target.options.agent === target.ssh.agent);
		assert.equal(target.local, false);
		target.ssh.close();
		assert.deepEqual(sshDestination('ssh://me@server:2222').args, ['-l', 'me', '-p', '2222', '--', 'server']);
		assert.deepEqual(sshDestination('ssh://box').args, ['--', 'box'], 'an alias alone: User and Port come from ~/.ssh/config');
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

	it('over ssh://, a socket error is the link (the forwarded socket), never "start docker"', () => {
		const ssh = engineTarget('ssh://box', {});
		try {
			for (const code of ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']) {
				const line = explainEngineError(Object.assign(new Error(`connect ${code}`), {code}), ssh).message;
				assert.match(line, /^the SSH link to box dropped .*press r to reconnect/, code);
				assert.doesNotMatch(line, /systemctl start docker/, code);
			}
		} finally {
			ssh.ssh?.close();
		}
	});
});

describe('chooseEngine (the docker CLI\'s order)', () => {
	const config = mkdtempSync(join(tmpdir(), 'occt-dockercfg-'));
	const id = createHash('sha256').update('remote').digest('hex');
	mkdirSync(join(config, 'contexts', 'meta', id), {recursive: true});
	writeFileSync(join(config, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({Name: 'remote', Metadata: {}, Endpoints: {docker: {Host: 'tcp://remote.example:2376', SkipTLSVerify: false}}}));
	mkdirSync(join(config, 'contexts', 'tls', id, 'docker'), {recursive: true});
	writeFileSync(join(config, 'contexts', 'tls', id, 'docker', 'ca.pem'), 'the ca');
	writeFileSync(join(config, 'config.json'), JSON.stringify({currentContext: 'remote'}));
	const env = {DOCKER_CONFIG: config};
	after(() => rmSync(config, {recursive: true, force: true}));

	it('--context, --host, DOCKER_HOST, DOCKER_CONTEXT, then currentContext', () => {
		assert.deepEqual(chooseEngine({context: 'remote'}, {...env, DOCKER_HOST: 'unix:///x'}).context, 'remote');
		assert.deepEqual(chooseEngine({host: 'unix:///h'}, {...env, DOCKER_CONTEXT: 'remote'}), {context: null, host: 'unix:///h'});
		assert.deepEqual(chooseEngine({}, {...env, DOCKER_HOST: 'unix:///x', DOCKER_CONTEXT: 'remote'}), {context: null, host: 'unix:///x'});
		assert.equal(chooseEngine({}, {...env, DOCKER_CONTEXT: 'default'}).host, 'unix:///var/run/docker.sock');
		assert.equal(chooseEngine({}, env).context, 'remote', 'currentContext in config.json');
		assert.equal(chooseEngine({}, NO_CONFIG).host, 'unix:///var/run/docker.sock');
	});

	it('reads the context\'s TLS material and speaks TLS with it', () => {
		const target = engineTarget({context: 'remote'}, env);
		assert.deepEqual([target.transport, target.options.protocol, String(target.options.ca)], ['tls', 'https', 'the ca']);
	});

	it('refuses --context with --host, and names the contexts there are for a missing one', () => {
		assert.throws(() => chooseEngine({context: 'remote', host: 'unix:///x'}, env), /pass only one/);
		assert.throws(() => chooseEngine({}, {...env, DOCKER_CONTEXT: 'gone'}), (error: unknown) => error instanceof DoctorError && /no Docker context "gone" \(DOCKER_CONTEXT\).*the contexts there are default, remote/.test(error.message) && !error.message.includes('\n'));
	});
});

describe('explainSshFailure and the API version', () => {
	it('tells the ssh stages apart by stderr and exit code (older CLIs\' wording too)', () => {
		const cases: Array<[string, number, RegExp]> = [
			['Host key verification failed.', 255, /host key unknown/],
			['@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nHost key verification failed.', 255, /host key refused.*ssh-keygen -R h/],
			['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 1, /not running.*systemctl start docker/],
			['Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock', 1, /remote permission/],
			['docker: \'system dial-stdio\' is not a docker command.', 1, /remote docker too old/],
			['sh: 1: docker: not found', 127, /remote docker CLI/],
		];
		for (const [stderr, code, pattern] of cases) {
			assert.match(explainSshFailure(stderr, code, 'h').message, pattern, stderr);
		}
	});

	it('knows an API older than 1.40 is too old', () => {
		assert.equal(apiAtLeast('1.39'), false);
		assert.equal(apiAtLeast('1.40'), true);
		assert.equal(apiAtLeast('1.41'), true);
		assert.equal(apiAtLeast('2.0'), true);
	});
});
