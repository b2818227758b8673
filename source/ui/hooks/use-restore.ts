import {useCallback, useEffect} from 'react';
import {firstLine, useTask} from './use-task.js';
import type {FoundBackup} from '../../restore/find.js';
import type {ArchiveOutcome, Phase, RestoreEvent, RestoreResult} from '../../restore/types.js';
import type {DoctorServices, RestoreArchiveChoice} from '../services.js';
import {editField, field, type FieldEdit, type TextField} from '../components/text-field.js';
import {addSample, type Sample} from './use-backup.js';
import {exitCode} from '../../errors.js';

/** backups → archives → preview (typed confirmation) → running → done; esc goes back a step. */
export type RestorePhase = 'idle' | 'loading' | 'backups' | 'archives' | 'previewing' | 'confirming' | 'armed' | 'running' | 'done' | 'failed' | 'cancelled';

export interface ArchiveProgress {
	phase: Phase | null;
	bytes: number;
	total: number | null;
	samples: Sample[];
	/** null while it runs; the verification once done. */
	verified: boolean | null;
	error: string | null;
}

export interface RestoreState {
	phase: RestorePhase;
	backups: FoundBackup[];
	backup: FoundBackup | null;
	archives: RestoreArchiveChoice[];
	/** Archive names chosen. */
	selected: string[];
	/** The dry run's result: added/changed/removed and rows per archive. */
	preview: RestoreResult | null;
	/** The container's name as typed to confirm. */
	typed: TextField;
	/** Why the typed name was refused. */
	refused: string | null;
	/** What the run does now (stopping, safety copy, extracting…) and on which archive. */
	current: {phase: Phase; archive: string | null} | null;
	planned: ArchiveOutcome[];
	progress: Record<string, ArchiveProgress>;
	safety: {bytes: number; total: number | null};
	notices: string[];
	result: RestoreResult | null;
	/** This run restores the safety copy (rollback after a restore). */
	rollback: boolean;
	error: string | null;
	cancelling: boolean;
}

export type RestoreAction =
	| {type: 'reset'}
	| {type: 'loading'}
	| {type: 'backups'; backups: FoundBackup[]}
	| {type: 'archives'; backup: FoundBackup; archives: RestoreArchiveChoice[]}
	| {type: 'toggle'; name: string}
	| {type: 'toggle-all'}
	| {type: 'previewing'}
	| {type: 'preview'; result: RestoreResult}
	| {type: 'typed'; edit: FieldEdit}
	/** Enter on the typed name, judged against the state the keys before it made (type-ahead, a paste and ⏎). */
	| {type: 'submit'; name: string}
	| {type: 'back'}
	| {type: 'running'; rollback: boolean}
	| {type: 'event'; event: RestoreEvent; t: number}
	| {type: 'cancelling'}
	| {type: 'done'; result: RestoreResult}
	| {type: 'failed'; error: string; cancelled: boolean};

export const initialRestore: RestoreState = {phase: 'idle', backups: [], backup: null, archives: [], selected: [], preview: null, typed: field(''), refused: null, current: null, planned: [], progress: {}, safety: {bytes: 0, total: null}, notices: [], result: null, rollback: false, error: null, cancelling: false};

export const outcomeName = (a: {file: string}) => a.file.replace(/\.tar\.gz$/, '');
const fresh = (total: number | null = null): ArchiveProgress => ({phase: null, bytes: 0, total, samples: [], verified: null, error: null});

function foldEvent(state: RestoreState, event: RestoreEvent, t: number): RestoreState {
	const archive = (name: string, change: (p: ArchiveProgress) => Partial<ArchiveProgress>): RestoreState => {
		const old = state.progress[name] ?? fresh();
		return {...state, progress: {...state.progress, [name]: {...old, ...change(old)}}};
	};

	switch (event.type) {
		case 'plan': {
			return {...state, planned: event.archives, progress: Object.fromEntries(event.archives.filter(a => a.status === 'planned').map(a => [outcomeName(a), fresh()]))};
		}

		case 'phase': {
			const next = {...state, current: {phase: event.phase, archive: event.archive}};
			return event.archive && next.progress[event.archive] ? {...next, progress: {...next.progress, [event.archive]: {...next.progress[event.archive]!, phase: event.phase}}} : next;
		}

		case 'progress': {
			return archive(event.archive, p => ({phase: event.phase, bytes: event.bytes, total: event.total, samples: addSample(p.phase === event.phase ? p.samples : [], {t, bytes: event.bytes})}));
		}

		case 'safety': {
			const e = event.event;
			return e.type === 'progress' ? {...state, safety: {bytes: e.overall.bytes, total: e.overall.total}} : state;
		}

		case 'verify': {
			return archive(event.archive, () => ({verified: event.ok, error: event.error}));
		}

		case 'notice': {
			return {...state, notices: [...state.notices, event.message]};
		}

		case 'done': {
			return state;
		}
	}
}

function toggled(state: RestoreState, name: string): string[] {
	const on = state.selected.includes(name);
	return on ? state.selected.filter(n => n !== name) : state.archives.map(a => a.name).filter(n => n === name || state.selected.includes(n));
}

export function restoreReducer(state: RestoreState, action: RestoreAction): RestoreState {
	switch (action.type) {
		case 'reset': {
			return initialRestore;
		}

		case 'loading': {
			return {...initialRestore, phase: 'loading'};
		}

		case 'backups': {
			return {...initialRestore, phase: 'backups', backups: action.backups};
		}

		case 'archives': {
			return {...state, phase: 'archives', backup: action.backup, archives: action.archives, selected: action.archives.map(a => a.name), error: null};
		}

		case 'toggle': {
			return state.phase === 'archives' ? {...state, selected: toggled(state, action.name)} : state;
		}

		case 'toggle-all': {
			return state.phase === 'archives' ? {...state, selected: state.selected.length === state.archives.length ? [] : state.archives.map(a => a.name)} : state;
		}

		case 'previewing': {
			return {...state, phase: 'previewing', preview: null, error: null, notices: []};
		}

		case 'preview': {
			return {...state, phase: 'confirming', preview: action.result, typed: field(''), refused: null};
		}

		case 'typed': {
			return state.phase === 'confirming' ? {...state, typed: editField(state.typed, action.edit), refused: null} : state;
		}

		case 'submit': {
			if (state.phase !== 'confirming') {
				return state;
			}

			const typed = state.typed.value.trim();
			if (typed === action.name) {
				return {...state, phase: 'armed'};
			}

			return {...state, refused: typed === '' ? `type ${action.name} to restore` : `"${typed}" is not ${action.name}: nothing was changed`, typed: field('')};
		}

		case 'back': {
			if (state.phase === 'confirming' || (state.phase === 'failed' && state.backup && !state.result && state.archives.length > 0)) {
				return {...state, phase: 'archives', preview: null, error: null};
			}

			return state.phase === 'archives' ? {...state, phase: 'backups', backup: null, archives: [], selected: []} : state;
		}

		case 'running': {
			return {...state, phase: 'running', rollback: action.rollback, current: null, planned: [], progress: {}, safety: {bytes: 0, total: null}, notices: [], result: action.rollback ? state.result : null, error: null, cancelling: false};
		}

		case 'event': {
			return foldEvent(state, action.event, action.t);
		}

		case 'cancelling': {
			return state.phase === 'running' || state.phase === 'previewing' ? {...state, cancelling: true} : state;
		}

		case 'done': {
			return {...state, phase: 'done', result: action.result, current: null};
		}

		case 'failed': {
			return {...state, phase: action.cancelled ? 'cancelled' : 'failed', error: action.error, current: null};
		}
	}
}

/**
 * `occ-doctor restore` in a terminal ends as the plain one does: 0 restored and verified (or nothing run), 1 rolled
 * back after touching a target, 2 refused before anything changed (a preview's refusal, a failed start).
 */
export function restoreExitCode(state: RestoreState): number {
	if (state.phase === 'done') {
		return exitCode(state.result?.outcome === 'restored' ? 'ok' : 'failed');
	}

	if (state.phase === 'failed') {
		return exitCode(Object.keys(state.progress).length > 0 ? 'failed' : 'cannot-run');
	}

	return exitCode('ok');
}

export const restoreBusy = (state: RestoreState) => state.phase === 'running' || state.phase === 'armed' || state.phase === 'previewing' || state.phase === 'loading';

/** The --to pairs of a rollback command: the safety copy goes back where the restore put the backup. */
export const rollbackTo = (command: string | null): string[] => [...(command ?? '').matchAll(/--to (\S+)/g)].map(m => m[1]!);

/** Lists the backups, reads a backup's archives, previews, restores, and rolls back, folding the events. */
export function useRestore(services: DoctorServices, ref: string | null | undefined) {
	const {state, dispatch, send, run, cancel: abort, running} = useTask(restoreReducer, initialRestore);
	const fail = useCallback((error: unknown, cancelled: boolean) => send({type: 'failed', error: firstLine(error), cancelled}), [send]);
	const emit = useCallback((event: RestoreEvent) => send({type: 'event', event, t: Date.now()}), [send]);

	const load = useCallback((ref: string) => {
		if (!services.restoreBackups) {
			return;
		}

		run(async () => {
			send({type: 'loading'});
			return services.restoreBackups!(ref);
		}, {done: backups => send({type: 'backups', backups}), failed: fail});
	}, [services, send, run, fail]);

	const choose = useCallback((backup: FoundBackup) => {
		run(async () => services.restoreArchives!(backup.dir), {done: archives => send({type: 'archives', backup, archives}), failed: fail});
	}, [services, send, run, fail]);

	const preview = useCallback((ref: string, current: RestoreState) => {
		if (!current.backup || current.selected.length === 0) {
			return;
		}

		const dir = current.backup.dir;
		run(async signal => {
			send({type: 'previewing'});
			return services.restorePreview!(ref, {dir, only: current.selected, signal}, emit);
		}, {done: result => send({type: 'preview', result}), failed: fail});
	}, [services, send, run, emit, fail]);

	/** Enter on the typed name: only the container's own name arms the restore, which then starts. */
	const confirm = useCallback((name: string) => send({type: 'submit', name}), [send]);
	useEffect(() => {
		if (state.phase !== 'armed' || !ref) {
			return;
		}

		const current = state;
		run(async signal => {
			send({type: 'running', rollback: false});
			return services.restore!(ref, {dir: current.backup!.dir, only: current.selected, signal}, emit);
		}, {done: result => send({type: 'done', result}), failed: fail});
	}, [state.phase]); // eslint-disable-line react-hooks/exhaustive-deps

	/** After a restore: put the safety copy back, as its rollbackCommand says. */
	const rollback = useCallback((ref: string, current: RestoreState) => {
		const result = current.result;
		if (!result?.safetyCopy || current.rollback) {
			return;
		}

		run(async signal => {
			send({type: 'running', rollback: true});
			return services.restore!(ref, {dir: result.safetyCopy!, only: [], to: rollbackTo(result.rollbackCommand), signal}, emit);
		}, {done: out => send({type: 'done', result: out}), failed: fail});
	}, [services, send, run, emit, fail]);

	/** Abort: the service rolls back what it touched and starts the container before it settles. */
	const cancel = useCallback(() => {
		if (running()) {
			dispatch({type: 'cancelling'});
			abort();
		}
	}, [abort, dispatch, running]);

	return {state, dispatch, load, choose, preview, confirm, rollback, cancel};
}
