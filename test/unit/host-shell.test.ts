// The host shell's reply reader on byte streams cut at every place, and the shell scripts' quoting, run by the real
// sh here: the remote end is a POSIX sh too.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {describe, it} from 'node:test';
import {PassThrough} from 'node:stream';
import {HostShell, ReplyReader, quote, shellLine, type FileSink, type ShellReply} from '../../source/docker/host-shell.js';
import {parseProbe} from '../../source/sqlite/shell-source.js';

const TOKEN = 'tok-123';

function sink(into: Buffer[], state: {ended: number}): FileSink {
	return {
		write(chunk) {
			into.push(Buffer.from(chunk));
			return true;
		},
		once: () => undefined,
		end() {
			state.ended++;
		},
	};
}

/** Feed `stream` to a reader in pieces of `size` bytes; two commands wait, the first with file records. */
function readAll(stream: Buffer, size: number): {replies: ShellReply[]; files: Buffer[][]; ended: number} {
	const reader = new ReplyReader(TOKEN);
	const replies: ShellReply[] = [];
	const files: Buffer[][] = [];
	const state = {ended: 0};
	for (const withFiles of [true, false]) {
		reader.queue.push({
			line: '',
			lines: [],
			files: 0,
			resolve: reply => replies.push(reply),
			reject: error => assert.fail(error),
			...(withFiles ? {file(index: number) {
				files[index] = [];
				return sink(files[index]!, state);
			}} : {}),
		});
	}

	for (let at = 0; at < stream.length; at += size) {
		reader.push(stream.subarray(at, at + size));
	}

	return {replies, files, ended: state.ended};
}

describe('the host shell reply reader', () => {
	// A file whose bytes hold newlines, the token itself and an `F` line: none of it may be read as a line.
	const body = Buffer.from(`x\n${TOKEN} 0\nF 3\n\u0000end`);
	const stream = Buffer.concat([
		Buffer.from('M 0\nF ' + body.length + '\n'), body, Buffer.from('F 0\ny 12 a|b|1\n'), Buffer.from(`\n${TOKEN} 0\n`),
		Buffer.from(`line one\nline two\n\n${TOKEN} 3\n`),
	]);

	it('splits replies and file records the same whatever the chunk size', () => {
		for (const size of [1, 2, 3, 7, 64, stream.length]) {
			const {replies, files, ended} = readAll(stream, size);
			assert.deepEqual(replies, [{code: 0, lines: ['M 0', 'y 12 a|b|1']}, {code: 3, lines: ['line one', 'line two']}], `chunks of ${size}`);
			assert.deepEqual(Buffer.concat(files[0]!), body, `chunks of ${size}`);
			assert.deepEqual(Buffer.concat(files[1] ?? []), Buffer.alloc(0));
			assert.equal(ended, 2, 'each file record, the empty one too, is ended once');
		}
	});

	it('fails every waiting command when the shell goes away', () => {
		const reader = new ReplyReader(TOKEN);
		const errors: string[] = [];
		for (let i = 0; i < 2; i++) {
			reader.queue.push({line: '', lines: [], files: 0, resolve: () => assert.fail('no reply'), reject: error => errors.push(error.message)});
		}

		reader.push(Buffer.from('half a li'));
		reader.fail(new Error('link dropped'));
		assert.deepEqual(errors, ['link dropped', 'link dropped']);
	});

	it('quotes any argument as one word for sh', () => {
		const args = ['it\'s', 'a b', '$HOME', '`x`', '"q"', '-n', '\\', 'new\nline', ''];
		const result = spawnSync('sh', ['-c', shellLine('for a; do printf "%s\\0" "$a"; done', args)], {encoding: 'utf8'});
		assert.equal(result.status, 0, result.stderr);
		assert.deepEqual(result.stdout.split('\0').slice(0, -1), args);
		assert.equal(quote('plain'), '\'plain\'');
	});

	it('reads the probe lines: a stat, not a file, absent, unknown', () => {
		assert.deepEqual(parseProbe('y 4096 2026-12-03 09:00:00.1 +0000|2026-12-03 09:00:00.1 +0000|77'), {size: 4096, mtime: '2026-12-03 09:00:00.1 +0000|2026-12-03 09:00:00.1 +0000|77', isFile: true});
		assert.deepEqual(parseProbe('n'), {size: 0, mtime: '', isFile: false});
		assert.equal(parseProbe('a'), 'absent');
		assert.equal(parseProbe('u'), 'unknown');
		assert.equal(parseProbe(undefined), 'unknown');
		assert.equal(parseProbe('y x'), 'unknown');
	});

	it('an abort rejects the caller at once and gives the shell up: the remote command stops, later commands fail over', async () => {
		const stdin = new PassThrough();
		const stdout = new PassThrough();
		let abandoned = 0;
		const shell = new HostShell(stdin, stdout, () => {}, () => abandoned++);
		const controller = new AbortController();
		const first = shell.run({line: 'first', signal: controller.signal});
		const second = shell.run({line: 'second'});
		controller.abort(new Error('interrupted'));
		await assert.rejects(first, /interrupted/);
		await assert.rejects(second, /abandoned/);
		assert.equal(abandoned, 1);
		assert.equal(shell.usable, false);
		stdout.write('late bytes of a file\nthat nobody reads\n');
		await assert.rejects(shell.run({line: 'third'}), /abandoned/);
	});
});
