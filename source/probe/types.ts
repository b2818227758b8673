// The probe's vocabulary: options, the plan shown before anything disruptive, the events it emits, and its result.
import type {DatabaseReport, Finding, Observation, Observed, Report} from '../core/types.js';

export const PROBE_STEPS = ['preparing', 'starting', 'writing', 'restarting', 'waiting', 'reading', 'recreate', 'cleanup', 'stopping'] as const;
export type ProbeStep = (typeof PROBE_STEPS)[number];

/** Labels on what the probe creates, so `probe --cleanup` finds it after an interrupted run. */
export const ROLE_LABEL = 'dev.occ-doctor.role';
export const RUN_LABEL = 'dev.occ-doctor.run';
export const OF_LABEL = 'dev.occ-doctor.of';
export const SENTINEL_PREFIX = '.occ-doctor-probe-';

export interface ProbeOptions {
	host?: string;
	context?: string;
	container?: string;
	paths?: string[];
	profile?: string;
	/** Skip the restart: write, recreate probe, clean up. Nothing disruptive. */
	noRestart?: boolean;
	/** How long to wait for running (and healthy) after the restart or start. Default: 120 s. */
	readyTimeoutMs?: number;
	/** Extra labels on twins and helper containers (tests use it). */
	labels?: Record<string, string>;
	/** Where the run's journal goes (see journal.ts). Default: $XDG_STATE_HOME/occ-doctor, else ~/.local/state/occ-doctor. */
	stateDir?: string;
	/** A fixed run id (tests); default random. */
	runId?: string;
	signal?: AbortSignal;
}

/** How a sentinel is written, read and removed at one probe directory. */
export type Channel = 'archive' | 'exec';

/** One directory the probe writes a sentinel into; several locations may share it. */
export interface ProbeTarget {
	/** The container directory the sentinel goes into. */
	dir: string;
	/** The sentinel's full container path. */
	sentinel: string;
	/** Location paths this directory stands for. */
	locations: string[];
	channel: Channel;
	/** null: will be written. Otherwise the observation both columns get without writing (unwritable or not probed). */
	skip: {observed: Observed | null; note: string} | null;
	/** Why a different directory than the location itself (the location does not exist yet). */
	note?: string;
	/** From the profile: root writes this directory (an entrypoint), so its owner and mode are not the app user's business. */
	writer?: 'root';
}

export interface ProbePlan {
	runId: string;
	container: {id: string; name: string; image: string; running: boolean; health: string | null; stopTimeout: number};
	targets: ProbeTarget[];
	/** True when the container will be restarted (running, or stopped and started with --yes). */
	restart: boolean;
	/** True when the container is stopped and will be started for the probe and stopped again. */
	startStopped: boolean;
	/** Lines saying what will happen, for a confirmation prompt or screen. */
	summary: string[];
}

export type ProbeEvent =
	| {type: 'plan'; plan: ProbePlan}
	| {type: 'step'; step: ProbeStep; detail?: string}
	| {type: 'sentinel'; dir: string; action: 'written' | 'unwritable' | 'skipped' | 'removed' | 'left'; note?: string}
	| {type: 'location'; path: string; observed: Observation}
	| {type: 'warning'; message: string};

export type ProbeListener = (event: ProbeEvent) => void;

export interface ProbeHooks {
	onEvent?: ProbeListener;
	/** Asked once, before the first disruptive step (restart or start). Return false to cancel (exit 2). */
	confirm?: (plan: ProbePlan) => Promise<boolean>;
}

/** `probe --json`: the check report with observed cells, plus what the probe did. */
export interface ProbeResult extends Report {
	probe: {
		runId: string;
		restarted: boolean;
		startedStopped: boolean;
		targets: Array<Omit<ProbeTarget, 'skip'> & {restart: Observed | null; recreate: Observed | null; note?: string}>;
		/** Milliseconds per step. */
		timings: Partial<Record<ProbeStep, number>>;
		state: {before: string; after: string};
		/** Sentinels that could not be removed (each with the command that removes it). Empty when clean. */
		leftovers: string[];
		/** Row counts before the restart and after (when database counting is available). */
		databases?: {before: DatabaseReport[]; after: DatabaseReport[]};
	};
}

export type {Finding, Observation, Observed};
