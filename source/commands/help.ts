import {readFileSync} from 'node:fs';

// The help text, and the fast path that prints it: `--help` and `--version` need no flag parser, no engine client.
export const HELP = `
  Usage
    $ occ-doctor [command] [options]

  Commands
    check      how every data path is stored and what survives what (default without a terminal)
    backup     one verified .tar.gz per volume and bind mount, a manifest, SQLite snapshots; progress on stderr
    restore    put a backup back: preview, safety copy, replace, verify, roll back on failure; or rehearse it
    probe      write a sentinel into every data path, restart, read back, and read through a recreate twin
    tui        the interactive screens (default in a terminal)
    demo       a throwaway opencode-cloud-like sandbox with one real problem, shown in the TUI, removed on exit

  Options
    --container, -c NAME|ID   the container to examine (default: the only coding-agent container found)
    --service NAME            of the container's compose project, only this service (check; the TUI opens on it)
    --path, -p PATH           also judge this container path (repeatable)
    --db PATH                 also count this SQLite database (container path, repeatable; must exist)
    --no-databases            skip finding and counting databases
    --integrity               run PRAGMA quick_check on every database (default: those up to 32 MB)
    --profile NAME|FILE       force a profile: opencode-cloud, opencode, agent-server, redis-aof,
                              management-api, generic, or a JSON/YAML file of your own
    --host URL                the engine: unix:///path, tcp://host:port or ssh://[user@]host (default: DOCKER_HOST)
    --context NAME            the engine of this docker context (default: DOCKER_CONTEXT, then docker's current context)
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
    --rehearse                restore (and backup): restore into scratch volumes, verify, count rows, remove them
    --dry-run                 restore: preview files added/changed/removed and rows now → backup; change nothing
    --to NAME=VOLUME|/DIR     restore: this archive into a (new) named volume or host directory (repeatable)
    --force                   restore: replace a target that is not empty and not the container's own mount
                              (restore DIR takes --only to pick archives, --cleanup to finish one that died;
                              restore without DIR in a terminal opens the Restore screen)
    --help, -h                this help
    --version                 the version

  Exit codes
    0 no errors · 1 errors found · 2 could not run (bad input included) · 130 interrupted

  Examples
    $ occ-doctor check --container opencode-cloud-sandbox
    $ occ-doctor check --json | jq '.locations[] | {path, storage, survives}'
    $ DOCKER_HOST=ssh://me@server occ-doctor
`;

export function packageJson(): {description?: string; version?: string} {
	// From source/commands/, dist/source/commands/ or the bundle's dist/: the first package.json up that is ours.
	for (let up = 1; up <= 4; up++) {
		try {
			const pkg = JSON.parse(readFileSync(new URL(`${'../'.repeat(up)}package.json`, import.meta.url), 'utf8')) as {name?: string; description?: string; version?: string};
			if (pkg.name === 'occ-doctor') {
				return pkg;
			}
		} catch {}
	}

	return {};
}

/** What meow prints for `--help`: the description, then the help text, each indented by two. */
export function helpScreen(): string {
	const {description} = packageJson();
	return `${description ? `\n  ${description}\n` : ''}\n${HELP.replace(/^\n+|\s+$/g, '')}\n\n`;
}

/** `occ-doctor --help`, `occ-doctor check --help`, `occ-doctor --version`: answered before anything heavy loads. */
export function quickAnswer(args: string[], commands: string[]): string | null {
	const last = args.at(-1);
	const alone = args.length === 1 || (args.length === 2 && commands.includes(args[0]!));
	if (!alone) {
		return null;
	}

	if (last === '--help') {
		return helpScreen();
	}

	return last === '--version' && args.length === 1 ? `${packageJson().version ?? ''}\n` : null;
}
