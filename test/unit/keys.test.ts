import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import type {Key} from 'ink';
import {editField, field, fieldSegments} from '../../source/ui/components/text-field.js';
import {splitKeys} from '../../source/ui/keys/press.js';

const NO_KEY: Key = {upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false};
const names = (input: string, key: Partial<Key> = {}) => splitKeys(input, {...NO_KEY, ...key}).map(p => p.name);

describe('splitKeys', () => {
	it('splits keys that arrived together, one press per character', () => {
		assert.deepEqual(names('jjj'), ['j', 'j', 'j']);
		assert.deepEqual(names('l l'), ['l', 'space', 'l']);
		assert.deepEqual(names('42'), ['4', '2']);
		assert.deepEqual(names('ab\r\t'), ['a', 'b', 'enter', 'tab']);
		assert.deepEqual(names('\u007F\u007F\b'), ['backspace', 'backspace', 'backspace']);
		assert.deepEqual(names('\u0015\u0017x'), ['ctrl+u', 'ctrl+w', 'x']);
	});

	it('keeps the keys Ink already recognised', () => {
		assert.deepEqual(names('', {upArrow: true}), ['up']);
		assert.deepEqual(names('', {escape: true, meta: true}), ['esc']);
		assert.deepEqual(names('\r', {return: true}), ['enter']);
		assert.deepEqual(names('', {tab: true, shift: true}), ['shift+tab']);
		assert.deepEqual(names('', {delete: true}), ['backspace']);
		assert.deepEqual(names('c', {ctrl: true}), ['ctrl+c']);
		assert.deepEqual(names('G', {shift: true}), ['G']);
	});
});

describe('the text field', () => {
	it('inserts at the cursor and erases by character, word and to the start', () => {
		let f = field('/srv/backups');
		f = editField(f, {type: 'insert', text: '/today'});
		assert.deepEqual(f, {value: '/srv/backups/today', cursor: 18});
		f = editField(f, {type: 'kill-word'});
		assert.equal(f.value, '/srv/backups/');
		f = editField(f, {type: 'kill-word'});
		assert.equal(f.value, '/srv/');
		f = editField(editField(f, {type: 'left'}), {type: 'backspace'});
		assert.deepEqual(f, {value: '/sr/', cursor: 3});
		f = editField(f, {type: 'kill-start'});
		assert.deepEqual(f, {value: '/', cursor: 0});
		assert.equal(editField(f, {type: 'insert', text: 'a\u0007b'}).value, 'ab/', 'no control code lands in a value');
	});

	it('shows the cursor and the end of a value longer than the room', () => {
		const long = field(`/srv/${'x'.repeat(100)}/end`);
		const text = fieldSegments(long, 20).map(s => s.text).join('');
		assert.equal([...text].length, 20);
		assert.ok(text.startsWith('…') && text.endsWith('/end '), text);
		const atStart = fieldSegments({...long, cursor: 0}, 20).map(s => s.text).join('');
		assert.ok(atStart.startsWith('/srv/') && atStart.endsWith('…'), atStart);
	});
});
