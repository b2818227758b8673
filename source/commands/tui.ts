import {connect} from '../docker/engine.js';
import type {Launch} from '../ui/app.js';
import {checkCommand} from './check.js';
import type {Command, CommandContext} from './context.js';

/** The screens, opened on `launch.screen` when a command (probe, backup) brings the user there. Only in tui mode. */
export async function openTui(ctx: CommandContext, launch?: Launch): Promise<number> {
	// Connect before anything renders, so a missing engine is one line on stderr and exit 2, not a screen.
	const engine = await connect(ctx.flags.host);
	// Ink is imported only here: the plain and JSON paths never load it.
	const [{runTui}, {engineServices}] = await Promise.all([import('../ui/run.js'), import('../ui/services.js')]);
	const services = engineServices(engine, {paths: ctx.flags.path, profile: ctx.flags.profile});
	return runTui({services, container: ctx.flags.container, launch, signal: ctx.signal});
}

/** `occ-doctor tui` (and no command in a terminal): the screens. Without a terminal, or with --plain/--json, the `check` report. */
export const tuiCommand: Command = async ctx => {
	if (ctx.mode !== 'tui') {
		return checkCommand(ctx);
	}

	return openTui(ctx);
};
