import {exitCodeFor} from '../core/analyze.js';
import {DoctorError, exitCode} from '../errors.js';
import {progressLine, renderProbePlain, runProbe, runProbeCleanup, type ProbeEvent, type ProbePlan} from '../probe/index.js';
import type {CommandContext, Command} from './context.js';
import {askAtTerminal} from './prompt.js';

/** Ask y/N on the terminal, showing what will happen. Only called with a terminal on both ends. */
async function ask(ctx: CommandContext, plan: ProbePlan): Promise<boolean> {
	ctx.stderr.write(`occ-doctor probe will, on ${plan.container.name}:\n${plan.summary.map(s => `  - ${s}\n`).join('')}`);
	try {
		const answer = await askAtTerminal('Continue? [y/N] ', {input: process.stdin, output: ctx.stderr}, ctx.signal, 'nothing was changed');
		return /^y(es)?$/i.test(answer.trim());
	} catch (error) {
		// Ctrl+C at the prompt is an interrupt (exit 130); a prompt that cannot be answered (stdin closed) is a no.
		if (error instanceof DoctorError) {
			throw error;
		}

		return false;
	}
}

/** `occ-doctor probe`: write, restart, read, recreate-probe, clean up. Exit 1 when errors (a mismatch among them). */
export const probeCommand: Command = async ctx => {
	const progress = (event: ProbeEvent) => {
		const line = ctx.mode === 'json' ? null : progressLine(event);
		if (line) {
			ctx.stderr.write(line + '\n');
		}
	};

	if (ctx.flags.cleanup) {
		const result = await runProbeCleanup({host: ctx.flags.host, context: ctx.flags.context, container: ctx.flags.container, onEvent: progress});
		if (ctx.mode === 'json') {
			ctx.stdout.write(JSON.stringify(result, null, 2) + '\n');
		} else {
			ctx.stdout.write([
				`occ-doctor probe --cleanup: removed ${result.helpersRemoved.length} twin/helper container(s) and ${result.sentinelsRemoved.length} sentinel(s)${result.restored.length > 0 ? `; restored ${result.restored.length} container state(s) from the probe journal` : ''}`,
				...result.restored.map(r => `  ✓ ${r}`),
				...result.helpersRemoved.map(h => `  ✓ container ${h}`),
				...result.sentinelsRemoved.map(s => `  ✓ ${s}`),
				...result.left.map(l => `  ✗ ${l}`),
			].join('\n') + '\n');
		}

		return exitCode(result.left.length > 0 ? 'failed' : 'ok');
	}

	const noRestart = ctx.flags.restart === false || Boolean(ctx.flags.noRestart);
	// In a terminal: the TUI's Probe screen shows the plan, asks (unless --yes) and shows each step. Ink loads only here.
	if (ctx.mode === 'tui') {
		const {openTui} = await import('./tui.js');
		return openTui(ctx, {screen: 'probe', probe: {autoStart: true, yes: ctx.flags.yes, noRestart}});
	}

	const result = await runProbe({
		host: ctx.flags.host,
		context: ctx.flags.context,
		container: ctx.flags.container,
		paths: ctx.flags.path,
		profile: ctx.flags.profile,
		noRestart,
		signal: ctx.signal,
	}, {
		onEvent: progress,
		async confirm(plan) {
			if (ctx.flags.yes) {
				return true;
			}

			if (!ctx.interactive) {
				const what = plan.startStopped ? `start the stopped container ${plan.container.name} (and stop it again)` : `restart ${plan.container.name}`;
				throw new DoctorError(`probe would ${what} and no one can confirm without a terminal: pass --yes, or --no-restart to skip the restart`, 'usage');
			}

			return ask(ctx, plan);
		},
	});
	ctx.stdout.write(ctx.mode === 'json' ? JSON.stringify(result, null, 2) + '\n' : renderProbePlain(result));
	return exitCodeFor(result);
};
