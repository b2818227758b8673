// One rule for every command that goes through the archive API on the user's container (backup, probe, restore and
// their previews): each such call sets up ALL the container's mounts, and the engine creates a missing `-v` bind
// source as a directory on its host. So a call is made only when every `-v` source is known to exist there; an
// unknown one (tcp://, no permission to look) is refused like a missing one. --only cannot narrow it: the call that
// reads one volume mounts every bind.
import {statSync} from 'node:fs';
import {DoctorError} from '../errors.js';
import {hostPathsOverSsh, type HostPathFacts} from './remote-paths.js';
import type {Engine, EngineTarget} from './engine.js';

/** The `-v` bind sources (HostConfig.Binds) that are missing on the engine's host, or that occ-doctor cannot see. */
export interface BindsAtRisk {
	missing: string[];
	unknown: string[];
}

/** The sources of `-v` binds (HostConfig.Binds): the engine creates these as directories when they are missing. */
export function bindsCreatedIfMissing(info: any): Set<string> {
	// "src:dst[:opts]"; a source never holds a colon on Linux engines.
	return new Set(((info.HostConfig?.Binds ?? []) as string[]).map(b => b.split(':')[0]!).filter(s => s.startsWith('/')));
}

/**
 * Pure. A missing source of any bind counts (a `--mount` one makes the call fail with a wrong 404); an unknown one
 * only for `-v` binds, the ones the engine would create.
 */
export function bindsAtRisk(info: any, bindSourceExists: Record<string, boolean | null>): BindsAtRisk {
	const creates = bindsCreatedIfMissing(info);
	const entries = Object.entries(bindSourceExists);
	return {
		missing: entries.filter(([, exists]) => exists === false).map(([source]) => source),
		unknown: entries.filter(([source, exists]) => exists === null && creates.has(source)).map(([source]) => source),
	};
}

/** Does a host path exist (and is it a file)? A stat: no read, no write. null when we cannot tell. */
export function hostPathFacts(path: string): HostPathFacts {
	try {
		// stat, not lstat: the engine follows a symlinked source, and so must we.
		const st = statSync(path);
		return {exists: true, isFile: st.isFile()};
	} catch (error) {
		return {exists: (error as NodeJS.ErrnoException).code === 'ENOENT' ? false : null, isFile: null};
	}
}

/** Whether each bind source of an inspected container exists on the engine's host: a stat when local, one `test` over ssh://, else unknown. */
export async function bindSourcesOnHost(engine: Engine, info: any): Promise<Record<string, boolean | null>> {
	const sources = ((info.Mounts ?? []) as any[]).filter(m => m.Type === 'bind' && m.Source).map(m => String(m.Source));
	const onHost: Record<string, HostPathFacts> = engine.target.local
		? Object.fromEntries(sources.map(s => [s, hostPathFacts(s)]))
		: engine.target.ssh && sources.length > 0 ? await hostPathsOverSsh(engine.target.ssh, sources) : {};
	return Object.fromEntries(sources.map(s => [s, onHost[s]?.exists ?? null]));
}

function hostOf(label: string): string {
	try {
		return new URL(label).hostname.replace(/^\[(.*)\]$/, '$1') || 'HOST';
	} catch {
		return 'HOST';
	}
}

/** Why occ-doctor cannot see a source, and how to let it. */
function unknownCause(target: Pick<EngineTarget, 'label' | 'transport' | 'local'>, command: string): {why: string; fix: string} {
	if (target.local) {
		return {why: 'no permission to look', fix: `run it as a user who may: sudo occ-doctor ${command}`};
	}

	const host = hostOf(target.label);
	if (target.transport === 'ssh') {
		return {why: 'the SSH user may not look there', fix: `run it on that host as a user who may: ssh -t ${host} sudo occ-doctor ${command}`};
	}

	return {why: `${target.label} offers no way to look`, fix: `run it over SSH, so occ-doctor can look on that host: occ-doctor ${command} --host ssh://${host} (or run occ-doctor on that host)`};
}

/** refuseBindsAtRisk for an inspected container, its bind sources looked at now (restore's plan, the --cleanup runs). */
export async function refuseContainerAtRisk(engine: Engine, info: any, context: {verb: string; command: (name: string) => string; only?: string}): Promise<void> {
	const name = String(info.Name ?? info.Id).replace(/^\//, '');
	refuseBindsAtRisk(bindsAtRisk(info, await bindSourcesOnHost(engine, info)), {verb: context.verb, name, command: context.command(name), target: engine.target, only: context.only});
}

/**
 * Throws the one line that stops `verb` before it reads or writes anything, when a `-v` bind source is missing or
 * unknown. `command` is the command line to repeat in the fix (e.g. `backup --container app`); `only`: what --only can
 * and cannot do for this command (it cannot narrow what one archive call mounts).
 */
export function refuseBindsAtRisk(atRisk: BindsAtRisk, context: {verb: string; name: string; command: string; target: Pick<EngineTarget, 'label' | 'transport' | 'local'>; only?: string}): void {
	const {verb, name, command, target} = context;
	const [missing] = atRisk.missing;
	if (missing) {
		throw new DoctorError(`${verb} stopped before touching anything: the bind source ${missing} of ${name} is missing on the engine's host, and reading ${name} through the engine (or starting it) would make the engine create ${missing} as a directory: put it back first (occ-doctor check shows missing-host-path)`, 'cannot-run', {code: 'bind-source-missing'});
	}

	const [unknown] = atRisk.unknown;
	if (unknown) {
		const {why, fix} = unknownCause(target, command);
		const more = atRisk.unknown.length > 1 ? ` (and ${atRisk.unknown.length - 1} more)` : '';
		throw new DoctorError(`${verb} stopped before touching anything: occ-doctor cannot tell whether the bind source ${unknown}${more} of ${name} exists on the engine's host (${why}), and every read through the engine mounts all of ${name}'s binds, so the engine would create a missing one as a directory${context.only ? ` (${context.only})` : ''}: ${fix}`, 'cannot-run', {code: 'bind-source-unknown'});
	}
}
