import {readFileSync} from 'node:fs';
import type {ContainerFacts, MountFacts} from '../../source/core/types.js';
import {factsFromInspect} from '../../source/docker/inspect.js';

/** Facts from a recorded `docker inspect` (test/fixtures/inspect/*.json). */
export function recordedFacts(name: string, host: Partial<Parameters<typeof factsFromInspect>[3]> = {}): ContainerFacts {
	const recorded = JSON.parse(readFileSync(new URL(`../fixtures/inspect/${name}.json`, import.meta.url), 'utf8'));
	return factsFromInspect(recorded.container, recorded.image, recorded.volumes, {
		bindSourceExists: {}, bindSourceIsFile: {}, persistenceWarningInLogs: false, ...host,
	});
}

/** Hand-made facts for pure model tests. */
export function makeFacts(partial: Partial<ContainerFacts> & {mounts?: MountFacts[]} = {}): ContainerFacts {
	return {
		id: 'f'.repeat(64),
		name: 'app',
		image: 'example/app:1',
		imageId: 'sha256:' + 'e'.repeat(64),
		state: {status: 'running', running: true, health: null},
		labels: {},
		env: {},
		user: '',
		readonlyRootfs: false,
		mounts: [],
		tmpfs: [],
		imageVolumes: [],
		volumes: {},
		bindSourceExists: {},
		bindSourceIsFile: {},
		archiveRisk: null,
		bindsAtRisk: {missing: [], unknown: []},
		layerDir: null,
		imageLayerDirs: [],
		pathExists: {},
		pathOwners: {},
		appUser: null,
		persistenceWarningInLogs: false,
		restartPolicy: '',
		autoRemove: false,
		...partial,
	};
}

export const vol = (name: string, destination: string, rw = true): MountFacts => ({type: 'volume', name, source: `/var/lib/docker/volumes/${name}/_data`, destination, rw, driver: 'local'});
export const bind = (source: string, destination: string, rw = true): MountFacts => ({type: 'bind', name: null, source, destination, rw, driver: null});
