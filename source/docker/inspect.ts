import type Docker from 'dockerode';
import {detectProfile} from '../core/profiles.js';
import {composeOf} from '../core/model.js';
import type {ContainerFacts, MountFacts, Profile, VolumeFacts} from '../core/types.js';
import {statInContainer} from './archive.js';
import {hostPathsOverSsh} from './remote-paths.js';
import {bindsAtRisk, bindsCreatedIfMissing, hostPathFacts} from './bind-guard.js';
import {DoctorError, explainEngineError, type Engine} from './engine.js';

export const PERSISTENCE_WARNING = 'WARNING: Persistence is not configured';

function envRecord(env: string[] | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	for (const entry of env ?? []) {
		const i = entry.indexOf('=');
		if (i > 0) {
			out[entry.slice(0, i)] = entry.slice(i + 1);
		}
	}

	return out;
}

/** Normalise `docker inspect` (and the image's and volumes' inspect) into the facts the model needs. Pure. */
export function factsFromInspect(
	info: any,
	image: any | null,
	volumes: Record<string, VolumeFacts>,
	host: {bindSourceExists: Record<string, boolean | null>; bindSourceIsFile: Record<string, boolean>; persistenceWarningInLogs: boolean; archiveRisk?: string | null},
): ContainerFacts {
	const mounts: MountFacts[] = (info.Mounts ?? []).map((m: any) => ({
		type: m.Type,
		name: m.Name ?? null,
		source: m.Source || null,
		destination: m.Destination,
		rw: m.RW !== false,
		driver: m.Driver ?? null,
	}));
	return {
		id: info.Id,
		name: String(info.Name ?? '').replace(/^\//, ''),
		image: info.Config?.Image ?? image?.RepoTags?.[0] ?? info.Image,
		imageId: info.Image,
		state: {status: info.State?.Status ?? 'unknown', running: Boolean(info.State?.Running), health: info.State?.Health?.Status ?? null},
		labels: info.Config?.Labels ?? {},
		env: envRecord(info.Config?.Env),
		user: info.Config?.User ?? '',
		readonlyRootfs: Boolean(info.HostConfig?.ReadonlyRootfs),
		mounts,
		tmpfs: Object.keys(info.HostConfig?.Tmpfs ?? {}),
		imageVolumes: Object.keys(image?.Config?.Volumes ?? {}),
		volumes,
		bindSourceExists: host.bindSourceExists,
		bindSourceIsFile: host.bindSourceIsFile,
		archiveRisk: host.archiveRisk ?? null,
		bindsAtRisk: bindsAtRisk(info, host.bindSourceExists),
		command: [info.Path, ...(info.Args ?? [])].filter((part: unknown): part is string => typeof part === 'string' && part !== ''),
		workingDir: info.Config?.WorkingDir ?? '',
		layerDir: info.GraphDriver?.Name === 'overlay2' ? info.GraphDriver.Data?.UpperDir ?? null : null,
		// The first LowerDir entry is the container's -init layer (hosts, resolv.conf), then the image's, top first.
		imageLayerDirs: info.GraphDriver?.Name === 'overlay2' ? String(info.GraphDriver.Data?.LowerDir ?? '').split(':').filter(Boolean) : [],
		pathExists: {},
		pathOwners: {},
		appUser: null,
		persistenceWarningInLogs: host.persistenceWarningInLogs,
		restartPolicy: info.HostConfig?.RestartPolicy?.Name ?? '',
		autoRemove: Boolean(info.HostConfig?.AutoRemove),
	};
}

/** Find the container or say, in one line, that it does not exist and how to list the ones that do. */
export async function inspectContainer(engine: Engine, ref: string): Promise<any> {
	try {
		return await engine.api.json(`/containers/${ref}/json`);
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			throw new DoctorError(`no container "${ref}" on ${engine.target.label}: list them with \`docker ps -a\` and pass --container NAME`);
		}

		throw explainEngineError(error, engine.target);
	}
}

async function logsContain(engine: Engine, id: string, needle: string): Promise<boolean> {
	try {
		const buffer = await engine.api.buffer(`/containers/${id}/logs`, {stdout: true, stderr: true, tail: 5000, follow: false});
		return buffer.includes(needle);
	} catch {
		return false;
	}
}

/** Is the path inside the container a regular file? The archive API's stat works without a shell, remote or local. */
async function isFileInContainer(container: Docker.Container, path: string): Promise<boolean | null> {
	try {
		const stat = await statInContainer(container, path);
		return stat ? stat.isFile : null;
	} catch {
		return null;
	}
}

/**
 * Why an archive API call on this container would change the host, or null. Measured on Engine 20.10: every HEAD or
 * GET of /containers/{id}/archive, running or stopped, sets up all the container's mounts and creates a missing `-v`
 * bind source as an empty root-owned directory. A missing `--mount` source makes the call fail with a wrong 404.
 */
export function archiveRiskOf(info: any, bindSourceExists: Record<string, boolean | null>): string | null {
	const creates = bindsCreatedIfMissing(info);
	const missing = Object.entries(bindSourceExists).find(([, exists]) => exists === false)?.[0];
	if (missing) {
		return `the bind source ${missing} is missing and reading through the engine would make it create ${missing} as a directory`;
	}

	const unknown = Object.entries(bindSourceExists).find(([source, exists]) => exists === null && creates.has(source))?.[0];
	if (unknown) {
		return `occ-doctor cannot see whether the bind source ${unknown} exists on the engine's host (a tcp:// engine offers no way to look, or no permission), and reading through the engine would create it as a directory if it is missing`;
	}

	// Measured: a container that never ran gets its mount points made in its layer by the first archive call.
	if (neverStarted(info) && (info.Mounts ?? []).some((m: any) => m.Type === 'bind' || m.Type === 'volume')) {
		return 'the container has never been started, and reading through the engine would create its mount points in its layer';
	}

	return null;
}

function neverStarted(info: any): boolean {
	return !info.State?.Running && String(info.State?.StartedAt ?? '').startsWith('0001-');
}

/** The named volumes' labels and drivers in one request (`volume ls` filtered by name), not one inspect each. */
async function volumeFacts(engine: Engine, mounts: any[]): Promise<Record<string, VolumeFacts>> {
	const named = mounts.filter(m => m.Type === 'volume' && m.Name);
	const volumes: Record<string, VolumeFacts> = {};
	for (const m of named) {
		volumes[m.Name] = {name: m.Name, driver: m.Driver ?? 'local', labels: {}, mountpoint: m.Source ?? null};
	}

	if (named.length === 0) {
		return volumes;
	}

	try {
		// The name filter matches substrings: keep the exact names only.
		const {Volumes: list} = await engine.api.json<{Volumes?: any[]}>('/volumes', {filters: {name: named.map(m => m.Name)}});
		for (const v of list ?? []) {
			if (v.Name in volumes) {
				volumes[v.Name] = {name: v.Name, driver: v.Driver, labels: v.Labels ?? {}, mountpoint: v.Mountpoint ?? null, options: Object.keys(v.Options ?? {})};
			}
		}
	} catch {
		// The mounts still tell the driver and the path; labels stay unknown.
	}

	return volumes;
}

async function imageOf(engine: Engine, id: string): Promise<any> {
	try {
		return await engine.api.json(`/images/${id}/json`);
	} catch {
		// An image removed after the container was created: its VOLUME list is unknown, the mounts still tell.
		return null;
	}
}

/**
 * Gather every fact the model needs about one container. All engine I/O of `check` happens here: one inspect, then
 * at once the image, one volume list and (only for a profile whose entrypoint warns in its logs) the logs.
 * `profile` is the one --profile forces; otherwise the profile is detected from the inspect. `whileAnswering` gets
 * the facts the inspect gives (no image, no volume labels, archiveRisk known) while those requests are out.
 */
export async function gatherFacts(engine: Engine, ref: string, options: {profile?: Profile; whileAnswering?: (early: ContainerFacts) => void} = {}): Promise<ContainerFacts> {
	const info = await inspectContainer(engine, ref);
	// dockerode loads only if the archive API is needed (a bind source the host cannot see).
	const container = () => engine.docker.getContainer(info.Id);
	const bindSourceExists: Record<string, boolean | null> = {};
	const bindSourceIsFile: Record<string, boolean> = {};
	const binds = ((info.Mounts ?? []) as any[]).filter(m => m.Type === 'bind' && m.Source);
	const learn = (facts: (source: string) => {exists: boolean | null; isFile: boolean | null}) => {
		for (const m of binds) {
			const host = facts(m.Source);
			bindSourceExists[m.Source] = host.exists;
			bindSourceIsFile[m.Source] = Boolean(host.isFile);
		}
	};

	learn(source => (engine.target.local ? hostPathFacts(source) : {exists: null, isFile: null}));
	// Over ssh:// the engine's host answers for itself (one remote `test`) while the engine answers the requests below.
	const remote = !engine.target.local && engine.target.ssh && binds.length > 0 ? hostPathsOverSsh(engine.target.ssh, binds.map(m => m.Source)) : null;
	const early = factsFromInspect(info, null, {}, {bindSourceExists, bindSourceIsFile, persistenceWarningInLogs: false, archiveRisk: null});
	const warning = (options.profile ?? detectProfile(early).profile).entrypointWarning;
	const engineAnswers = Promise.all([
		imageOf(engine, info.Image),
		volumeFacts(engine, info.Mounts ?? []),
		warning ? logsContain(engine, info.Id, warning) : false,
	]);
	if (remote) {
		const onHost = await remote;
		learn(source => onHost[source]!);
	}

	// Only once no bind source can be created by it does occ-doctor ask the engine about paths.
	const archiveRisk = archiveRiskOf(info, bindSourceExists);
	const unknownBinds = archiveRisk ? [] : binds.filter(b => bindSourceExists[b.Source] === null);
	// What needs only the inspect and archiveRisk (the paths' existence, over a link) goes out with the requests above.
	options.whileAnswering?.(factsFromInspect(info, null, {}, {bindSourceExists, bindSourceIsFile, persistenceWarningInLogs: false, archiveRisk}));
	const [[image, volumes, persistenceWarningInLogs]] = await Promise.all([
		engineAnswers,
		...unknownBinds.map(async m => {
			bindSourceIsFile[m.Source] = Boolean(await isFileInContainer(container(), m.Destination));
		}),
	]);
	return factsFromInspect(info, image, volumes, {bindSourceExists, bindSourceIsFile, persistenceWarningInLogs: persistenceWarningInLogs as boolean, archiveRisk});
}

export interface Candidate {
	id: string;
	name: string;
	image: string;
	state: string;
	profile: string;
	compose: {project: string; service: string} | null;
	/** opencode-cloud's sandbox instance, from the name suffix. */
	instance: string | null;
	reason: string;
}

/** Containers that look like coding agents: opencode-cloud's label or names, compose services, or mounts that match a profile. */
export async function findCandidates(engine: Engine): Promise<Candidate[]> {
	let list: Docker.ContainerInfo[];
	try {
		list = await engine.api.json<Docker.ContainerInfo[]>('/containers/json', {all: true});
	} catch (error) {
		throw explainEngineError(error, engine.target);
	}

	const out: Candidate[] = [];
	for (const c of list) {
		const name = (c.Names?.[0] ?? c.Id).replace(/^\//, '');
		const labels = c.Labels ?? {};
		if (labels['dev.occ-doctor.role'] === 'twin') {
			continue;
		}

		const facts = {
			name,
			image: c.Image,
			labels,
			env: {},
			user: '',
			mounts: (c.Mounts ?? []).map((m: any) => ({type: m.Type, name: m.Name ?? null, source: m.Source || null, destination: m.Destination, rw: m.RW !== false, driver: m.Driver ?? null})),
			tmpfs: [],
			imageVolumes: [],
		} as unknown as ContainerFacts;
		const {profile, detectedBy} = detectProfile(facts);
		const compose = composeOf(facts);
		const instance = /^opencode-cloud-sandbox-(.+)$/.exec(name)?.[1] ?? null;
		let reason = '';
		if (profile.name !== 'generic') {
			reason = detectedBy;
		} else if (compose) {
			reason = `compose service ${compose.project}/${compose.service}`;
		}

		if (reason) {
			out.push({id: c.Id, name, image: c.Image, state: c.State, profile: profile.name, compose, instance, reason});
		}
	}

	// Known products first, running before stopped.
	return out.sort((a, b) => Number(a.profile === 'generic') - Number(b.profile === 'generic') || Number(b.state === 'running') - Number(a.state === 'running') || a.name.localeCompare(b.name));
}
