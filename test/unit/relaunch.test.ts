import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {HEAP_FLAG, wantsRelaunch} from '../../source/relaunch.js';
import {RELAUNCHED_ENV} from '../../source/relaunched.js';

describe('relaunch with a larger heap', () => {
	it('is for plain and JSON backups only, once, and not when the flag is already there', () => {
		assert.equal(wantsRelaunch('backup', 'plain', {}, []), true);
		assert.equal(wantsRelaunch('backup', 'json', {}, ['--import', 'tsx']), true);
		assert.equal(wantsRelaunch('backup', 'tui', {}, []), false, 'the TUI stays in its process');
		assert.equal(wantsRelaunch('check', 'plain', {}, []), false);
		assert.equal(wantsRelaunch('restore', 'plain', {}, []), false);
		assert.equal(wantsRelaunch('backup', 'plain', {[RELAUNCHED_ENV]: '1'}, []), false, 'the child never relaunches again');
		assert.equal(wantsRelaunch('backup', 'plain', {}, [HEAP_FLAG]), false);
		assert.equal(wantsRelaunch('backup', 'plain', {}, ['--initial-old-space-size=256']), false, 'a size the user chose is kept');
		assert.equal(wantsRelaunch('backup', 'plain', {}, ['--inspect=127.0.0.1:9229']), false, 'the process under a debugger does the work');
	});
});
