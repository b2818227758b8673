import {existsSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {posix} from 'node:path';
import type Docker from 'dockerode';
import {putFiles, readFileFromContainer} from '../docker/archive.js';
import {execIn} from './exec.js';
import type {Observed, ProbeTarget} from './types.js';

/** The engine's one-line reason for a failed write, sorted into what the user must hear. */
export function writeFailureNote(error: unknown): string {
	const message = String((error as {json?: {message?: string}}).json?.message ?? (error as Error).message ?? error).split('\n')[0]!.trim();
	if (/no space left on device|ENOSPC|disk quota/i.test(message)) {
		return `disk full: no space left on device (${message})`;
	}

	if (/read-only/i.test(message)) {
		return `read-only: ${message}`;
	}

	if (/permission denied|EACCES|operation not permitted/i.test(message)) {
		return `permission denied: ${message}`;
	}

	return `write failed: ${message}`;
}

/** Is this error the engine's, not the write's? Those stop the probe instead of marking one location. */
export function isEngineFailure(error: unknown): boolean {
	const code = (error as NodeJS.ErrnoException).code ?? '';
	const status = (error as {statusCode?: number}).statusCode;
	return ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code) || (status === 404 && /no such container/i.test(String((error as {json?: {message?: string}}).json?.message ?? '')));
}

/** Write one sentinel. Returns null when written, else the unwritable reason. Engine failures are thrown. */
export async function writeSentinel(container: Docker.Container, target: ProbeTarget, content: string, owner: {uid: number; gid: number}, execUser?: string): Promise<string | null> {
	try {
		if (target.channel === 'exec') {
			// As the container's own user (or the app's, when it drops privileges): what the app could write, it can.
			const result = await execIn(container, ['sh', '-c', 'printf "%s" "$1" > "$2"', 'sh', content, target.sentinel], execUser ? {user: execUser} : {});
			if (result.exitCode === 126 || result.exitCode === 127) {
				return 'no-shell';
			}

			return result.exitCode === 0 ? null : writeFailureNote(new Error((result.stderr || result.stdout).trim() || `exit code ${result.exitCode}`));
		}

		await putFiles(container, target.dir, [{name: posix.basename(target.sentinel), content, mode: 0o644, uid: owner.uid, gid: owner.gid}]);
		return null;
	} catch (error) {
		if (isEngineFailure(error)) {
			throw error;
		}

		return writeFailureNote(error);
	}
}

/** Read one sentinel back: kept when it holds our content, lost when missing or different. */
export async function readSentinel(container: Docker.Container, target: ProbeTarget, content: string, channel = target.channel): Promise<Observed> {
	if (channel === 'exec') {
		const result = await execIn(container, ['cat', target.sentinel]);
		return result.exitCode === 0 && result.stdout === content ? 'kept' : 'lost';
	}

	const data = await readFileFromContainer(container, target.sentinel);
	return data?.toString('utf8') === content ? 'kept' : 'lost';
}

/** A sentinel to remove and the ways to reach it without the container. */
export interface RemoveEntry {
	sentinel: string;
	channel: ProbeTarget['channel'];
	/** On a volume or bind (a helper container can reach it), or null for the layer and tmpfs. */
	mount: 'volume' | 'bind' | null;
	/** The file on the engine's host for binds and volumes. */
	hostPath: string | null;
	/** The file in the container's upper layer dir (overlay2), for layer sentinels. */
	layerHostPath: string | null;
}

/**
 * Remove sentinels. The archive API cannot delete, so: `rm -f` through exec in the running container; else the
 * file on the engine's disk when that disk is this machine's (binds, volumes; the layer only when the container is
 * not running, as writing beneath a live overlay mount is undefined); else a helper container (see twin.ts).
 * Returns the paths still there.
 */
export async function removeSentinels(
	targets: RemoveEntry[],
	ways: {container: Docker.Container | null; running: boolean; helper?: (paths: string[]) => Promise<boolean>},
): Promise<string[]> {
	let left = targets;
	if (ways.container && ways.running && left.length > 0) {
		try {
			const result = await execIn(ways.container, ['rm', '-f', ...left.map(t => t.sentinel)], {user: '0'});
			if (result.exitCode === 0) {
				return [];
			}
		} catch {
			// No rm, or the container went away: try the other ways.
		}
	}

	const still: typeof left = [];
	for (const t of left) {
		const host = t.hostPath ?? (ways.running ? null : t.layerHostPath);
		if (host && existsSync(posix.dirname(host))) {
			try {
				await rm(host, {force: true});
				continue;
			} catch {
				// Not ours to reach (permissions): fall through.
			}
		}

		still.push(t);
	}

	left = still;
	// tmpfs sentinels die with the mount: nothing to remove once the container stopped.
	left = left.filter(t => !(t.channel === 'exec' && !ways.running));
	const reachable = left.filter(t => t.mount !== null);
	if (reachable.length > 0 && ways.helper) {
		try {
			if (await ways.helper(reachable.map(t => t.sentinel))) {
				left = left.filter(t => t.mount === null);
			}
		} catch {
			// Fall through: reported as left.
		}
	}

	return left.map(t => t.sentinel);
}
