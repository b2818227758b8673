// Where long tasks print their progress in plain mode (stderr). On a terminal one status line is rewritten in place,
// cut to the width; piped (CI logs, `2> file`), a progress line is printed at most every 5 s, and when a new
// location starts. Lines that stay (steps, a finished location) are printed either way.
import {truncate} from './text.js';

export interface ProgressOutput {
	/** A line that stays: a step, a location finished, a note. */
	line(text: string): void;
	/** The current progress of `key` (a location): rewritten in place on a terminal, printed now and then when piped. */
	status(text: string, key?: string): void;
	/** Clear the status line, before the command prints its result. */
	end(): void;
}

export interface StatusStream {
	write(text: string): unknown;
	isTTY?: boolean;
	columns?: number;
}

export const PIPED_STATUS_MS = 5000;
const TTY_STATUS_MS = 100;

export function progressOutput(stream: StatusStream, now: () => number = Date.now): ProgressOutput {
	const tty = Boolean(stream.isTTY);
	let shown = '';
	let last = Number.NEGATIVE_INFINITY;
	let lastKey: string | undefined;
	const clear = () => {
		if (shown) {
			stream.write('\r\u001B[K');
		}
	};

	return {
		line(text) {
			clear();
			stream.write(`${text}\n`);
			if (shown) {
				stream.write(shown);
			}
		},
		status(text, key) {
			const t = now();
			if (tty) {
				if (t - last < TTY_STATUS_MS && key === lastKey) {
					return;
				}

				// One cell short of the width: writing the last cell would wrap on some terminals.
				const fitted = truncate(text.trim(), Math.max(10, (stream.columns ?? 80) - 1));
				stream.write(`\r${fitted}\u001B[K`);
				shown = fitted;
			} else if (t - last >= PIPED_STATUS_MS || key !== lastKey) {
				stream.write(`${text}\n`);
			} else {
				return;
			}

			last = t;
			lastKey = key;
		},
		end() {
			clear();
			shown = '';
		},
	};
}

/** The same output with every line and status prefixed (restore prints its safety copy's backup this way). */
export function prefixed(out: ProgressOutput, prefix: string): ProgressOutput {
	return {line: text => out.line(`${prefix}${text.trim()}`), status: (text, key) => out.status(`${prefix}${text.trim()}`, key), end: () => out.end()};
}
