import type {RedisSettings, Report, ServiceReport} from '../core/types.js';
import {SEVERITY_MARK, fixText} from './labels.js';

const VERDICT_MARK: Record<ServiceReport['verdict'], string> = {ok: '✓', warnings: '!', errors: '✗'};

function plural(n: number, word: string): string {
	return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "0 errors · 1 warning", or why the service could not be checked. */
export function serviceCounts(service: ServiceReport): string {
	return service.error ? `not checked: ${service.error}` : `${plural(service.counts.errors, 'error')} · ${plural(service.counts.warnings, 'warning')}`;
}

/** One line: appendonly, save and dir, each with where it was read. */
export function redisLine(redis: RedisSettings): string {
	return `appendonly ${redis.appendonly ? 'yes' : 'no'} (${redis.from.appendonly}) · save "${redis.save}" (${redis.from.save}) · dir ${redis.dir} (${redis.from.dir})`;
}

/** The plain report's Redis section. */
export function redisLines(report: Report): string[] {
	if (!report.redis) {
		return [];
	}

	return ['', 'Redis', `  ${redisLine(report.redis)}`, ...report.redis.notes.map(note => `  (${note})`)];
}

/** The plain report's Stack section: each service's verdict; the other services' errors and warnings with their fixes. */
export function stackLines(report: Report): string[] {
	const services = report.services ?? [];
	if (services.length === 0) {
		return [];
	}

	const project = report.container.compose?.project ?? '';
	const width = Math.max(...services.map(s => s.name.length));
	const nameWidth = Math.max(...services.map(s => s.container.name.length));
	const lines = ['', `Stack: compose project ${project}, ${plural(services.length, 'service')} (the report above is ${report.container.name})`];
	for (const service of services) {
		const self = service.container.id === report.container.id;
		lines.push(`  ${VERDICT_MARK[service.verdict]} ${service.name.padEnd(width)}  ${service.container.name.padEnd(nameWidth)}  ${(service.profile ?? '-').padEnd(14)}  ${serviceCounts(service)}${self ? '  (above)' : ''}`);
		if (self) {
			continue;
		}

		if (service.redis) {
			lines.push(`      redis: ${redisLine(service.redis)}`);
		}

		for (const f of service.findings.filter(f => f.severity !== 'info')) {
			lines.push(`      ${SEVERITY_MARK[f.severity]} ${f.message}`, `        fix: ${fixText(f)}`);
		}
	}

	return lines;
}

/** The last line for a stack: how many services have errors or warnings. */
export function stackSummary(report: Report): string | null {
	const services = report.services ?? [];
	if (services.length === 0) {
		return null;
	}

	const errors = services.filter(s => s.verdict === 'errors').length;
	const warnings = services.filter(s => s.verdict === 'warnings').length;
	return `${errors > 0 ? '✗' : '✓'} stack ${report.container.compose?.project ?? ''}: ${errors} of ${services.length} services with errors · ${warnings} with warnings only`;
}
