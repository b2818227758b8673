/** How a command talks to the world. Results go to stdout; progress, warnings and errors to stderr. */
export type Mode = 'tui' | 'plain' | 'json';

export interface CommandFlags {
	host?: string;
	context?: string;
	container?: string;
	path: string[];
	profile?: string;
	json: boolean;
	plain: boolean;
	yes: boolean;
	[key: string]: unknown;
}

export interface CommandContext {
	mode: Mode;
	flags: CommandFlags;
	/** Words after the command: `restore DIR`. */
	args?: string[];
	/** Aborted on Ctrl+C or SIGTERM: long tasks stop, clean up and return. */
	signal: AbortSignal;
	stdout: NodeJS.WritableStream;
	stderr: NodeJS.WritableStream;
	/** True when stdin and stdout are terminals: prompts and the TUI are possible. */
	interactive: boolean;
}

/** A command returns its exit code; cli.tsx is the one place that sets it. */
export type Command = (ctx: CommandContext) => Promise<number>;

/** The TUI runs only with a terminal on both ends and no --json/--plain. */
export function decideMode(flags: {json: boolean; plain: boolean}, stdinIsTty: boolean, stdoutIsTty: boolean): Mode {
	if (flags.json) {
		return 'json';
	}

	if (flags.plain || !stdinIsTty || !stdoutIsTty) {
		return 'plain';
	}

	return 'tui';
}
