// The plain reporter of restore events (stderr) and the plain summary of its result (stdout).
import {plainReporter, progressText, RateMeter} from '../backup/progress.js';
import {prefixed, type ProgressOutput} from '../report/status.js';
import {formatBytes} from '../report/text.js';
import type {DatabaseRows, RestoreEvent, RestoreResult} from './types.js';

const PHASE_WORDS: Record<string, string> = {
	checking: 'checking',
	stopping: 'stopping the container',
	'safety-copy': 'writing the safety copy',
	emptying: 'emptying the target of',
	'moving-in': 'moving in the new contents of',
	extracting: 'extracting',
	verifying: 'verifying',
	counting: 'counting the databases of',
	starting: 'starting the container',
	'rolling-back': 'rolling back',
	rehearsing: 'rehearsing',
};

/** One line per step; progress as the output's status; the safety copy's own events as backup prints them. */
export function restoreReporter(out: ProgressOutput): (event: RestoreEvent) => void {
	const write = (line: string) => out.line(line);
	const meters = new Map<string, RateMeter>();
	const safety = plainReporter(prefixed(out, 'safety copy: '));
	return event => {
		switch (event.type) {
			case 'plan': {
				write(`restore: ${event.backup} → ${event.container}`);
				for (const a of event.archives) {
					write(`  ${a.file} → ${a.target} (${a.containerPath})${a.note ? `  ${a.note}` : ''}`);
				}

				break;
			}

			case 'phase': {
				write(`${PHASE_WORDS[event.phase] ?? event.phase}${event.archive ? ` ${event.archive}` : ''}`);
				break;
			}

			case 'progress': {
				const key = `${event.phase} ${event.archive}`;
				const meter = meters.get(key) ?? new RateMeter();
				meters.set(key, meter);
				meter.add(event.bytes);
				out.status(`  ${event.archive}: ${event.phase} ${progressText(event.bytes, event.total, meter)}`, key);

				break;
			}

			case 'safety': {
				if (event.event.type !== 'plan' && event.event.type !== 'done') {
					safety(event.event);
				}

				break;
			}

			case 'verify': {
				write(`  ${event.archive}: ${event.ok ? 'verified' : `FAILED ${event.error}`}`);
				break;
			}

			case 'notice': {
				write(`note: ${event.message}`);
				break;
			}

			case 'done': {
				out.end();
				break;
			}
		}
	};
}

function rowsText(db: DatabaseRows): string {
	const tables = [...new Set([...Object.keys(db.now ?? {}), ...Object.keys(db.backup ?? {})])].sort();
	return tables.map(t => `${t} ${db.now?.[t] ?? '-'} → ${db.backup?.[t] ?? '-'}`).join(', ');
}

/** The result in words, for stdout. */
export function restoreSummary(result: RestoreResult): string {
	const lines: string[] = [];
	const head: Record<RestoreResult['outcome'], string> = {
		restored: `Restored ${result.backup} into ${result.container} (verified)`,
		'rolled-back': `Restore of ${result.backup} into ${result.container} rolled back: the old data is back`,
		'dry-run': `Preview of restoring ${result.backup} into ${result.container} (nothing was changed)`,
		rehearsed: `Rehearsal of ${result.backup}: every archive restorable`,
		damaged: `Rehearsal of ${result.backup}: damage found`,
	};
	lines.push(head[result.outcome]);
	for (const a of result.archives) {
		const mark = a.status === 'failed' || a.status === 'rolled-back' ? '✗' : (a.status === 'skipped' ? '-' : (a.status === 'planned' ? '·' : '✓'));
		lines.push(`  ${mark} ${a.file} → ${a.target}  ${a.status}${a.seconds === undefined ? '' : ` in ${a.seconds.toFixed(1)} s`}${a.note ? `  (${a.note})` : ''}`);
		if (a.preview) {
			lines.push(`      ${a.preview.added} added, ${a.preview.changed} changed, ${a.preview.removed} removed`);
			for (const [what, paths] of Object.entries(a.preview.samples)) {
				if (paths.length > 0 && paths.length <= 5) {
					lines.push(`      ${what}: ${paths.join(', ')}`);
				}
			}
		}

		if (a.verify && !a.verify.ok) {
			lines.push(`      ${a.verify.error}`);
		}

		for (const db of a.databases) {
			lines.push(`      db ${db.path}: rows ${result.outcome === 'dry-run' ? 'now → backup' : 'restored → manifest'}: ${rowsText(db)}${db.integrity && db.integrity !== 'ok' ? `  quick_check: ${db.integrity}` : ''}`);
		}
	}

	if (result.outcome === 'dry-run') {
		lines.push('  A restore stops the container, writes a safety copy of each non-empty target next to the backup, replaces each target (never merges), verifies every file and starts the container again.');
	}

	if (result.safetyCopy) {
		lines.push(`Safety copy: ${result.safetyCopy}`);
	}

	if (result.rollbackCommand) {
		lines.push(`Roll back: ${result.rollbackCommand}`);
	}

	return lines.join('\n');
}

