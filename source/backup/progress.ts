// Rates, ETAs and the plain reporter of backup events. The TUI's hook can use the same folding helpers.
import type {ProgressOutput} from '../report/status.js';
import {formatBytes, plural} from '../report/text.js';
import type {BackupEvent, VerifyResult} from './types.js';

export function formatDuration(seconds: number): string {
	if (!Number.isFinite(seconds)) {
		return '?';
	}

	const s = Math.max(0, Math.round(seconds));
	return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m` : (s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`);
}

/** Rate over a sliding window of samples, so a stall shows within seconds rather than averaging away. */
export class RateMeter {
	private readonly samples: Array<{t: number; bytes: number}> = [];
	constructor(private readonly windowMs = 3000) {}

	add(bytes: number, t = Date.now()): void {
		this.samples.push({t, bytes});
		while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) {
			this.samples.shift();
		}
	}

	/** Bytes per second; 0 until two samples exist. */
	rate(): number {
		const first = this.samples[0];
		const last = this.samples.at(-1);
		if (!first || !last || last.t === first.t) {
			return 0;
		}

		return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
	}

	/** Seconds left, or NaN when the total or the rate is unknown. */
	eta(bytes: number, total: number | null): number {
		const rate = this.rate();
		return total === null || rate <= 0 ? Number.NaN : Math.max(0, total - bytes) / rate;
	}
}

export function progressText(bytes: number, total: number | null, meter: RateMeter): string {
	const rate = meter.rate();
	const parts = [total === null ? formatBytes(bytes) : `${formatBytes(bytes)} / ${formatBytes(total)}`];
	if (total !== null && total > 0) {
		parts.push(`${Math.min(100, Math.floor((bytes * 100) / total))}%`);
	}

	if (rate > 0) {
		parts.push(`${formatBytes(rate)}/s`);
		if (total !== null) {
			parts.push(`ETA ${formatDuration(meter.eta(bytes, total))}`);
		}
	}

	return parts.join('  ');
}

/** The plain reporter: one line per step and per finished location; progress as the output's status (stderr). */
export function plainReporter(out: ProgressOutput): (event: BackupEvent) => void {
	const write = (line: string) => out.line(line);
	const meters = new Map<string, RateMeter>();
	const overall = new RateMeter();
	return event => {
		switch (event.type) {
			case 'plan': {
				write(`backup: ${event.container.name} → ${event.dir}`);
				for (const unit of event.units) {
					const size = unit.estimate.bytes === null ? 'size unknown' : `~${formatBytes(unit.estimate.bytes)}`;
					write(`  ${unit.name}  ${unit.containerPath}  ${unit.priority}  ${size}${unit.excluded.length > 0 ? `  (without nested ${unit.excluded.join(', ')})` : ''}`);
				}

				break;
			}

			case 'notice': {
				write(`note: ${event.message}`);
				break;
			}

			case 'container': {
				write(`${event.action} ${event.name}`);
				break;
			}

			case 'start': {
				meters.set(event.location, new RateMeter());
				break;
			}

			case 'progress': {
				const meter = meters.get(event.location) ?? new RateMeter();
				meters.set(event.location, meter);
				meter.add(event.bytes);
				overall.add(event.overall.bytes);
				out.status(`  ${event.location}: ${progressText(event.bytes, event.total, meter)} · overall ${progressText(event.overall.bytes, event.overall.total, overall)}`, event.location);

				break;
			}

			case 'snapshot': {
				const rows = event.tables ? Object.values(event.tables).reduce((a, b) => a + b, 0) : null;
				write(`  ${event.location}: consistent copy of ${event.database}${rows === null ? '' : ` (${rows} rows)`}${event.attempts > 1 ? ` after ${event.attempts} tries` : ''}`);
				break;
			}

			case 'written': {
				write(`  ${event.location}: wrote ${event.archive.file} (${formatBytes(event.archive.compressedBytes)}, ${plural(event.archive.fileCount, 'file')})`);
				break;
			}

			case 'verify': {
				write(`  ${event.location}: ${event.ok ? 'verified' : `FAILED ${event.error}`}`);
				break;
			}

			case 'done': {
				out.end();
				break;
			}
		}
	};
}

export function verifyLine(result: VerifyResult): string {
	return result.ok ? `✓ ${result.file}  sha256 ${result.sha256}  ${result.entries} entries` : `✗ ${result.error}`;
}

/** Where a backup's time went, in ms, for `backup --json`'s `timings` (docs/json.md) and the bench. */
export interface BackupTimings {
	ms: number;
	phases: {plan: number; archives: Record<string, {stream: number; databases: number}>; verify: number};
}

/**
 * Folds the events into phases: plan (until the first archive starts); per archive, the stream (until its first
 * database is taken, or it is written) and its databases (from there until it is written); verify (from the last
 * archive written to the end). `now` is injectable for the unit test.
 */
export function phaseTimer(now: () => number = Date.now): {see: (event: BackupEvent) => void; result: () => BackupTimings} {
	const begin = now();
	let firstStart: number | null = null;
	let lastWritten: number | null = null;
	const archives: Record<string, {start: number; snapshot: number | null; written: number | null}> = {};
	return {
		see(event) {
			const at = now();
			if (event.type === 'start') {
				firstStart ??= at;
				archives[event.location] = {start: at, snapshot: null, written: null};
			} else if (event.type === 'snapshot' && archives[event.location]) {
				archives[event.location]!.snapshot ??= at;
			} else if (event.type === 'written' && archives[event.location]) {
				archives[event.location]!.written = at;
				lastWritten = at;
			}
		},
		result() {
			const end = now();
			const phases: BackupTimings['phases'] = {plan: (firstStart ?? end) - begin, archives: {}, verify: lastWritten === null ? 0 : end - lastWritten};
			for (const [name, a] of Object.entries(archives)) {
				const written = a.written ?? end;
				phases.archives[name] = {stream: (a.snapshot ?? written) - a.start, databases: a.snapshot === null ? 0 : written - a.snapshot};
			}

			return {ms: end - begin, phases};
		},
	};
}
