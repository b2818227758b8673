// The `?` help: written from the key table and the screen registry, so it cannot go stale. It wraps, never cuts.
import {labelOf, type Binding, type Scope} from '../keys/table.js';
import {wrapLines} from '../text.js';
import {seg, type Line} from './line.js';

const GROUPS: Array<{title: string; scopes: Scope[]}> = [
	{title: 'Everywhere', scopes: ['always', 'global']},
	{title: 'Lists: the rows of a screen, the container picker, a location\'s details', scopes: ['list']},
];

const TAIL_GROUPS: Array<{title: string; scopes: Scope[]}> = [
	{title: 'Text fields: the / filter, the Backup screen\'s directory', scopes: ['field']},
	{title: 'This help', scopes: ['help']},
];

/** One binding: its keys in bold, its description wrapped under a hanging indent. */
function bindingLines(binding: Binding, screens: Array<{number: number}>, keyWidth: number, width: number): Line[] {
	const label = labelOf(binding, screens);
	const text = wrapLines(binding.description, Math.max(10, width - keyWidth - 4));
	const head: Line = [seg(`  ${label.padEnd(keyWidth)}  `, {bold: true})];
	if (label.length > keyWidth) {
		return [head, ...text.map(t => [seg(' '.repeat(keyWidth + 4)), seg(t)])];
	}

	return text.map((t, i) => (i === 0 ? [...head, seg(t)] : [seg(' '.repeat(keyWidth + 4)), seg(t)]));
}

export function helpLines(table: Binding[], screens: Array<{id: string; number: number; title: string}>, width: number): Line[] {
	const keyWidth = Math.min(14, Math.max(...table.map(b => labelOf(b, screens).length)));
	const group = (title: string, bindings: Binding[]): Line[] => (bindings.length === 0 ? [] : [
		...wrapLines(title, width).map(t => [seg(t, {bold: true})]),
		...bindings.flatMap(b => bindingLines(b, screens, keyWidth, width)),
		[],
	]);
	const of = (scopes: Scope[]) => table.filter(b => scopes.includes(b.scope));
	const note = (text: string): Line[] => wrapLines(text, width).map(t => [seg(t, {dim: true})]);
	return [
		...GROUPS.flatMap(g => group(g.title, of(g.scopes))),
		...screens.flatMap(s => group(`${s.number} ${s.title}`, of([s.id]))),
		...TAIL_GROUPS.flatMap(g => group(g.title, of(g.scopes))),
		[seg('Screens', {bold: true})],
		...wrapLines(screens.map(s => `${s.number} ${s.title}`).join('   '), width - 2).map(t => [seg(`  ${t}`)]),
		[],
		...note('Survival: ✓ kept  ◐ orphaned (on disk, not in the new container)  ✗ lost  ● observed by probe'),
		...note('Every number is predicted from docker inspect unless marked observed. Only Probe and Backup act, after you confirm.'),
	];
}
