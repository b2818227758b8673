import {runCheck, type CheckOptions} from '../check/check.js';
import type {ContainerFacts, Report} from '../core/types.js';
import type {Engine} from '../docker/engine.js';
import {findCandidates, type Candidate} from '../docker/inspect.js';

/** One look at a container: the report, and the inspect facts behind it (shown in a location's details). */
export interface Inspection {
	report: Report;
	facts: ContainerFacts | null;
}

/** What the screens need from the world. No React here; tests pass fakes that resolve at once. */
export interface DoctorServices {
	/** Where the engine is, for the header. */
	engineLabel: string;
	candidates(): Promise<Candidate[]>;
	check(containerRef: string): Promise<Inspection>;
}

/** The real services over a connected engine: the same runCheck and findCandidates as `check`. */
export function engineServices(engine: Engine, options: Omit<CheckOptions, 'container' | 'host'> = {}): DoctorServices {
	return {
		engineLabel: engine.target.label,
		candidates: async () => findCandidates(engine),
		async check(containerRef) {
			const {report, facts} = await runCheck({...options, container: containerRef}, engine);
			return {report, facts};
		},
	};
}
