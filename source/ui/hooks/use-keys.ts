import {useInput, type Key} from 'ink';
import {useCallback, useEffect, useReducer, useRef} from 'react';
import {splitKeys, type KeyPress} from '../keys/press.js';
import {bindingFor, type Binding, type KeyContext} from '../keys/table.js';

/** Run one press through the key table; true when a binding took it. */
export function handleKey(table: Binding[], c: KeyContext, press: KeyPress): boolean {
	const binding = bindingFor(table, c, press);
	binding?.run(c, press);
	return binding !== undefined;
}

/**
 * Keyboard first: every screen is reachable by keys alone. Keys that arrive together are queued and run one per
 * render, so each lands on the state the last one made (`2j` moves on screen 2). In a text field, typed and pasted
 * text and the edits between go in at once, up to enter or esc. Ctrl+C is ours (exitOnCtrlC off) and jumps the queue.
 */
export function useKeys(table: Binding[], context: KeyContext): void {
	// The latest context, read when a key is run: a key must never see the state from before the last one.
	const latest = useRef({table, context});
	latest.current = {table, context};
	const queue = useRef<KeyPress[]>([]);
	const [turn, next] = useReducer((n: number) => n + 1, 0);

	const runOne = useCallback(() => {
		const press = queue.current.shift();
		if (!press) {
			return;
		}

		const {table, context} = latest.current;
		if (context.field) {
			// Edits are relative to the field's state, so a run of them goes in one turn; enter and esc end the field.
			let next: KeyPress | undefined = press;
			while (next) {
				if (next.text === '') {
					handleKey(table, context, next);
				} else {
					let text = next.text;
					while (queue.current[0]?.text) {
						text += queue.current.shift()!.text;
					}

					handleKey(table, context, {name: 'text', text});
				}

				next = next.name === 'enter' || next.name === 'esc' ? undefined : queue.current.shift();
			}
		} else {
			handleKey(table, context, press);
		}

		// Render even when the key changed nothing, so the next one runs.
		next();
	}, []);

	useInput(useCallback((input: string, key: Key) => {
		const presses = splitKeys(input, key);
		if (presses.some(p => p.name === 'ctrl+c')) {
			queue.current = [];
			handleKey(latest.current.table, latest.current.context, {name: 'ctrl+c', text: ''});
			return;
		}

		const idle = queue.current.length === 0;
		queue.current.push(...presses);
		if (idle) {
			runOne();
		}
	}, [runOne]));

	// The next key runs after the last one's render is committed; on a later tick, so a long paste is not one
	// ever deeper chain of nested updates.
	useEffect(() => {
		if (turn === 0 || queue.current.length === 0) {
			return;
		}

		const later = setImmediate(runOne);
		return () => clearImmediate(later);
	}, [turn, runOne]);
}
