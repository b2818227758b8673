/** @jsxRuntime automatic */
import {EventEmitter} from 'node:events';
import {render} from 'ink-testing-library';
import {analyze} from '../../source/core/analyze.js';
import {detectProfile} from '../../source/core/profiles.js';
import type {ContainerFacts, Report} from '../../source/core/types.js';
import type {Candidate} from '../../source/docker/inspect.js';
import {App, type AppProps} from '../../source/ui/app.js';
import type {DoctorServices, Inspection} from '../../source/ui/services.js';
import {recordedFacts} from '../helpers/facts.js';

/** The real model on a recorded opencode-cloud inspect: 3 errors, 4 warnings (one is no-restart-policy), 9 locations. */
export function recordedInspection(mutate?: (report: Report) => void, fixture = 'occ-anon-workspace'): Inspection {
	const facts: ContainerFacts = recordedFacts(fixture);
	const {profile, detectedBy} = detectProfile(facts);
	const report = analyze(facts, profile, detectedBy);
	mutate?.(report);
	return {report, facts};
}

export function candidate(name: string, extra: Partial<Candidate> = {}): Candidate {
	return {id: `${name}-id`, name, image: 'occ-test', state: 'running', profile: 'opencode-cloud', compose: null, instance: null, reason: 'label', ...extra};
}

/** Services that resolve at once; they record what the screens asked for. */
export function fakeServices(options: {candidates?: Candidate[]; inspection?: Inspection | ((ref: string) => Inspection); fail?: string} = {}): DoctorServices & {checked: string[]} {
	const checked: string[] = [];
	return {
		engineLabel: 'unix:///fake.sock',
		checked,
		candidates: async () => options.candidates ?? [candidate('opencode-cloud-sandbox')],
		async check(ref) {
			checked.push(ref);
			if (options.fail) {
				throw new Error(options.fail);
			}

			const inspection = options.inspection ?? recordedInspection();
			return typeof inspection === 'function' ? inspection(ref) : inspection;
		},
	};
}

export const ESC = '\u001B';
export const KEY = {up: `${ESC}[A`, down: `${ESC}[B`, right: `${ESC}[C`, left: `${ESC}[D`, enter: '\r', escape: ESC, tab: '\t', shiftTab: `${ESC}[Z`, backspace: '\u007F'};

/** Render the app at a terminal size; colour off by default so frames compare as plain text. */
export function renderApp(props: Partial<AppProps> & {services?: DoctorServices} = {}, size = {columns: 80, rows: 24}) {
	return render(<App services={props.services ?? fakeServices()} size={size} color={props.color ?? false} {...props}/>);
}

/** Poll lastFrame() until the predicate holds; fail with the last frame when it never does. */
export async function waitFor(lastFrame: () => string | undefined, predicate: (frame: string) => boolean, timeoutMs = 3000): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const frame = lastFrame() ?? '';
		if (predicate(frame)) {
			return frame;
		}

		if (Date.now() > deadline) {
			throw new Error(`timed out waiting; last frame:\n${frame}`);
		}

		await new Promise(resolve => setTimeout(resolve, 10));
	}
}

export const waitForText = async (lastFrame: () => string | undefined, text: string | RegExp, timeoutMs?: number) =>
	waitFor(lastFrame, f => (typeof text === 'string' ? f.includes(text) : text.test(f)), timeoutMs);

/**
 * Type keys one at a time, each landing on the state the last one made: after a key, wait for the frame to change
 * (Ink reads input on a later tick). A key that changes nothing visible moves on after `settleMs`; assertions then
 * wait on content with waitForText, so a slow machine only makes this slower, never wrong.
 */
export async function press(app: {stdin: {write(s: string): void}; lastFrame(): string | undefined}, ...keys: string[]): Promise<void> {
	for (const key of keys) {
		const before = app.lastFrame();
		app.stdin.write(key);
		const deadline = Date.now() + settleMs;
		while (app.lastFrame() === before && Date.now() < deadline) {
			await new Promise(resolve => setTimeout(resolve, 5));
		}
	}
}

const settleMs = 400;

/** A terminal for runTui: a TTY-sized stdout that keeps everything written, and a stdin that takes keys. */
export class FakeStdout extends EventEmitter {
	isTTY = true;
	columns = 80;
	rows = 24;
	text = '';
	write = (chunk: string) => {
		this.text += chunk;
		return true;
	};
}

export class FakeStdin extends EventEmitter {
	isTTY = true;
	private data: string | null = null;
	write(data: string) {
		this.data = data;
		this.emit('readable');
		this.emit('data', data);
	}

	read = () => {
		const {data} = this;
		this.data = null;
		return data;
	};

	setEncoding() {}
	setRawMode() {}
	resume() {}
	pause() {}
	ref() {}
	unref() {}
}

/** A gate a fake service waits at, so a test sees the state in between; open() lets it go on. */
export function gate(): {wait(signal?: AbortSignal): Promise<void>; open(): void} {
	let release!: () => void;
	const opened = new Promise<void>(resolve => {
		release = resolve;
	});
	return {
		async wait(signal) {
			await Promise.race([opened, new Promise<void>(resolve => signal?.addEventListener('abort', () => resolve(), {once: true}))]);
		},
		open: () => release(),
	};
}
