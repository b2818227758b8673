// Plan a restore, reading only: which archives, into which targets, every archive checked end to end (gzip, tar,
// sha256, tar-slip), each target measured (empty? room?). Any refusal here is exit 2 with nothing changed.
import {randomBytes} from 'node:crypto';
import {join, posix, resolve} from 'node:path';
import type Docker from 'dockerode';
import {readIndex, type IndexEntry} from '../backup/file-index.js';
import type {ArchiveRecord, Manifest} from '../backup/types.js';
import {readManifest} from '../backup/verify.js';
import {normalisePath} from '../core/profiles.js';
import {refuseContainerAtRisk} from '../docker/bind-guard.js';
import {DoctorError, explainEngineError, type Engine} from '../docker/engine.js';
import {compareTrees, describeDiff} from './compare.js';
import {describeTarget, helperImage, measureTarget, type Target, type TargetState} from './engine-side.js';
import {hostDirOf, hostWork, measureHostDir, stageable, type HostWork} from './local.js';
import {newTargetRooms} from './room.js';
import {scanArchive} from './scan.js';
import type {ArchiveOutcome, RestoreEmit, RestoreOptions} from './types.js';
import {formatBytes} from '../report/text.js';

export interface PlanItem {
	record: ArchiveRecord;
	/** The .tar.gz on this machine. */
	file: string;
	/** Every entry, from the v2 sidecar or (v1) from the archive itself. */
	index: IndexEntry[];
	target: Target;
	/** The target is the container's mount at the archive's path now. */
	current: boolean;
	exists: boolean;
	state: TargetState | null;
	/** A rehearsal reports damage instead of refusing. */
	damage: string | null;
	/**
	 * The target's host directory, written directly in one pass (local.ts); null: through the engine. When set, the
	 * archive has not been read yet: the restore checks it while it writes the staging directory.
	 */
	host: HostWork | null;
	outcome: ArchiveOutcome;
}

export interface RestorePlan {
	engine: Engine;
	dir: string;
	manifest: Manifest;
	container: {id: string; name: string; info: any};
	image: string;
	runId: string;
	items: PlanItem[];
	/** Archives that cannot be restored this way (a single-file bind), reported as skipped. */
	skipped: ArchiveOutcome[];
}

/** Disk blocks: each entry takes at least one. */
const BLOCK = 4096;

export function archiveName(record: ArchiveRecord): string {
	return record.file.replace(/\.tar\.gz$/, '');
}

function matches(record: ArchiveRecord, name: string): boolean {
	const wanted = name.trim().toLowerCase();
	return [archiveName(record), record.label, record.containerPath, record.source.name ?? ''].some(v => v.toLowerCase() === wanted);
}

/** `--to NAME=VOLUME` and `--to NAME=/host/dir`. */
export function parseTo(values: string[]): Array<{name: string; target: Target}> {
	return values.map(value => {
		const at = value.indexOf('=');
		const name = value.slice(0, at).trim();
		const where = value.slice(at + 1).trim();
		if (at <= 0 || !where) {
			throw new DoctorError(`cannot read --to ${value}: use --to NAME=VOLUME or --to NAME=/host/dir`);
		}

		return {name, target: where.startsWith('/') ? {kind: 'bind', name: normalisePath(where)} : {kind: 'volume', name: where}};
	});
}

/** Disk space the archive's entries need: content rounded up to blocks, a block per other entry. */
export function neededBytes(index: IndexEntry[]): number {
	return index.reduce((sum, e) => sum + (e.type === 'file' ? Math.ceil(e.size / BLOCK) * BLOCK : BLOCK), 0);
}

function mountAt(info: any, path: string): {Type: string; Name?: string; Source: string} | undefined {
	return (info.Mounts ?? []).find((m: any) => normalisePath(m.Destination) === normalisePath(path) && (m.Type === 'volume' || m.Type === 'bind'));
}

function currentTarget(info: any, path: string): Target | null {
	const mount = mountAt(info, path);
	if (!mount) {
		return null;
	}

	return mount.Type === 'volume' ? {kind: 'volume', name: mount.Name!} : {kind: 'bind', name: mount.Source};
}

async function inspectContainer(engine: Engine, ref: string): Promise<any> {
	try {
		return await engine.docker.getContainer(ref).inspect();
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			throw new DoctorError(`no container ${ref} on ${engine.target.label}: pass --container with the container to restore into (\`docker ps -a\` lists them)`);
		}

		throw explainEngineError(error, engine.target);
	}
}

async function volumeExists(docker: Docker, name: string): Promise<boolean> {
	try {
		await docker.getVolume(name).inspect();
		return true;
	} catch (error) {
		if ((error as {statusCode?: number}).statusCode === 404) {
			return false;
		}

		throw error;
	}
}

/** The archive, checked: damage and unsafe entries refuse (damage is only reported when rehearsing). */
async function checkArchive(dir: string, record: ArchiveRecord, options: RestoreOptions, emit: RestoreEmit): Promise<{index: IndexEntry[]; damage: string | null}> {
	emit({type: 'phase', phase: 'checking', archive: archiveName(record)});
	const file = join(dir, record.file);
	const scan = await scanArchive(file, {sha256: record.sha256, entries: record.entries}, options.signal, bytes => {
		emit({type: 'progress', archive: archiveName(record), phase: 'checking', bytes, total: record.compressedBytes});
	}, !record.index);
	if (scan.unsafe) {
		throw new DoctorError(`${scan.unsafe}: refused, nothing was changed; restore it by hand only if you trust it`);
	}

	let damage = scan.damage;
	let index = scan.entries;
	if (!damage && record.index) {
		try {
			// The sidecar must list exactly the archive's entries (its hashes are checked against the restored files).
			const sidecar = await readIndex(join(dir, record.index));
			const withoutHashes = (entries: IndexEntry[]) => entries.map(({sha256: _, ...rest}) => rest as IndexEntry);
			const diff = compareTrees(withoutHashes(sidecar.entries), withoutHashes(scan.entries));
			if (diff.added.length + diff.changed.length + diff.removed.length > 0) {
				damage = `${record.index} does not match ${record.file}: ${describeDiff(diff)}`;
			}

			index = sidecar.entries;
		} catch (error) {
			damage = `${record.index}: ${(error as Error).message.split('\n')[0]}`;
		}
	}

	emit({type: 'verify', archive: archiveName(record), ok: damage === null, error: damage});
	if (damage && !options.rehearse) {
		throw new DoctorError(`${damage}: nothing was changed; check the backup with occ-doctor backup --verify ${dir}`);
	}

	return {index, damage};
}

/** A v2 archive's index from its sidecar alone: the one-pass restore checks the archive against it as it writes. */
async function sidecarIndex(dir: string, record: ArchiveRecord): Promise<IndexEntry[]> {
	try {
		return (await readIndex(join(dir, record.index!))).entries;
	} catch (error) {
		throw new DoctorError(`${record.index}: ${(error as Error).message.split('\n')[0]}: nothing was changed; check the backup with occ-doctor backup --verify ${dir}`);
	}
}

/**
 * Restore in place through the target's host directory when it can (a local engine, root, a v2 index, room for the
 * new contents beside the old until they are swapped): then the archive is read once, by the restore itself.
 */
async function planOnHost(engine: Engine, dir: string, record: ArchiveRecord, target: Target, runId: string, options: RestoreOptions): Promise<{index: IndexEntry[]; state: TargetState; host: HostWork} | null> {
	if (options.dryRun || options.rehearse || !record.index) {
		return null;
	}

	const at = await hostDirOf(engine, target);
	if (!at) {
		return null;
	}

	const index = await sidecarIndex(dir, record);
	const state = await measureHostDir(at, beneathOf(record));
	return stageable(index) && neededBytes(index) <= state.availableBytes ? {index, state, host: hostWork(at, runId)} : null;
}

function outcomeOf(record: ArchiveRecord, target: string, status: ArchiveOutcome['status'], note: string | null = null): ArchiveOutcome {
	return {file: record.file, label: record.label, containerPath: record.containerPath, target, status, note, verify: null, databases: []};
}

/** The record's nested mounts, relative to its own path: their mount points in the target hide what lies beneath. */
function beneathOf(record: ArchiveRecord): string[] {
	return record.excluded.map(e => posix.relative(record.containerPath, e)).filter(rel => rel !== '' && !rel.startsWith('..'));
}

/** Refuse a target that is neither empty nor the container's own, or has too little room. */
function checkTarget(item: PlanItem, options: RestoreOptions): void {
	const {state, target} = item;
	if (!state) {
		return;
	}

	// The preview lists it as removed; a restore would delete what nobody can see, and the safety copy would not hold it.
	if (state.hidden && !options.dryRun) {
		throw new DoctorError(`${describeTarget(target)} holds ${state.hidden} beneath the mount point of another mount, which the container cannot see and the backup does not hold: a restore would delete it; move it out of the way first, then restore (nothing was changed)`);
	}

	if (!state.empty && !item.current && !options.force) {
		throw new DoctorError(`${describeTarget(target)} is not empty and is not ${item.record.containerPath} of the container: pass --force to replace its contents, or --to an empty volume`);
	}

	const need = neededBytes(item.index);
	const room = state.availableBytes + state.usedBytes;
	if (need > room) {
		throw new DoctorError(`not enough room in ${describeTarget(target)} for ${item.record.file}: it needs ${formatBytes(need)}, the disk has ${formatBytes(room)} once emptied; nothing was changed, free some space on the engine's disk`);
	}
}

/** A target that is not there yet still needs room: the file system that will hold it must fit the archive. */
async function checkNewTargetRoom(room: ReturnType<typeof newTargetRooms>, item: PlanItem, emit: RestoreEmit, rehearse: boolean): Promise<void> {
	const need = neededBytes(item.index);
	const where = rehearse ? `the scratch volume of ${item.record.file}'s rehearsal` : `${describeTarget(item.target)} (not there yet)`;
	// A rehearsal goes into a scratch volume whatever the target is.
	const answer = await room(rehearse ? {kind: 'volume', name: '(scratch)'} : item.target, need);
	if (!answer) {
		emit({type: 'notice', message: `the room for ${where} could not be measured: ${item.record.file} needs ${formatBytes(need)}`});
		return;
	}

	if (answer.claimed + need > answer.free) {
		const others = answer.claimed > 0 ? ` (${formatBytes(answer.claimed)} of it for the other new targets)` : '';
		const what = rehearse ? `for the rehearsal of ${item.record.file}: its scratch volume needs` : `in ${describeTarget(item.target)} for ${item.record.file}: it needs`;
		throw new DoctorError(`not enough room ${what} ${formatBytes(need)}, ${answer.measured} (where it would be made) has ${formatBytes(answer.free)} free${others}; nothing was changed, free some space on the engine's disk${rehearse ? '' : ' or pick another --to'}`);
	}
}

/** Another running container that uses the volume would see its data replaced under it: refused unless --force. */
async function checkOtherUsers(engine: Engine, item: PlanItem, containerId: string, options: RestoreOptions): Promise<void> {
	if (item.target.kind !== 'volume' || !item.exists || options.force || options.rehearse || options.dryRun) {
		return;
	}

	const users = await engine.docker.listContainers({filters: {volume: [item.target.name]}});
	const others = users.filter(c => c.Id !== containerId).map(c => (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''));
	if (others.length > 0) {
		throw new DoctorError(`${describeTarget(item.target)} is in use by the running container${others.length === 1 ? '' : 's'} ${others.join(', ')}: stop ${others.length === 1 ? 'it' : 'them'} first (docker stop ${others.join(' ')}) or pass --force; nothing was changed`);
	}
}

/** An archive of one bind-mounted file (opencode 1.2's opencode.db, say), not of a directory. */
function isSingleFileBind(record: ArchiveRecord): boolean {
	return record.source.type === 'bind' && record.fileCount === 1 && record.entries === 1;
}

/**
 * A single file's archive holds only `./<name>`; restored into a directory (a --to volume or dir, a rehearsal's
 * scratch volume) that directory is its root: a root-owned 0755 directory, given to it and verified like any root.
 */
function withDirectoryRoot(index: IndexEntry[]): IndexEntry[] {
	return index.some(e => e.path === '.') ? index : [{path: '.', type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: 0}, ...index];
}

/**
 * In place, a bind-mounted file cannot be restored with the same guarantees: the engine's extraction replaces a
 * path by removing it first, which a mount point refuses (EBUSY), and writing into the file needs a shell's `cat`,
 * with no verified empty-then-extract step for rollback to undo. So it is refused with the ways that do work.
 */
function singleFileRefusal(dir: string, record: ArchiveRecord, chosen: ArchiveRecord[], container: string, hostFile: string | null): DoctorError {
	const others = chosen.filter(a => a !== record && !isSingleFileBind(a)).map(archiveName);
	const rest = others.length > 0 ? `restore the others with --only ${others.join(',')}; ` : '';
	const file = posix.basename(record.containerPath);
	return new DoctorError(`${record.file} is the single file ${record.containerPath}, bind-mounted from ${hostFile ?? 'a host file'}, which restore cannot replace in place through the engine (a mount point cannot be removed and re-made): nothing was changed; ${rest}put it into a directory mount with --to ${archiveName(record)}=VOLUME, or by hand on the engine's host with ${container} stopped: tar -xzOf ${join(dir, record.file)} ./${file} > ${hostFile ?? 'HOST_FILE'}`, 'cannot-run', {code: 'single-file-bind'});
}

/**
 * Before the first call on the container (the helper image's /bin/sh is looked up through the archive API, which
 * mounts every bind): refused while a bind source is missing or unseen, even one this restore would write, since the
 * plan and the previews must change nothing.
 */
async function refuseBindsAtRiskOf(engine: Engine, info: any, dir: string): Promise<void> {
	await refuseContainerAtRisk(engine, info, {verb: 'restore', command: name => `restore ${dir} --container ${name}`, only: '--only cannot avoid it'});
}

export async function planRestore(options: RestoreOptions, engine: Engine, emit: RestoreEmit): Promise<RestorePlan> {
	const dir = resolve(options.dir);
	const manifest = await readManifest(dir).catch((error: DoctorError) => {
		// A damaged manifest is damage to a rehearsal (exit 1), as a damaged archive is; a restore refuses it, exit 2,
		// as it refuses a damaged archive: nothing was touched.
		throw options.rehearse || error.kind !== 'failed' ? error : new DoctorError(`${error.message}; nothing was changed`);
	});
	const only = (options.only ?? []).filter(Boolean);
	const chosen = manifest.archives.filter(a => only.length === 0 || only.some(o => matches(a, o)));
	if (chosen.length === 0) {
		throw new DoctorError(`no archive of ${dir} matches --only: choose from ${manifest.archives.map(archiveName).join(', ')}`);
	}

	const to = parseTo(options.to ?? []);
	for (const t of to) {
		if (!chosen.some(a => matches(a, t.name))) {
			throw new DoctorError(`--to ${t.name}=…: no chosen archive is called ${t.name}; choose from ${chosen.map(archiveName).join(', ')}`);
		}
	}

	const info = await inspectContainer(engine, options.container ?? manifest.container.name);
	const name = String(info.Name ?? '').replace(/^\//, '');
	// Refused before any archive is read: the line is all the user sees.
	const file = options.rehearse ? undefined : chosen.find(a => isSingleFileBind(a) && !to.some(t => matches(a, t.name)));
	if (file) {
		const current = currentTarget(info, file.containerPath);
		throw singleFileRefusal(dir, file, chosen, name, current?.kind === 'bind' ? current.name : file.source.path);
	}

	await refuseBindsAtRiskOf(engine, info, dir);
	const container = engine.docker.getContainer(info.Id);
	const runId = randomBytes(5).toString('hex');
	const image = await helperImage(engine, container, info.Image);
	const items: PlanItem[] = [];
	const skipped: ArchiveOutcome[] = [];
	const room = newTargetRooms(engine, image, runId, {sum: !options.rehearse});
	for (const record of chosen) {
		options.signal?.throwIfAborted();
		const explicit = to.find(t => matches(record, t.name))?.target;
		const current = currentTarget(info, record.containerPath);
		// A rehearsal restores into scratch volumes: the container's mounts do not matter.
		const target = explicit ?? current ?? (options.rehearse ? {kind: 'volume' as const, name: '(scratch)'} : null);
		if (!target) {
			throw new DoctorError(`${name} has no volume or bind at ${record.containerPath} now: pass --to ${archiveName(record)}=VOLUME`);
		}

		const isCurrent = current !== null && current.kind === target.kind && current.name === target.name;
		const exists = options.rehearse ? false : (target.kind === 'volume' ? await volumeExists(engine.docker, target.name) : true);
		const onHost = exists && !isSingleFileBind(record) ? await planOnHost(engine, dir, record, target, runId, options) : null;
		const checked = onHost ? {index: onHost.index, damage: null} : await checkArchive(dir, record, options, emit);
		const {damage} = checked;
		const index = isSingleFileBind(record) ? withDirectoryRoot(checked.index) : checked.index;
		const item: PlanItem = {record, file: join(dir, record.file), index, target, current: isCurrent, exists, state: onHost?.state ?? null, damage, host: onHost?.host ?? null, outcome: outcomeOf(record, describeTarget(target), 'planned')};
		if (onHost) {
			checkTarget(item, options);
		} else if (!options.rehearse && exists) {
			item.state = await measureTarget(engine, image, runId, target, beneathOf(record)).catch(error => {
				if (target.kind === 'bind' && /bind source path does not exist|no such file/i.test(String((error as Error).message))) {
					item.exists = false;
					return null;
				}

				throw error;
			});
			checkTarget(item, options);
		}

		if (!item.exists) {
			await checkNewTargetRoom(room, item, emit, Boolean(options.rehearse));
		}

		await checkOtherUsers(engine, item, info.Id, options);

		items.push(item);
	}

	return {engine, dir, manifest, container: {id: info.Id, name, info}, image, runId, items, skipped};
}
