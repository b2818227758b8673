// One question at the terminal, for the confirmations of backup --stop, probe and restore. At a prompt the terminal
// is in raw mode, so Ctrl+C reaches readline as a key, not the process as SIGINT: it is turned into the same
// interrupt (exit 130) a Ctrl+C anywhere else gives, not readline's "Aborted with Ctrl+C" (exit 2).
import {createInterface} from 'node:readline/promises';
import {DoctorError} from '../errors.js';
import {isRelaunched} from '../relaunched.js';

export interface PromptStreams {
	input: NodeJS.ReadableStream;
	output: NodeJS.WritableStream;
	/** Tests drive a stream that is not a TTY as one. */
	terminal?: boolean;
}

/** Ask `question` and resolve to the answer; Ctrl+C or the run's signal rejects with an interrupt. */
export async function askAtTerminal(question: string, streams: PromptStreams, signal: AbortSignal, onInterrupt: string): Promise<string> {
	const rl = createInterface({input: streams.input, output: streams.output, ...(streams.terminal === undefined ? {} : {terminal: streams.terminal})});
	const interrupted = new AbortController();
	rl.once('SIGINT', () => {
		interrupted.abort();
	});
	if (isRelaunched()) {
		// Relaunched (source/relaunch.ts), readline's Ctrl+Z would stop this child alone, and the shell, waiting on
		// the launcher, would never get the terminal back: Ctrl+Z is ignored at the prompt (answer, or Ctrl+C).
		rl.on('SIGTSTP', () => {});
	}
	try {
		return await rl.question(question, {signal: AbortSignal.any([signal, interrupted.signal])});
	} catch (error) {
		if (interrupted.signal.aborted) {
			throw new DoctorError(`interrupted by Ctrl+C at the prompt: ${onInterrupt}`, 'interrupted');
		}

		throw error;
	} finally {
		rl.close();
	}
}
