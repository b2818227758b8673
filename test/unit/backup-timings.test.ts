import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {phaseTimer} from '../../source/backup/index.js';

describe('backup --json timings', () => {
	it('folds the events into plan, per-archive stream and databases, and verify', () => {
		let clock = 1000;
		const timer = phaseTimer(() => clock);
		const at = (ms: number) => {
			clock = 1000 + ms;
		};

		at(120);
		timer.see({type: 'start', location: 'data', total: null});
		at(3500);
		timer.see({type: 'snapshot', location: 'data', database: './opencode.db', attempts: 1, tables: {part: 3}});
		at(3600);
		timer.see({type: 'snapshot', location: 'data', database: './other.db', attempts: 1, tables: {}});
		at(4600);
		timer.see({type: 'written', location: 'data', archive: {} as never});
		timer.see({type: 'start', location: 'config', total: null});
		at(4700);
		timer.see({type: 'written', location: 'config', archive: {} as never});
		at(4850);
		assert.deepEqual(timer.result(), {ms: 4850, phases: {plan: 120, archives: {data: {stream: 3380, databases: 1100}, config: {stream: 100, databases: 0}}, verify: 150}});
	});

	it('a backup that fails before any archive starts is all plan', () => {
		let clock = 0;
		const timer = phaseTimer(() => clock);
		clock = 40;
		assert.deepEqual(timer.result(), {ms: 40, phases: {plan: 40, archives: {}, verify: 0}});
	});
});
