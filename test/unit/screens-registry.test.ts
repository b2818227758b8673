import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {describe, it} from 'node:test';
import {RESERVED_NUMBERS, SCREENS} from '../../source/ui/screens/index.js';

/** The `| # | screen |` rows of docs/tui.md's screen table. */
function documentedScreens(): Array<{number: number; title: string}> {
	const doc = readFileSync(new URL('../../docs/tui.md', import.meta.url), 'utf8');
	return [...doc.matchAll(/^\| (\d) \| (\w+)/gm)].map(m => ({number: Number(m[1]), title: m[2]!}));
}

describe('the screen registry', () => {
	it('gives every screen its own fixed number, 1 up, none taking a reserved one', () => {
		// Numbers ascend without repeats; only a reserved number whose screen is still to come may be skipped.
		const numbers = SCREENS.map(s => s.number);
		assert.deepEqual(numbers, [...new Set(numbers)].sort((a, b) => a - b));
		for (let n = 1; n <= Math.max(...numbers); n++) {
			assert.ok(numbers.includes(n) || Object.values(RESERVED_NUMBERS).includes(n), `number ${n} is neither a screen's nor reserved`);
		}

		for (const [id, number] of Object.entries(RESERVED_NUMBERS)) {
			const holder = SCREENS.find(s => s.number === number);
			assert.ok(!holder || holder.id === id, `${number} is reserved for ${id}, not ${holder?.id}`);
		}
	});

	it('agrees with docs/tui.md: the same numbers and titles, and the reserved ones', () => {
		const documented = documentedScreens();
		for (const screen of SCREENS) {
			assert.ok(documented.some(d => d.number === screen.number && d.title === screen.title), `docs/tui.md lists ${screen.number} ${screen.title}`);
		}

		for (const [id, number] of Object.entries(RESERVED_NUMBERS)) {
			assert.ok(documented.some(d => d.number === number && d.title.toLowerCase() === id), `docs/tui.md reserves ${number} for ${id}`);
		}
	});
});
