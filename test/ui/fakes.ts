// Scripted probe, backup and restore services for the screen tests: they emit the events the real ones do, at once,
// and can hold at a gate so a test sees the running state, or be aborted like the real ones (clean up, then throw).
import type {BackupEvent, BackupUnit, Manifest} from '../../source/backup/types.js';
import type {DatabaseReport, Location, Report} from '../../source/core/types.js';
import {DoctorError} from '../../source/docker/engine.js';
import {expectedObservation, probeFindings} from '../../source/probe/findings.js';
import type {ProbeEvent, ProbePlan, ProbeResult} from '../../source/probe/types.js';
import {compareCounts} from '../../source/sqlite/findings.js';
import type {BackupRunOptions, DoctorServices, ProbeRunOptions, RestoreArchiveChoice, RestoreRunOptions} from '../../source/ui/services.js';
import type {ArchiveOutcome, RestoreEvent, RestoreResult} from '../../source/restore/types.js';
import {fakeServices, gate, recordedInspection} from './helpers.js';

export function database(path: string, tables: Record<string, number>, extra: Partial<DatabaseReport> = {}): DatabaseReport {
	return {path, engine: 'sqlite', sizeBytes: 1_234_567, journalMode: 'wal', walBytes: 41_200, schemaVersion: {userVersion: 3, migration: '20250101_init'}, tables, integrity: 'ok', error: null, ...extra};
}

export const DB_PATH = '/home/opencoder/.local/share/opencode/opencode.db';

/** The recorded report with its probe observations: every restart kept, recreates as predicted but one surprise, and rows lost in `message`. */
export function probeResult(report: Report, options: {dropRows?: boolean} = {}): ProbeResult {
	const locations: Location[] = report.locations.map(l => ({
		...l,
		observed: {
			restart: expectedObservation(l.survives.restart),
			// .ssh is predicted lost on a recreate (container layer); observing it kept is a probe-mismatch.
			recreate: l.path === '/home/opencoder/.ssh' ? 'kept' : expectedObservation(l.survives.recreate),
		},
	}));
	const before = [database(DB_PATH, {session: 12, message: 340, part: 1200})];
	const after = [database(DB_PATH, {session: 12, message: options.dropRows === false ? 340 : 338, part: 1250}, {integrity: null})];
	return {
		...report,
		locations,
		findings: [...report.findings, ...probeFindings(locations), ...compareCounts(before, after)],
		databases: after,
		probe: {runId: 'r1', restarted: true, startedStopped: false, targets: [], timings: {preparing: 400, writing: 90, restarting: 1200, waiting: 300, reading: 80, recreate: 500, cleanup: 200}, state: {before: 'running', after: 'running'}, leftovers: [], databases: {before, after}},
	};
}

export function probePlan(report: Report): ProbePlan {
	const dirs = report.locations.filter(l => l.kind === 'dir').map(l => l.path);
	return {
		runId: 'r1',
		container: {id: 'c1', name: report.container.name, image: 'occ-test', running: true, health: null, stopTimeout: 10},
		targets: dirs.map(dir => ({dir, sentinel: `${dir}/.occ-doctor-probe-r1`, locations: [dir], channel: 'archive', skip: null})),
		restart: true,
		startStopped: false,
		summary: [
			`write ${dirs.length} sentinel files named .occ-doctor-probe-r1 (${dirs.join(', ')})`,
			`restart ${report.container.name} (docker restart, stop timeout 10 s) and wait until it runs`,
			'create a twin container (never started, no network) with the mounts a recreate would give, read the sentinels through it, and remove it',
			'remove every sentinel',
		],
	};
}

export interface FakeProbe {
	services: DoctorServices;
	/** Every event the fake emitted, in order: a test checks nothing was written before the answer. */
	emitted: ProbeEvent[];
	/** Open to let a held probe go past the restart. */
	release(): void;
	runs: ProbeRunOptions[];
}

/** A probe service that plans, asks, writes, (holds at the restart when hold), reads, and cleans up when aborted. */
export function fakeProbe(options: {hold?: boolean; dropRows?: boolean; withDatabases?: boolean; mutate?: (report: Report) => void} = {}): FakeProbe {
	const inspection = recordedInspection(report => {
		if (options.withDatabases) {
			report.databases = [database(DB_PATH, {session: 12, message: 340, part: 1200})];
		}

		options.mutate?.(report);
	});
	const emitted: ProbeEvent[] = [];
	const runs: ProbeRunOptions[] = [];
	const held = gate();
	if (!options.hold) {
		held.open();
	}

	const services: DoctorServices = {
		...fakeServices({inspection}),
		async containerState() {
			return 'running';
		},
		async probe(_ref, run, hooks) {
			runs.push(run);
			const emit = (event: ProbeEvent) => {
				emitted.push(event);
				hooks.onEvent(event);
			};

			const report = inspection.report;
			const plan = probePlan(report);
			emit({type: 'step', step: 'preparing'});
			emit({type: 'plan', plan});
			if (!(await hooks.confirm(plan))) {
				throw new DoctorError(`probe cancelled: nothing was written and ${plan.container.name} was not restarted`, 'declined');
			}

			emit({type: 'step', step: 'writing'});
			for (const t of plan.targets) {
				emit({type: 'sentinel', dir: t.dir, action: 'written'});
			}

			emit({type: 'step', step: 'restarting', detail: 'stop timeout 10 s'});
			await held.wait(run.signal);
			const cleanup = () => {
				emit({type: 'step', step: 'cleanup'});
				for (const t of plan.targets) {
					emit({type: 'sentinel', dir: t.dir, action: 'removed'});
				}
			};

			if (run.signal.aborted) {
				cleanup();
				throw run.signal.reason instanceof DoctorError ? run.signal.reason : new DoctorError('interrupted', 'interrupted');
			}

			emit({type: 'step', step: 'waiting', detail: 'running'});
			emit({type: 'step', step: 'reading'});
			emit({type: 'step', step: 'recreate', detail: 'twin occ-doctor-twin-r1'});
			cleanup();
			const result = probeResult(report, {dropRows: options.dropRows});
			for (const l of result.locations) {
				emit({type: 'location', path: l.path, observed: l.observed!});
			}

			return result;
		},
	};
	return {services, emitted, release: held.open, runs};
}

export function unit(name: string, label: string, containerPath: string, priority: BackupUnit['priority'], bytes: number | null): BackupUnit {
	return {name, label, containerPath, storage: 'named-volume', priority, source: {type: 'volume', name, path: null}, isFile: false, excluded: [], estimate: {bytes, from: bytes === null ? 'none' : 'disk-usage'}};
}

export const UNITS: BackupUnit[] = [
	unit('opencode-data', 'sessions & project data', '/home/opencoder/.local/share/opencode', 'critical', 200_000_000),
	unit('opencode-ssh', 'SSH keys', '/home/opencoder/.ssh', 'high', 4_000),
	unit('opencode-config', 'opencode config', '/home/opencoder/.config/opencode', 'medium', 12_000),
	unit('opencode-cache', 'cache (regenerable)', '/home/opencoder/.cache/opencode', 'low', 90_000_000),
];

export interface FakeBackup {
	services: DoctorServices;
	runs: BackupRunOptions[];
	release(): void;
	/** Files "left" by the fake: final names only after done, none after an abort. */
	finalFiles: string[];
}

/** A backup service that emits a plan, half of the first location (then holds when hold), the rest, verification and done. */
export function fakeBackup(options: {hold?: boolean} = {}): FakeBackup {
	const runs: BackupRunOptions[] = [];
	const finalFiles: string[] = [];
	const held = gate();
	if (!options.hold) {
		held.open();
	}

	const inspection = recordedInspection();
	const services: DoctorServices = {
		...fakeServices({inspection}),
		async backupChoices() {
			return {units: UNITS, dir: '/backups/occ-doctor-backup-opencode-cloud-sandbox-20260101T000000Z'};
		},
		async backup(_ref, run, emit: (e: BackupEvent) => void) {
			runs.push(run);
			const units = UNITS.filter(u => run.only.includes(u.name));
			const total = units.reduce((n, u) => n + (u.estimate.bytes ?? 0), 0);
			emit({type: 'plan', container: inspection.report.container, dir: run.out, units});
			emit({type: 'notice', message: 'the backup holds credentials and SSH keys'});
			let done = 0;
			for (const [i, u] of units.entries()) {
				const bytes = u.estimate.bytes ?? 0;
				emit({type: 'start', location: u.name, total: u.estimate.bytes});
				emit({type: 'progress', location: u.name, bytes: bytes / 2, total: u.estimate.bytes, files: 10, overall: {bytes: done + bytes / 2, total}});
				if (i === 0) {
					await held.wait(run.signal);
				}

				if (run.signal.aborted) {
					throw new DoctorError('interrupted', 'interrupted');
				}

				emit({type: 'progress', location: u.name, bytes, total: u.estimate.bytes, files: 20, overall: {bytes: done + bytes, total}});
				done += bytes;
				emit({type: 'written', location: u.name, archive: archive(u)});
			}

			for (const u of units) {
				emit({type: 'verify', location: u.name, ok: true, error: null});
			}

			const manifest: Manifest = {format: 'occ-doctor-backup', version: 1, createdAt: '2026-01-01T00:00:00Z', container: {...inspection.report.container, imageId: 'sha256:x'}, profile: 'opencode-cloud', stopped: run.stop, gzipLevel: 6, archives: units.map(archive), verified: true, verifiedAt: '2026-01-01T00:00:00Z'};
			finalFiles.push(...units.map(u => `${u.name}.tar.gz`), 'manifest.json');
			emit({type: 'done', dir: run.out, manifest});
			return {dir: run.out, manifest};
		},
	};
	return {services, runs, release: held.open, finalFiles};
}

function archive(u: BackupUnit) {
	return {file: `${u.name}.tar.gz`, label: u.label, source: u.source, containerPath: u.containerPath, storage: u.storage, priority: u.priority, bytes: u.estimate.bytes ?? 0, fileCount: 20, entries: 25, compressedBytes: Math.round((u.estimate.bytes ?? 0) / 3), sha256: 'ab'.repeat(32), databases: u.name === 'opencode-data' ? [{path: './opencode.db', tables: {session: 12, message: 340}, method: 'snapshot' as const, attempts: 1, error: null}] : [], excluded: []};
}

export const LONG_CONTAINER = 'opencode-cloud-sandbox-of-a-compose-project-with-a-long-name-1';
export const RESTORE_DIR = `/srv/backups/nightly/occ-doctor-backup-${LONG_CONTAINER}-20260101T000000Z`;
export const SAFETY_DIR = `/srv/backups/nightly/occ-doctor-pre-restore-${LONG_CONTAINER}-20260102T101010Z`;
export const RESTORE_ARCHIVES: RestoreArchiveChoice[] = [
	{name: 'opencode-data-with-a-long-compose-volume-name', label: 'sessions & project data', containerPath: '/home/opencoder/.local/share/opencode', compressedBytes: 60_000_000, bytes: 200_000_000},
	{name: 'opencode-ssh', label: 'SSH keys', containerPath: '/home/opencoder/.ssh', compressedBytes: 3_000, bytes: 4_000},
];

export interface FakeRestore {
	services: DoctorServices;
	previews: RestoreRunOptions[];
	runs: RestoreRunOptions[];
	release(): void;
}

function restoreOutcome(a: RestoreArchiveChoice, status: ArchiveOutcome['status'], preview: boolean): ArchiveOutcome {
	const databases = a.name.startsWith('opencode-data') ? [{path: './opencode.db', now: {session: 14, message: 360}, backup: {session: 12, message: 340}}] : [];
	return {file: `${a.name}.tar.gz`, label: a.label, containerPath: a.containerPath, target: `volume ${a.name}`, status, note: null, verify: status === 'restored' ? {ok: true, error: null} : null, databases: status === 'restored' ? databases.map(d => ({...d, now: d.backup})) : databases, ...(preview ? {preview: {added: 3, changed: 2, removed: 5, samples: {added: [], changed: [], removed: []}}} : {})};
}

/** A restore service that lists one backup, previews, restores (holding halfway when hold) and restores its safety copy. */
export function fakeRestore(options: {hold?: boolean; refuseAll?: string; notice?: string; rollBack?: string} = {}): FakeRestore {
	const previews: RestoreRunOptions[] = [];
	const runs: RestoreRunOptions[] = [];
	const held = gate();
	if (!options.hold) {
		held.open();
	}

	const inspection = recordedInspection(r => {
		r.container.name = LONG_CONTAINER;
	});
	const chosen = (o: RestoreRunOptions) => RESTORE_ARCHIVES.filter(a => o.only.length === 0 || o.only.includes(a.name));
	const result = (o: RestoreRunOptions, outcome: RestoreResult['outcome'], status: ArchiveOutcome['status']): RestoreResult => ({
		schemaVersion: 1, backup: o.dir, container: LONG_CONTAINER, archives: chosen(o).map(a => restoreOutcome(a, status, outcome === 'dry-run')),
		safetyCopy: outcome === 'restored' ? (o.dir === SAFETY_DIR ? `${SAFETY_DIR}-2` : SAFETY_DIR) : null,
		rollbackCommand: outcome === 'restored' ? `occ-doctor restore ${o.dir === SAFETY_DIR ? `${SAFETY_DIR}-2` : SAFETY_DIR} --container ${LONG_CONTAINER} --yes` : null,
		outcome, error: null,
	});
	const services: DoctorServices = {
		...fakeServices({inspection}),
		restoreBackups: async () => [{dir: RESTORE_DIR, createdAt: '2026-01-01T00:00:00Z', container: LONG_CONTAINER, archives: 2, compressedBytes: 60_003_000, verified: true, version: 2}],
		restoreArchives: async () => RESTORE_ARCHIVES,
		async restorePreview(_ref, o, emit) {
			previews.push(o);
			// A plan that refuses the backup whole (a single-file bind, say) but not a choice of archives.
			if (options.refuseAll && chosen(o).length === RESTORE_ARCHIVES.length) {
				throw new DoctorError(options.refuseAll);
			}

			if (options.notice) {
				emit({type: 'notice', message: options.notice});
			}

			const out = result(o, 'dry-run', 'planned');
			emit({type: 'done', result: out});
			return out;
		},
		async restore(_ref, o, emit: (e: RestoreEvent) => void) {
			runs.push(o);
			const archives = chosen(o);
			emit({type: 'plan', backup: o.dir, container: LONG_CONTAINER, archives: archives.map(a => restoreOutcome(a, 'planned', false)), stop: true, safetyCopy: '(made when the restore starts)'});
			emit({type: 'phase', phase: 'stopping', archive: null});
			if (options.notice) {
				emit({type: 'notice', message: options.notice});
			}

			for (const [i, a] of archives.entries()) {
				emit({type: 'phase', phase: 'extracting', archive: a.name});
				emit({type: 'progress', archive: a.name, phase: 'extracting', bytes: a.compressedBytes / 2, total: a.compressedBytes});
				if (i === 0) {
					await held.wait(o.signal);
				}

				if (o.signal.aborted) {
					throw new DoctorError('interrupted: the restore was rolled back, the old data is back', 'interrupted');
				}

				emit({type: 'progress', archive: a.name, phase: 'extracting', bytes: a.compressedBytes, total: a.compressedBytes});
				emit({type: 'verify', archive: a.name, ok: true, error: null});
			}

			const out = options.rollBack && o.dir !== SAFETY_DIR
				? {...result(o, 'rolled-back', 'rolled-back'), error: options.rollBack}
				: result(o, 'restored', 'restored');
			emit({type: 'done', result: out});
			return out;
		},
	};
	return {services, previews, runs, release: held.open};
}
