import {SCENARIOS, type Finding, type Location, type Observed, type Report, type Scenario, type Severity, type Survival} from '../core/types.js';

const RANK: Record<Severity, number> = {error: 0, warning: 1, info: 2};

export function worstSeverityByPath(findings: Finding[]): Map<string, Severity> {
	const worst = new Map<string, Severity>();
	for (const f of findings) {
		if (f.path === null) {
			continue;
		}

		const current = worst.get(f.path);
		if (!current || RANK[f.severity] < RANK[current]) {
			worst.set(f.path, f.severity);
		}
	}

	return worst;
}

/** A scenario column is shown when it applies to this container (some location has a value for it). */
export function scenarioVisible(report: Pick<Report, 'locations'>, scenario: Scenario): boolean {
	return report.locations.some(l => l.survives[scenario] !== null);
}

export function counts(report: Pick<Report, 'findings' | 'locations'>): {errors: number; warnings: number; infos: number; locations: number} {
	return {
		errors: report.findings.filter(f => f.severity === 'error').length,
		warnings: report.findings.filter(f => f.severity === 'warning').length,
		infos: report.findings.filter(f => f.severity === 'info').length,
		locations: report.locations.length,
	};
}

/** The one fix to show first: the first error's, else the first warning's. */
export function topFix(report: Pick<Report, 'findings'>): Finding | null {
	return report.findings.find(f => f.severity === 'error') ?? report.findings.find(f => f.severity === 'warning') ?? null;
}

/** Where the numbers come from: the probe's observations when present, else the prediction from mounts. */
export function sourceNote(report: Report): string {
	const observed = report.locations.filter(l => l.observed && (l.observed.restart || l.observed.recreate)).length;
	return observed > 0
		? `observed by probe for ${observed} location${observed === 1 ? '' : 's'} (● marks them) · the rest predicted from mounts`
		: 'predicted from mounts (docker inspect); nothing was changed';
}

export function visibleScenarios(report: Report): Scenario[] {
	return SCENARIOS.filter(s => scenarioVisible(report, s));
}

/** The probe observes restart and recreate; what it saw wins over the prediction. */
export function observedFor(location: Location, scenario: Scenario): Observed | null {
	if (!location.observed) {
		return null;
	}

	if (scenario === 'restart') {
		return location.observed.restart;
	}

	return scenario === 'recreate' ? location.observed.recreate : null;
}

export interface Cell {
	value: Survival | null;
	observed: Observed | null;
}

export function cellOf(location: Location, scenario: Scenario): Cell {
	const observed = observedFor(location, scenario);
	const predicted = location.survives[scenario];
	// The twin cannot see an orphaned volume's data, which is what "orphaned" predicts: the original is still on disk.
	const value = observed === 'lost' && predicted === 'orphaned' ? 'orphaned' : (observed === 'kept' || observed === 'lost' ? observed : predicted);
	return {value, observed};
}
