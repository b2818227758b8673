import {randomBytes} from 'node:crypto';
import {runCheck} from '../check/check.js';
import {demoEngine} from '../demo/engine.js';
import {createDemo, DEMO_ANONYMOUS, removeDemo} from '../demo/setup.js';
import {renderJson} from '../report/json.js';
import {renderPlain} from '../report/plain.js';
import {exitCode} from '../errors.js';
import type {Command} from './context.js';

/**
 * `occ-doctor demo`: a labelled opencode-cloud-like sandbox with one critical path on an anonymous volume,
 * the TUI (or the plain report) on it, and everything removed on the way out, Ctrl+C included.
 * Exit 0 when the doctor found the planted problem, 1 when it did not, 2 when the demo could not run, 130 when interrupted.
 */
export const demoCommand: Command = async ctx => {
	const log = (line: string) => ctx.stderr.write(`demo: ${line}\n`);
	const id = randomBytes(3).toString('hex');
	const {engine, stop} = await demoEngine({host: ctx.flags.host, context: ctx.flags.context}, log);
	try {
		ctx.signal.throwIfAborted();
		const demo = await createDemo(engine, id, ctx.signal, log);
		if (ctx.mode === 'tui') {
			const {loadTui} = await import('./tui.js');
			const {runTui, engineServices} = await loadTui();
			const code = await runTui({services: engineServices(engine), container: demo.containerId, signal: ctx.signal});
			return code === 130 ? 130 : code === 2 ? 2 : 0;
		}

		const {report} = await runCheck({container: demo.containerId}, engine);
		ctx.stdout.write(ctx.mode === 'json' ? renderJson(report) : renderPlain(report));
		const found = report.findings.some(f => f.path === DEMO_ANONYMOUS && f.severity === 'error');
		if (!found) {
			log(`the doctor did not flag ${DEMO_ANONYMOUS} (planted on an anonymous volume): please report this`);
		}

		return exitCode(found ? 'ok' : 'failed');
	} finally {
		try {
			const removed = await removeDemo(engine, id);
			log(`removed ${removed.containers} container(s), ${removed.volumes} volume(s) and ${removed.images} image(s) labelled dev.occ-doctor.demo=${id}`);
		} catch (error) {
			// With a private engine everything goes with its data directory below; otherwise say what to remove by hand.
			if (!stop) {
				log(`cleanup failed (${(error as Error).message.split('\n')[0]}): remove by hand with docker ps -aq --filter label=dev.occ-doctor.demo=${id} | xargs docker rm -fv`);
			}
		}

		if (stop) {
			await stop();
			log('private engine stopped');
		}
	}
};
