import {pickContainer} from '../check/check.js';
import {serviceContainer} from '../check/stack.js';
import {connect, type Engine} from '../docker/engine.js';
import {inspectContainer} from '../docker/inspect.js';
import type {Launch} from '../ui/app.js';
import {checkCommand} from './check.js';
import type {Command, CommandContext} from './context.js';

/**
 * Load the Ink side. Only here: the plain and JSON paths never load it. Ink decides once, at import, that a
 * CI=true environment gets no live frames; the TUI only runs with a terminal on both ends, where a person is
 * watching, so CI is hidden from that one decision and put back.
 */
export async function loadTui(): Promise<{runTui: typeof import('../ui/run.js').runTui; engineServices: typeof import('../ui/services.js').engineServices}> {
	const saved = {CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION};
	delete process.env.CI;
	delete process.env.CONTINUOUS_INTEGRATION;
	try {
		const [{runTui}, {engineServices}] = await Promise.all([import('../ui/run.js'), import('../ui/services.js')]);
		return {runTui, engineServices};
	} finally {
		for (const [key, value] of Object.entries(saved)) {
			if (value !== undefined) {
				process.env[key] = value;
			}
		}
	}
}

/** The screens, opened on `launch.screen` when a command (probe, backup) brings the user there. Only in tui mode. */
export async function openTui(ctx: CommandContext, launch?: Launch, lookup: {backupDirs?: string[]} = {}): Promise<number> {
	// Connect before anything renders, so a missing engine is one line on stderr and exit 2, not a screen.
	const engine = await connect({host: ctx.flags.host, context: ctx.flags.context});
	const {runTui, engineServices} = await loadTui();
	const services = engineServices(engine, {paths: ctx.flags.path, profile: ctx.flags.profile}, lookup);
	const container = typeof ctx.flags.service === 'string' ? await serviceRef(engine, ctx.flags.container, ctx.flags.service) : ctx.flags.container;
	return runTui({services, container, launch, signal: ctx.signal});
}

/** --service in a terminal: open the screens on that service's container (an unknown one is one line, exit 2, as in plain). */
async function serviceRef(engine: Engine, container: string | undefined, service: string): Promise<string> {
	const info = await inspectContainer(engine, await pickContainer(engine, container));
	return serviceContainer(engine, {id: info.Id, name: String(info.Name ?? '').replace(/^\//, ''), labels: info.Config?.Labels ?? {}}, service);
}

/** `occ-doctor tui` (and no command in a terminal): the screens. Without a terminal, or with --plain/--json, the `check` report. */
export const tuiCommand: Command = async ctx => {
	if (ctx.mode !== 'tui') {
		return checkCommand(ctx);
	}

	return openTui(ctx);
};
