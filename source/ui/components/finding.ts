import type {Finding} from '../../core/types.js';
import {SEVERITY_COLOR, SEVERITY_MARK} from '../../report/labels.js';
import {seg, wrapLine, type Line} from './line.js';

/** A finding whole, however long: its message, then its fix one step a line (steps are joined by " ; "), never cut, because people copy it. */
export function findingBlock(f: Finding, width: number): Line[] {
	const message = wrapLine([seg(` ${SEVERITY_MARK[f.severity]} `, {color: SEVERITY_COLOR[f.severity]}), seg(f.message)], width, 3);
	const fix = f.fix.split(' ; ').flatMap((step, n) => wrapLine([seg(n === 0 ? '   fix: ' : '        ', {dim: true}), seg(step, {bold: true})], width, 8));
	return [...message, ...fix];
}
