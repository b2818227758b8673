import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {runTui} from '../../source/ui/run.js';
import {FakeStdin, FakeStdout, fakeServices, KEY, waitFor} from './helpers.js';

const plain = (s: string) => s.replace(/\u001B\[[0-9;:?]*[A-Za-z]/g, '');

describe('runTui sends only the lines that change', () => {
	it('moving the scenario cursor costs a small part of switching screens, with no full repaint', async () => {
		const stdout = new FakeStdout();
		const stdin = new FakeStdin();
		const done = runTui({services: fakeServices(), signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any});
		await waitFor(() => plain(stdout.text), t => t.includes('Fix this first'));
		// Switching to the Matrix rewrites most of the screen: the yardstick for a whole frame.
		let mark = stdout.text.length;
		stdin.write('3');
		await waitFor(() => plain(stdout.text.slice(mark)), t => t.includes('orphaned: on disk'));
		const switchBytes = Buffer.byteLength(stdout.text.slice(mark));
		mark = stdout.text.length;
		stdin.write(KEY.right);
		// The scenario cursor moves: the line that spells out the selected cell changes.
		await waitFor(() => stdout.text.slice(mark), t => t.length > 0);
		const moved = stdout.text.slice(mark);
		assert.ok(Buffer.byteLength(moved) < switchBytes / 3, `a one-row move sent ${Buffer.byteLength(moved)} bytes; the screen switch ${switchBytes}`);
		assert.doesNotMatch(moved, /\u001B\[2J/, 'no full repaint');
		assert.match(moved, /\u001B\[\d+;1H/, 'rows addressed absolutely');
		stdin.write('q');
		assert.equal(await done, 1);
	});
});
