import {useReducer} from 'react';
import {editField, type FieldEdit} from '../components/text-field.js';

/** Where the user is: which screen, which row, which matrix column, an open detail, the filter, the help overlay. */
export interface ViewState {
	screen: string;
	cursor: Record<string, number>;
	/** The matrix's column cursor (an index into the visible scenarios). */
	column: number;
	/** An open location's details, and how far they are scrolled. */
	detail: {path: string; scroll: number} | null;
	filter: string;
	/** Where the cursor is in the filter while typing it (code points). */
	filterCursor: number;
	filtering: boolean;
	help: boolean;
	/** How far the help is scrolled. */
	helpScroll: number;
}

export type ViewAction =
	| {type: 'screen'; id: string}
	| {type: 'move'; delta: number; count: number; key?: string}
	| {type: 'home'; key?: string}
	| {type: 'column'; delta: number; count: number}
	| {type: 'open'; path: string}
	| {type: 'scroll-detail'; delta: number; max: number}
	| {type: 'close'}
	| {type: 'filter-start'}
	| {type: 'filter-edit'; edit: FieldEdit}
	| {type: 'filter-done'}
	| {type: 'filter-clear'}
	| {type: 'help'; open: boolean}
	| {type: 'scroll-help'; delta: number; max: number};

export function initialView(screen: string): ViewState {
	return {screen, cursor: {}, column: 0, detail: null, filter: '', filterCursor: 0, filtering: false, help: false, helpScroll: 0};
}

const clamp = (n: number, low: number, high: number) => Math.max(low, Math.min(high, n));

export function viewReducer(state: ViewState, action: ViewAction): ViewState {
	switch (action.type) {
		case 'screen': {
			// A new screen starts unfiltered: a filter typed for one list would hide rows of another silently.
			return state.screen === action.id && !state.detail ? state : {...state, screen: action.id, detail: null, filter: '', filterCursor: 0, filtering: false, help: false, helpScroll: 0};
		}

		case 'move': {
			const key = action.key ?? state.screen;
			const current = state.cursor[key] ?? 0;
			return {...state, cursor: {...state.cursor, [key]: clamp(current + action.delta, 0, Math.max(0, action.count - 1))}};
		}

		case 'home': {
			const key = action.key ?? state.screen;
			return {...state, cursor: {...state.cursor, [key]: 0}};
		}

		case 'column': {
			return {...state, column: clamp(state.column + action.delta, 0, Math.max(0, action.count - 1))};
		}

		case 'open': {
			return {...state, detail: {path: action.path, scroll: 0}};
		}

		case 'scroll-detail': {
			return state.detail ? {...state, detail: {...state.detail, scroll: clamp(state.detail.scroll + action.delta, 0, Math.max(0, action.max))}} : state;
		}

		case 'close': {
			return {...state, detail: null};
		}

		case 'filter-start': {
			return {...state, filtering: true, detail: null, filterCursor: [...state.filter].length};
		}

		case 'filter-edit': {
			const edited = editField({value: state.filter, cursor: state.filterCursor}, action.edit);
			const changed = edited.value !== state.filter;
			return {...state, filter: edited.value, filterCursor: edited.cursor, cursor: changed ? {...state.cursor, [state.screen]: 0} : state.cursor};
		}

		case 'filter-done': {
			return {...state, filtering: false};
		}

		case 'filter-clear': {
			return {...state, filter: '', filtering: false, cursor: {...state.cursor, [state.screen]: 0}};
		}

		case 'help': {
			return {...state, help: action.open, helpScroll: 0};
		}

		case 'scroll-help': {
			return {...state, helpScroll: clamp(state.helpScroll + action.delta, 0, Math.max(0, action.max))};
		}
	}
}

export function useView(screen: string) {
	return useReducer(viewReducer, screen, initialView);
}
