// The one text field of the app (the `/` filter, the Backup screen's directory): a value with a cursor, edited by
// pure actions, drawn so the cursor, and so the end of a long value while typing, stays visible.
import stringWidth from 'string-width';
import {seg, type Line, type Segment} from './line.js';

export interface TextField {
	value: string;
	/** In code points, 0..length. */
	cursor: number;
}

export type FieldEdit =
	| {type: 'insert'; text: string}
	| {type: 'backspace'}
	| {type: 'delete'}
	| {type: 'left'}
	| {type: 'right'}
	| {type: 'home'}
	| {type: 'end'}
	/** Ctrl+U: everything before the cursor. */
	| {type: 'kill-start'}
	/** Ctrl+W: the word before the cursor (and the spaces or slashes after it). */
	| {type: 'kill-word'};

export const field = (value: string): TextField => ({value, cursor: [...value].length});

/** Printable text only: a paste keeps its characters, control codes never land in a value. */
const printable = (text: string) => [...text].filter(c => c >= ' ' && c !== '\u007F').join('');

export function editField(state: TextField, edit: FieldEdit): TextField {
	const chars = [...state.value];
	const at = Math.max(0, Math.min(state.cursor, chars.length));
	const make = (before: string[], after: string[]): TextField => ({value: [...before, ...after].join(''), cursor: before.length});
	switch (edit.type) {
		case 'insert': {
			return make([...chars.slice(0, at), ...printable(edit.text)], chars.slice(at));
		}

		case 'backspace': {
			return at === 0 ? state : make(chars.slice(0, at - 1), chars.slice(at));
		}

		case 'delete': {
			return make(chars.slice(0, at), chars.slice(at + 1));
		}

		case 'left': {
			return {...state, cursor: Math.max(0, at - 1)};
		}

		case 'right': {
			return {...state, cursor: Math.min(chars.length, at + 1)};
		}

		case 'home': {
			return {...state, cursor: 0};
		}

		case 'end': {
			return {...state, cursor: chars.length};
		}

		case 'kill-start': {
			return make([], chars.slice(at));
		}

		case 'kill-word': {
			let start = at;
			while (start > 0 && /[\s/]/.test(chars[start - 1]!)) {
				start--;
			}

			while (start > 0 && !/[\s/]/.test(chars[start - 1]!)) {
				start--;
			}

			return make(chars.slice(0, start), chars.slice(at));
		}
	}
}

/**
 * The field in `width` cells: the cursor is an inverse cell; a value longer than the room shows the window around
 * the cursor, with … where text is hidden, so what is being typed is always on screen.
 */
export function fieldSegments(state: TextField, width: number, style: Omit<Segment, 'text'> = {bold: true}): Line {
	const chars = [...state.value, ' '];
	const at = Math.max(0, Math.min(state.cursor, chars.length - 1));
	const room = Math.max(3, width);
	let start = 0;
	let end = chars.length;
	const fits = () => stringWidth(chars.slice(start, end).join('')) + (start > 0 ? 1 : 0) + (end < chars.length ? 1 : 0) <= room;
	// The start gives way first: while typing, the end of the value is what the user looks at.
	while (!fits() && start < at) {
		start++;
	}

	while (!fits() && end > at + 1) {
		end--;
	}

	return [
		seg(start > 0 ? '…' : '', {dim: true}),
		seg(chars.slice(start, at).join(''), style),
		seg(chars[at]!, {...style, inverse: true}),
		seg(chars.slice(at + 1, end).join(''), style),
		seg(end < chars.length ? '…' : '', {dim: true}),
	].filter(s => s.text !== '');
}
