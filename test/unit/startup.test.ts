// The start-up fast path: `--help` and `--version` are answered before meow and the commands load, and must say
// exactly what meow would have said.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
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

	it('the built CLI answers --help with the same text', () => {
		const r = spawnSync(process.execPath, ['dist/cli.js', '--help'], {encoding: 'utf8'});
		assert.equal(r.status, 0, r.stderr);
		assert.equal(r.stdout, meowHelp());
	});
});
