import {connect, DoctorError, type Engine, type EngineChoice} from '../docker/engine.js';
import {canStartPrivateEngine, startPrivateEngine} from '../docker/private-engine.js';

export interface DemoEngine {
	engine: Engine;
	/** Set when the demo started its own engine: stopping it removes everything that lived in it. */
	stop?: () => Promise<void>;
}

/** The reachable engine; else, as root with dockerd installed, a private one; else one line saying what to install. */
export async function demoEngine(choice: EngineChoice, log: (line: string) => void): Promise<DemoEngine> {
	try {
		return {engine: await connect(choice)};
	} catch (error) {
		// An engine the user named explicitly is the one they want: do not quietly start another.
		if (!(error instanceof DoctorError) || choice.host || choice.context || process.env.DOCKER_HOST || process.env.DOCKER_CONTEXT) {
			throw error;
		}

		if (!canStartPrivateEngine()) {
			throw new DoctorError(`${error.message.replace(/: start it.*$/, '')}, and only root can start a private one: install and start Docker (Debian: sudo apt-get install docker.io busybox-static && sudo systemctl start docker), or run the demo as root`);
		}

		log('no Docker engine answers; starting a private one (dockerd, no network, temporary paths)…');
		const own = await startPrivateEngine({prefix: 'occdemo-'});
		log(`private engine at ${own.host}`);
		return {engine: await connect(own.host), stop: own.stop};
	}
}
