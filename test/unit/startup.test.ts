// The start-up fast path: `--help` and `--version` are answered before meow and the commands load, and must say
// exactly what meow would have said.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {describe, it} from 'node:test';
import {pathToFileURL} from 'node:url';
import {HELP, quickAnswer} from '../../source/commands/help.js';

const COMMANDS = ['check', 'probe', 'backup', 'tui', 'demo'];

/** What meow itself prints for `--help`, run in a child because meow exits after printing. */
function meowHelp(): string {
	const script = `import meow from 'meow'; meow(process.env.HELP, {importMeta: {url: ${JSON.stringify(pathToFileURL('cli.tsx').href)}}, argv: ['--help']});`;
	const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', env: {...process.env, HELP}});
	assert.equal(r.status, 0, r.stderr);
	return r.stdout;
}

describe('start-up fast path', () => {
	it('prints meow\'s own help text for --help, also after a command', () => {
		const expected = meowHelp();
		assert.match(expected, /Usage/);
		assert.equal(quickAnswer(['--help'], COMMANDS), expected);
		assert.equal(quickAnswer(['backup', '--help'], COMMANDS), expected);
	});

	it('prints the package version for --version', () => {
		const {version} = JSON.parse(readFileSync('package.json', 'utf8')) as {version: string};
		assert.equal(quickAnswer(['--version'], COMMANDS), `${version}\n`);
	});

	it('leaves everything else to the flag parser', () => {
		for (const args of [[], ['check'], ['--container', '--help'], ['nope', '--help'], ['check', '--json', '--help'], ['check', '--version']]) {
			assert.equal(quickAnswer(args, COMMANDS), null, args.join(' '));
		}
	});

	it('the installed command starts through sh, which keeps NODE_EXTRA_CA_CERTS from Node\'s start and hands it on', () => {
		// Node reads that file before any script runs: a missing one is a warning on stderr, the proof it was read.
		const env = {...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/occ-doctor-ca.pem'};
		const direct = spawnSync(process.execPath, ['dist/cli.js', '--version'], {encoding: 'utf8', env});
		assert.match(direct.stderr, /Ignoring extra certs from `\/nonexistent\/occ-doctor-ca\.pem`/);
		const installed = spawnSync(resolve('dist/cli.js'), ['--version'], {encoding: 'utf8', env});
		assert.equal(installed.status, 0, installed.stderr);
		assert.equal(installed.stdout, direct.stdout);
		assert.equal(installed.stderr, '', 'Node never saw it');
		const seen = spawnSync(resolve('dist/cli.js'), ['check', '--host', 'https://127.0.0.1:9', '--no-databases'], {encoding: 'utf8', env});
		assert.match(seen.stderr, /cannot read NODE_EXTRA_CA_CERTS \(\/nonexistent\/occ-doctor-ca\.pem: ENOENT\): fix or unset it/, 'a TLS engine still trusts it');
		assert.equal(seen.status, 2);
	});

	it('the built CLI answers --help with the same text', () => {
		const r = spawnSync(process.execPath, ['dist/cli.js', '--help'], {encoding: 'utf8'});
		assert.equal(r.status, 0, r.stderr);
		assert.equal(r.stdout, meowHelp());
	});

	it('the built check compiles from the code cache the build wrote, and runs without it or with one V8 rejects', () => {
		const {compile} = createRequire(import.meta.url)('../../scripts/load-cached.cjs') as {compile: (file: string) => {cachedDataRejected?: boolean}};
		assert.equal(compile(resolve('dist/chunks/check.cjs')).cachedDataRejected, false, 'npm run build wrote a cache this Node accepts');
		const dir = mkdtempSync(join(tmpdir(), 'occt-dist-'));
		try {
			cpSync('dist/cli.js', join(dir, 'cli.js'));
			cpSync('dist/package.json', join(dir, 'package.json'));
			cpSync('dist/chunks/check.cjs', join(dir, 'chunks', 'check.cjs'));
			const cache = join(dir, 'chunks', 'check.cjs.cache');
			// No engine at that address: check loads, connects, and fails with its one line, exit 2.
			const run = () => spawnSync(process.execPath, [join(dir, 'cli.js'), 'check', '--no-databases', '--host', `unix://${join(dir, 'no-engine.sock')}`], {encoding: 'utf8'});
			for (const state of ['none', 'rejected'] as const) {
				if (state === 'rejected') {
					writeFileSync(cache, Buffer.alloc(4096, 7));
					assert.equal(compile(join(dir, 'chunks', 'check.cjs')).cachedDataRejected, true);
				}

				const r = run();
				assert.equal(r.status, 2, `${state}: ${r.stderr}`);
				assert.match(r.stderr, /^occ-doctor: no Docker engine answers at unix:\/\/.*\(ENOENT\)/, state);
			}
		} finally {
			rmSync(dir, {recursive: true, force: true});
		}
	});
});
