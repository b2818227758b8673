import {EventEmitter} from 'node:events';

// Ink 6.8's incremental mode draws a full-height app one line low, and its plain mode rewrites every line on each
// change. This sits between Ink (plain mode) and the terminal and sends only the lines that changed, by absolute row.

const ESC = '\u001B[';
// What ansi-escapes' eraseLines(n) writes: n × erase-line, cursor-up between them, then cursor to column 1.
const ERASE_LINES = /^((?:\u001B\[2K\u001B\[1A)*\u001B\[2K\u001B\[G)?/;
// Plain text with colours (SGR) only: anything else in a frame would move the cursor behind our back.
const SGR = /\u001B\[[0-9;:]*m/g;
// Written by Ink around frames (synchronized output, cursor hide/show) or as a flush barrier: harmless, passed on.
const HARMLESS = new Set(['', `${ESC}?2026h`, `${ESC}?2026l`, `${ESC}?25l`, `${ESC}?25h`]);

/** The part of the real stdout the writer needs. */
export interface FrameSink {
	write(chunk: string, callback?: (error?: Error | null) => void): boolean;
	columns?: number;
	rows?: number;
	on?(event: 'resize', listener: () => void): unknown;
	off?(event: 'resize', listener: () => void): unknown;
}

type Callback = (error?: Error | null) => void;

/**
 * Looks like a TTY WriteStream to Ink. The screen is the alternate screen homed at row 1 (runTui), so frame line i is
 * terminal row i + 1.
 */
export class FrameWriter extends EventEmitter {
	readonly isTTY = true;
	/** The lines on screen, or null when we cannot know (start, resize, a chunk we passed through): repaint all. */
	private screen: string[] | null = null;

	constructor(private readonly sink: FrameSink) {
		super();
		sink.on?.('resize', this.onResize);
	}

	get columns(): number {
		return this.sink.columns ?? 80;
	}

	get rows(): number {
		return this.sink.rows ?? 24;
	}

	// Ink checks these before its last writes; the sink's own errors are the caller's (EPIPE guard).
	get writable(): boolean {
		return (this.sink as {writable?: boolean}).writable ?? true;
	}

	get destroyed(): boolean {
		return (this.sink as {destroyed?: boolean}).destroyed ?? false;
	}

	get writableEnded(): boolean {
		return (this.sink as {writableEnded?: boolean}).writableEnded ?? false;
	}

	/** Ctrl+L: clear the terminal and send every line of the current frame again. */
	redraw(): void {
		const lines = this.screen;
		if (lines) {
			this.sink.write(`${ESC}H${ESC}2J` + lines.map((line, i) => row(i, line)).join('') + park(lines.length));
		}
	}

	/** Stop following the real stdout's resizes. */
	dispose(): void {
		this.sink.off?.('resize', this.onResize);
	}

	write(chunk: unknown, encodingOrCallback?: BufferEncoding | Callback, callback?: Callback): boolean {
		const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
		const out = this.translate(chunk);
		if (out === '') {
			// Nothing to send; Ink's flush barrier still waits for its callback.
			if (done) {
				process.nextTick(done);
			}

			return true;
		}

		return this.sink.write(out, done);
	}

	/** What to send to the terminal for one chunk from Ink. */
	translate(chunk: unknown): string {
		if (typeof chunk !== 'string') {
			this.screen = null;
			return String(chunk);
		}

		if (HARMLESS.has(chunk)) {
			return chunk;
		}

		const prefix = ERASE_LINES.exec(chunk)![0];
		const erased = prefix.split(`${ESC}2K`).length - 1;
		const body = chunk.slice(prefix.length);
		if (body === '' && erased > 0) {
			// Ink's log.clear(): its output is gone, so the screen is empty.
			this.screen = [];
			return `${ESC}H${ESC}2J`;
		}

		if (!body.endsWith('\n') || body.replace(SGR, '').includes('\u001B')) {
			// Not a frame we understand (fullscreen mode, cursor moves): pass it on and repaint next time.
			this.screen = null;
			return chunk;
		}

		const lines = body.slice(0, -1).split('\n');
		const previous = this.screen;
		this.screen = lines;
		// Ink erases the lines it wrote last time, plus the one its trailing '\n' left the cursor on.
		const expected = previous === null || previous.length === 0 ? 0 : previous.length + 1;
		if (previous === null || erased !== expected) {
			return `${ESC}H${ESC}2J` + lines.map((line, i) => row(i, line)).join('') + park(lines.length);
		}

		let out = '';
		for (let i = 0; i < Math.max(lines.length, previous.length); i++) {
			if (i >= lines.length) {
				out += row(i, ''); // A row the new frame no longer has.
			} else if (lines[i] !== previous[i]) {
				out += row(i, lines[i]!);
			}
		}

		return out === '' ? '' : out + park(lines.length);
	}

	private readonly onResize = () => {
		// A resized terminal reflows what is on it: repaint the next frame whole.
		this.screen = null;
		this.emit('resize');
	};
}

// Clear before writing, not after: erase-to-end on a full-width line can eat its last character (pending wrap).
const row = (index: number, line: string) => `${ESC}${index + 1};1H${ESC}K${line}`;
// Leave the cursor where Ink thinks it is (below the frame), so anything passed through lands as Ink meant.
const park = (lineCount: number) => `${ESC}${lineCount + 1};1H`;
