import {useCallback, useRef} from 'react';
import {firstLine, useTask} from './use-task.js';
import type {Observation, Report} from '../../core/types.js';
import {DoctorError} from '../../docker/engine.js';
import type {ProbeEvent, ProbePlan, ProbeResult, ProbeStep} from '../../probe/types.js';
import type {DoctorServices} from '../services.js';

export type ProbePhase = 'idle' | 'running' | 'confirming' | 'done' | 'failed' | 'cancelled';

export interface StepState {
	step: ProbeStep;
	detail?: string;
	done: boolean;
}

export interface SentinelState {
	dir: string;
	action: 'written' | 'unwritable' | 'skipped' | 'removed' | 'left';
	note?: string;
	/** Whether it was written before the cleanup removed it (removed/left replace the write's action). */
	wasWritten: boolean;
}

export interface ProbeState {
	phase: ProbePhase;
	plan: ProbePlan | null;
	steps: StepState[];
	sentinels: SentinelState[];
	observed: Record<string, Observation>;
	warnings: string[];
	result: ProbeResult | null;
	error: string | null;
	/** Ctrl+C was pressed: the service is cleaning up. */
	cancelling: boolean;
	/** The user declined the plan: nothing was changed. */
	declined: boolean;
	/** The container's state once a failed or cancelled probe settled. */
	containerAfter: string | null;
}

export type ProbeAction =
	| {type: 'start'}
	| {type: 'reset'}
	| {type: 'event'; event: ProbeEvent}
	| {type: 'confirm'; plan: ProbePlan}
	| {type: 'answered'; yes: boolean}
	| {type: 'cancelling'}
	| {type: 'done'; result: ProbeResult}
	| {type: 'failed'; error: string; cancelled: boolean; containerAfter: string | null};

export const initialProbe: ProbeState = {phase: 'idle', plan: null, steps: [], sentinels: [], observed: {}, warnings: [], result: null, error: null, cancelling: false, declined: false, containerAfter: null};

function foldEvent(state: ProbeState, event: ProbeEvent): ProbeState {
	switch (event.type) {
		case 'plan': {
			return {...state, plan: event.plan};
		}

		case 'step': {
			const steps = state.steps.map(s => ({...s, done: true}));
			return {...state, steps: [...steps, {step: event.step, ...(event.detail ? {detail: event.detail} : {}), done: false}]};
		}

		case 'sentinel': {
			const old = state.sentinels.find(s => s.dir === event.dir);
			const next: SentinelState = {dir: event.dir, action: event.action, ...(event.note ?? old?.note ? {note: event.note ?? old?.note} : {}), wasWritten: event.action === 'written' || Boolean(old?.wasWritten)};
			return {...state, sentinels: old ? state.sentinels.map(s => (s === old ? next : s)) : [...state.sentinels, next]};
		}

		case 'location': {
			return {...state, observed: {...state.observed, [event.path]: event.observed}};
		}

		case 'warning': {
			return {...state, warnings: [...state.warnings, event.message]};
		}
	}
}

export function probeReducer(state: ProbeState, action: ProbeAction): ProbeState {
	switch (action.type) {
		case 'start': {
			return {...initialProbe, phase: 'running'};
		}

		case 'reset': {
			return initialProbe;
		}

		case 'event': {
			return foldEvent(state, action.event);
		}

		case 'confirm': {
			return {...state, phase: 'confirming', plan: action.plan};
		}

		case 'answered': {
			return state.phase === 'confirming' ? {...state, phase: 'running', declined: !action.yes} : state;
		}

		case 'cancelling': {
			return state.phase === 'running' || state.phase === 'confirming' ? {...state, phase: 'running', cancelling: true} : state;
		}

		case 'done': {
			return {...state, phase: 'done', result: action.result, steps: state.steps.map(s => ({...s, done: true})), cancelling: false};
		}

		case 'failed': {
			return {...state, phase: action.cancelled || state.declined ? 'cancelled' : 'failed', error: action.error, containerAfter: action.containerAfter, steps: state.steps.map(s => ({...s, done: true}))};
		}
	}
}

/** True while the service holds the container: Ctrl+C must cancel and wait, not leave. */
export const probeBusy = (state: ProbeState) => state.phase === 'running' || state.phase === 'confirming';

/** The probe's result over the last report: observed cells and the probe's findings; database facts the after-count lacks (integrity) kept. */
export function mergeProbe(report: Report, result: ProbeResult): Report {
	const {probe: _probe, ...probed} = result;
	const before = new Map((report.databases ?? []).map(d => [d.path, d]));
	const databases = probed.databases?.map(d => {
		const old = before.get(d.path);
		return old ? {...d, integrity: d.integrity ?? old.integrity, schemaVersion: d.schemaVersion ?? old.schemaVersion} : d;
	});
	return {...probed, ...(databases ? {databases} : {}), legacyStorage: probed.legacyStorage ?? report.legacyStorage};
}

export interface ProbeLaunch {
	/** --yes: no confirmation screen. */
	yes?: boolean;
	noRestart?: boolean;
}

/** Runs the probe service and folds its events; confirm() waits for the user's answer on screen. */
export function useProbe(services: DoctorServices, launch: ProbeLaunch, onResult: (ref: string, result: ProbeResult) => void) {
	const {state, dispatch, send, run, cancel: abort, running} = useTask(probeReducer, initialProbe);
	const answer = useRef<((yes: boolean) => void) | null>(null);
	const start = useCallback((ref: string) => {
		if (!services.probe) {
			return;
		}

		run(async signal => {
			send({type: 'start'});
			return services.probe!(ref, {noRestart: Boolean(launch.noRestart), signal}, {
				onEvent: event => send({type: 'event', event}),
				async confirm(plan) {
					if (launch.yes) {
						return true;
					}

					send({type: 'confirm', plan});
					return new Promise<boolean>(resolve => {
						answer.current = resolve;
					});
				},
			});
		}, {
			done(result) {
				send({type: 'done', result});
				onResult(ref, result);
			},
			async failed(error, cancelled) {
				const containerAfter = await services.containerState?.(ref).catch(() => null) ?? null;
				send({type: 'failed', error: firstLine(error), cancelled, containerAfter});
			},
		});
	}, [services, launch.yes, launch.noRestart, onResult, run, send]);

	const respond = useCallback((yes: boolean) => {
		const resolve = answer.current;
		answer.current = null;
		if (resolve) {
			dispatch({type: 'answered', yes});
			resolve(yes);
		}
	}, [dispatch]);

	/** Abort a running probe: the service restores the container and removes what it wrote before it settles. */
	const cancel = useCallback(() => {
		if (!running()) {
			return;
		}

		dispatch({type: 'cancelling'});
		const resolve = answer.current;
		answer.current = null;
		resolve?.(false);
		abort(new DoctorError('probe cancelled with Ctrl+C', 'interrupted'));
	}, [abort, dispatch, running]);

	const reset = useCallback(() => {
		if (!running()) {
			dispatch({type: 'reset'});
		}
	}, [dispatch, running]);

	return {state, start, respond, cancel, reset};
}
