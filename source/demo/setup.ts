import {existsSync} from 'node:fs';
import {OPENCODE_CLOUD_VOLUMES} from '../core/profiles.js';
import {explainEngineError, DoctorError, type Engine} from '../docker/engine.js';
import {BUSYBOX, buildBusyboxImage} from '../docker/fixture-image.js';

/** Everything the demo makes carries this label with the demo's id: cleanup finds it all, even after a crash. */
export const DEMO_LABEL = 'dev.occ-doctor.demo';
const HOME = '/home/opencoder';
/** The one critical path the demo leaves on an anonymous volume (an image VOLUME), so the doctor has something real to find. */
export const DEMO_ANONYMOUS = `${HOME}/workspace`;

export interface DemoSetup {
	id: string;
	containerId: string;
	containerName: string;
	volumes: string[];
	image: string;
}

// A small, believable file tree: sessions in opencode's JSON layout, a repository, a key, a user, a config.
const SEED = [
	`mkdir -p ${HOME}/.local/share/opencode/storage/session/demo-project ${HOME}/.local/share/opencode/storage/message/ses_demo1 ${DEMO_ANONYMOUS}/demo-repo/.git ${HOME}/.ssh ${HOME}/.config/opencode ${HOME}/.local/state/opencode ${HOME}/.cache/opencode /var/lib/opencode-users`,
	`[ -f ${DEMO_ANONYMOUS}/demo-repo/README.md ] || {`,
	`echo '{"id":"ses_demo1","projectID":"demo-project","title":"Fix the flaky upload test"}' > ${HOME}/.local/share/opencode/storage/session/demo-project/ses_demo1.json;`,
	`echo '{"id":"msg_1","sessionID":"ses_demo1","role":"user"}' > ${HOME}/.local/share/opencode/storage/message/ses_demo1/msg_1.json;`,
	`echo '# demo-repo' > ${DEMO_ANONYMOUS}/demo-repo/README.md; echo 'ref: refs/heads/main' > ${DEMO_ANONYMOUS}/demo-repo/.git/HEAD;`,
	`echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDEMO demo@occ-doctor' > ${HOME}/.ssh/id_ed25519.pub;`,
	`echo 'opencoder:x:1000:1000' > /var/lib/opencode-users/users;`,
	`echo '{"theme":"dark"}' > ${HOME}/.config/opencode/opencode.json;`,
	'};',
	'trap "exit 0" TERM INT; while true; do sleep 1 & wait $!; done',
].join(' ');

/** Build the image, create the volumes, start the container. Checks the signal between steps so Ctrl+C stops early. */
export async function createDemo(engine: Engine, id: string, signal: AbortSignal, log: (line: string) => void): Promise<DemoSetup> {
	if (!existsSync(BUSYBOX)) {
		throw new DoctorError(`the demo builds its image from ${BUSYBOX}, which is missing: sudo apt-get install busybox-static`);
	}

	const {docker} = engine;
	const labels = {[DEMO_LABEL]: id};
	const image = `occ-doctor-demo/sandbox:${id}`;
	const containerName = `occ-doctor-demo-sandbox-${id}`;
	try {
		log(`building ${image} from busybox (no registry needed)…`);
		await buildBusyboxImage(docker, {tag: image, labels, volumes: [DEMO_ANONYMOUS], env: {HOME}});
		signal.throwIfAborted();

		const named = OPENCODE_CLOUD_VOLUMES.filter(v => v.path !== DEMO_ANONYMOUS);
		const volumes: string[] = [];
		for (const v of named) {
			const name = `${v.volume}-${id}`;
			await docker.createVolume({Name: name, Labels: labels});
			volumes.push(name);
		}

		signal.throwIfAborted();
		log(`starting ${containerName}: ${volumes.length} named volumes, ${DEMO_ANONYMOUS} left on an anonymous volume…`);
		const container = await docker.createContainer({
			name: containerName,
			Image: image,
			Cmd: ['/bin/sh', '-c', SEED],
			Labels: {...labels, 'managed-by': 'opencode-cloud'},
			HostConfig: {
				NetworkMode: 'none',
				Mounts: named.map((v, i) => ({Type: 'volume' as const, Source: volumes[i]!, Target: v.path})),
			},
		});
		await container.start();
		signal.throwIfAborted();
		return {id, containerId: container.id, containerName, volumes, image};
	} catch (error) {
		throw signal.aborted ? signal.reason : explainEngineError(error, engine.target);
	}
}

/** Remove what the demo with this id made: containers (with their anonymous volumes), named volumes, the image. */
export async function removeDemo(engine: Engine, id: string): Promise<{containers: number; volumes: number; images: number}> {
	const {docker} = engine;
	const filter = {label: [`${DEMO_LABEL}=${id}`]};
	const removed = {containers: 0, volumes: 0, images: 0};
	for (const c of await docker.listContainers({all: true, filters: filter})) {
		// v: true takes the anonymous volume (the workspace) with it.
		await docker.getContainer(c.Id).remove({force: true, v: true});
		removed.containers++;
	}

	const {Volumes: volumes} = await docker.listVolumes({filters: filter});
	for (const v of volumes ?? []) {
		await docker.getVolume(v.Name).remove({force: true});
		removed.volumes++;
	}

	for (const image of await docker.listImages({filters: filter})) {
		await docker.getImage(image.Id).remove({force: true});
		removed.images++;
	}

	return removed;
}
