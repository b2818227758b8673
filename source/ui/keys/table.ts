// The key table: every binding is {scope, keys, handler, description}. The same entries drive what a key does, the
// legend on the bottom line and the `?` help, so no list of keys is written twice (lazydocker's Binding table).
import type {Dispatch} from 'react';
import type {Phase} from '../hooks/use-doctor.js';
import type {ViewAction, ViewState} from '../hooks/use-view.js';
import type {FieldEdit, TextField} from '../components/text-field.js';
import type {ScreenData, ScreenDef} from '../screens/screen.js';
import type {KeyPress} from './press.js';

/**
 * Where a binding applies. 'always' is asked first in every state (Ctrl+C); 'help' while the help is open; 'field'
 * while a text field has the keys; 'list' for moving, filtering and opening rows (also the picker and the details);
 * 'global' for the rest; a screen's id for that screen's own keys, asked before 'list' and 'global'.
 */
export type Scope = 'always' | 'help' | 'field' | 'list' | 'global' | (string & {});

/** A text field that has the keys: the filter, or a screen's (the Backup screen's directory). */
export interface FieldSlice {
	field: TextField;
	edit(edit: FieldEdit): void;
	/** Enter keeps the value, esc drops the edit. */
	done(keep: boolean): void;
	/** What esc does, for the legend: 'clear' (filter), 'cancel'. */
	escape: string;
}

/** What a handler can reach: the view, the current screen and its data, and the few things only the app knows. */
export interface KeyContext {
	view: ViewState;
	dispatch: Dispatch<ViewAction>;
	phase: Phase;
	/** Every screen of the registry, in number order. */
	screens: ScreenDef[];
	screen: ScreenDef | undefined;
	data: ScreenData | null;
	/** The row under the cursor of the current list. */
	row: unknown;
	/** Rows of the current list (the picker's while picking), after the filter. */
	rowCount: number;
	/** The current list's cursor key in ViewState.cursor. */
	cursorKey: string;
	columnCount: number;
	pageSize: number;
	detailMax: number;
	helpMax: number;
	canPickAgain: boolean;
	/** A probe or backup runs: re-inspect and the container list wait; ctrl+c cancels it. */
	busy: boolean;
	/** A probe or backup is running (not waiting for its confirmation). */
	running: boolean;
	/** The text field that has the keys, if any. */
	field: FieldSlice | null;
	/** The app is leaving (a cancelled task cleans up): screens take no more keys. */
	leaving: boolean;
	/** Enter on the current row: pick a container or open a location. */
	enter(): void;
	reinspect(): void;
	/** Ctrl+L: paint the whole screen again. */
	redraw(): void;
	pickAgain(): void;
	quit(): void;
	/** Ctrl+C: cancel what runs (it cleans up first), then leave. */
	interrupt(): void;
}

export interface Binding {
	scope: Scope;
	/** Key names as splitKeys gives them ('j', 'down', 'enter', 'ctrl+u', 'space'); 'text' matches any printable character. */
	keys: string[];
	/** How the key is written in the legend and the help ('↑↓', 'tab/1-7'); by default the keys joined by '/'. */
	label?: string | ((screens: Array<{number: number}>) => string);
	/** The legend's word for it, when it belongs on the bottom line in this state; absent: help only. */
	legend?: string | ((c: KeyContext) => string | undefined);
	/** The help's line for it. */
	description: string;
	/** The legend's last entries (help, quit): always shown, after the others. */
	tail?: boolean;
	/** Whether it applies in this state; absent: whenever its scope does. */
	when?(c: KeyContext): boolean;
	run(c: KeyContext, press: KeyPress): void;
}

const KEY_GLYPH: Record<string, string> = {up: '↑', down: '↓', left: '←', right: '→', enter: '⏎', space: 'space', 'shift+tab': 'shift+tab'};

export function labelOf(binding: Binding, screens: Array<{number: number}>): string {
	if (typeof binding.label === 'function') {
		return binding.label(screens);
	}

	return binding.label ?? binding.keys.map(k => KEY_GLYPH[k] ?? k).join('/');
}

/** The scopes that hear a key now, first asked first. */
export function activeScopes(c: KeyContext): Scope[] {
	if (c.view.help) {
		return ['always', 'help'];
	}

	if (c.field) {
		return ['always', 'field'];
	}

	if (c.phase === 'ready' && c.screen && c.data && !c.view.detail && !c.leaving) {
		return ['always', c.screen.id, 'list', 'global'];
	}

	return ['always', 'list', 'global'];
}

/** The whole table: the screens' own bindings, then the app's. */
export function keyTable(screens: ScreenDef[], app: Binding[]): Binding[] {
	return [...screens.flatMap(s => s.bindings ?? []), ...app];
}

/** The bindings that apply now, in the order they are asked. */
export function activeBindings(table: Binding[], c: KeyContext): Binding[] {
	return activeScopes(c).flatMap(scope => table.filter(b => b.scope === scope && (b.when?.(c) ?? true)));
}

/** The first binding that takes this press now, or undefined. */
export function bindingFor(table: Binding[], c: KeyContext, press: KeyPress): Binding | undefined {
	return activeBindings(table, c).find(b => b.keys.includes(press.name) || (press.text !== '' && b.keys.includes('text')));
}

/** The legend now: [label, word] pairs, the tail (help, quit) last. */
export function legendEntries(table: Binding[], c: KeyContext): {keys: Array<[string, string]>; tail: Array<[string, string]>} {
	const keys: Array<[string, string]> = [];
	const tail: Array<[string, string]> = [];
	const seen = new Set<string>();
	for (const b of activeBindings(table, c)) {
		const word = typeof b.legend === 'function' ? b.legend(c) : b.legend;
		const label = labelOf(b, c.screens);
		if (!word || seen.has(label)) {
			continue;
		}

		// A key bound in the screen and globally shows once, as the screen's.
		seen.add(label);
		(b.tail ? tail : keys).push([label, word]);
	}

	return {keys, tail};
}
