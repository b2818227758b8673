// A mount's entries read on this host by GNU tar, instead of through the engine's archive API, where both read the
// same files: root on the engine's own machine (a unix socket, the engine's host name ours), no user-namespace
// remapping (the owners on disk are the container's), GNU tar, a plain local volume (an NFS or tmpfs one is mounted
// only while a container uses it) or a bind directory, and the engine's stat of the mount's root the same as ours. It spares
// the engine's own tar and the HTTP stream, about a tenth of a backup's CPU on two cores (docs/backup.md).
import {spawn} from 'node:child_process';
import {lstatSync} from 'node:fs';
import type Docker from 'dockerode';
import type {ContainerFacts} from '../core/types.js';
import {statInContainer} from '../docker/archive.js';
import type {Engine} from '../docker/engine.js';
import {engineInfo, engineIsHere} from '../docker/here.js';
import {mtimeMs} from './database.js';
import type {BackupUnit} from './types.js';

/** `OCC_DOCTOR_BACKUP_VIA=engine` reads every mount through the engine, as `OCC_DOCTOR_RESTORE_VIA` writes (restore). */
export const VIA_ENV = 'OCC_DOCTOR_BACKUP_VIA';

export function readerFromEnv(env: NodeJS.ProcessEnv): 'auto' | 'archive-api' {
	return env[VIA_ENV] === 'engine' ? 'archive-api' : 'auto';
}

/** tar could not read the directory as the engine would have: the caller packs the mount again through the engine. */
export class HostReadFailed extends Error {}

/** The engine's /info: rootless and userns-remap engines store files under other owners than the container sees. */
export function remapsOwners(securityOptions: unknown): boolean {
	return !Array.isArray(securityOptions) || securityOptions.some(o => /\bname=(rootless|userns)\b/.test(String(o)));
}

/**
 * Whether tar on this host can stand in for the engine at all: root, as the engine reads (anyone else meets the
 * container's private files, SSH keys and credentials at 0600 under other ids); a unix socket whose engine has our
 * host name (not Docker Desktop's VM, not a socket mounted into a container, not a forwarded port); owners not
 * remapped. One `GET /info`.
 */
export async function engineReadsHere(engine: Engine, root = process.getuid?.() === 0): Promise<boolean> {
	if (!root) {
		return false;
	}

	const [here, gnu] = await Promise.all([engineIsHere(engine), isGnuTar()]);
	return here && gnu && !remapsOwners((await engineInfo(engine))?.SecurityOptions);
}

/**
 * Is `tar` GNU tar? Its options (--sort, --anchored) and its exit codes (1: a file changed while read) are GNU's;
 * BusyBox's tar exits 1 on an option it does not know, having written nothing, and bsdtar means other things by 1.
 */
export async function isGnuTar(): Promise<boolean> {
	return new Promise(resolve => {
		const child = spawn('tar', ['--version'], {stdio: ['ignore', 'pipe', 'ignore'], env: {...process.env, LC_ALL: 'C'}});
		let out = '';
		child.stdout.setEncoding('utf8');
		child.stdout.on('data', (text: string) => {
			out += text;
		});
		child.once('error', () => resolve(false));
		child.once('close', code => resolve(code === 0 && /^tar \(GNU tar\) /.test(out)));
	});
}

/** The unit's directory on this host, when it is the mount's whole source: a bind directory or a plain local volume. */
export function hostDirOf(unit: BackupUnit, facts: ContainerFacts): string | null {
	const dir = unit.source.path;
	if (unit.isFile || !dir) {
		return null;
	}

	if (unit.source.type === 'volume') {
		const volume = unit.source.name ? facts.volumes[unit.source.name] : undefined;
		if (volume?.driver !== 'local' || !volume.options || volume.options.length > 0 || volume.mountpoint !== dir) {
			return null;
		}
	}

	return dir;
}

/**
 * Is `dir` what the engine's archive API reads at `containerPath`? Its stat of the mount's root and ours: a directory
 * both, the same permissions and the same mtime to the millisecond. A volume mounted at a subpath (Docker 26+), or a
 * path that names another directory here than where the engine runs (a private /tmp), differ; so does a root written
 * between the two stats (then the engine reads it, which is never wrong). A bind source replaced on the host since
 * the container started does not: the engine mounts the path again for each archive call and reads the new one too.
 */
export async function sameDirectory(container: Docker.Container, containerPath: string, dir: string): Promise<boolean> {
	try {
		const ours = lstatSync(dir);
		const theirs = await statInContainer(container, containerPath);
		return Boolean(theirs?.isDir) && ours.isDirectory() && (theirs!.mode & 0o777) === (ours.mode & 0o777) && Math.abs(mtimeMs(theirs!.mtime) - ours.mtimeMs) < 1;
	} catch {
		return false;
	}
}

export interface HostStream {
	stream: NodeJS.ReadableStream;
	/** This host's clock just before tar started: what the engine's Date header is for its stream. */
	started: Date;
	/** Settles when tar has exited: rejects with HostReadFailed unless it read everything (exit 0, or 1: a file changed). */
	finished: Promise<void>;
	/** End tar now, however it is stuck (SIGKILL). */
	kill(): void;
}

/** Lines of tar's that mean the archive is not the directory: a file it could not read, or one it padded with zeros. */
const UNREAD = /: (Cannot |Read error|File shrank)/;

/** A tar wildcard matching `path` itself: its `*?[\` escaped. */
function literal(path: string): string {
	return path.replace(/[\\*?[]/g, c => `\\${c}`);
}

/**
 * `tar -cf - .` in `dir`: entries in byte order of their names (as the engine lists them, a database before its
 * -journal and -wal), owners as numbers only (the engine names them from the container's /etc/passwd, this host's
 * users are not the container's; the ids are the same), no xattrs (the engine keeps only security.capability), and
 * nothing below `excluded` (relative `./` paths: other mounts' mount points, whose contents here are the hidden
 * directory beneath). Aborting `stop` kills it.
 */
export function readOnHost(dir: string, stop: AbortSignal, excluded: string[] = []): HostStream {
	const started = new Date();
	const args = ['-C', dir, '--sort=name', '--numeric-owner', '--anchored', ...excluded.map(e => `--exclude=${literal(e.replace(/\/+$/, ''))}/*`), '-cf', '-', '.'];
	const child = spawn('tar', args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, LC_ALL: 'C'}});
	let first = '';
	let partial = '';
	// The first line that says the archive is not the directory: tar is stopped there, not left to read the rest.
	let unread: string | null = null;
	child.stderr.setEncoding('utf8');
	child.stderr.on('data', (text: string) => {
		const lines = (partial + text).split('\n');
		partial = lines.pop()!.slice(-2000);
		for (const line of lines) {
			first ||= line;
			if (unread === null && UNREAD.test(line)) {
				unread = line;
				child.kill();
			}
		}
	});
	const kill = () => child.kill();
	stop.addEventListener('abort', kill, {once: true});
	const finished = new Promise<void>((resolve, reject) => {
		child.once('error', error => {
			reject(new HostReadFailed(`tar could not start (${(error as NodeJS.ErrnoException).code ?? error.message})`));
		});
		child.once('close', (code, signal) => {
			stop.removeEventListener('abort', kill);
			if (unread !== null) {
				reject(new HostReadFailed(`tar stopped: ${unread}`));
			} else if (code === 0 || code === 1 || (signal && stop.aborted)) {
				// 1: a file changed while read (the engine reads live files alike). Killed by us (the backup failed or was
				// stopped): the cause is elsewhere and is reported from there.
				resolve();
			} else {
				const cause = first || partial;
				reject(new HostReadFailed(`tar ${signal ? `ended by ${signal}` : `exited ${code}`}${cause ? `: ${cause}` : ''}`));
			}
		});
	});
	finished.catch(() => {});
	return {stream: child.stdout, started, finished, kill: () => child.kill('SIGKILL')};
}
