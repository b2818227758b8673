import type Docker from 'dockerode';
import {isAnonymousVolume} from '../core/model.js';
import type {ContainerFacts} from '../core/types.js';
import {explainEngineError, type Engine} from '../docker/engine.js';
import {OF_LABEL, ROLE_LABEL, RUN_LABEL} from './types.js';

/**
 * The mounts `docker rm` + `docker run` with the same flags would give: named volumes and binds as they are (same
 * ro flag), a fresh anonymous volume wherever the old one was anonymous (compose's carry-over is not a plain
 * recreate), empty tmpfs. Image VOLUMEs not covered by these get fresh anonymous volumes from the engine. Pure.
 */
export function twinMounts(facts: Pick<ContainerFacts, 'mounts' | 'tmpfs' | 'volumes' | 'bindSourceExists'>): {mounts: Docker.MountConfig; tmpfs: Record<string, string>} {
	const mounts: Docker.MountConfig = [];
	for (const m of facts.mounts) {
		if (m.type === 'volume') {
			mounts.push(isAnonymousVolume(m.name, facts)
				? {Type: 'volume', Source: '', Target: m.destination, ReadOnly: !m.rw}
				: {Type: 'volume', Source: m.name ?? '', Target: m.destination, ReadOnly: !m.rw});
		} else if (m.type === 'bind' && m.source && facts.bindSourceExists[m.source] !== false) {
			// A missing source would fail the create (or, with -v, create a host dir); leave it out.
			mounts.push({Type: 'bind', Source: m.source, Target: m.destination, ReadOnly: !m.rw});
		} else if (m.type === 'tmpfs') {
			mounts.push({Type: 'tmpfs', Source: '', Target: m.destination, ReadOnly: !m.rw});
		}
	}

	return {mounts, tmpfs: Object.fromEntries(facts.tmpfs.map(t => [t, '']))};
}

export function probeLabels(role: 'twin' | 'cleaner', runId: string, of: string, extra: Record<string, string> = {}): Record<string, string> {
	return {...extra, [ROLE_LABEL]: role, [RUN_LABEL]: runId, [OF_LABEL]: of};
}

/**
 * The twin's create options. It is never started: the archive API reads a created container's volumes and binds,
 * so the image's own entrypoint and command are kept only to satisfy create, and the app never runs. Pure.
 */
export function twinCreateOptions(info: any, facts: ContainerFacts, runId: string, extraLabels: Record<string, string> = {}): Docker.ContainerCreateOptions {
	const {mounts, tmpfs} = twinMounts(facts);
	const hasCommand = Boolean(info.Config?.Entrypoint?.length || info.Config?.Cmd?.length);
	return {
		name: `occ-doctor-twin-${runId}`,
		Image: info.Image,
		// Something harmless to satisfy create when neither is set; never executed.
		...(hasCommand ? {Entrypoint: info.Config?.Entrypoint ?? undefined, Cmd: info.Config?.Cmd ?? undefined} : {Cmd: ['true']}),
		User: info.Config?.User ?? '',
		WorkingDir: info.Config?.WorkingDir ?? '',
		Labels: probeLabels('twin', runId, info.Id, extraLabels),
		NetworkDisabled: true,
		HostConfig: {
			NetworkMode: 'none',
			Mounts: mounts,
			Tmpfs: tmpfs,
			ReadonlyRootfs: Boolean(info.HostConfig?.ReadonlyRootfs),
			AutoRemove: false,
			RestartPolicy: {Name: 'no'},
		},
	};
}

/** Remove a twin or helper with the anonymous volumes it got. A twin already gone is fine. */
export async function removeHelper(engine: Engine, id: string): Promise<void> {
	try {
		await engine.docker.getContainer(id).remove({force: true, v: true});
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode !== 404) {
			throw explainEngineError(error, engine.target);
		}
	}
}

/** Every twin and helper container the probe made, from any run (or one run). */
export async function listHelpers(engine: Engine, runId?: string): Promise<Docker.ContainerInfo[]> {
	const filters = {label: [runId ? `${RUN_LABEL}=${runId}` : ROLE_LABEL]};
	const all = await engine.docker.listContainers({all: true, filters});
	return all.filter(c => c.Labels?.[ROLE_LABEL] === 'twin' || c.Labels?.[ROLE_LABEL] === 'cleaner');
}

/**
 * Remove files through a short-lived helper made from the same image with the same volume and bind mounts,
 * running `rm -f` as root. For a stopped or removed container whose image has rm. Returns true when rm exited 0.
 */
export async function removeWithHelper(engine: Engine, imageId: string, facts: ContainerFacts, paths: string[], runId: string, extraLabels: Record<string, string> = {}): Promise<boolean> {
	// The very same volumes (anonymous ones by name) and binds: the sentinels are on them.
	const needed: Docker.MountConfig = facts.mounts
		.filter(m => (m.type === 'volume' && m.name) || (m.type === 'bind' && m.source && facts.bindSourceExists[m.source] !== false))
		.map(m => ({Type: m.type as 'volume' | 'bind', Source: (m.type === 'volume' ? m.name : m.source) ?? '', Target: m.destination, ReadOnly: !m.rw}));
	const helper = await engine.docker.createContainer({
		Image: imageId,
		Entrypoint: ['rm'],
		Cmd: ['-f', ...paths],
		User: '0',
		Labels: probeLabels('cleaner', runId, facts.id, extraLabels),
		NetworkDisabled: true,
		HostConfig: {NetworkMode: 'none', Mounts: needed, RestartPolicy: {Name: 'no'}},
	});
	try {
		await helper.start();
		const result = await helper.wait() as {StatusCode?: number};
		return result.StatusCode === 0;
	} catch {
		return false;
	} finally {
		await removeHelper(engine, helper.id).catch(() => {});
	}
}
