#!/usr/bin/env node
import process from 'node:process';
import meow from 'meow';
import {checkCommand} from './source/commands/check.js';
import {probeCommand} from './source/commands/probe.js';
import {backupCommand} from './source/commands/backup.js';
import {demoCommand} from './source/commands/demo.js';
import {tuiCommand} from './source/commands/tui.js';
import {decideMode, type Command, type CommandFlags} from './source/commands/context.js';
import {DoctorError} from './source/docker/engine.js';

const help = `
  Usage
    $ occ-doctor [command] [options]

  Commands
    check      how every data path is stored and what survives what (default without a terminal)
    backup     one verified .tar.gz per volume and bind mount, a manifest, SQLite snapshots; progress on stderr
    probe      write a sentinel into every data path, restart, read back, and read through a recreate twin
    tui        the interactive screens (default in a terminal)
    demo       a throwaway opencode-cloud-like sandbox with one real problem, shown in the TUI, removed on exit

  Options
    --container, -c NAME|ID   the container to examine (default: the only coding-agent container found)
    --path, -p PATH           also judge this container path (repeatable)
    --db PATH                 also count this SQLite database (container path, repeatable)
    --no-databases            skip finding and counting databases
    --profile NAME|FILE       force a profile: opencode-cloud, opencode, agent-server, redis-aof,
                              management-api, generic, or a JSON/YAML file of your own
    --host URL                the engine: unix:///path, tcp://host:port or ssh://user@host (default: DOCKER_HOST)
    --json                    machine-readable result on stdout (never starts the TUI)
    --plain                   plain text report (never starts the TUI)
    --yes, -y                 confirm disruptive steps without asking
    --no-restart              probe: skip the restart (only the no-downtime recreate probe)
    --cleanup                 probe: remove sentinels, twins and their volumes an interrupted probe left
    --only NAME,…             backup: only these locations (archive name, label, container path or volume)
    --priority LEVEL,…        backup: only these priorities (critical, high, medium, low)
    --out DIR                 backup: where to write (default ./occ-doctor-backup-<container>-<UTC time>)
    --stop                    backup: stop the container meanwhile and start it again (asks, or --yes)
    --verify DIR              backup: check an existing backup (gzip, tar, sha256); exit 1 on any mismatch

  Exit codes
    0 no errors · 1 errors found · 2 could not run · 130 interrupted

  Examples
    $ occ-doctor check --container opencode-cloud-sandbox
    $ occ-doctor check --json | jq '.locations[] | {path, storage, survives}'
    $ DOCKER_HOST=ssh://me@server occ-doctor
`;

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

const COMMANDS: Record<string, Command> = {
	check: checkCommand,
	probe: probeCommand,
	backup: backupCommand,
	tui: tuiCommand,
	demo: demoCommand,
};

const top = meow(help, {importMeta: import.meta, commands: Object.keys(COMMANDS), flags: flagSpec, allowUnknownFlags: false});
// Flags may come before or after the command: parse what follows the command with the same spec.
const sub = top.command ? meow(help, {importMeta: import.meta, argv: top.input, flags: flagSpec, allowUnknownFlags: false}) : top;
const merged = {...top.flags, ...Object.fromEntries(Object.entries(sub.flags).filter(([k, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== ((flagSpec as Record<string, {default?: unknown}>)[k]?.default ?? false)))};
const flags = {...merged, path: [...top.flags.path, ...(top.command ? sub.flags.path : [])]} as CommandFlags;

const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
const mode = decideMode(flags, Boolean(process.stdin.isTTY), Boolean(process.stdout.isTTY));
const commandName = top.command ?? (mode === 'tui' ? 'tui' : 'check');
const command = COMMANDS[commandName]!;

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
