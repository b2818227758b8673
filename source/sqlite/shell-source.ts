// A database read from the engine's host through the SSH login's shell (docker/host-shell.ts), as a local check
// reads it from the host paths behind the mounts: no archive API call, which sets up the container's mounts for
// each request and answers one request of a container at a time. Used only where the host lets the SSH user read
// all of a database's files (main, -wal, -journal, none a symlink); anywhere else the archive API, as before.
// node:fs alone: check.ts loads this module, and node:fs/promises would cost every check (docs/startup.md).
import {chmodSync, createWriteStream, renameSync, rmSync, statSync} from 'node:fs';
import {coveringMount, hostPathOf} from '../core/model.js';
import type {ContainerFacts} from '../core/types.js';
import {shellLine, type FileSink, type Shell, type ShellReply} from '../docker/host-shell.js';
import type {FileSource} from './snapshot.js';

type Stat = {size: number; mtime: string; isFile: boolean};
/** One file as the host sees it: a stat, absent (its directory searchable), or unknown to us (unreadable, a symlink). */
export type HostAnswer = Stat | 'absent' | 'unknown';

// Each file comes as a pair: the mount's source on the host, then the file's host path. `inside` holds when the
// file's directory, symlinks resolved, is still under that source: a symlink the container planted anywhere on the
// way (it would resolve on the host, not in the container) makes the file unknown, and the archive API reads it.
const PRELUDE = String.raw`inside() { d=$(readlink -f -- "${'$'}{2%/*}" 2>/dev/null) && r=$(readlink -f -- "$1" 2>/dev/null) && case "$d/" in "$r"/*) return 0;; esac; return 1; }; command -v head >/dev/null 2>&1 || exit 4`;

// One line per file, only tests and stat: y SIZE FINGERPRINT (a readable regular file), n (not a regular file),
// a (absent, its directory searchable), u (cannot tell, a symlink, or outside its mount's source).
const PROBE_LOOP = String.raw`while [ $# -gt 1 ]; do r=$1; p=$2; shift 2; if [ -L "$p" ] || ! inside "$r" "$p"; then echo u; elif [ -f "$p" ]; then if [ -r "$p" ] && s=$(stat -c "%s %y|%z|%i" -- "$p"); then echo "y $s"; else echo u; fi; elif [ -e "$p" ]; then echo n; else d=${'$'}{p%/*}; [ -n "$d" ] || d=/; if [ -d "$d" ] && [ -x "$d" ]; then echo a; else echo u; fi; fi; done`;
const PROBE = `${PRELUDE}; ${PROBE_LOOP}`;

// The first $1 files are copied, in order: `F SIZE` and exactly SIZE bytes (padded with zeros if the file shrank:
// the re-stat after them then differs, and the snapshot tries again), or `M INDEX` when it is not there to copy.
// The rest are probed as above, after the copies.
const COPY = `${PRELUDE}; ` + String.raw`k=$1; shift; i=0; while [ "$i" -lt "$k" ]; do r=$1; p=$2; shift 2; if [ ! -L "$p" ] && inside "$r" "$p" && [ -f "$p" ] && [ -r "$p" ] && n=$(stat -c %s -- "$p"); then echo "F $n"; { head -c "$n" < "$p"; cat /dev/zero; } 2>/dev/null | head -c "$n"; else echo "M $i"; fi; i=$((i+1)); done; ` + PROBE_LOOP;

export function parseProbe(line: string | undefined): HostAnswer {
	const stat = /^y (\d+) (.+)$/.exec(line ?? '');
	if (stat) {
		return {size: Number(stat[1]), mtime: stat[2]!, isFile: true};
	}

	return line === 'n' ? {size: 0, mtime: '', isFile: false} : line === 'a' ? 'absent' : 'unknown';
}

/** What each host path is, in one command; 'unknown' for all when the shell could not say. */
export async function probeHostFiles(shell: Shell, files: Array<[source: string, path: string]>): Promise<HostAnswer[]> {
	const paths = files.flat();
	const reply = await shell.run({line: shellLine(PROBE, paths)}).catch(() => null);
	if (reply?.code !== 0 || reply.lines.length !== files.length) {
		return files.map(() => 'unknown');
	}

	return reply.lines.map(parseProbe);
}

/** A database's files: main, -wal, -journal. */
function filesOf(path: string): string[] {
	return [path, `${path}-wal`, `${path}-journal`];
}

/** A file's mount source on the host and its host path, when a bind or volume holds it. */
function hostFile(facts: ContainerFacts, path: string): [source: string, path: string] | null {
	const host = hostPathOf(path, facts);
	const source = coveringMount(path, facts)?.source;
	return host && source ? [source, host] : null;
}

/** The host paths of a database's three files, when mounts (not the container's layer, not a tmpfs) hold them all. */
export function mountedHostFiles(facts: ContainerFacts, path: string): Array<[string, string]> | null {
	const hosts = filesOf(path).map(file => hostFile(facts, file));
	return hosts.every(Boolean) ? hosts as Array<[string, string]> : null;
}

/** Per container and database: read through the host shell or not, and the first stats that told. */
interface Decision {
	onHost: boolean;
	first: Map<string, Stat | null>;
}

/**
 * Per shell (one run's SSH login), per container and database. check.ts asks early, with the facts of the inspect
 * alone, and the snapshot later takes the answer with the full facts (another object: the key is the id). Dropped
 * once its first stats are taken, so a later check in the same run (the TUI's refresh) asks again.
 */
const decisions = new WeakMap<Shell, Map<string, Promise<Decision>>>();

/**
 * Whether the host shell can read this database, and its files' first stats (the snapshot's first stat of each):
 * one command, asked once per check.
 */
export function decideDatabase(shell: Shell, facts: ContainerFacts, path: string): Promise<Decision> {
	const known = decisions.get(shell) ?? new Map<string, Promise<Decision>>();
	decisions.set(shell, known);
	const key = `${facts.id}\n${path}`;
	let decision = known.get(key);
	if (!decision) {
		const hosts = mountedHostFiles(facts, path);
		decision = hosts ? probeHostFiles(shell, hosts).then(answers => ({
			onHost: answers.every(a => a !== 'unknown') && answers[0] !== 'absent',
			first: new Map(filesOf(path).map((file, i) => [file, typeof answers[i] === 'object' ? answers[i] as Stat : null])),
		})) : Promise.resolve({onHost: false, first: new Map()});
		known.set(key, decision);
		// Once its first stats are all taken the answer is old news: the next check asks again.
		decision.then(({first}) => {
			if (first.size === 0) {
				known.delete(key);
			}
		}, () => known.delete(key));
	}

	return decision;
}

/** The first stat of `path`, once; then the decision is dropped when its last first stat has been taken. */
function takeFirst(shell: Shell, facts: ContainerFacts, database: string, first: Map<string, Stat | null>, path: string): Stat | null | undefined {
	if (!first.has(path)) {
		return undefined;
	}

	const stat = first.get(path)!;
	first.delete(path);
	if (first.size === 0) {
		decisions.get(shell)?.delete(`${facts.id}\n${database}`);
	}

	return stat;
}

/**
 * Write an `F` record's bytes to `<destination>.partial` (0600); renamed once the reply is complete. A file that
 * fails (a full disk) takes the rest of its bytes and drops them: the shell's output must go on to its end.
 */
function partialFile(destination: string): {sink: FileSink; done: Promise<void>} {
	const file = createWriteStream(`${destination}.partial`, {mode: 0o600});
	let failed = false;
	/** Who waits for 'drain': a failed file never says it, so they are let go on the error. */
	const waiting: Array<() => void> = [];
	const done = new Promise<void>((resolve, reject) => {
		file.on('close', () => (failed ? undefined : resolve()));
		file.on('error', error => {
			failed = true;
			reject(error);
			for (const resume of waiting.splice(0)) {
				resume();
			}
		});
	});
	done.catch(() => {}); // Awaited by the copy.
	const sink: FileSink = {
		write: chunk => failed || file.write(chunk),
		once(event, listener) {
			if (failed) {
				listener();
				return;
			}

			const once = () => {
				const at = waiting.indexOf(once);
				if (at >= 0) {
					waiting.splice(at, 1);
				}

				listener();
			};

			waiting.push(once);
			file.once(event, once);
		},
		end: () => (failed ? undefined : file.end()),
	};
	return {sink, done};
}

function removePartials(written: Array<{destination: string}>): void {
	for (const w of written) {
		rmSync(`${w.destination}.partial`, {force: true});
	}
}

/** Copy in order, then stat, in one command (one round trip); a file not there to copy is a 404, as the archive API says. */
async function copyThenStat(shell: Shell, facts: ContainerFacts, copies: Array<{path: string; destination: string}>, stats: string[], signal?: AbortSignal): Promise<Array<Stat | null>> {
	const host = (path: string) => hostFile(facts, path)!;
	const written: Array<{done: Promise<void>; destination: string}> = [];
	const pending = copies.map(c => c);
	let reply: ShellReply;
	try {
		signal?.throwIfAborted();
		reply = await shell.run({
			line: shellLine(COPY, [String(copies.length), ...copies.flatMap(c => host(c.path)), ...stats.flatMap(s => host(s))]),
			signal,
			file: () => {
				const copy = pending.shift()!;
				const file = partialFile(copy.destination);
				written.push({...file, destination: copy.destination});
				return file.sink;
			},
		});
		await Promise.all(written.map(async w => w.done));
		signal?.throwIfAborted();
	} catch (error) {
		removePartials(written);
		throw error;
	}

	const missing = reply.lines.filter(l => /^M \d+$/.test(l));
	const answers = reply.lines.filter(l => !/^M \d+$/.test(l)).map(parseProbe);
	if (missing.length > 0 || reply.code !== 0 || answers.length !== stats.length || answers.includes('unknown')) {
		removePartials(written);
		const index = Number(missing[0]?.slice(2) ?? -1);
		throw Object.assign(new Error(`${copies[index]?.path ?? 'a file'} vanished during the copy`), {statusCode: 404});
	}

	for (const w of written) {
		chmodSync(`${w.destination}.partial`, 0o600);
		renameSync(`${w.destination}.partial`, w.destination);
	}

	return answers.map(a => (typeof a === 'object' ? a : null));
}

/**
 * A database's files read through the host shell when decideDatabase says the host lets us, else `fallback` (the
 * archive API). The decision holds for the whole snapshot, so a fingerprint is only ever compared with its own kind.
 */
export function shellSource(shell: Shell, facts: ContainerFacts, database: string, fallback: FileSource): FileSource {
	// Asked on first use (readerFor makes sources that are never used), then held for the whole snapshot.
	let decided: Promise<Decision> | undefined;
	const decision = async () => {
		decided ??= decideDatabase(shell, facts, database);
		return decided;
	};

	return {
		async stat(path) {
			const {onHost, first} = await decision();
			if (!onHost) {
				return fallback.stat(path);
			}

			const taken = takeFirst(shell, facts, database, first, path);
			if (taken !== undefined) {
				return taken;
			}

			const [answer] = await probeHostFiles(shell, [hostFile(facts, path)!]);
			if (answer === 'unknown') {
				throw new Error(`${path} could not be read on the engine's host`);
			}

			return answer === 'absent' ? null : answer!;
		},
		async copy(path, destination, signal) {
			if (!(await decision()).onHost) {
				return fallback.copy(path, destination, signal);
			}

			await copyThenStat(shell, facts, [{path, destination}], [], signal);
			return statSync(destination).size;
		},
		async copyThenStat(copies, stats, signal) {
			if (!(await decision()).onHost) {
				return fallback.copyThenStat?.(copies, stats, signal) ?? null;
			}

			return copyThenStat(shell, facts, copies, stats, signal);
		},
	};
}
