#!/usr/bin/env node
import process from 'node:process';
import {decideMode, type Command, type CommandFlags} from './source/commands/context.js';
import {HELP as help, quickAnswer} from './source/commands/help.js';
import {DoctorError} from './source/docker/errors.js';


const flagSpec = {
	container: {type: 'string' as const, shortFlag: 'c'},
	path: {type: 'string' as const, shortFlag: 'p', isMultiple: true as const, default: [] as string[]},
	db: {type: 'string' as const, isMultiple: true as const, default: [] as string[]},
	databases: {type: 'boolean' as const, default: true},
	profile: {type: 'string' as const},
	host: {type: 'string' as const},
	json: {type: 'boolean' as const, default: false},
	plain: {type: 'boolean' as const, default: false},
	yes: {type: 'boolean' as const, shortFlag: 'y', default: false},
	restart: {type: 'boolean' as const, default: true},
	cleanup: {type: 'boolean' as const, default: false},
	only: {type: 'string' as const, isMultiple: true as const},
	priority: {type: 'string' as const, isMultiple: true as const},
	out: {type: 'string' as const},
	stop: {type: 'boolean' as const, default: false},
	verify: {type: 'string' as const},
};

// Each command is imported only when it runs: start-up is what people wait for most (docs/startup.md).
const COMMANDS: Record<string, () => Promise<Command>> = {
	check: async () => (await import('./source/commands/check.js')).checkCommand,
	probe: async () => (await import('./source/commands/probe.js')).probeCommand,
	backup: async () => (await import('./source/commands/backup.js')).backupCommand,
	tui: async () => (await import('./source/commands/tui.js')).tuiCommand,
	demo: async () => (await import('./source/commands/demo.js')).demoCommand,
};

const quick = quickAnswer(process.argv.slice(2), Object.keys(COMMANDS));
if (quick !== null) {
	process.stdout.write(quick);
	process.exit(0);
}

const {default: meow} = await import('meow');
const top = meow(help, {importMeta: import.meta, commands: Object.keys(COMMANDS), flags: flagSpec, allowUnknownFlags: false});
// Flags may come before or after the command: parse what follows the command with the same spec.
const sub = top.command ? meow(help, {importMeta: import.meta, argv: top.input, flags: flagSpec, allowUnknownFlags: false}) : top;
const merged = {...top.flags, ...Object.fromEntries(Object.entries(sub.flags).filter(([k, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== ((flagSpec as Record<string, {default?: unknown}>)[k]?.default ?? false)))};
const flags = {...merged, path: [...top.flags.path, ...(top.command ? sub.flags.path : [])]} as CommandFlags;

const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
const mode = decideMode(flags, Boolean(process.stdin.isTTY), Boolean(process.stdout.isTTY));
const commandName = top.command ?? (mode === 'tui' ? 'tui' : 'check');
const command = await COMMANDS[commandName]!();

const controller = new AbortController();
let interrupted = 0;
const onSignal = (signal: NodeJS.Signals) => {
	interrupted++;
	if (interrupted > 1) {
		// A second Ctrl+C while cleanup runs: leave now.
		process.exit(130);
	}

	controller.abort(new DoctorError(`interrupted by ${signal}`, 130));
};

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// Ctrl+C in `occ-doctor ... | tee log` kills the reader too: a write to the closed pipe must not crash us
// before cleanup (restarting a stopped container, removing .partial files) has run.
for (const stream of [process.stdout, process.stderr]) {
	stream.on('error', () => {});
}

try {
	process.exitCode = await command({mode, flags, signal: controller.signal, stdout: process.stdout, stderr: process.stderr, interactive});
} catch (error) {
	const exitCode = error instanceof DoctorError ? error.exitCode : 2;
	const message = error instanceof Error ? error.message : String(error);
	process.stderr.write(`occ-doctor: ${message.split('\n')[0]}\n`);
	process.exitCode = controller.signal.aborted ? 130 : exitCode;
}

process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
