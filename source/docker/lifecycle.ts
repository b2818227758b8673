// The careful container lifecycle shared by probe, backup --stop and restore: stop with the container's own stop
// timeout, 304 (already so) is success, start, and wait until running and healthy.
import {sleep} from './abort.js';
import {DoctorError, explainEngineError, type Engine} from './engine.js';

export const DEFAULT_STOP_TIMEOUT = 10;
export const DEFAULT_READY_TIMEOUT_MS = 120_000;

/** Config.StopTimeout, else Docker's default of 10 s. */
export function stopTimeoutOf(info: any): number {
	const t = info?.Config?.StopTimeout;
	return typeof t === 'number' && t >= 0 ? t : DEFAULT_STOP_TIMEOUT;
}

export function hasHealthcheck(info: any): boolean {
	const test = info?.Config?.Healthcheck?.Test as string[] | undefined;
	return Boolean(test?.length && test[0] !== 'NONE');
}

/** The container vanished under us: someone removed it. `task` names what was running: 'the probe', 'the restore'. */
export function containerGone(name: string, task = 'the probe'): DoctorError {
	return new DoctorError(`container ${name} was removed during ${task} (by someone else): there is nothing to restore`, 'failed', {code: 'container-gone'});
}

/** Turn an engine error into one line; a 404 on the container means it was removed mid-task. */
export function explainContainerError(error: unknown, engine: Engine, name: string, task = 'the probe'): DoctorError {
	if (error instanceof DoctorError) {
		return error;
	}

	if ((error as {statusCode?: number}).statusCode === 404 && /no such container/i.test(String((error as {json?: {message?: string}}).json?.message ?? (error as Error).message))) {
		return containerGone(name, task);
	}

	return explainEngineError(error, engine.target);
}

/**
 * Wait until the container runs (and is healthy when it has a healthcheck). Fails with what is known when it
 * exits, turns unhealthy past the deadline, or does not come back in time. An abort ends the wait quietly.
 */
export async function waitReady(engine: Engine, id: string, name: string, timeoutMs: number, signal?: AbortSignal): Promise<any> {
	const deadline = Date.now() + timeoutMs;
	let info: any;
	for (;;) {
		try {
			info = await engine.docker.getContainer(id).inspect();
		} catch (error) {
			throw explainContainerError(error, engine, name);
		}

		const state = info.State ?? {};
		const health = state.Health?.Status as string | undefined;
		if (state.Running && !state.Restarting && (!hasHealthcheck(info) || health === 'healthy')) {
			return info;
		}

		if (signal?.aborted) {
			return info;
		}

		if (Date.now() > deadline) {
			const last = state.Health?.Log?.at(-1)?.Output?.trim()?.split('\n')[0];
			const what = state.Running ? `running but ${health ?? 'not ready'}${last ? ` (last check: ${last})` : ''}` : `${state.Status}${state.ExitCode ? `, exit code ${state.ExitCode}` : ''}${state.Error ? `, ${state.Error}` : ''}`;
			throw new DoctorError(`container ${name} did not come back within ${Math.round(timeoutMs / 1000)} s: it is ${what}; see \`docker logs ${name}\``, 'failed');
		}

		if (!state.Running && !state.Restarting && state.Status === 'exited' && state.FinishedAt && Date.parse(state.FinishedAt) > Date.parse(state.StartedAt ?? 0)) {
			throw new DoctorError(`container ${name} exited after the restart (exit code ${state.ExitCode}${state.Error ? `, ${state.Error}` : ''}): see \`docker logs ${name}\``, 'failed');
		}

		await sleep(250, signal);
	}
}

/** `docker restart -t <stop timeout>`. Not abortable: the engine finishes a restart it has begun; we wait for it. */
export async function restartContainer(engine: Engine, id: string, name: string, stopTimeout: number): Promise<void> {
	try {
		await engine.docker.getContainer(id).restart({t: stopTimeout});
	} catch (error) {
		throw explainContainerError(error, engine, name);
	}
}

export async function startContainer(engine: Engine, id: string, name: string): Promise<void> {
	try {
		await engine.docker.getContainer(id).start();
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 304) {
			return;
		}

		throw explainContainerError(error, engine, name);
	}
}

export async function stopContainer(engine: Engine, id: string, name: string, stopTimeout: number): Promise<void> {
	try {
		await engine.docker.getContainer(id).stop({t: stopTimeout});
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 304) {
			return;
		}

		throw explainContainerError(error, engine, name);
	}
}
