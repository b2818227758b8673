import {parseArgs} from 'node:util';
import {DoctorError} from '../errors.js';
import type {CommandFlags} from './context.js';

/** Every option: its type, short name, and whether it repeats. `--no-X` are their own booleans. */
const OPTIONS = {
	container: {type: 'string', short: 'c'},
	service: {type: 'string'},
	path: {type: 'string', short: 'p', multiple: true},
	db: {type: 'string', multiple: true},
	'no-databases': {type: 'boolean'},
	integrity: {type: 'boolean'},
	profile: {type: 'string'},
	host: {type: 'string'},
	context: {type: 'string'},
	json: {type: 'boolean'},
	plain: {type: 'boolean'},
	yes: {type: 'boolean', short: 'y'},
	'no-restart': {type: 'boolean'},
	cleanup: {type: 'boolean'},
	only: {type: 'string', multiple: true},
	priority: {type: 'string', multiple: true},
	out: {type: 'string'},
	stop: {type: 'boolean'},
	verify: {type: 'string'},
	to: {type: 'string', multiple: true},
	'dry-run': {type: 'boolean'},
	rehearse: {type: 'boolean'},
	force: {type: 'boolean'},
	help: {type: 'boolean', short: 'h'},
	version: {type: 'boolean'},
} as const;

const TAKES_ARGUMENT = new Set(['restore']);

export interface ParsedArgs {
	/** The command named on the line; undefined when none was. */
	command?: string;
	flags: CommandFlags;
	/** Words after the command: `restore DIR`. */
	args: string[];
	help: boolean;
	version: boolean;
}

function usage(message: string, code: string): DoctorError {
	return new DoctorError(`${message}: see occ-doctor --help`, 'usage', {code});
}

/**
 * Parse argv (flags before or after the command). Throws a `usage` DoctorError naming the unknown flag, the unknown
 * command, or the flag that lacks its value — `--container --json` must not quietly check another container.
 */
export function parseCommandLine(argv: string[], commands: readonly string[]): ParsedArgs {
	const {tokens} = parseArgs({args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true});
	const values: Record<string, string | string[] | boolean> = {};
	const positionals: string[] = [];
	for (const token of tokens) {
		if (token.kind === 'positional') {
			positionals.push(token.value);
			continue;
		}

		if (token.kind === 'option-terminator') {
			continue;
		}

		const spec = (OPTIONS as Record<string, {type: 'string' | 'boolean'; multiple?: boolean}>)[token.name];
		if (!spec) {
			throw usage(`unknown flag ${token.rawName}`, 'unknown-flag');
		}

		if (spec.type === 'boolean') {
			if (token.value !== undefined) {
				throw usage(`${token.rawName} takes no value (got "${token.value}")`, 'unexpected-value');
			}

			values[token.name] = true;
			continue;
		}

		// A value that looks like a flag was another flag: the value is missing (`--container=-x` passes one that starts with -).
		if (token.value === undefined || token.value === '' || (!token.inlineValue && token.value.startsWith('-'))) {
			throw usage(`${token.rawName} needs a value`, 'missing-value');
		}

		values[token.name] = spec.multiple ? [...(values[token.name] as string[] | undefined ?? []), token.value] : token.value;
	}

	const [command, ...extra] = positionals;
	if (command !== undefined && !commands.includes(command)) {
		throw usage(`unknown command "${command}" (commands: ${commands.join(', ')})`, 'unknown-command');
	}

	// Only restore takes a word after it: the backup directory.
	if (extra.length > (command && TAKES_ARGUMENT.has(command) ? 1 : 0)) {
		throw usage(`unexpected argument "${extra.at(-1)}" after ${command}`, 'unexpected-argument');
	}

	return {command, flags: toFlags(values), args: extra, help: values.help === true, version: values.version === true};
}

function toFlags(values: Record<string, string | string[] | boolean>): CommandFlags {
	const {'no-databases': noDatabases, 'no-restart': noRestart, 'dry-run': dryRun, help, version, ...rest} = values;
	return {
		...rest,
		dryRun: dryRun === true,
		path: (values.path as string[] | undefined) ?? [],
		db: (values.db as string[] | undefined) ?? [],
		json: values.json === true,
		plain: values.plain === true,
		yes: values.yes === true,
		databases: noDatabases !== true,
		restart: noRestart !== true,
	};
}
