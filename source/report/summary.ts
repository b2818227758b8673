import type {Finding, Report, Scenario, Severity} from '../core/types.js';

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
