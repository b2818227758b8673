// `backup` passes about a gigabyte of buffers (the engine's stream, zlib's output, the check's inflate) through a
// JavaScript heap of ~12 MB. V8 sizes the old generation's limit from that small heap, so it marks the whole heap
// again and again (28 full collections in a 335 MB backup, 0.5-1 s of CPU on two cores). A larger initial old space
// ends that, but it is a flag of the process (`v8.setFlagsFromString` at run time changes nothing), so the command
// runs in a child Node started with it. The child owns the terminal, the output and the exit code; this process only
// passes signals on and mirrors how the child ended (docs/backup.md, Performance).
import {spawn} from 'node:child_process';
import {isRelaunched, RELAUNCHED_ENV} from './relaunched.js';

export const HEAP_FLAG = '--initial-old-space-size=64';
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Whether this run of `command` should go to a child with the heap flag (plain and JSON backups, not the TUI). */
export function wantsRelaunch(command: string, mode: string, env: NodeJS.ProcessEnv, execArgv: string[]): boolean {
	// Under a debugger (--inspect) the process being debugged must be the one that works.
	return command === 'backup' && mode !== 'tui' && !isRelaunched(env) && !execArgv.some(a => a.startsWith('--initial-old-space-size') || a.startsWith('--inspect') || a.startsWith('--debug'));
}

/**
 * Run this same command line in a child Node with HEAP_FLAG; resolve to its exit code, or null when the child could
 * not be started (the caller then runs the command itself, slower but the same). A Ctrl+C at the terminal
 * reaches both processes (one process group); a signal sent to this one alone (`kill`, a supervisor) is passed on,
 * and the child counts the two copies of one Ctrl+C as one. If this process is killed outright, the child learns it
 * from its IPC channel closing and stops, cleaning up as on SIGTERM.
 */
export async function relaunch(argv: string[]): Promise<number | null> {
	if (!process.argv[1]) {
		return null;
	}

	const child = spawn(process.execPath, [...process.execArgv, HEAP_FLAG, process.argv[1]!, ...argv], {
		stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
		env: {...process.env, [RELAUNCHED_ENV]: '1'},
	});
	const forward = (signal: NodeJS.Signals) => {
		child.kill(signal);
	};

	for (const signal of FORWARDED) {
		process.on(signal, forward);
	}

	try {
		const ended = await new Promise<{code: number | null; signal: NodeJS.Signals | null} | null>(resolve => {
			// Only a child that never started (no pid) is run here instead; a later error (a signal that could not be
			// sent) must not start a second backup beside the running one.
			child.on('error', () => {
				if (child.pid === undefined) {
					resolve(null);
				}
			});
			child.once('exit', (code, signal) => resolve({code, signal}));
		});
		if (!ended) {
			return null;
		}

		const {code, signal} = ended;
		if (signal) {
			// Ended by a signal it did not handle: end the same way, so a caller sees what a shell would.
			for (const s of FORWARDED) {
				process.off(s, forward);
			}

			process.kill(process.pid, signal);
		}

		return code ?? 1;
	} finally {
		for (const signal of FORWARDED) {
			process.off(signal, forward);
		}
	}
}

/**
 * In the child: when the launcher is gone (killed with SIGKILL), its IPC channel closes. Stop as on SIGTERM, with
 * the cleanup (a container stopped for the backup started again, the partial files removed), instead of running on
 * unseen. The channel must not keep the child alive.
 */
export function followLauncher(): void {
	if (!isRelaunched() || !process.channel) {
		return;
	}

	process.channel.unref();
	process.once('disconnect', () => {
		process.kill(process.pid, 'SIGTERM');
	});
}

