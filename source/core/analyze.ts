import {exitCode} from '../errors.js';
import {findingsFor} from './findings.js';
import {buildLocations, composeOf} from './model.js';
import {comesBackOf} from './matrix.js';
import {SCHEMA_VERSION} from './types.js';
import type {ContainerFacts, Profile, Report} from './types.js';

/** The whole prediction for one container: locations, their matrix rows and the findings. Pure. */
export function analyze(facts: ContainerFacts, profile: Profile, detectedBy: string, extraPaths: string[] = []): Report {
	const locations = buildLocations(facts, profile, extraPaths);
	return {
		schemaVersion: SCHEMA_VERSION,
		container: {id: facts.id, name: facts.name, image: facts.image, compose: composeOf(facts)},
		profile: {name: profile.name, title: profile.title, detectedBy},
		locations,
		findings: findingsFor(facts, profile, locations),
		restartPolicy: facts.restartPolicy || 'no',
		comesBack: comesBackOf(facts),
	};
}

/** The `ok` or `findings` exit code (source/errors.ts): findings when any finding is an error, in any service of the stack. */
export function exitCodeFor(report: Pick<Report, 'findings' | 'services'>): number {
	const errors = report.findings.some(f => f.severity === 'error') || (report.services ?? []).some(s => s.verdict === 'errors');
	return exitCode(errors ? 'findings' : 'ok');
}
