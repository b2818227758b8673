// A mount's entries read on this host by GNU tar, instead of through the engine's archive API, where both read the
// same files: a local engine without user-namespace remapping (the owners on disk are the container's), a plain local
// volume (an NFS or tmpfs one is mounted only while a container uses it) or a bind directory, readable here. It spares
// the engine's own tar and the HTTP stream, about a tenth of a backup's CPU on two cores (docs/backup.md).
import {spawn} from 'node:child_process';
import {accessSync, constants, statSync} from 'node:fs';
import type {ContainerFacts} from '../core/types.js';
import type {BackupUnit} from './types.js';

/** `OCC_DOCTOR_READER=archive-api` reads every mount through the engine (the bench's second row; a user who wants it). */
export function readerFromEnv(env: NodeJS.ProcessEnv): 'auto' | 'archive-api' {
	return env.OCC_DOCTOR_READER === 'archive-api' ? 'archive-api' : 'auto';
}

/** tar could not read the directory as the engine would have: the caller packs the mount again through the engine. */
export class HostReadFailed extends Error {}

/** The engine's SecurityOptions: rootless and userns-remap engines store files under other owners than the container sees. */
export function remapsOwners(securityOptions: unknown): boolean {
	return !Array.isArray(securityOptions) || securityOptions.some(o => /\bname=(rootless|userns)\b/.test(String(o)));
}

/**
 * The unit's directory on this host, when tar there reads what the engine's archive API would; else null. Only as
 * root, as the engine reads: anyone else meets the container's private files (SSH keys, credentials, 0600 under
 * other ids), and tar would fail on them after reading everything else.
 */
export function hostDirOf(unit: BackupUnit, facts: ContainerFacts, local: boolean, remapped: boolean, root = process.getuid?.() === 0): string | null {
	const dir = unit.source.path;
	if (!local || remapped || !root || unit.isFile || !dir) {
		return null;
	}

	if (unit.source.type === 'volume') {
		const volume = unit.source.name ? facts.volumes[unit.source.name] : undefined;
		if (volume?.driver !== 'local' || !volume.options || volume.options.length > 0 || volume.mountpoint !== dir) {
			return null;
		}
	}

	try {
		accessSync(dir, constants.R_OK | constants.X_OK);
		return statSync(dir).isDirectory() ? dir : null;
	} catch {
		return null;
	}
}

export interface HostStream {
	stream: NodeJS.ReadableStream;
	/** This host's clock just before tar started: what the engine's Date header is for its stream. */
	started: Date;
	/** Settles when tar has exited: rejects with HostReadFailed unless it read everything (exit 0, or 1: a file changed). */
	finished: Promise<void>;
}

/**
 * `tar -cf - .` in `dir`: entries in byte order of their names (as the engine lists them, a database before its
 * -journal and -wal), owners as numbers only (the engine names them from the container's /etc/passwd, this host's
 * users are not the container's; the ids are the same), no xattrs (the engine keeps only security.capability).
 * Aborting `stop` kills it.
 */
export function readOnHost(dir: string, stop: AbortSignal): HostStream {
	const started = new Date();
	const child = spawn('tar', ['-C', dir, '--sort=name', '--numeric-owner', '-cf', '-', '.'], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, LC_ALL: 'C'}});
	let stderr = '';
	// The first file tar cannot read: stopped there, not after reading the rest for an archive that will be thrown away.
	let unreadable: string | null = null;
	child.stderr.setEncoding('utf8');
	child.stderr.on('data', (text: string) => {
		// The cause is its first line ("Cannot open: …"); the last ones only say that it gave up.
		stderr = (stderr + text).slice(0, 2000);
		const line = stderr.split('\n').find(l => /: (Cannot |Read error)/.test(l));
		if (line && unreadable === null) {
			unreadable = line;
			child.kill();
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
			if (unreadable !== null) {
				reject(new HostReadFailed(`tar stopped: ${unreadable}`));
			} else if (code === 0 || code === 1 || (signal && stop.aborted)) {
				// 1: a file changed while read (the engine reads live files alike). Killed by us (the backup failed or was
				// stopped): the cause is elsewhere and is reported from there.
				resolve();
			} else {
				const cause = stderr.trim().split('\n')[0] ?? '';
				reject(new HostReadFailed(`tar ${signal ? `ended by ${signal}` : `exited ${code}`}${cause ? `: ${cause}` : ''}`));
			}
		});
	});
	finished.catch(() => {});
	return {stream: child.stdout, started, finished};
}
