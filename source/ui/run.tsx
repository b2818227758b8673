import {render} from 'ink';
import {App, type AppResult, type Launch} from './app.js';
import {FrameWriter} from './frame-writer.js';
import type {DoctorServices} from './services.js';
import {colorFromEnv} from './theme.js';

// The alternate screen, as lazydocker and k9s use: quitting gives the shell back as it was.
// The alternate screen keeps the cursor where the shell left it: home it, or Ink's relative redraws drift.
const ENTER_ALT = '\u001B[?1049h\u001B[2J\u001B[H';
const LEAVE_ALT = '\u001B[?1049l';

export interface RunOptions {
	services: DoctorServices;
	container?: string;
	/** Open on a screen with its flags (`occ-doctor probe`, `occ-doctor backup`). */
	launch?: Launch;
	signal: AbortSignal;
	stdout?: NodeJS.WriteStream;
	stdin?: NodeJS.ReadStream;
	stderr?: NodeJS.WritableStream;
}

/** Render the app until the user quits. Resolves with its exit code: the last report's, or 130 for Ctrl+C or a signal. */
export async function runTui({services, container, launch, signal, stdout = process.stdout, stdin = process.stdin, stderr = process.stderr}: RunOptions): Promise<number> {
	stdout.write(ENTER_ALT);
	// Ink's frames go through the writer, which sends the terminal only the lines that changed (docs/tui.md, Terminals).
	const writer = new FrameWriter(stdout);
	const instance = render(<App services={services} container={container} launch={launch} signal={signal} color={colorFromEnv()} redraw={() => writer.redraw()}/>, {
		stdout: writer as unknown as NodeJS.WriteStream,
		stdin,
		// Ctrl+C is the app's: a running probe or backup must clean up before Ink lets go of the terminal.
		exitOnCtrlC: false,
		patchConsole: false,
		// Ink 6.8's incrementalRendering draws each frame one line low on a full-height app (its cursor-up is one short
		// after the trailing '\n'): off. Ink writes whole frames, at most 30 a second; FrameWriter diffs them by line.
		incrementalRendering: false,
	});
	let result: AppResult | undefined;
	try {
		result = await instance.waitUntilExit() as AppResult | undefined;
		return result?.code ?? 130;
	} finally {
		instance.cleanup();
		writer.dispose();
		stdout.write(LEAVE_ALT);
		// What a cancelled probe or backup cleaned up stays in the shell's scrollback.
		if (result?.message) {
			stderr.write(result.message + '\n');
		}
	}
}
