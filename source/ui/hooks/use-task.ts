import {useCallback, useEffect, useReducer, useRef, type Reducer} from 'react';

/**
 * One long service task at a time (probe, backup, restore), its events folded into state by the screen's reducer.
 * It owns the AbortController, aborts the task when the component goes away, and drops what a task sends after that.
 */
export function useTask<S, A>(reducer: Reducer<S, A>, initial: S) {
	const [state, dispatch] = useReducer(reducer, initial);
	const controller = useRef<AbortController | null>(null);
	const alive = useRef(true);
	useEffect(() => () => {
		alive.current = false;
		controller.current?.abort();
	}, []);

	/** Dispatch, unless the component is gone: events of a task that outlives its screen are dropped. */
	const send = useCallback((action: A) => {
		if (alive.current) {
			dispatch(action);
		}
	}, []);

	/** Start a task unless one runs; it settles into done or failed (with whether it was cancelled). */
	const run = useCallback(<T>(task: (signal: AbortSignal) => Promise<T>, settle: {done: (result: T) => void; failed: (error: unknown, cancelled: boolean) => void | Promise<void>}): boolean => {
		if (controller.current) {
			return false;
		}

		const abort = new AbortController();
		controller.current = abort;
		task(abort.signal).then(
			result => {
				controller.current = null;
				settle.done(result);
			},
			async (error: unknown) => {
				controller.current = null;
				await settle.failed(error, abort.signal.aborted);
			},
		);
		return true;
	}, []);

	/** Abort the running task: the service cleans up before it settles. False when none runs. */
	const cancel = useCallback((reason?: unknown): boolean => {
		if (!controller.current) {
			return false;
		}

		controller.current.abort(reason);
		return true;
	}, []);

	const running = useCallback(() => controller.current !== null, []);
	return {state, dispatch, send, run, cancel, running};
}

export const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
