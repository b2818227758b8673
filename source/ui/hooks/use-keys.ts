import {useInput, type Key} from 'ink';
import {useCallback, useRef, type Dispatch} from 'react';
import type {ViewAction, ViewState} from './use-view.js';
import type {Phase} from './use-doctor.js';

/** What the keys can reach: the view's dispatch and the few things only the app knows. */
export interface KeyTargets {
	view: ViewState;
	dispatch: Dispatch<ViewAction>;
	phase: Phase;
	/** Tabs in order (ids). */
	tabs: string[];
	/** Rows of the current list (the picker's while picking), after the filter. */
	rowCount: number;
	/** The current list's cursor key in ViewState.cursor. */
	cursorKey: string;
	columnCount: number;
	pageSize: number;
	detailMax: number;
	canPickAgain: boolean;
	/** Enter on the current row: pick a container or open a location. */
	enter(): void;
	reinspect(): void;
	pickAgain(): void;
	quit(): void;
	/** Ctrl+C: cancel what runs (it cleans up first), then leave. */
	interrupt(): void;
	/** The current screen's own keys, asked first; true when it took the key. */
	screenKey?(input: string, key: Key): boolean;
	/** The screen takes every key (text entry). */
	capturing?: boolean;
	/** A probe or backup runs: re-inspect and the container list wait. */
	busy?: boolean;
}

/** Keyboard first: every screen is reachable by keys alone. Ctrl+C is ours (exitOnCtrlC off) so a running probe or backup cleans up first. */
export function handleKey(input: string, key: Key, t: KeyTargets): void {
	const {view, dispatch} = t;
	if (key.ctrl && input === 'c') {
		t.interrupt();
		return;
	}

	if (t.capturing && !view.help) {
		t.screenKey?.(input, key);
		return;
	}

	if (view.filtering) {
		if (key.escape) {
			dispatch({type: 'filter-clear'});
		} else if (key.return) {
			dispatch({type: 'filter-done'});
		} else if (key.backspace || key.delete) {
			dispatch({type: 'filter-erase'});
		} else if (key.upArrow || key.downArrow) {
			dispatch({type: 'move', delta: key.upArrow ? -1 : 1, count: t.rowCount, key: t.cursorKey});
		} else if (input && !key.ctrl && !key.meta && !key.tab && /^[^\u0000-\u001F\u007F]+$/.test(input)) {
			dispatch({type: 'filter-type', text: input});
		}

		return;
	}

	if (view.help) {
		if (input === 'q') {
			t.quit();
		} else {
			dispatch({type: 'help', open: false});
		}

		return;
	}

	if (input === 'q') {
		t.quit();
		return;
	}

	if (t.phase === 'ready' && !view.detail && t.screenKey?.(input, key)) {
		return;
	}

	if (input === '?') {
		dispatch({type: 'help', open: true});
		return;
	}

	if (input === 'r') {
		if (!t.busy) {
			t.reinspect();
		}

		return;
	}

	const moveBy = (delta: number) => {
		if (view.detail) {
			dispatch({type: 'scroll-detail', delta, max: t.detailMax});
		} else {
			dispatch({type: 'move', delta, count: t.rowCount, key: t.cursorKey});
		}
	};

	if (key.upArrow || input === 'k') {
		moveBy(-1);
	} else if (key.downArrow || input === 'j') {
		moveBy(1);
	} else if (key.pageUp) {
		moveBy(-t.pageSize);
	} else if (key.pageDown) {
		moveBy(t.pageSize);
	} else if (input === 'g' || key.home) {
		moveBy(-Number.MAX_SAFE_INTEGER / 2);
	} else if (input === 'G' || key.end) {
		moveBy(Number.MAX_SAFE_INTEGER / 2);
	} else if (key.escape) {
		if (view.detail) {
			dispatch({type: 'close'});
		} else if (view.filter) {
			dispatch({type: 'filter-clear'});
		} else if (t.canPickAgain && !t.busy) {
			t.pickAgain();
		}
	} else if (input === '/') {
		if (t.rowCount > 0 || view.filter) {
			dispatch({type: 'filter-start'});
		}
	} else if (key.return) {
		if (!view.detail) {
			t.enter();
		}
	} else if (t.phase === 'ready') {
		handleScreenKey(input, key, t);
	}
}

function handleScreenKey(input: string, key: Key, t: KeyTargets): void {
	const {view, dispatch, tabs} = t;
	const index = Math.max(0, tabs.indexOf(view.screen));
	if (key.tab) {
		const next = (index + (key.shift ? -1 : 1) + tabs.length) % tabs.length;
		dispatch({type: 'screen', id: tabs[next]!});
	} else if (/^[1-9]$/.test(input) && Number(input) <= tabs.length) {
		dispatch({type: 'screen', id: tabs[Number(input) - 1]!});
	} else if ((key.leftArrow || input === 'h') && !view.detail) {
		dispatch({type: 'column', delta: -1, count: t.columnCount});
	} else if ((key.rightArrow || input === 'l') && !view.detail) {
		dispatch({type: 'column', delta: 1, count: t.columnCount});
	}
}

export function useKeys(targets: KeyTargets): void {
	// The latest targets, read when a key arrives: a key pressed before React re-subscribes must not see an old state.
	const latest = useRef(targets);
	latest.current = targets;
	useInput(useCallback((input: string, key: Key) => handleKey(input, key, latest.current), []));
}
