// A shell on the engine's host, kept open on the SSH login's own session: commands written to its stdin run one
// after another, with no new session, process or round trip to open one (a remote command through the master
// costs a channel open and sshd's session set-up). Each command is `sh -c` with its arguments quoted, stdin from
// /dev/null (it must not eat the commands behind it), stderr dropped; it ends with a line holding this run's
// random token and the command's exit code. Output is lines, and `F <n>` lines followed by exactly n raw bytes
// (a file copied): the reader never looks for the token inside those bytes.
import {createRequire} from 'node:module';
import type {Readable, Writable} from 'node:stream';

/** Where the bytes of one `F <n>` record go; write() returning false pauses the shell's output until 'drain'. */
export interface FileSink {
	write(chunk: Buffer): boolean;
	once(event: 'drain', listener: () => void): unknown;
	end(): void;
}

export interface ShellCommand {
	/** The command line for the remote `sh`, built with quote(): one line. */
	line: string;
	/** An abort rejects the caller at once and gives the shell up (HostShell.run). */
	signal?: AbortSignal;
	/** Called for each `F <n>` record, in order; without it such a record is a protocol error. */
	file?: (index: number, bytes: number) => FileSink;
}

export interface ShellReply {
	code: number;
	lines: string[];
}

/** What readers need of a host shell (HostShell, or this machine's sh in tests). */
export type Shell = {run(command: ShellCommand): Promise<ShellReply>};

/** A string as one word for sh. */
export function quote(s: string): string {
	return `'${s.replaceAll('\'', '\'"\'"\'')}'`;
}

/** `sh -c SCRIPT sh ARGS…` as one command line: the arguments are never part of the script. */
export function shellLine(script: string, args: string[]): string {
	return ['sh', '-c', quote(script), 'sh', ...args.map(a => quote(a))].join(' ');
}

interface Pending extends ShellCommand {
	resolve: (reply: ShellReply) => void;
	reject: (error: Error) => void;
	lines: string[];
	files: number;
}

/**
 * Splits the shell's output into replies. Pure apart from the sinks it is handed: unit-tested on byte streams cut
 * anywhere. `pause` is called when a sink is full, with the function that resumes.
 */
export class ReplyReader {
	private buffer: Buffer = Buffer.alloc(0);
	/** Bytes still owed to the current file record. */
	private owed = 0;
	private sink: FileSink | undefined;
	private failed = false;
	readonly queue: Pending[] = [];

	constructor(private readonly token: string, private readonly pause: (resume: (done: () => void) => void) => void = () => {}) {}

	push(chunk: Buffer): void {
		if (this.failed) {
			return; // Nobody waits for what a shell that went away still sends.
		}

		this.buffer = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
		while (this.buffer.length > 0) {
			if (this.owed > 0) {
				this.feedFile();
				continue;
			}

			const end = this.buffer.indexOf(10);
			if (end < 0) {
				return;
			}

			const line = this.buffer.subarray(0, end).toString('utf8');
			this.buffer = this.buffer.subarray(end + 1);
			this.takeLine(line);
		}
	}

	/** Move owed bytes into the sink; a full sink pauses the shell's output (what is buffered here goes on). */
	private feedFile(): void {
		const part = this.buffer.subarray(0, this.owed);
		this.buffer = this.buffer.subarray(part.length);
		this.owed -= part.length;
		const sink = this.sink!;
		const more = sink.write(part);
		if (this.owed === 0) {
			// An ended stream never says 'drain': nothing to wait for, its last bytes are flushed as it closes.
			sink.end();
			this.sink = undefined;
		} else if (!more) {
			this.pause(done => sink.once('drain', done));
		}
	}

	private takeLine(line: string): void {
		const head = this.queue[0];
		if (!head) {
			return; // Nothing asked: a login script's late words.
		}

		if (line.startsWith(`${this.token} `)) {
			this.queue.shift();
			head.resolve({code: Number(line.slice(this.token.length + 1)), lines: head.lines.filter(l => l !== '')});
			return;
		}

		const record = /^F (\d+)$/.exec(line);
		if (record && head.file) {
			const bytes = Number(record[1]);
			const sink = head.file(head.files++, bytes);
			if (bytes === 0) {
				sink.end();
			} else {
				this.owed = bytes;
				this.sink = sink;
			}

			return;
		}

		head.lines.push(line);
	}

	/** The shell went away: every command still waiting fails with `error`. */
	fail(error: Error): void {
		this.sink?.end();
		this.sink = undefined;
		this.owed = 0;
		this.failed = true;
		for (const pending of this.queue.splice(0)) {
			pending.reject(error);
		}
	}
}

/** The shell over a child's stdin and stdout (the login's ssh process). */
export class HostShell {
	// node:crypto loads only when a shell is made: check.ts loads this module on every run (docs/startup.md).
	private readonly token = `occ-doctor-done-${(createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).randomBytes(12).toString('hex')}`;
	private readonly reader: ReplyReader;
	private gone: Error | undefined;

	/** `abandon` ends the session (the ssh process): an abort cannot stop a remote command any other way. */
	constructor(private readonly stdin: Writable, private readonly stdout: Readable, private readonly hold: (busy: boolean) => void = () => {}, private readonly abandon: () => void = () => {}) {
		this.reader = new ReplyReader(this.token, wait => {
			stdout.pause();
			wait(() => stdout.resume());
		});
		stdout.on('data', (chunk: Buffer) => {
			this.reader.push(chunk);
			this.idleCheck();
		});
		stdin.on('error', () => {});
	}

	/** Bytes the login printed after its answer, before this shell took over its output. */
	takeLeftover(chunk: Buffer): void {
		this.reader.push(chunk);
	}

	/** The shell's session ended (the link, or the end of the run): what waits fails, and nothing more is sent. */
	end(error: Error): void {
		this.gone ??= error;
		this.reader.fail(error);
		this.idleCheck();
	}

	get usable(): boolean {
		return this.gone === undefined;
	}

	run(command: ShellCommand): Promise<ShellReply> {
		if (this.gone) {
			return Promise.reject(this.gone);
		}

		const reply = new Promise<ShellReply>((resolve, reject) => {
			this.reader.queue.push({...command, resolve, reject, lines: [], files: 0});
			this.hold(true);
			this.stdin.write(`${command.line} </dev/null 2>/dev/null; printf '\\n%s %s\\n' ${this.token} "$?"\n`);
		});
		if (!command.signal) {
			return reply;
		}

		// Aborted mid-command (Ctrl+C during a big copy): the shell is given up, so the remote command stops and
		// nothing more lands in our files; later reads go through the archive API.
		const onAbort = () => {
			this.end(new Error('abandoned after an interrupt'));
			this.abandon();
		};

		command.signal.addEventListener('abort', onAbort, {once: true});
		reply.then(() => command.signal!.removeEventListener('abort', onAbort), () => command.signal!.removeEventListener('abort', onAbort));
		return untilAborted(reply, command.signal);
	}

	private idleCheck(): void {
		if (this.reader.queue.length === 0) {
			this.hold(false);
		}
	}
}

/** `promise`, or the signal's reason as soon as it aborts (the promise goes on, unheard). */
export async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
	signal.throwIfAborted();
	promise.catch(() => {});
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(signal.reason);
		signal.addEventListener('abort', onAbort, {once: true});
		promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
	});
}
