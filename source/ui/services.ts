import {resolve} from 'node:path';
import type {BackupEmit, BackupResult, BackupUnit} from '../backup/index.js';
import {defaultBackupDir, planBackup, readerFromEnv, runBackup, type BackupPlan} from '../backup/index.js';
import {runCheck, type CheckOptions} from '../check/check.js';
import type {ContainerFacts, Report} from '../core/types.js';
import {describeEngine, type Engine} from '../docker/engine.js';
import {findCandidates, type Candidate} from '../docker/inspect.js';
import {runProbe, type ProbeHooks, type ProbeResult} from '../probe/index.js';
import {readManifest} from '../backup/verify.js';
import {archiveName, planRestore, runRestore, type RestoreEmit, type RestorePlan, type RestoreResult} from '../restore/index.js';
import {findBackups, type FoundBackup} from '../restore/find.js';

/** One look at a container: the report, and the inspect facts behind it (shown in a location's details). */
export interface Inspection {
	report: Report;
	facts: ContainerFacts | null;
}

export interface ProbeRunOptions {
	noRestart: boolean;
	signal: AbortSignal;
}

/** What a backup would write, before anything is written: every volume and bind mount with estimates, and the default directory. */
export interface BackupChoices {
	units: BackupUnit[];
	dir: string;
}

export interface BackupRunOptions {
	/** Unit names to back up. */
	only: string[];
	out: string;
	stop: boolean;
	signal: AbortSignal;
}

/** One archive of a backup, as the Restore screen offers it. */
export interface RestoreArchiveChoice {
	/** The archive's file without .tar.gz: what --only names. */
	name: string;
	label: string;
	containerPath: string;
	compressedBytes: number;
	bytes: number;
}

export interface RestoreRunOptions {
	/** The backup directory. */
	dir: string;
	/** Archive names; empty: all. */
	only: string[];
	/** NAME=VOLUME, as rollbackCommand names them. */
	to?: string[];
	signal: AbortSignal;
}

/** What the screens need from the world. No React here; tests pass fakes that resolve at once. */
export interface DoctorServices {
	/** Where the engine is, for the header. */
	engineLabel: string;
	candidates(): Promise<Candidate[]>;
	check(containerRef: string): Promise<Inspection>;
	/** The Probe screen appears only when this exists. Throws a DoctorError (130 when aborted) after cleaning up. */
	probe?(containerRef: string, options: ProbeRunOptions, hooks: Required<ProbeHooks>): Promise<ProbeResult>;
	/** The container's state after a probe that failed or was cancelled, to say it was restored. */
	containerState?(containerRef: string): Promise<string | null>;
	/** The Backup screen appears only when these exist. */
	backupChoices?(containerRef: string, signal: AbortSignal): Promise<BackupChoices>;
	backup?(containerRef: string, options: BackupRunOptions, emit: BackupEmit): Promise<BackupResult>;
	/** The Restore screen appears only when these exist: the backups there are, newest first (reads only). */
	restoreBackups?(containerRef: string): Promise<FoundBackup[]>;
	restoreArchives?(dir: string): Promise<RestoreArchiveChoice[]>;
	/** Plan and preview (--dry-run): nothing is stopped or written. */
	restorePreview?(containerRef: string, options: RestoreRunOptions, emit: RestoreEmit): Promise<RestoreResult>;
	/** Restore in place, after the typed confirmation; rolls back and throws (130) when aborted. */
	restore?(containerRef: string, options: RestoreRunOptions, emit: RestoreEmit): Promise<RestoreResult>;
}

/** The real services over a connected engine: the same runCheck, runProbe and runBackup as the commands. */
/** Where the Restore screen looks for backups besides the current directory (`restore --out DIR`). */
export interface RestoreLookup {
	backupDirs?: string[];
}

export function engineServices(engine: Engine, options: Omit<CheckOptions, 'container' | 'host'> = {}, lookup: RestoreLookup = {}): DoctorServices {
	// The plan the Backup screen offered its choices from: the backup runs it, it does not inspect again.
	const backupPlans = new Map<string, BackupPlan>();
	// The plan the Restore screen previewed: the restore runs it (its archives were checked once, end to end).
	const restorePlans = new Map<string, RestorePlan>();
	const restoreKey = (ref: string, o: RestoreRunOptions) => JSON.stringify([ref, resolve(o.dir), o.only, o.to ?? []]);
	const restoreOptions = (ref: string, o: RestoreRunOptions) => ({container: ref, dir: o.dir, only: o.only, to: o.to, signal: o.signal});
	return {
		engineLabel: describeEngine(engine.target),
		candidates: async () => findCandidates(engine),
		async check(containerRef) {
			const {report, facts} = await runCheck({...options, container: containerRef}, engine);
			return {report, facts};
		},
		async probe(containerRef, {noRestart, signal}, hooks) {
			return runProbe({container: containerRef, paths: options.paths, profile: options.profile, noRestart, signal}, hooks, engine);
		},
		async containerState(containerRef) {
			return engine.docker.getContainer(containerRef).inspect().then(i => (i.State?.Status as string | undefined) ?? null, () => null);
		},
		async backupChoices(containerRef, signal) {
			const plan = await planBackup({container: containerRef, profile: options.profile, signal}, engine);
			backupPlans.set(containerRef, plan);
			return {units: plan.all, dir: resolve(defaultBackupDir(plan.facts.name))};
		},
		async backup(containerRef, {only, out, stop, signal}, emit) {
			return runBackup({container: containerRef, profile: options.profile, only, out, stop, reader: readerFromEnv(process.env), signal}, emit, engine, backupPlans.get(containerRef));
		},
		restoreBackups: async () => findBackups(['.', ...(lookup.backupDirs ?? [])]),
		async restoreArchives(dir) {
			const manifest = await readManifest(dir);
			return manifest.archives.map(a => ({name: archiveName(a), label: a.label, containerPath: a.containerPath, compressedBytes: a.compressedBytes, bytes: a.bytes}));
		},
		async restorePreview(containerRef, o, emit) {
			const plan = await planRestore(restoreOptions(containerRef, o), engine, emit);
			const result = await runRestore(plan, {...restoreOptions(containerRef, o), dryRun: true}, emit);
			restorePlans.set(restoreKey(containerRef, o), plan);
			return result;
		},
		async restore(containerRef, o, emit) {
			const key = restoreKey(containerRef, o);
			const plan = restorePlans.get(key) ?? await planRestore(restoreOptions(containerRef, o), engine, emit);
			restorePlans.delete(key);
			return runRestore(plan, restoreOptions(containerRef, o), emit);
		},
	};
}
