import {scenarioVisible, worstSeverityByPath} from './summary.js';
import {formatBytes, pad} from './text.js';
import {redisLines, stackLines, stackSummary} from './stack.js';
import {ABSENT_MARK, SCENARIO_SHORT, SCENARIO_TITLE, SEVERITY_MARK, SURVIVAL_GLYPH, fixText, mountLabel} from './labels.js';
import {SCENARIOS, type Finding, type Report} from '../core/types.js';

function findingLines(f: Finding, indent: string): string[] {
	return [`${indent}${SEVERITY_MARK[f.severity]} ${f.message}`, `${indent}  fix: ${fixText(f)}`];
}

function sizeLabel(bytes: number | null): string {
	return bytes === null ? '?' : formatBytes(bytes);
}

/** "a (why), b (why), c (other)" as "a, b (why); c (other)": one long reason is said once. */
function groupedByReason(skipped: string[]): string {
	const groups = new Map<string, string[]>();
	for (const entry of skipped) {
		const at = entry.indexOf(' (');
		const [path, reason] = at > 0 && entry.endsWith(')') ? [entry.slice(0, at), entry.slice(at + 2, -1)] : [entry, ''];
		groups.set(reason, [...(groups.get(reason) ?? []), path]);
	}

	return [...groups].map(([reason, paths]) => `${paths.join(', ')}${reason ? ` (${reason})` : ''}`).join('; ');
}

/** One line per database with its total rows (or its error), one per legacy storage dir, and their findings. */
function databaseLines(report: Report): string[] {
	const databases = report.databases ?? [];
	const legacy = report.legacyStorage ?? [];
	const skipped = report.databasesSkipped ?? [];
	if (databases.length === 0 && legacy.length === 0 && skipped.length === 0) {
		return [];
	}

	const lines = ['', 'Databases'];
	const notCounted = report.findings.find(f => f.code === 'databases-not-counted');
	if (databases.length === 0 && legacy.length === 0) {
		// Unknown is not zero: say which it is.
		lines.push(notCounted ? `  ${SEVERITY_MARK[notCounted.severity]} not counted: their rows are unknown, not zero (why: above)` : '  none found');
		if (notCounted) {
			lines.push(`      fix: ${fixText(notCounted)}`);
		}
	}

	const width = Math.min(60, Math.max(...databases.map(d => d.path.length), ...legacy.map(l => l.path.length), 10));
	const worst = worstSeverityByPath(report.findings);
	for (const db of databases) {
		const severity = worst.get(db.path);
		const mark = db.error ? SEVERITY_MARK[severity ?? 'warning'] : (severity ? SEVERITY_MARK[severity] : '✓');
		const tables = Object.keys(db.tables).length;
		const rows = Object.values(db.tables).reduce((a, b) => a + b, 0);
		const wal = db.walBytes === null ? '' : ` + ${sizeLabel(db.walBytes)} wal`;
		const detail = db.error
			? `error: ${db.error}`
			: `${rows.toLocaleString('en-US')} rows in ${tables} table${tables === 1 ? '' : 's'} · ${db.journalMode ?? '?'} · ${sizeLabel(db.sizeBytes)}${wal}${db.integrity && db.integrity !== 'ok' ? ` · integrity: ${db.integrity}` : ''}`;
		lines.push(`  ${mark} ${pad(db.path, width)}  ${detail}`);
		for (const f of report.findings.filter(f => f.path === db.path)) {
			lines.push(...findingLines(f, '      '));
		}
	}

	for (const storage of legacy) {
		const counts = Object.entries(storage.counts).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`).join(' · ') || 'empty';
		const severity = worst.get(storage.path);
		lines.push(`  ${severity ? SEVERITY_MARK[severity] : '✓'} ${pad(storage.path, width)}  legacy JSON storage: ${counts}`);
		for (const f of report.findings.filter(f => f.path === storage.path)) {
			lines.push(...findingLines(f, '      '));
		}
	}

	if (skipped.length > 0) {
		lines.push(`  not searched: ${groupedByReason(skipped)} (add one with --db PATH)`);
	}

	return lines;
}

/** Whether the container runs again by itself: the data is kept either way, the service may not be. */
export function comesBackLine(report: Pick<Report, 'comesBack' | 'restartPolicy'>): string {
	return report.comesBack['host-reboot']
		? `starts again by itself (restart policy ${report.restartPolicy})`
		: `stays down until someone starts it (restart policy ${report.restartPolicy})`;
}

/** The doctor-style report: sections, one mark per location, the fix under each problem, one summary line. No colour, no escape codes. */
export function renderPlain(report: Report): string {
	const lines: string[] = [];
	const {container, profile} = report;
	const compose = container.compose ? ` · compose ${container.compose.project}/${container.compose.service}` : '';
	lines.push(`occ-doctor check · ${container.name} (${container.image})${compose}`);
	lines.push(`profile: ${profile.name} (${profile.detectedBy}) · survival predicted from mounts`);
	if (report.engine) {
		const {host, context, transport} = report.engine;
		lines.push(`engine: ${host}${context ? ` · context ${context}` : ''} · ${transport}`);
	}

	lines.push('');
	lines.push(report.locations.some(l => l.exists === false) ? `Locations (${ABSENT_MARK} absent: not in the container)` : 'Locations');
	const worst = worstSeverityByPath(report.findings);
	const width = Math.min(60, Math.max(...report.locations.map(l => l.path.length), 10));
	for (const location of report.locations) {
		const severity = worst.get(location.path);
		const absent = location.exists === false;
		const mark = severity && severity !== 'info' ? SEVERITY_MARK[severity] : (absent ? ABSENT_MARK : (severity ? SEVERITY_MARK[severity] : '✓'));
		const ro = location.readOnly ? ' ro' : '';
		lines.push(`  ${mark} ${pad(location.path, width)}  ${pad(location.priority, 8)}  ${absent ? 'absent, ' : ''}${location.storage}${ro} ${mountLabel(location.mount)}`.trimEnd());
		for (const f of report.findings.filter(f => f.path === location.path)) {
			lines.push(...findingLines(f, '      '));
		}
	}

	const general = report.findings.filter(f => f.path === null);
	if (general.length > 0) {
		lines.push('', 'Container');
		for (const f of general) {
			lines.push(...findingLines(f, '  '));
		}
	}

	lines.push(...redisLines(report));
	lines.push(...databaseLines(report));
	const scenarios = SCENARIOS.filter(s => scenarioVisible(report, s));
	lines.push('', `What survives what (${SURVIVAL_GLYPH.kept} kept, ${SURVIVAL_GLYPH.orphaned} orphaned: on disk but not in the new container, ${SURVIVAL_GLYPH.lost} lost)`);
	lines.push(`  ${pad('', width)}  ${scenarios.map(s => pad(SCENARIO_SHORT[s], 4)).join(' ')}`);
	for (const location of report.locations) {
		const cells = scenarios.map(s => {
			const v = location.survives[s];
			return pad(v ? SURVIVAL_GLYPH[v] : '-', 4);
		});
		lines.push(`  ${pad(location.path, width)}  ${cells.join(' ')}`.trimEnd());
	}

	lines.push(...scenarios.map(s => `    ${pad(SCENARIO_SHORT[s], 4)} ${SCENARIO_TITLE[s]}`));
	lines.push(`  after a host reboot or an engine restart the container ${comesBackLine(report)}`);

	const errors = report.findings.filter(f => f.severity === 'error').length;
	const warnings = report.findings.filter(f => f.severity === 'warning').length;
	lines.push(...stackLines(report));
	lines.push('', `${errors === 0 ? '✓' : '✗'} ${errors} error${errors === 1 ? '' : 's'} · ${warnings} warning${warnings === 1 ? '' : 's'} · ${report.locations.length} locations`);
	const stack = stackSummary(report);
	if (stack) {
		lines.push(stack);
	}

	return lines.join('\n') + '\n';
}
