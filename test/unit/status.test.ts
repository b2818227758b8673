import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {plainReporter} from '../../source/backup/progress.js';
import type {BackupEvent} from '../../source/backup/types.js';
import {progressOutput, PIPED_STATUS_MS} from '../../source/report/status.js';

function stream(isTTY: boolean, columns = 80) {
	const chunks: string[] = [];
	return {chunks, isTTY, columns, write: (text: string) => chunks.push(text), text: () => chunks.join('')};
}

const progress = (location: string, bytes: number): BackupEvent => ({type: 'progress', location, bytes, total: 300_000_000, files: 3, overall: {bytes, total: 900_000_000}});

/** A reporter on a fake clock, fed `count` progress events of `location`, `stepMs` apart. */
function feed(out: ReturnType<typeof stream>, location: string, count: number, stepMs: number) {
	let t = 0;
	const report = plainReporter(progressOutput(out, () => t));
	for (let i = 1; i <= count; i++) {
		t += stepMs;
		report(progress(location, i * 1_000_000));
	}

	return report;
}

describe('plain progress', () => {
	it('on a terminal rewrites one status line that fits the width; lines that stay clear it and it comes back', () => {
		const out = stream(true, 60);
		const report = feed(out, 'opencode-data-with-a-long-volume-name', 50, 200);
		report({type: 'verify', location: 'opencode-data-with-a-long-volume-name', ok: true, error: null} as BackupEvent);
		report({type: 'done'} as BackupEvent);
		const text = out.text();
		assert.equal(text.split('\n').length, 2, 'one line that stays, the rest rewritten in place');
		const statuses = text.split('\r').filter(s => s.includes('overall') || s.includes('…'));
		assert.ok(statuses.length >= 40, `${statuses.length} rewrites`);
		for (const s of statuses) {
			assert.ok([...s.replace(/\u001B\[K.*$/s, '')].length <= 59, `fits 60 columns: ${JSON.stringify(s)}`);
		}

		assert.match(text, /\r\u001B\[K {2}opencode-data-with-a-long-volume-name: verified\n/);
		assert.ok(text.endsWith('\r\u001B[K'), 'the status line is gone at the end');
	});

	it('piped prints a progress line at most every 5 s, one when a location starts, and every line that stays', () => {
		const out = stream(false);
		const report = feed(out, 'data', 60, 500);
		report({type: 'verify', location: 'data', ok: true, error: null} as BackupEvent);
		report(progress('ssh', 1000));
		const lines = out.text().trimEnd().split('\n');
		const data = lines.filter(l => l.startsWith('  data:') && l.includes('overall'));
		// 30 s of progress: the first at once, then one per 5 s.
		assert.equal(data.length, Math.floor((60 * 500 - 500) / PIPED_STATUS_MS) + 1);
		assert.ok(lines.includes('  data: verified'));
		assert.match(lines.at(-1)!, /^ {2}ssh: /, 'a new location prints at once');
		assert.ok(!out.text().includes('\r') && !out.text().includes('\u001B'), 'no escape codes in a pipe');
	});
});
