import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {removeJournalOf, writeJournalOf} from '../../source/docker/journal.js';
import {cleanupOn, clearUndone, dockerOn, leftUndone, noteUndone} from '../../source/left-undone.js';

const state = mkdtempSync(join(tmpdir(), 'occt-undone-'));
after(() => rmSync(state, {recursive: true, force: true}));

describe('what is left undone if the user leaves before the cleanup', () => {
	it('a journal written is a note with its --cleanup, gone once the journal is removed', () => {
		const journal = {version: 1 as const, runId: 'abc123', engine: 'unix:///var/run/docker.sock', pid: process.pid, startedAt: new Date().toISOString()};
		const path = writeJournalOf(state, 'probe', journal);
		assert.deepEqual(leftUndone(), [`probe abc123 is not cleaned up (its journal: ${path}): run \`occ-doctor probe --cleanup\``]);
		removeJournalOf(state, 'probe', 'abc123');
		assert.deepEqual(leftUndone(), []);
	});

	it('the fixes are aimed at the engine of the run', () => {
		assert.equal(dockerOn({label: 'unix:///var/run/docker.sock'}), 'docker');
		assert.equal(dockerOn({label: 'ssh://box'}), 'docker -H ssh://box');
		assert.equal(dockerOn({label: 'ssh://box', context: 'remote'}), 'docker --context remote');
		assert.equal(dockerOn({label: 'unix:///var/run/docker.sock', context: 'default'}), 'docker');
		assert.equal(cleanupOn('restore', 'unix:///var/run/docker.sock'), 'occ-doctor restore --cleanup');
		assert.equal(cleanupOn('probe', 'ssh://box'), 'occ-doctor probe --cleanup --host ssh://box');
	});

	it('notes come in the order they were made, and each is cleared by its key', () => {
		noteUndone('a', 'first');
		noteUndone('b', 'second');
		assert.deepEqual(leftUndone(), ['first', 'second']);
		clearUndone('a');
		assert.deepEqual(leftUndone(), ['second']);
		clearUndone('b');
		assert.deepEqual(leftUndone(), []);
	});
});
