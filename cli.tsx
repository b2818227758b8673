#!/usr/bin/env node
import {isatty} from 'node:tty';
import {parseCommandLine, type ParsedArgs} from './source/commands/args.js';
import {decideMode, type Command} from './source/commands/context.js';
import {helpScreen, packageJson, quickAnswer} from './source/commands/help.js';
import {asDoctorError, DoctorError, errorJson, errorLine} from './source/errors.js';
import {leftUndone} from './source/left-undone.js';
import {isRelaunched} from './source/relaunched.js';

// Each command is imported only when it runs: start-up is what people wait for most (docs/startup.md).
const COMMANDS: Record<string, () => Promise<Command>> = {
	check: async () => (await import('./source/commands/check.js')).checkCommand,
	probe: async () => (await import('./source/commands/probe.js')).probeCommand,
	backup: async () => (await import('./source/commands/backup.js')).backupCommand,
	restore: async () => (await import('./source/commands/restore.js')).restoreCommand,
	tui: async () => (await import('./source/commands/tui.js')).tuiCommand,
	demo: async () => (await import('./source/commands/demo.js')).demoCommand,
};

/** The one line on stderr and, under --json, the error object on stdout (docs/json.md, Errors); returns the exit code. */
function fail(error: unknown, json: boolean, aborted = false): number {
	const failure = asDoctorError(error, aborted);
	if (json) {
		process.stdout.write(errorJson(failure));
	}

	process.stderr.write(errorLine(failure) + '\n');
	return failure.exitCode;
}

async function run(parsed: ParsedArgs): Promise<number> {
	const {flags} = parsed;
	// isatty(0), not process.stdin.isTTY: that makes the stdin stream (and loads fs or net streams) for nothing.
	const stdinIsTty = isatty(0);
	const interactive = stdinIsTty && Boolean(process.stdout.isTTY);
	const mode = decideMode(flags, stdinIsTty, Boolean(process.stdout.isTTY));
	const commandName = parsed.command ?? (mode === 'tui' ? 'tui' : 'check');
	// Only backup may relaunch (wantsRelaunch decides the rest): no other command loads relaunch.ts.
	if (commandName === 'backup') {
		const {relaunch, wantsRelaunch} = await import('./source/relaunch.js');
		const code = wantsRelaunch(commandName, mode, process.env, process.execArgv) ? await relaunch(argv) : null;
		if (code !== null) {
			return code;
		}
	}

	const controller = new AbortController();
	let interrupted = 0;
	let lastSignalAt = 0;
	const onSignal = (signal: NodeJS.Signals) => {
		// Relaunched, one Ctrl+C comes twice: from the terminal and passed on by the launcher (source/relaunch.ts).
		const now = Date.now();
		// Measured from the last interrupt counted, so repeated presses still reach "leave now".
		if (relaunched && now - lastSignalAt < DUPLICATE_SIGNAL_MS) {
			return;
		}

		lastSignalAt = now;
		interrupted++;
		if (interrupted > 1) {
			// A second Ctrl+C while cleanup runs: leave now, saying what is not put back and how to.
			const undone = leftUndone();
			process.stderr.write(`occ-doctor: interrupted again: left before the cleanup finished${undone.length > 0 ? '' : ' (nothing was left to put back)'}\n${undone.map(note => `occ-doctor: ${note}\n`).join('')}`);
			process.exit(130);
		}

		controller.abort(new DoctorError(`interrupted by ${signal}`, 'interrupted'));
	};

	// A closed terminal or a dropped ssh session (SIGHUP) cleans up as Ctrl+C does: a container stopped for a backup
	// is started again. Not in the TUI, whose terminal is gone then.
	const signals: NodeJS.Signals[] = mode === 'tui' ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
	for (const signal of signals) {
		process.on(signal, onSignal);
	}

	try {
		const command = await COMMANDS[commandName]!();
		return await command({mode, flags, args: parsed.args, signal: controller.signal, stdout: process.stdout, stderr: process.stderr, interactive});
	} catch (error) {
		return fail(error, mode === 'json', controller.signal.aborted);
	} finally {
		for (const signal of signals) {
			process.off(signal, onSignal);
		}
	}
}

// Ctrl+C in `occ-doctor ... | tee log` kills the reader too: a write to the closed pipe must not crash us
// before cleanup (restarting a stopped container, removing .partial files) has run.
for (const stream of [process.stdout, process.stderr]) {
	stream.on('error', () => {});
}

const argv = process.argv.slice(2);
/** Started by source/relaunch.ts as a child with a larger heap: a copy of one interrupt is not a second one. */
const relaunched = isRelaunched();
const DUPLICATE_SIGNAL_MS = 1000;
if (relaunched) {
	void import('./source/relaunch.js').then(r => r.followLauncher());
}

const quick = quickAnswer(argv, Object.keys(COMMANDS));
let parsed: ParsedArgs | undefined;
try {
	parsed = quick === null ? parseCommandLine(argv, Object.keys(COMMANDS)) : undefined;
} catch (error) {
	process.exitCode = fail(error, argv.includes('--json'));
}

if (quick !== null) {
	process.stdout.write(quick);
} else if (parsed?.help) {
	process.stdout.write(helpScreen());
} else if (parsed?.version) {
	process.stdout.write(`${packageJson().version ?? ''}\n`);
} else if (parsed) {
	// No top-level await: the bundle's dist/cli.js is CommonJS (docs/startup.md). run() settles with a code, never throws.
	void run(parsed).then(code => {
		process.exitCode = code;
	});
}
