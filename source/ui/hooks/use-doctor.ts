import {useCallback, useEffect, useReducer, useRef} from 'react';
import {exitCodeFor} from '../../core/analyze.js';
import {exitCode} from '../../errors.js';
import type {Candidate} from '../../docker/inspect.js';
import type {ProbeResult} from '../../probe/types.js';
import type {DoctorServices, Inspection} from '../services.js';
import {mergeProbe} from './use-probe.js';

export type Phase = 'finding' | 'picking' | 'checking' | 'ready' | 'failed';

export interface DoctorState {
	phase: Phase;
	candidates: Candidate[];
	/** The container being looked at. */
	ref: string | null;
	inspection: Inspection | null;
	error: string | null;
	/** A re-inspect runs while the last result stays on screen. */
	busy: boolean;
}

export type DoctorEvent =
	| {type: 'candidates'; candidates: Candidate[]}
	| {type: 'checking'; ref: string}
	| {type: 'checked'; ref: string; inspection: Inspection}
	| {type: 'failed'; error: string}
	| {type: 'pick-again'}
	| {type: 'probed'; ref: string; result: ProbeResult};

export const initialDoctor: DoctorState = {phase: 'finding', candidates: [], ref: null, inspection: null, error: null, busy: false};

export function doctorReducer(state: DoctorState, event: DoctorEvent): DoctorState {
	switch (event.type) {
		case 'candidates': {
			return {...state, candidates: event.candidates, phase: event.candidates.length === 1 ? 'checking' : 'picking', error: null};
		}

		case 'checking': {
			const same = state.ref === event.ref && state.inspection !== null;
			return {...state, ref: event.ref, phase: same ? 'ready' : 'checking', busy: same, inspection: same ? state.inspection : null, error: null};
		}

		case 'checked': {
			return event.ref === state.ref ? {...state, phase: 'ready', inspection: event.inspection, busy: false, error: null} : state;
		}

		case 'failed': {
			return {...state, phase: 'failed', error: event.error, busy: false, inspection: null};
		}

		case 'probed': {
			// The probe's observations replace the prediction on every screen (Matrix cells, Findings, Databases).
			return event.ref === state.ref && state.inspection ? {...state, inspection: {...state.inspection, report: mergeProbe(state.inspection.report, event.result)}} : state;
		}

		case 'pick-again': {
			return state.candidates.length > 1 ? {...state, phase: 'picking', ref: null, inspection: null, error: null, busy: false} : state;
		}
	}
}

/** 0 or 1 from the last report, 2 when the last attempt failed, 0 when nothing was checked. */
export function exitCodeOf(state: DoctorState): number {
	if (state.inspection) {
		return exitCodeFor(state.inspection.report);
	}

	return exitCode(state.error ? 'cannot-run' : 'ok');
}

function message(error: unknown): string {
	return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** Folds the services' results into state: find candidates (or take the given container), check, re-inspect. */
export function useDoctor(services: DoctorServices, container?: string) {
	const [state, dispatch] = useReducer(doctorReducer, initialDoctor);
	const alive = useRef(true);
	useEffect(() => () => {
		alive.current = false;
	}, []);

	// One look at the engine at a time: on a slow link, `r` pressed again while one runs starts nothing.
	const looking = useRef(false);
	const settle = () => {
		looking.current = false;
	};

	const check = useCallback((ref: string) => {
		if (looking.current) {
			return;
		}

		looking.current = true;
		dispatch({type: 'checking', ref});
		services.check(ref).finally(settle).then(
			inspection => alive.current && dispatch({type: 'checked', ref, inspection}),
			error => alive.current && dispatch({type: 'failed', error: message(error)}),
		);
	}, [services]);

	const find = useCallback(() => {
		if (looking.current) {
			return;
		}

		looking.current = true;
		services.candidates().finally(settle).then(
			candidates => {
				if (!alive.current) {
					return;
				}

				if (candidates.length === 0) {
					dispatch({type: 'failed', error: `no coding-agent container found on ${services.engineLabel}: pass --container NAME (\`docker ps -a\` lists them)`});
					return;
				}

				dispatch({type: 'candidates', candidates});
				if (candidates.length === 1) {
					check(candidates[0]!.id);
				}
			},
			error => alive.current && dispatch({type: 'failed', error: message(error)}),
		);
	}, [services, check]);

	useEffect(() => {
		if (container) {
			check(container);
		} else {
			find();
		}
	}, []); // eslint-disable-line react-hooks/exhaustive-deps

	const reinspect = useCallback(() => {
		if (state.ref) {
			check(state.ref);
		} else {
			find();
		}
	}, [state.ref, check, find]);

	const pickAgain = useCallback(() => dispatch({type: 'pick-again'}), []);
	const probed = useCallback((ref: string, result: ProbeResult) => dispatch({type: 'probed', ref, result}), []);
	return {state, check, reinspect, pickAgain, probed};
}
