import {SEVERITY_MARK, fixText} from '../report/labels.js';
import {pad} from '../report/text.js';
import type {Observed} from '../core/types.js';
import {expectedObservation} from './findings.js';
import type {ProbeEvent, ProbeResult, ProbeStep} from './types.js';

const STEP_TEXT: Record<ProbeStep, string> = {
	preparing: 'checking the container',
	starting: 'starting the stopped container',
	writing: 'writing sentinels',
	restarting: 'restarting',
	waiting: 'waiting for the container to be',
	reading: 'reading sentinels',
	recreate: 'recreate probe',
	cleanup: 'cleanup',
	stopping: 'stopping the container again',
};

/** One stderr line per event worth seeing; the same events feed the JSON result and the TUI. */
export function progressLine(event: ProbeEvent): string | null {
	switch (event.type) {
		case 'step': {
			return `probe: ${STEP_TEXT[event.step]}${event.detail ? ` ${event.step === 'waiting' ? '' : '('}${event.detail}${event.step === 'waiting' ? '' : ')'}` : ''}`;
		}

		case 'sentinel': {
			if (event.action === 'written' || event.action === 'removed') {
				return null;
			}

			return `probe:   ${event.action === 'left' ? '✗ left behind' : event.action === 'unwritable' ? '! unwritable' : '- skipped'} ${event.dir}${event.note ? `: ${event.note}` : ''}`;
		}

		case 'warning': {
			return `probe: ! ${event.message}`;
		}

		default: {
			return null;
		}
	}
}

const GLYPH: Record<Observed, string> = {kept: '✓ kept', lost: '✗ lost', unwritable: '! unwritable'};

function cell(predicted: string | null, observed: Observed | null): string {
	const obs = observed ? GLYPH[observed] : '- not probed';
	return `${obs} (predicted ${predicted ?? '-'})`;
}

/** The plain result: per location what was predicted and what was observed, the probe's findings, one summary line. */
export function renderProbePlain(result: ProbeResult): string {
	const lines: string[] = [];
	const {container, probe} = result;
	lines.push(`occ-doctor probe · ${container.name} (${container.image}) · run ${probe.runId}`);
	lines.push(probe.restarted ? `restarted${probe.startedStopped ? ' (started for the probe, stopped again)' : ''} · twin read for the recreate` : 'not restarted (--no-restart) · twin read for the recreate');
	lines.push('');
	const width = Math.min(48, Math.max(10, ...result.locations.map(l => l.path.length)));
	lines.push(`  ${pad('location', width)}  ${pad('storage', 17)}  ${pad('restart', 30)}  recreate`);
	for (const location of result.locations) {
		const o = location.observed;
		if (!o) {
			continue;
		}

		const restart = cell(location.survives.restart, o.restart);
		const recreate = cell(location.survives.recreate, o.recreate);
		const off = (o.restart && o.restart !== 'unwritable' && o.restart !== expectedObservation(location.survives.restart)) || (o.recreate && o.recreate !== 'unwritable' && o.recreate !== expectedObservation(location.survives.recreate));
		lines.push(`${off ? '✗' : ' '} ${pad(location.path, width)}  ${pad(location.storage, 17)}  ${pad(restart, 30)}  ${recreate}`);
		if (o.note) {
			lines.push(`      ${o.note}`);
		}
	}

	const probeCodes = new Set(['probe-mismatch', 'probe-unwritable', 'rows-lost']);
	const own = result.findings.filter(f => probeCodes.has(f.code));
	if (own.length > 0) {
		lines.push('', 'Probe findings');
		for (const f of own) {
			lines.push(`  ${SEVERITY_MARK[f.severity]} ${f.message}`, `    fix: ${fixText(f)}`);
		}
	}

	if (probe.databases && (probe.databases.before.length > 0 || probe.databases.after.length > 0)) {
		lines.push('', 'Database rows (before → after the restart)');
		for (const db of probe.databases.after) {
			const before = probe.databases.before.find(b => b.path === db.path);
			const sum = (t: Record<string, number> | undefined) => Object.values(t ?? {}).reduce((a, b) => a + b, 0);
			lines.push(`  ${db.path}: ${before ? sum(before.tables) : '-'} → ${sum(db.tables)}${db.error ? ` (${db.error})` : ''}`);
		}
	}

	if (probe.leftovers.length > 0) {
		lines.push('', `✗ left behind: ${probe.leftovers.join(', ')}: run occ-doctor probe --cleanup`);
	}

	const errors = result.findings.filter(f => f.severity === 'error').length;
	const fromCheck = result.findings.filter(f => f.severity === 'error' && !probeCodes.has(f.code)).length;
	const observedCount = result.locations.filter(l => l.observed && (l.observed.restart ?? l.observed.recreate)).length;
	lines.push('', `${errors === 0 ? '✓' : '✗'} ${errors} error${errors === 1 ? '' : 's'}${fromCheck ? ` (${fromCheck} from the prediction: occ-doctor check --container ${container.name})` : ''} · ${observedCount} of ${result.locations.length} locations observed`);
	return lines.join('\n') + '\n';
}
