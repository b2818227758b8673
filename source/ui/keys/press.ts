// Keys as the key table names them. Ink hands keys that arrive together (`jjj`, a paste, type-ahead over SSH) to
// useInput as ONE string; its input parser has already cut escape sequences apart, so the rest is split here into
// one press per character.
import type {Key} from 'ink';

export interface KeyPress {
	/** 'j', '?', '1', 'space', 'enter', 'esc', 'tab', 'shift+tab', 'up', 'down', 'left', 'right', 'pgup', 'pgdn', 'home', 'end', 'backspace', 'ctrl+u', … */
	name: string;
	/** The printable character typed, '' for keys that are not text. */
	text: string;
}

const named = (name: string): KeyPress => ({name, text: ''});

const SPECIAL: Array<[keyof Key, string]> = [
	['upArrow', 'up'],
	['downArrow', 'down'],
	['leftArrow', 'left'],
	['rightArrow', 'right'],
	['pageUp', 'pgup'],
	['pageDown', 'pgdn'],
	['home', 'home'],
	['end', 'end'],
	['return', 'enter'],
	['escape', 'esc'],
	// Ink calls the DEL byte most terminals send for backspace "delete".
	['backspace', 'backspace'],
	['delete', 'backspace'],
];

function charPress(char: string): KeyPress {
	const code = char.codePointAt(0)!;
	if (char === '\r' || char === '\n') {
		return named('enter');
	}

	if (char === '\t') {
		return named('tab');
	}

	if (char === '\u007F' || char === '\b') {
		return named('backspace');
	}

	if (code < 0x20) {
		return named(`ctrl+${String.fromCodePoint(code + 0x60)}`);
	}

	return {name: char === ' ' ? 'space' : char, text: char};
}

/** One Ink input event as the presses it holds, in order. */
export function splitKeys(input: string, key: Key): KeyPress[] {
	if (key.tab) {
		return [named(key.shift ? 'shift+tab' : 'tab')];
	}

	for (const [flag, name] of SPECIAL) {
		if (key[flag] === true && [...input].length <= 1) {
			return [named(name)];
		}
	}

	if (key.ctrl && [...input].length === 1) {
		return [named(`ctrl+${input.toLowerCase()}`)];
	}

	if (key.meta) {
		return input ? [named(`meta+${input}`)] : [];
	}

	return [...input].map(charPress);
}
