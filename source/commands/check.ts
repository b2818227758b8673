import {exitCodeFor} from '../core/analyze.js';
import {AmbiguousContainerError, runCheck} from '../check/check.js';
import {renderJson} from '../report/json.js';
import type {Command} from './context.js';

/** `occ-doctor check`: the plain or JSON report, exit 0 (no errors) or 1 (errors found). */
export const checkCommand: Command = async ctx => {
	try {
		const {report} = await runCheck({host: ctx.flags.host, context: ctx.flags.context, container: ctx.flags.container, paths: ctx.flags.path, profile: ctx.flags.profile, db: ctx.flags.db as string[] | undefined, databases: ctx.flags.databases !== false, integrity: ctx.flags.integrity === true ? true : undefined, service: ctx.flags.service as string | undefined, signal: ctx.signal});
		// The plain renderer loads only for plain text: its string-width compiles Unicode regexps (~20 ms).
		ctx.stdout.write(ctx.mode === 'json' ? renderJson(report) : (await import('../report/plain.js')).renderPlain(report));
		return exitCodeFor(report);
	} catch (error) {
		if (error instanceof AmbiguousContainerError) {
			ctx.stderr.write('Candidates:\n' + error.candidates.map(c => `  ${c.name}  ${c.image}  ${c.state}  profile ${c.profile}${c.compose ? `  compose ${c.compose.project}/${c.compose.service}` : ''}\n`).join(''));
		}

		throw error;
	}
};
