// The engine a bench measures against: the one at DOCKER_HOST when it answers, else a private dockerd of its own
// (root with docker.io), stopped by `stop()`. Without either the bench says so and exits 0: a bench is no test.
import Docker from 'dockerode';
import {engineTarget} from '../source/docker/engine.js';
import {canStartPrivateEngine, startPrivateEngine} from '../source/docker/private-engine.js';

export async function benchEngine(bench: string): Promise<{host: string | undefined; stop: () => Promise<void>}> {
	const host = process.env.DOCKER_HOST;
	try {
		await new Docker(engineTarget(host).options).ping();
		return {host, stop: async () => {}};
	} catch {
		if (!canStartPrivateEngine()) {
			process.stdout.write(`bench ${bench}: no Docker engine and cannot start one (root + docker.io needed): skipped\n`);
			process.exit(0);
		}

		const own = await startPrivateEngine({prefix: 'occb-'});
		return {host: own.host, stop: async () => own.stop()};
	}
}
