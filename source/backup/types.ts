// The vocabulary of `backup`: what the service plans, the events it emits while it runs, and the manifest it writes.
import type {ContainerSummary, Priority, StorageClass} from '../core/types.js';

/** One archive to write: one mount (named volume, anonymous volume or bind) of the container. */
export interface BackupUnit {
	/** File-name-safe and unique within the backup: `<name>.tar.gz`. */
	name: string;
	/** What the user sees: the profile's label of the mount's path, else a label from the mount. */
	label: string;
	containerPath: string;
	storage: StorageClass;
	priority: Priority;
	source: {type: 'volume' | 'bind'; name: string | null; path: string | null};
	/** A bind-mounted single file: its archive holds `./<basename>`. */
	isFile: boolean;
	/** Destinations of other mounts nested inside this one: their contents go into their own archives. */
	excluded: string[];
	/** Estimated content bytes, and where the estimate came from; null when unknown. */
	estimate: {bytes: number | null; from: 'disk-usage' | 'walk' | 'none'};
}

export interface DatabaseRecord {
	/** Path inside the archive, e.g. `./opencode.db`. */
	path: string;
	/** Exact row counts per table at the moment of the snapshot; null when the file could not be counted. */
	tables: Record<string, number> | null;
	/**
	 * How the consistent main + wal pair was obtained, before being checkpointed into one file: `stream`, teed from the
	 * archive's own stream and proven unchanged while it streamed; `snapshot`, copied again by snapshotDatabase.
	 */
	method: 'snapshot' | 'stream';
	/** Copies it took to get a pair that did not change while copied (1 for `stream`). */
	attempts: number;
	error: string | null;
}

export interface ArchiveRecord {
	file: string;
	label: string;
	source: BackupUnit['source'];
	containerPath: string;
	storage: StorageClass;
	priority: Priority;
	/** Content bytes of the regular files in the archive. */
	bytes: number;
	/** Regular files in the archive. */
	fileCount: number;
	/** Every entry: files, directories, symlinks, hard links. */
	entries: number;
	/** Size of the .tar.gz. */
	compressedBytes: number;
	sha256: string;
	databases: DatabaseRecord[];
	/** Nested mounts whose contents are left to their own archives. */
	excluded: string[];
	/** v2: the per-file index sidecar, `<name>.index.json.gz` (file-index.ts). */
	index?: string;
	/** Who read the mount: `tar` on the engine's own host (host-read.ts), or the engine's archive API. */
	reader?: 'host-tar' | 'archive-api';
	/** v2: the volume's driver and labels (compose's among them), to recreate it as it was; null for binds. */
	volume?: {driver: string; labels: Record<string, string>} | null;
}

export interface Manifest {
	format: 'occ-doctor-backup';
	/** 2 adds the per-file index and the volumes' driver and labels; restore reads 1 and 2. */
	version: 1 | 2;
	createdAt: string;
	container: ContainerSummary & {imageId: string};
	profile: string;
	/** True when the container was stopped for the backup (--stop). */
	stopped: boolean;
	gzipLevel: number;
	archives: ArchiveRecord[];
	verified: boolean;
	verifiedAt: string | null;
}

/** Events of a running backup, in order. The plain reporter, the JSON result and the TUI fold the same stream. */
export type BackupEvent =
	| {type: 'plan'; container: ContainerSummary; dir: string; units: BackupUnit[]}
	| {type: 'notice'; message: string}
	| {type: 'container'; action: 'stopping' | 'stopped' | 'starting' | 'started'; name: string}
	| {type: 'start'; location: string; total: number | null}
	/** bytes: source bytes read so far for this location; overall: across all locations. */
	| {type: 'progress'; location: string; bytes: number; total: number | null; files: number; overall: {bytes: number; total: number | null}}
	| {type: 'snapshot'; location: string; database: string; attempts: number; tables: Record<string, number> | null}
	| {type: 'written'; location: string; archive: ArchiveRecord}
	| {type: 'verify'; location: string; ok: boolean; error: string | null}
	| {type: 'done'; dir: string; manifest: Manifest};

export type BackupEmit = (event: BackupEvent) => void;

export interface BackupOptions {
	host?: string;
	context?: string;
	container?: string;
	profile?: string;
	/** Only these units: matched against name, label, container path or volume name. */
	only?: string[];
	/** Only these priorities. */
	priority?: Priority[];
	/** Output directory; default ./occ-doctor-backup-<container>-<UTC stamp>. */
	out?: string;
	/** Stop the container during the backup and start it again afterwards (the caller has confirmed). */
	stop?: boolean;
	gzipLevel?: number;
	/** `archive-api`: read every mount through the engine, never with tar on this host (host-read.ts). */
	reader?: 'auto' | 'archive-api';
	signal?: AbortSignal;
}

/** What `backup --verify DIR` finds for one archive. */
export interface VerifyResult {
	file: string;
	ok: boolean;
	error: string | null;
	sha256: string | null;
	entries: number;
}
