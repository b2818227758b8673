// One way for long tasks to stop on Ctrl+C or SIGTERM: the signal's reason is the DoctorError cli.tsx made
// (`interrupted by SIGINT`, exit 130); any other abort reads as plain `interrupted`.
import {DoctorError} from './errors.js';

export function interrupted(signal?: AbortSignal): DoctorError {
	const reason = signal?.reason;
	return reason instanceof DoctorError ? reason : new DoctorError('interrupted', 'interrupted');
}

export function checkAbort(signal?: AbortSignal): void {
	if (signal?.aborted) {
		throw interrupted(signal);
	}
}

/** Wait `ms`, or less when the signal aborts: an abort ends the wait quietly, the caller checks the signal. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise<void>(resolve => {
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener('abort', () => {
			clearTimeout(timer);
			resolve();
		}, {once: true});
	});
}
