import {SCENARIOS} from './types.js';
import type {ContainerFacts, Location, Scenario, StorageClass, Survival} from './types.js';

/**
 * What survives what. Each rule here is measured by test/engine/matrix.test.ts on a real engine
 * (restart, stop-start, recreate and the three compose scenarios); docs/scenarios.md names the test behind each.
 * The occ-*, host-reboot and engine-reset rules follow from what those operations do and are documented, not measured.
 */
type Rule = Record<StorageClass, Survival>;

const ALL_KEPT_BUT_TMPFS: Rule = {
	'named-volume': 'kept',
	'anonymous-volume': 'kept',
	bind: 'kept',
	'bind-file': 'kept',
	tmpfs: 'lost',
	'container-layer': 'kept',
};

const RULES: Record<Scenario, Rule> = {
	// The same container keeps its writable layer and its volumes; tmpfs is unmounted on stop.
	restart: ALL_KEPT_BUT_TMPFS,
	'stop-start': ALL_KEPT_BUT_TMPFS,
	// `docker rm -f` (without -v) leaves the anonymous volume dangling; `docker run` makes a fresh one.
	recreate: {
		'named-volume': 'kept',
		'anonymous-volume': 'orphaned',
		bind: 'kept',
		'bind-file': 'kept',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
	// Compose carries anonymous volumes over to the replacement container.
	'compose-recreate': {
		'named-volume': 'kept',
		'anonymous-volume': 'kept',
		bind: 'kept',
		'bind-file': 'kept',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
	// `down` removes containers but not volumes: the anonymous ones stay on disk, attached to nothing.
	'compose-down-up': {
		'named-volume': 'kept',
		'anonymous-volume': 'orphaned',
		bind: 'kept',
		'bind-file': 'kept',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
	// `down -v` removes the project's named volumes and the containers' anonymous volumes; external volumes and binds stay.
	'compose-down-v': {
		'named-volume': 'lost',
		'anonymous-volume': 'lost',
		bind: 'kept',
		'bind-file': 'kept',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
	// `occ update container` recreates the container with its named volumes but without the CLI's bind mounts.
	'occ-update': {
		'named-volume': 'kept',
		'anonymous-volume': 'orphaned',
		bind: 'orphaned',
		'bind-file': 'orphaned',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
	// `occ reset container` removes and recreates the container from the CLI's configuration, mounts included.
	'occ-reset': {
		'named-volume': 'kept',
		'anonymous-volume': 'orphaned',
		bind: 'kept',
		'bind-file': 'kept',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
	// `--volumes` also removes the named volumes; host directories behind binds are not touched.
	'occ-reset-volumes': {
		'named-volume': 'lost',
		'anonymous-volume': 'orphaned',
		bind: 'kept',
		'bind-file': 'kept',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
	// A reboot stops and (per restart policy) starts the same container: like stop-start.
	'host-reboot': ALL_KEPT_BUT_TMPFS,
	// Wiping Docker's data directory (or a Desktop factory reset) removes containers and volumes; host dirs stay.
	'engine-reset': {
		'named-volume': 'lost',
		'anonymous-volume': 'lost',
		bind: 'kept',
		'bind-file': 'kept',
		tmpfs: 'lost',
		'container-layer': 'lost',
	},
};

export function scenarioApplies(scenario: Scenario, facts: Pick<ContainerFacts, 'labels'>, profileName: string): boolean {
	if (scenario.startsWith('compose-')) {
		return Boolean(facts.labels['com.docker.compose.project']);
	}

	if (scenario.startsWith('occ-')) {
		return profileName === 'opencode-cloud';
	}

	return true;
}

export function survivalOf(scenario: Scenario, location: Pick<Location, 'storage' | 'external' | 'mount'>, facts: Pick<ContainerFacts, 'autoRemove'>): Survival {
	if (scenario === 'compose-down-v' && location.storage === 'named-volume' && location.external) {
		return 'kept';
	}

	// Measured: stopping a `--rm` container removes it with its anonymous volumes (the daemon does the same to it at boot).
	// `docker rm -f` pre-empts that auto-removal, so on recreate its anonymous volumes are orphaned like anyone's.
	if (facts.autoRemove && (scenario === 'stop-start' || scenario === 'host-reboot') && (location.storage === 'anonymous-volume' || location.storage === 'container-layer')) {
		return 'lost';
	}

	return RULES[scenario][location.storage];
}

/** The matrix row of one location. Scenarios that do not apply to this container are null. */
export function survivalFor(location: Pick<Location, 'storage' | 'external' | 'mount'>, facts: ContainerFacts, profileName?: string): Record<Scenario, Survival | null> {
	const row = {} as Record<Scenario, Survival | null>;
	for (const scenario of SCENARIOS) {
		row[scenario] = scenarioApplies(scenario, facts, profileName ?? '') ? survivalOf(scenario, location, facts) : null;
	}

	return row;
}

/** Operations after which the engine, not the user, decides whether the container runs again. */
export const COMES_BACK_SCENARIOS = ['host-reboot', 'engine-restart'] as const;
export type ComesBackScenario = (typeof COMES_BACK_SCENARIOS)[number];

/**
 * Does the container start again by itself after a host reboot or an engine restart? Only a restart policy of
 * `always` or `unless-stopped` brings it back (a container the user stopped by hand with `unless-stopped` stays down);
 * `on-failure` and `no` leave it stopped, and a `--rm` container is removed. See docs/scenarios.md.
 */
export function comesBackOf(facts: Pick<ContainerFacts, 'restartPolicy' | 'autoRemove'>): Record<ComesBackScenario, boolean> {
	const back = !facts.autoRemove && (facts.restartPolicy === 'always' || facts.restartPolicy === 'unless-stopped');
	return {'host-reboot': back, 'engine-restart': back};
}
