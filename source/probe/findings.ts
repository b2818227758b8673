import {sortFindings} from '../core/findings.js';
import {advice, command, fixOf} from '../core/fix.js';
import type {Finding, Location, Observed, Survival} from '../core/types.js';

/**
 * What a sentinel read from the container after the operation should show, given the prediction. The probe reads
 * from the (new) container, so data left `orphaned` on a dangling volume is, from there, `lost`. Pure.
 */
export function expectedObservation(predicted: Survival | null): Observed | null {
	if (predicted === null) {
		return null;
	}

	return predicted === 'kept' ? 'kept' : 'lost';
}

function mismatch(location: Location, scenario: 'restart' | 'recreate', observed: Observed): Finding | null {
	const predicted = location.survives[scenario];
	const expected = expectedObservation(predicted);
	// Unwritable and unprobed cells are not observations of survival; they get their own findings.
	if (expected === null || observed === 'unwritable' || observed === expected) {
		return null;
	}

	const viewed = predicted === 'orphaned' ? ' (orphaned: on disk, but not in the new container)' : '';
	return {
		code: 'probe-mismatch',
		severity: 'error',
		path: location.path,
		message: `${location.path} (${location.storage}): predicted ${predicted}${viewed} on ${scenario}, observed ${observed}`,
		...fixOf([advice('a surprise in this setup or a bug in occ-doctor\'s rules: check `docker inspect` of the mounts, and report it with `occ-doctor probe --json` attached')]),
	};
}

/** A location the container's user cannot write although its data must persist. Read-only is check's `read-only-data`. */
function unwritable(location: Location): Finding | null {
	const note = location.observed?.note ?? '';
	if (location.expected !== 'persistent' || location.observed?.restart !== 'unwritable' && location.observed?.recreate !== 'unwritable' || note.startsWith('read-only')) {
		return null;
	}

	const important = location.priority === 'critical' || location.priority === 'high';
	// The probe's note carries a runnable fix (probe.ts ownerFix); without one, advice.
	const given = /fix: (.*)$/.exec(note)?.[1];
	const steps = given ? [command(given)] : [advice('make the directory writable for the container\'s user')];
	return {
		code: 'probe-unwritable',
		severity: important ? 'error' : 'warning',
		path: location.path,
		message: `${location.label} cannot be written: ${note.replace(/;? fix: .*$/, '')}`,
		...fixOf(steps),
	};
}

/** The probe's findings for locations that carry observations. Pure. */
export function probeFindings(locations: Location[]): Finding[] {
	const out: Finding[] = [];
	for (const location of locations) {
		if (!location.observed) {
			continue;
		}

		for (const scenario of ['restart', 'recreate'] as const) {
			const observed = location.observed[scenario];
			const finding = observed ? mismatch(location, scenario, observed) : null;
			if (finding) {
				out.push(finding);
			}
		}

		const bad = unwritable(location);
		if (bad) {
			out.push(bad);
		}
	}

	return sortFindings(out);
}
