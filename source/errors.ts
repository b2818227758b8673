/**
 * Errors carry a kind; this one table turns kinds (and the two ways a run can end well) into exit codes.
 * cli.tsx sets process.exitCode from it, so the TUI, plain text and JSON give the same code for the same run.
 */
export type Outcome = 'ok' | 'findings';

/**
 * usage: the command line is wrong (unknown flag or command, a flag without its value, a --db that is not there,
 * a profile that does not parse). cannot-run: the world is wrong (no engine, permission denied, no such container).
 * declined: the user said no to a disruptive step, so nothing was done. failed: the run finished and what it checked
 * is broken (a damaged backup, a container that did not come back). interrupted: Ctrl+C or SIGTERM.
 */
export type ErrorKind = 'usage' | 'cannot-run' | 'declined' | 'failed' | 'interrupted';

const EXIT_CODES: Record<Outcome | ErrorKind, number> = {
	ok: 0,
	findings: 1,
	failed: 1,
	usage: 2,
	'cannot-run': 2,
	declined: 2,
	interrupted: 130,
};

export function exitCode(what: Outcome | ErrorKind): number {
	return EXIT_CODES[what];
}

export interface DoctorErrorOptions {
	/** A stable name for scripts, e.g. unknown-flag or ambiguous-container (docs/json.md); the kind when absent. */
	code?: string;
	/** Extra keys for the JSON error object, e.g. the candidates. */
	details?: Record<string, unknown>;
}

// `check` runs from a CommonJS bundle of its own (docs/startup.md), so a run can hold two copies of this class: a
// brand, not the prototype chain, says whether a value is a DoctorError.
const BRAND = Symbol.for('occ-doctor.DoctorError');

/** A failure that stops the run. Its message is one line naming the cause and the fix. */
export class DoctorError extends Error {
	static [Symbol.hasInstance](value: unknown): boolean {
		// Subclasses (AmbiguousContainerError) keep the ordinary check.
		return this === DoctorError ? typeof value === 'object' && value !== null && BRAND in value : Function.prototype[Symbol.hasInstance].call(this, value);
	}

	readonly [BRAND] = true;
	readonly code: string;
	readonly details: Record<string, unknown>;

	constructor(message: string, readonly kind: ErrorKind = 'cannot-run', options: DoctorErrorOptions = {}) {
		super(oneLine(message));
		this.name = 'DoctorError';
		this.code = options.code ?? kind;
		this.details = options.details ?? {};
	}

	get exitCode(): number {
		return exitCode(this.kind);
	}
}

/** Every line of a message joined into one, so a parse error's position and quote are never cut off. */
export function oneLine(text: string): string {
	return text.split('\n').map(line => line.trim()).filter(Boolean).join(' ');
}

/** Whatever was thrown, as a DoctorError: an abort is `interrupted`, anything unexpected `cannot-run`. */
export function asDoctorError(error: unknown, aborted = false): DoctorError {
	if (aborted && !(error instanceof DoctorError && error.kind === 'interrupted')) {
		return new DoctorError(error instanceof DoctorError ? error.message : 'interrupted', 'interrupted');
	}

	if (error instanceof DoctorError) {
		return error;
	}

	return new DoctorError(error instanceof Error ? error.message : String(error));
}

/** The one line on stderr. */
export function errorLine(error: DoctorError): string {
	return `occ-doctor: ${error.message}`;
}

/** The object on stdout under --json (docs/json.md, Errors). */
export function errorJson(error: DoctorError): string {
	return JSON.stringify({error: {code: error.code, kind: error.kind, exitCode: error.exitCode, message: error.message, ...error.details}}, null, 2) + '\n';
}
