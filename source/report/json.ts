import type {Report} from '../core/types.js';

/** The JSON contract (docs/json.md): stable keys, two-space indent, one trailing newline. */
export function renderJson(report: Report): string {
	return JSON.stringify(report, null, 2) + '\n';
}
