// HTTP/1.1 pipelining on one connection to the engine: every request is written at once, and the answers are read
// back in order. Over a link each wave of requests costs a round trip; requests that must run one after another (a
// database snapshot's -wal copy, main copy, then the re-stat) can still share one, because the engine, a Go HTTP
// server, answers the requests of one connection one at a time, in the order sent: the next is not read until the
// answer before it has been written. So the order the snapshot needs holds on the engine's side, as it does when we
// wait for each answer (docs/remote.md).
import type {Duplex} from 'node:stream';

/** The engine's answers could not be read as HTTP/1.1 here: the caller may ask again one request at a time. */
export class PipelineError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'PipelineError';
	}
}

export interface PipelineStep {
	method: 'GET' | 'HEAD';
	/** Path and query, e.g. `/containers/ID/archive?path=%2Fdata%2Fx.db`. */
	path: string;
}

export interface PipelineResponse {
	statusCode: number;
	/** Lower-cased names. */
	headers: Record<string, string>;
	/** The body's bytes (de-chunked). Whatever the caller leaves unread is skipped before the next response. */
	body: AsyncIterable<Buffer>;
}

/** Reads bytes from a stream on demand, keeping what was read past the current need. */
class ByteReader {
	private pending: Buffer = Buffer.alloc(0);
	private readonly source: AsyncIterator<Buffer>;

	constructor(stream: AsyncIterable<Buffer>) {
		this.source = stream[Symbol.asyncIterator]();
	}

	/** More bytes into `pending`; false at the end of the stream. */
	private async more(): Promise<boolean> {
		const next = await this.source.next();
		if (next.done) {
			return false;
		}

		this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
		return true;
	}

	/** Up to and including `delimiter`, as latin1 text (without it). */
	async line(delimiter: string, limit: number): Promise<string> {
		for (;;) {
			const at = this.pending.indexOf(delimiter, 0, 'latin1');
			if (at >= 0) {
				const text = this.pending.toString('latin1', 0, at);
				this.pending = this.pending.subarray(at + delimiter.length);
				return text;
			}

			if (this.pending.length > limit) {
				throw new PipelineError('an answer of the engine could not be read (a header line too long)');
			}

			if (!await this.more()) {
				throw new PipelineError('the engine closed the connection before its answer was complete');
			}
		}
	}

	/** Exactly `n` bytes, as they come, in pieces. */
	async * take(n: number): AsyncGenerator<Buffer> {
		let left = n;
		while (left > 0) {
			if (this.pending.length === 0 && !await this.more()) {
				throw new PipelineError(`the engine closed the connection ${left} bytes before the end of its answer`);
			}

			const part = this.pending.subarray(0, left);
			this.pending = this.pending.subarray(part.length);
			left -= part.length;
			yield part;
		}
	}
}

const HEAD_LIMIT = 64 * 1024;

async function * chunked(reader: ByteReader): AsyncGenerator<Buffer> {
	for (;;) {
		const size = Number.parseInt((await reader.line('\r\n', HEAD_LIMIT)).split(';')[0]!.trim(), 16);
		if (!Number.isFinite(size) || size < 0) {
			throw new PipelineError('a chunked answer of the engine could not be read');
		}

		if (size === 0) {
			// Trailers, if any, end with an empty line.
			while ((await reader.line('\r\n', HEAD_LIMIT)) !== '') {
				// Skipped.
			}

			return;
		}

		yield * reader.take(size);
		await reader.line('\r\n', HEAD_LIMIT);
	}
}

/** The body as the caller sees it: leaving a `for await` early must not end it, the rest is skipped here. */
function unclosable(body: AsyncGenerator<Buffer>): AsyncIterable<Buffer> {
	return {
		[Symbol.asyncIterator]: () => ({
			next: async () => body.next(),
			return: async () => ({done: true, value: undefined}),
		}),
	};
}

/** The request as written: HTTP/1.1, kept alive, no body. */
export function requestText(step: PipelineStep): string {
	return `${step.method} ${step.path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: occ-doctor\r\n\r\n`;
}

/**
 * Write every step on `socket` at once and yield the answers in order. Each body is skipped past, if the caller
 * did not read it all, before the next answer is read. The socket is ended after the last answer.
 */
export async function * pipelined(socket: Duplex, steps: PipelineStep[]): AsyncGenerator<PipelineResponse> {
	socket.write(steps.map(requestText).join(''));
	const reader = new ByteReader(socket as unknown as AsyncIterable<Buffer>);
	try {
		for (const step of steps) {
			const status = await reader.line('\r\n', HEAD_LIMIT);
			const match = /^HTTP\/1\.[01] (\d{3})/.exec(status);
			if (!match) {
				throw new PipelineError(`an answer of the engine could not be read (status line: ${status.slice(0, 80)})`);
			}

			const headers: Record<string, string> = {};
			for (let line = await reader.line('\r\n', HEAD_LIMIT); line !== ''; line = await reader.line('\r\n', HEAD_LIMIT)) {
				const colon = line.indexOf(':');
				if (colon > 0) {
					headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
				}
			}

			const statusCode = Number(match[1]);
			const noBody = step.method === 'HEAD' || statusCode === 204 || statusCode === 304;
			const length = Number(headers['content-length'] ?? Number.NaN);
			if (!noBody && !/chunked/i.test(headers['transfer-encoding'] ?? '') && !Number.isFinite(length)) {
				throw new PipelineError('the engine sent an answer of unknown length on a kept-alive connection');
			}

			const body = noBody ? reader.take(0) : /chunked/i.test(headers['transfer-encoding'] ?? '') ? chunked(reader) : reader.take(length);
			yield {statusCode, headers, body: unclosable(body)};
			// What the caller left unread belongs to this answer, not the next.
			for await (const _ of body) {
				// Skipped.
			}
		}
	} finally {
		socket.end();
		socket.destroy();
	}
}
