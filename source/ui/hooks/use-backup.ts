import {useCallback} from 'react';
import {firstLine, useTask} from './use-task.js';
import type {Priority} from '../../core/types.js';
import type {BackupResult} from '../../backup/backup.js';
import {selectUnits} from '../../backup/plan.js';
import {exitCode} from '../../errors.js';
import type {BackupEvent, BackupUnit} from '../../backup/types.js';
import type {BackupChoices, DoctorServices} from '../services.js';
import {editField, field, type FieldEdit, type TextField} from '../components/text-field.js';

export type BackupPhase = 'idle' | 'planning' | 'selecting' | 'confirming' | 'running' | 'done' | 'failed' | 'cancelled';

/** Bytes read at a moment: the rate and ETA come from a window of these (RateMeter). */
export interface Sample {
	t: number;
	bytes: number;
}

export interface UnitProgress {
	status: 'waiting' | 'running' | 'written' | 'verified' | 'failed';
	bytes: number;
	total: number | null;
	files: number;
	samples: Sample[];
	databases: number;
	error: string | null;
}

export interface BackupState {
	phase: BackupPhase;
	units: BackupUnit[];
	/** Unit names chosen. */
	selected: string[];
	dir: string;
	/** The directory being typed; null when not editing. */
	draft: TextField | null;
	stop: boolean;
	progress: Record<string, UnitProgress>;
	overall: {bytes: number; total: number | null; samples: Sample[]};
	notices: string[];
	/** The last thing done to the container (--stop). */
	container: string | null;
	result: BackupResult | null;
	error: string | null;
	cancelling: boolean;
}

export type BackupAction =
	| {type: 'planning'}
	| {type: 'reset'}
	| {type: 'choices'; choices: BackupChoices; preselect: string[]; dir?: string; stop?: boolean}
	| {type: 'toggle'; name: string}
	| {type: 'toggle-all'}
	| {type: 'toggle-stop'}
	| {type: 'edit-dir'}
	| {type: 'draft'; edit: FieldEdit}
	| {type: 'draft-done'; keep: boolean}
	| {type: 'confirm'}
	| {type: 'back'}
	| {type: 'running'}
	| {type: 'event'; event: BackupEvent; t: number}
	| {type: 'cancelling'}
	| {type: 'done'; result: BackupResult}
	| {type: 'failed'; error: string; cancelled: boolean};

export const initialBackup: BackupState = {phase: 'idle', units: [], selected: [], dir: '', draft: null, stop: false, progress: {}, overall: {bytes: 0, total: null, samples: []}, notices: [], container: null, result: null, error: null, cancelling: false};

const WINDOW_MS = 3000;
/** Keep the samples of the last few seconds (and at least two), as RateMeter does. */
export function addSample(samples: Sample[], sample: Sample): Sample[] {
	const next = [...samples, sample];
	while (next.length > 2 && sample.t - next[0]!.t > WINDOW_MS) {
		next.shift();
	}

	return next;
}

function foldEvent(state: BackupState, event: BackupEvent, t: number): BackupState {
	const unit = (name: string, change: (p: UnitProgress) => Partial<UnitProgress>): BackupState => {
		const old = state.progress[name] ?? {status: 'waiting', bytes: 0, total: null, files: 0, samples: [], databases: 0, error: null};
		return {...state, progress: {...state.progress, [name]: {...old, ...change(old)}}};
	};

	switch (event.type) {
		case 'plan': {
			const progress = Object.fromEntries(event.units.map(u => [u.name, {status: 'waiting', bytes: 0, total: u.estimate.bytes, files: 0, samples: [], databases: 0, error: null} satisfies UnitProgress]));
			return {...state, dir: event.dir, progress};
		}

		case 'notice': {
			return {...state, notices: [...state.notices, event.message]};
		}

		case 'container': {
			return {...state, container: `${event.action} ${event.name}`};
		}

		case 'start': {
			return unit(event.location, () => ({status: 'running', total: event.total, samples: [{t, bytes: 0}]}));
		}

		case 'progress': {
			const next = unit(event.location, p => ({bytes: event.bytes, total: event.total, files: event.files, samples: addSample(p.samples, {t, bytes: event.bytes})}));
			return {...next, overall: {bytes: event.overall.bytes, total: event.overall.total, samples: addSample(state.overall.samples, {t, bytes: event.overall.bytes})}};
		}

		case 'snapshot': {
			return unit(event.location, p => ({databases: p.databases + 1}));
		}

		case 'written': {
			return unit(event.location, () => ({status: 'written', bytes: event.archive.bytes, files: event.archive.fileCount}));
		}

		case 'verify': {
			return unit(event.location, () => ({status: event.ok ? 'verified' : 'failed', error: event.error}));
		}

		case 'done': {
			return state;
		}
	}
}

export function backupReducer(state: BackupState, action: BackupAction): BackupState {
	switch (action.type) {
		case 'planning': {
			return {...initialBackup, phase: 'planning', stop: state.stop};
		}

		case 'reset': {
			return initialBackup;
		}

		case 'choices': {
			return {...state, phase: 'selecting', units: action.choices.units, selected: action.preselect, dir: action.dir ?? action.choices.dir, stop: action.stop ?? state.stop};
		}

		case 'toggle': {
			if (state.phase !== 'selecting') {
				return state;
			}

			const on = state.selected.includes(action.name);
			return {...state, selected: on ? state.selected.filter(n => n !== action.name) : state.units.map(u => u.name).filter(n => n === action.name || state.selected.includes(n))};
		}

		case 'toggle-all': {
			return state.phase === 'selecting' ? {...state, selected: state.selected.length === state.units.length ? [] : state.units.map(u => u.name)} : state;
		}

		case 'toggle-stop': {
			return state.phase === 'selecting' ? {...state, stop: !state.stop} : state;
		}

		case 'edit-dir': {
			return state.phase === 'selecting' ? {...state, draft: field(state.dir)} : state;
		}

		case 'draft': {
			return state.draft === null ? state : {...state, draft: editField(state.draft, action.edit)};
		}

		case 'draft-done': {
			const kept = action.keep && state.draft?.value.trim() ? state.draft.value.trim() : state.dir;
			return {...state, dir: kept, draft: null};
		}

		case 'confirm': {
			return state.phase === 'selecting' && state.selected.length > 0 ? {...state, phase: 'confirming'} : state;
		}

		case 'back': {
			return state.phase === 'confirming' ? {...state, phase: 'selecting'} : state;
		}

		case 'running': {
			return {...state, phase: 'running', progress: {}, overall: {bytes: 0, total: null, samples: []}, notices: [], container: null, result: null, error: null, cancelling: false};
		}

		case 'event': {
			return foldEvent(state, action.event, action.t);
		}

		case 'cancelling': {
			return state.phase === 'running' ? {...state, cancelling: true} : state;
		}

		case 'done': {
			return {...state, phase: 'done', result: action.result, dir: action.result.dir};
		}

		case 'failed': {
			return {...state, phase: action.cancelled ? 'cancelled' : 'failed', error: action.error};
		}
	}
}

/** `occ-doctor backup` in a terminal ends as the plain one does: 0 after a verified backup (or none asked for), 2 when it failed. */
export function backupExitCode(state: BackupState): number {
	return exitCode(state.phase === 'failed' ? 'cannot-run' : 'ok');
}

export const backupBusy = (state: BackupState) => state.phase === 'running';

/** What the command line chose: --only/--priority preselect, --out and --stop prefill. */
export interface BackupLaunch {
	only?: string[];
	priority?: Priority[];
	out?: string;
	stop?: boolean;
}

/** Critical and high by default; --only/--priority when given. */
export function preselect(units: BackupUnit[], launch: BackupLaunch): string[] {
	const chosen = launch.only?.length || launch.priority?.length ? selectUnits(units, launch.only, launch.priority) : units.filter(u => u.priority === 'critical' || u.priority === 'high');
	return chosen.map(u => u.name);
}

/** Loads the choices, runs the backup service and folds its events. */
export function useBackup(services: DoctorServices, launch: BackupLaunch) {
	const {state, dispatch, send, run, cancel: abort, running} = useTask(backupReducer, initialBackup);
	const load = useCallback((ref: string) => {
		if (!services.backupChoices) {
			return;
		}

		run(async signal => {
			send({type: 'planning'});
			return services.backupChoices!(ref, signal);
		}, {
			done: choices => send({type: 'choices', choices, preselect: preselect(choices.units, launch), ...(launch.out ? {dir: launch.out} : {}), ...(launch.stop ? {stop: true} : {})}),
			failed: (error, cancelled) => send({type: 'failed', error: firstLine(error), cancelled}),
		});
	}, [services, launch, send, run]);

	const start = useCallback((ref: string, current: BackupState) => {
		if (!services.backup) {
			return;
		}

		run(async signal => {
			send({type: 'running'});
			return services.backup!(ref, {only: current.selected, out: current.dir, stop: current.stop, signal}, event => send({type: 'event', event, t: Date.now()}));
		}, {
			done: result => send({type: 'done', result}),
			failed: (error, cancelled) => send({type: 'failed', error: firstLine(error), cancelled}),
		});
	}, [services, send, run]);

	/** Abort: the service removes its .partial files (and starts a stopped container) before it settles. */
	const cancel = useCallback(() => {
		if (running()) {
			dispatch({type: 'cancelling'});
			abort();
		}
	}, [abort, dispatch, running]);

	return {state, dispatch, load, start, cancel};
}
