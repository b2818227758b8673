import {statSync} from 'node:fs';
import type Docker from 'dockerode';
import {detectProfile} from '../core/profiles.js';
import {composeOf} from '../core/model.js';
import type {ContainerFacts, MountFacts, VolumeFacts} from '../core/types.js';
import {statInContainer} from './archive.js';
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
	host: {bindSourceExists: Record<string, boolean | null>; bindSourceIsFile: Record<string, boolean>; persistenceWarningInLogs: boolean},
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
		persistenceWarningInLogs: host.persistenceWarningInLogs,
		restartPolicy: info.HostConfig?.RestartPolicy?.Name ?? '',
		autoRemove: Boolean(info.HostConfig?.AutoRemove),
	};
}

/** Find the container or say, in one line, that it does not exist and how to list the ones that do. */
export async function inspectContainer(engine: Engine, ref: string): Promise<any> {
	try {
		return await engine.docker.getContainer(ref).inspect();
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			throw new DoctorError(`no container "${ref}" on ${engine.target.label}: list them with \`docker ps -a\` and pass --container NAME`);
		}

		throw explainEngineError(error, engine.target);
	}
}

async function logsContain(container: Docker.Container, needle: string): Promise<boolean> {
	try {
		const buffer = await container.logs({stdout: true, stderr: true, tail: 5000, follow: false}) as unknown as Buffer;
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

/** Gather every fact the model needs about one container. All engine I/O of `check` happens here. */
export async function gatherFacts(engine: Engine, ref: string): Promise<ContainerFacts> {
	const info = await inspectContainer(engine, ref);
	const container = engine.docker.getContainer(info.Id);
	let image: any = null;
	try {
		image = await engine.docker.getImage(info.Image).inspect();
	} catch {
		// An image removed after the container was created: its VOLUME list is unknown, the mounts still tell.
	}

	const volumes: Record<string, VolumeFacts> = {};
	for (const m of info.Mounts ?? []) {
		if (m.Type === 'volume' && m.Name) {
			try {
				const v: any = await engine.docker.getVolume(m.Name).inspect();
				volumes[m.Name] = {name: v.Name, driver: v.Driver, labels: v.Labels ?? {}, mountpoint: v.Mountpoint ?? null};
			} catch {
				volumes[m.Name] = {name: m.Name, driver: m.Driver ?? 'local', labels: {}, mountpoint: m.Source ?? null};
			}
		}
	}

	const bindSourceExists: Record<string, boolean | null> = {};
	const bindSourceIsFile: Record<string, boolean> = {};
	for (const m of info.Mounts ?? []) {
		if (m.Type !== 'bind' || !m.Source) {
			continue;
		}

		let exists: boolean | null = null;
		let isFile: boolean | null = null;
		if (engine.target.local) {
			try {
				const st = statSync(m.Source);
				exists = true;
				isFile = st.isFile();
			} catch (error) {
				exists = (error as NodeJS.ErrnoException).code === 'ENOENT' ? false : null;
			}
		}

		isFile ??= await isFileInContainer(container, m.Destination);
		bindSourceExists[m.Source] = exists;
		bindSourceIsFile[m.Source] = Boolean(isFile);
	}

	const persistenceWarningInLogs = await logsContain(container, PERSISTENCE_WARNING);
	return factsFromInspect(info, image, volumes, {bindSourceExists, bindSourceIsFile, persistenceWarningInLogs});
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
		list = await engine.docker.listContainers({all: true});
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
