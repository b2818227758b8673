import assert from 'node:assert/strict';
import {PassThrough} from 'node:stream';
import {describe, it} from 'node:test';
import {askAtTerminal} from '../../source/commands/prompt.js';
import {exitCode} from '../../source/errors.js';

/** A terminal's two ends: what is typed, and what is shown. */
function terminal(): {input: PassThrough; output: PassThrough; shown: () => string} {
	const input = new PassThrough();
	const output = new PassThrough();
	let shown = '';
	output.on('data', (c: Buffer) => (shown += c.toString()));
	return {input, output, shown: () => shown};
}

describe('a confirmation at the terminal', () => {
	it('gives the answer typed', async () => {
		const t = terminal();
		const answer = askAtTerminal('Go? [y/N] ', {...t, terminal: true}, new AbortController().signal, 'nothing was changed');
		t.input.write('y\r');
		assert.equal(await answer, 'y');
		assert.match(t.shown(), /Go\? \[y\/N\] /);
	});

	it('Ctrl+C at the prompt is an interrupt (exit 130) that says what was not done', async () => {
		const t = terminal();
		const answer = askAtTerminal('Go? [y/N] ', {...t, terminal: true}, new AbortController().signal, 'the container was not stopped');
		t.input.write('\u0003');
		await assert.rejects(answer, (error: Error & {kind?: string}) => {
			assert.equal(error.kind, 'interrupted');
			assert.equal(exitCode('interrupted'), 130);
			assert.equal(error.message, 'interrupted by Ctrl+C at the prompt: the container was not stopped');
			return true;
		});
	});

	it('the run\'s own interrupt (SIGTERM, SIGINT from elsewhere) ends the question too', async () => {
		const t = terminal();
		const run = new AbortController();
		const answer = askAtTerminal('Go? [y/N] ', {...t, terminal: true}, run.signal, 'nothing was changed');
		run.abort(new Error('interrupted by SIGTERM'));
		await assert.rejects(answer);
	});
});
