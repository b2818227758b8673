import type {Finding} from '../../core/types.js';
import {ADVICE_MARK, COMMAND_MARK, SEVERITY_COLOR, SEVERITY_MARK} from '../../report/labels.js';
import {seg, type Segment, wrapLine, type Line} from './line.js';

/**
 * A fix's steps, one a line, each whole (people copy them): a command bold after a dim `$ `, advice in plain
 * weight after a dim `by hand: `, so what runs as printed stands apart from what only a person can do.
 */
export function stepLines(f: Pick<Finding, 'fix' | 'steps'>, width: number, lead: {first: string; next: string}, indent: number): Line[] {
	if (!f.steps?.length) {
		return f.fix.split(' ; ').flatMap((step, n) => wrapLine([seg(n === 0 ? lead.first : lead.next.replace(/then $/, ''), {dim: true}), seg(step, {bold: true})], width, indent));
	}

	return f.steps.flatMap((step, n) => {
		const text: Segment[] = 'command' in step
			? [...(step.label ? [seg(`${step.label}: `)] : []), seg(COMMAND_MARK, {dim: true}), seg(step.command, {bold: true})]
			: [seg(ADVICE_MARK, {dim: true}), seg(step.advice)];
		return wrapLine([seg(n === 0 ? lead.first : lead.next, {dim: true}), ...text], width, indent);
	});
}

/** A finding whole, however long: its message, then its fix one step a line, never cut. */
export function findingBlock(f: Finding, width: number): Line[] {
	const message = wrapLine([seg(` ${SEVERITY_MARK[f.severity]} `, {color: SEVERITY_COLOR[f.severity]}), seg(f.message)], width, 3);
	return [...message, ...stepLines(f, width, {first: '   fix: ', next: '        then '}, 8)];
}
