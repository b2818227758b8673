import {seg, type Line} from './line.js';

export const KEYS: Array<[string, string]> = [
	['tab / shift-tab, 1–7', 'switch screens'],
	['↑ ↓  or  j k', 'move (pgup/pgdn, g/G: page, top, bottom)'],
	['← →  or  h l', 'matrix: move between scenarios (scrolls when they do not fit)'],
	['enter', 'details of the location under the cursor'],
	['esc', 'back: close details, clear the filter, or return to the container list'],
	['/', 'filter rows (type, enter keeps it, esc clears it)'],
	['r', 're-inspect the container (reads only)'],
	['y / n', 'probe, backup: start or cancel after reading the plan; space, a, o, s: choose what to back up'],
	['?', 'this help'],
	['q, ctrl+c', 'quit; while a probe or backup runs, cancel it and wait for its cleanup first'],
];

export function helpLines(screens: Array<{title: string}>): Line[] {
	const width = Math.max(...KEYS.map(([k]) => k.length)) + 2;
	return [
		[seg('Keys', {bold: true})],
		...KEYS.map(([key, action]) => [seg(`  ${key.padEnd(width)}`, {bold: true}), seg(action)]),
		[],
		[seg('Screens', {bold: true})],
		[seg(`  ${screens.map((s, i) => `${i + 1} ${s.title}`).join('   ')}`)],
		[],
		[seg('Survival: ✓ kept  ◐ orphaned (on disk, not in the new container)  ✗ lost  ● observed by probe', {dim: true})],
		[seg('Every number is predicted from docker inspect unless marked observed. Only Probe and Backup act, after you confirm.', {dim: true})],
		[],
		[seg('press any key to close', {dim: true})],
	];
}
