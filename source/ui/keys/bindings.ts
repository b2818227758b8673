// The app's own bindings; each screen adds its keys in its ScreenDef.bindings. Order is the legend's order.
import type {FieldEdit} from '../components/text-field.js';
import type {Binding, KeyContext} from './table.js';

const moveBy = (c: KeyContext, delta: number) => {
	if (c.view.detail) {
		c.dispatch({type: 'scroll-detail', delta, max: c.detailMax});
	} else {
		c.dispatch({type: 'move', delta, count: c.rowCount, key: c.cursorKey});
	}
};

const FAR = Number.MAX_SAFE_INTEGER / 2;
const listed = (c: KeyContext) => Boolean(c.view.detail) || c.rowCount > 0;
const scrollHelp = (c: KeyContext, delta: number) => c.dispatch({type: 'scroll-help', delta, max: c.helpMax});

const edit = (scope: 'field', keys: string[], label: string, description: string, action: FieldEdit): Binding => ({
	scope, keys, label, description, run: c => c.field?.edit(action),
});

export const APP_BINDINGS: Binding[] = [
	{
		scope: 'always', keys: ['ctrl+c'], label: 'ctrl+c',
		legend: c => (c.running && !c.leaving ? 'cancel and clean up' : undefined),
		description: 'quit; while a probe or backup runs, cancel it and wait for its cleanup first',
		run: c => c.interrupt(),
	},
	// Line noise on a slow link, or another program's output over ours: paint everything again, as shells and less do.
	{scope: 'always', keys: ['ctrl+l'], label: 'ctrl+l', description: 'redraw the whole screen', run: c => c.redraw()},

	// The help: a screen of its own that scrolls.
	{scope: 'help', keys: ['esc', '?'], label: 'esc/?', legend: 'close', description: 'close the help', run: c => c.dispatch({type: 'help', open: false})},
	{scope: 'help', keys: ['up', 'k', 'down', 'j'], label: '↑↓', legend: 'scroll', description: 'scroll the help', run: (c, p) => scrollHelp(c, p.name === 'up' || p.name === 'k' ? -1 : 1)},
	{scope: 'help', keys: ['pgup', 'pgdn', 'space'], label: 'pgup/pgdn', description: 'scroll the help a page', run: (c, p) => scrollHelp(c, (p.name === 'pgup' ? -1 : 1) * c.pageSize)},
	{scope: 'help', keys: ['g', 'home', 'G', 'end'], label: 'g/G', description: 'top or bottom of the help', run: (c, p) => scrollHelp(c, p.name === 'g' || p.name === 'home' ? -FAR : FAR)},
	{scope: 'help', keys: ['q'], label: 'q', legend: 'quit', tail: true, description: 'quit', run: c => c.quit()},

	// A text field: the filter, the Backup screen's directory.
	{scope: 'field', keys: ['enter'], label: '⏎', legend: 'keep', description: 'keep what was typed', run: c => c.field?.done(true)},
	{scope: 'field', keys: ['esc'], label: 'esc', legend: c => c.field?.escape, description: 'filter: clear it; directory: keep the old one', run: c => c.field?.done(false)},
	{scope: 'field', keys: ['up', 'down'], label: '↑↓', legend: c => (c.view.filtering ? 'move' : undefined), description: 'filter: move in the rows it leaves', when: c => c.view.filtering, run: (c, p) => moveBy(c, p.name === 'up' ? -1 : 1)},
	edit('field', ['ctrl+u'], 'ctrl+u', 'erase to the start of the field', {type: 'kill-start'}),
	edit('field', ['ctrl+w'], 'ctrl+w', 'erase the word (or path part) before the cursor', {type: 'kill-word'}),
	edit('field', ['backspace'], 'backspace', 'erase the character before the cursor', {type: 'backspace'}),
	edit('field', ['ctrl+d'], 'ctrl+d', 'erase the character under the cursor', {type: 'delete'}),
	edit('field', ['left'], '←', 'cursor left', {type: 'left'}),
	edit('field', ['right'], '→', 'cursor right', {type: 'right'}),
	edit('field', ['home', 'ctrl+a'], 'home/ctrl+a', 'cursor to the start', {type: 'home'}),
	edit('field', ['end', 'ctrl+e'], 'end/ctrl+e', 'cursor to the end', {type: 'end'}),
	{scope: 'field', keys: ['text'], label: 'text', description: 'typed or pasted text goes in at the cursor, every character', run: (c, p) => c.field?.edit({type: 'insert', text: p.text})},

	// Lists: the rows of a screen, the container picker, a location's details.
	{scope: 'list', keys: ['up', 'k', 'down', 'j'], label: '↑↓', legend: c => (c.view.detail ? 'scroll' : 'move'), description: 'move (j k), or scroll the details', when: listed, run: (c, p) => moveBy(c, p.name === 'up' || p.name === 'k' ? -1 : 1)},
	{scope: 'list', keys: ['pgup', 'pgdn'], label: 'pgup/pgdn', description: 'a page up or down', when: listed, run: (c, p) => moveBy(c, (p.name === 'pgup' ? -1 : 1) * c.pageSize)},
	{scope: 'list', keys: ['g', 'home', 'G', 'end'], label: 'g/G', description: 'first or last row', when: listed, run: (c, p) => moveBy(c, p.name === 'g' || p.name === 'home' ? -FAR : FAR)},
	{
		scope: 'list', keys: ['enter'], label: '⏎', legend: c => (c.phase === 'picking' ? 'pick' : 'details'),
		description: 'details of the location under the cursor: its mount, findings with fixes, the docker inspect facts (picker: check this container)',
		when: c => !c.view.detail && c.rowCount > 0 && (c.phase === 'picking' || Boolean(c.screen?.opens)), run: c => c.enter(),
	},
	{
		scope: 'list', keys: ['/'], label: '/', legend: 'filter', description: 'filter the rows as you type; enter keeps it, esc clears it',
		when: c => !c.view.detail && (c.rowCount > 0 || c.view.filter !== ''), run: c => c.dispatch({type: 'filter-start'}),
	},

	// Everywhere else.
	{
		scope: 'global', keys: ['tab', 'shift+tab', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
		label: screens => `tab/1-${screens.at(-1)?.number ?? 9}`, legend: c => (c.view.detail ? undefined : 'screens'),
		description: 'switch screens: tab and shift+tab in turn, or a screen\'s number',
		when: c => c.phase === 'ready',
		run(c, p) {
			const index = Math.max(0, c.screens.findIndex(s => s.id === c.view.screen));
			const next = p.name === 'tab' || p.name === 'shift+tab'
				? c.screens[(index + (p.name === 'tab' ? 1 : -1) + c.screens.length) % c.screens.length]
				: c.screens.find(s => String(s.number) === p.name);
			if (next) {
				c.dispatch({type: 'screen', id: next.id});
			}
		},
	},
	{
		scope: 'global', keys: ['esc'], label: 'esc', legend: c => (c.view.detail ? 'back' : c.phase === 'failed' && c.canPickAgain && !c.busy ? 'containers' : undefined),
		description: 'back: close the details, clear the filter, or return to the container list',
		run(c) {
			if (c.view.detail) {
				c.dispatch({type: 'close'});
			} else if (c.view.filter) {
				c.dispatch({type: 'filter-clear'});
			} else if (c.canPickAgain && !c.busy) {
				c.pickAgain();
			}
		},
	},
	{
		scope: 'global', keys: ['r'], label: 'r', legend: c => (c.phase === 'failed' ? 'retry' : 're-inspect'),
		description: 're-inspect the container (reads only; not while a probe or backup runs)',
		when: c => !c.busy, run: c => c.reinspect(),
	},
	{scope: 'global', keys: ['?'], label: '?', legend: 'help', tail: true, description: 'this help', run: c => c.dispatch({type: 'help', open: true})},
	{scope: 'global', keys: ['q'], label: 'q', legend: 'quit', tail: true, description: 'quit (exit code 1 when the report has errors)', run: c => c.quit()},
];
