import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {parseCommandLine} from '../../source/commands/args.js';
import {DoctorError, exitCode} from '../../source/errors.js';

const COMMANDS = ['check', 'probe', 'backup', 'tui', 'demo'];

describe('the command line', () => {
	it('takes flags before and after the command, repeatable ones from both sides, and --no-X as X false', () => {
		const {command, flags} = parseCommandLine(['-p', '/a', 'check', '--path=/b', '--no-databases', '-c', 'box', '--db', '/x.db', '--no-restart', '-y'], COMMANDS);
		assert.equal(command, 'check');
		assert.deepEqual(flags.path, ['/a', '/b']);
		assert.deepEqual(flags.db, ['/x.db']);
		assert.equal(flags.container, 'box');
		assert.equal(flags.databases, false);
		assert.equal(flags.restart, false);
		assert.equal(flags.yes, true);
		assert.equal(flags.json, false);
	});

	it('defaults: no command, databases and restart on, empty lists', () => {
		const {command, flags} = parseCommandLine([], COMMANDS);
		assert.equal(command, undefined);
		assert.deepEqual([flags.path, flags.db, flags.databases, flags.restart], [[], [], true, true]);
	});

	it('a value that starts with - is taken only when given inline', () => {
		assert.equal(parseCommandLine(['--container=-odd'], COMMANDS).flags.container, '-odd');
		assert.throws(() => parseCommandLine(['--container', '-y'], COMMANDS), (error: unknown) => error instanceof DoctorError && error.code === 'missing-value' && error.kind === 'usage' && error.exitCode === 2);
	});

	it('maps every kind to its exit code in one table', () => {
		assert.deepEqual(['ok', 'findings', 'failed', 'usage', 'cannot-run', 'declined', 'interrupted'].map(k => exitCode(k as never)), [0, 1, 1, 2, 2, 2, 130]);
		assert.equal(new DoctorError('a\n  b\n\nc').message, 'a b c');
	});
});
