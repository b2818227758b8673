// The persistence model's vocabulary. One word for one idea across code, JSON and screens.

export const STORAGE_CLASSES = [
	'named-volume',
	'anonymous-volume',
	'bind',
	'bind-file',
	'tmpfs',
	'container-layer',
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

export const SCENARIOS = [
	'restart',
	'stop-start',
	'recreate',
	'compose-recreate',
	'compose-down-up',
	'compose-down-v',
	'occ-update',
	'occ-reset',
	'occ-reset-volumes',
	'host-reboot',
	'engine-reset',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export type Survival = 'kept' | 'orphaned' | 'lost';
/** Most important first: the order of backups, of lists and of `--priority`. */
export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export type LocationKind = 'dir' | 'file' | 'sqlite';
/** What the product needs from a location: kept across recreates, or only read from the image. */
export type Expectation = 'persistent' | 'read-only' | 'ephemeral' | 'unknown';
export type Severity = 'error' | 'warning' | 'info';

/** A mount as the engine reports it, normalised. */
export interface MountFacts {
	type: 'volume' | 'bind' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
	/** Volume name; null for binds and tmpfs. */
	name: string | null;
	/** Host path for binds, the volume's mountpoint for volumes, null for tmpfs. */
	source: string | null;
	destination: string;
	rw: boolean;
	driver: string | null;
}

export interface VolumeFacts {
	name: string;
	driver: string;
	labels: Record<string, string>;
	mountpoint: string | null;
	/**
	 * The names of the driver's options (`type`, `o`, `device` for an NFS or tmpfs local volume; their values can hold
	 * passwords and are not kept); absent when the engine did not say.
	 */
	options?: string[];
}

/** Everything the model needs about one container, gathered by source/docker. No I/O happens after this. */
export interface ContainerFacts {
	id: string;
	name: string;
	image: string;
	imageId: string;
	state: {status: string; running: boolean; health: string | null};
	labels: Record<string, string>;
	env: Record<string, string>;
	user: string;
	readonlyRootfs: boolean;
	mounts: MountFacts[];
	/** HostConfig.Tmpfs: `--tmpfs` mounts, which do not appear in Mounts. */
	tmpfs: string[];
	/** The image's VOLUME paths. */
	imageVolumes: string[];
	/** Volume inspect results by name (labels tell anonymous and compose-owned volumes apart). */
	volumes: Record<string, VolumeFacts>;
	/** For each bind source: does it exist on the host? null when the engine is remote and we can't tell. */
	bindSourceExists: Record<string, boolean | null>;
	/** For each bind source: is it a regular file? (`bind-file`) */
	bindSourceIsFile: Record<string, boolean>;
	/**
	 * Why a call to the engine's archive API would change the host, or null when it is safe: the engine sets up every
	 * mount of the container for each such call and creates a missing `-v` bind source as a directory.
	 */
	archiveRisk: string | null;
	/**
	 * The `-v` bind sources missing on the engine's host (any bind's, in fact) and those it could not see: while either
	 * list is not empty, backup, probe and restore refuse (source/docker/bind-guard.ts).
	 */
	bindsAtRisk: {missing: string[]; unknown: string[]};
	/** The container's writable layer on the host (overlay2's UpperDir): files made in the container, not the image's. */
	layerDir: string | null;
	/** The image's layers on the host, top first (overlay2's LowerDir); empty when unknown. */
	imageLayerDirs: string[];
	/** Does each candidate location exist in the container? null when it could not be told without a side effect. */
	pathExists: Record<string, boolean | null>;
	/** Owner and mode of each existing writable data location, read without a side effect; missing when not read. */
	pathOwners: Record<string, {uid: number; gid: number; mode: number}>;
	/** The container's user resolved through its /etc/passwd and /etc/group; null when they could not be read safely. */
	appUser: {uid: number; gid: number; groups: number[]} | null;
	/** True when the container's logs contain the opencode-cloud entrypoint's persistence warning. */
	persistenceWarningInLogs: boolean;
	restartPolicy: string;
	autoRemove: boolean;
	/** The main process: inspect's Path then Args (`redis-server --appendonly yes`). Absent in old recordings. */
	command?: string[];
	/** Config.WorkingDir ('' means /): where a relative Redis `dir` points. */
	workingDir?: string;
}

export interface ProfileLocation {
	/** Container path; may use ${HOME}, ${XDG_DATA_HOME:-...} style references resolved from the container's env. */
	path: string;
	label: string;
	priority: Priority;
	kind: LocationKind;
	expected?: Expectation;
	/** Named volume this location is meant to live on (opencode-cloud), used only in fixes. */
	volume?: string;
	/** Host path the opencode-cloud CLI binds here, used only in fixes. */
	cliBind?: string;
	/** The product creates and writes this path at run time, so its absence now is no comfort: it lands on the layer. */
	writesAtRuntime?: boolean;
	/** Who writes it: `root` (an entrypoint running as root), else the container's user. */
	writer?: 'root' | 'app';
}

export interface Profile {
	name: string;
	title: string;
	description: string;
	locations: ProfileLocation[];
	/** A line the product's entrypoint logs when its data is not persisted: check reads the logs only for such profiles. */
	entrypointWarning?: string;
}

export interface MountRef {
	type: MountFacts['type'];
	name: string | null;
	source: string | null;
	destination: string;
	rw: boolean;
}

export interface Location {
	path: string;
	label: string;
	priority: Priority;
	kind: LocationKind;
	expected: Expectation;
	/** Where the location came from: the profile, a mount, an image VOLUME, or --path. */
	origin: 'profile' | 'mount' | 'image-volume' | 'user';
	storage: StorageClass;
	readOnly: boolean;
	mount: MountRef | null;
	/** The host path behind it (bind source or volume mountpoint), if any. */
	hostSource: string | null;
	compose: {project: string; service: string} | null;
	/** True when the covering volume is not owned by the compose project (declared `external`). */
	external: boolean;
	survives: Record<Scenario, Survival | null>;
	/** Does the path exist in the container? null when it could not be told without a side effect. */
	exists: boolean | null;
	/** From the profile: the product writes here at run time (absent now, it will land where its mount says). */
	writesAtRuntime?: boolean;
	/** From the profile: `root` when an entrypoint running as root writes it; absent means the container's user. */
	writer?: 'root';
	/** Owner and mode now (a side-effect-free read); absent when not read. */
	owner?: {uid: number; gid: number; mode: string};
	/** Filled by `probe`: what a sentinel written here did, observed on the real engine. */
	observed?: Observation;
}

export type Observed = 'kept' | 'lost' | 'unwritable';
export interface Observation {
	restart: Observed | null;
	recreate: Observed | null;
	/** Why a location could not be probed or written (read-only, permission denied, single file). */
	note?: string;
}

/** One step of a fix: a command that runs as printed, or advice only a person can follow (source/core/fix.ts). */
export type FixStep = {command: string; label?: string} | {advice: string};

export interface Finding {
	code: string;
	severity: Severity;
	path: string | null;
	message: string;
	/** The steps in one line, for people. */
	fix: string;
	/** The same steps, each marked command or advice, for scripts. */
	steps: FixStep[];
}

export interface ContainerSummary {
	id: string;
	name: string;
	image: string;
	compose: {project: string; service: string} | null;
}

/** Which engine was examined, and how it was reached (set by `check`, absent in pure analyses). */
export interface EngineSummary {
	/** The docker context that chose it; null when --host or DOCKER_HOST did (or nothing did: the default socket). */
	context: string | null;
	host: string;
	transport: 'unix' | 'tcp' | 'tls' | 'ssh';
}

export interface Report {
	schemaVersion: number;
	engine?: EngineSummary;
	container: ContainerSummary;
	profile: {name: string; title: string; detectedBy: string};
	locations: Location[];
	findings: Finding[];
	/** Added by database discovery (source/sqlite). */
	databases?: DatabaseReport[];
	legacyStorage?: LegacyStorageReport[];
	/** Data locations database discovery did not search (workspaces, caches), with the reason in brackets. */
	databasesSkipped?: string[];
	/** The container's restart policy (`no` when none is set). */
	restartPolicy: string;
	/** Whether the container starts again by itself after each of these (its restart policy decides). */
	comesBack: {'host-reboot': boolean; 'engine-restart': boolean};
	/** A Redis container's persistence settings (source/core/redis.ts). */
	redis?: RedisSettings;
	/** Every service of the container's compose project, this one included (absent outside compose and with --service). */
	services?: ServiceReport[];
	/** Where the time went (docs/json.md): engine requests made, and ms per phase. */
	timings?: Timings;
}

/** What Redis does with its data, and where each value was read. */
export interface RedisSettings {
	/** The append-only file: every write logged, replayed at start. */
	appendonly: boolean;
	/** RDB snapshot schedule, pairs of "seconds changes"; "" means no snapshots. */
	save: string;
	/** Absolute directory of dump.rdb and the AOF. */
	dir: string;
	/** Where each value came from: `CONFIG GET` (the running server), `command line`, the config file's path, or `default`. */
	from: {appendonly: string; save: string; dir: string};
	configFile: string | null;
	/** What could not be read, and why (no redis-cli in the image, a password, a stopped container). */
	notes: string[];
}

/** One service of a compose project, as the stack overview shows it. */
export interface ServiceReport {
	/** The compose service name. */
	name: string;
	container: {id: string; name: string; state: string};
	/** The profile it was checked with; null when it could not be checked. */
	profile: string | null;
	verdict: 'ok' | 'warnings' | 'errors';
	counts: {errors: number; warnings: number; infos: number};
	findings: Finding[];
	redis?: RedisSettings;
	/** Why it could not be checked (then verdict is errors). */
	error?: string;
}


export interface Timings {
	/** HTTP requests to the engine, streams included, from the first ping on. */
	requests: number;
	/** ms per phase: connect, inspect, discover, copy, count, integrity (only those that ran). */
	phases: Record<string, number>;
}

export interface DatabaseReport {
	path: string;
	engine: 'sqlite';
	sizeBytes: number | null;
	journalMode: string | null;
	walBytes: number | null;
	schemaVersion: {userVersion: number | null; migration: string | null} | null;
	tables: Record<string, number>;
	integrity: string | null;
	/** Why quick_check did not run: the database is over the default budget (docs/databases.md). */
	integritySkipped?: string;
	error: string | null;
}

export interface LegacyStorageReport {
	path: string;
	counts: Record<string, number>;
	/**
	 * Sessions opencode's JSON → SQLite migration would carry over (their project file exists) that are not in the
	 * opencode.db beside storage/; absent when there is no readable opencode.db there. `ids`: the first few.
	 */
	notInDatabase?: {count: number; ids: string[]};
	/** Sessions the migration skips because their project file is missing (storage/session/<project>/<id>.json). */
	orphans?: {count: number; ids: string[]};
}

export const SCHEMA_VERSION = 1;
