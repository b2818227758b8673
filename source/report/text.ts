// Text layout shared by the plain report and the screens: widths are terminal cells (string-width: wide characters
// take two, combining marks none). Pure.
import stringWidth from 'string-width';

/** Cut to `width` cells from the start or the end of the characters. */
function takeCells(chars: string[], width: number, fromEnd = false): string {
	const out: string[] = [];
	let used = 0;
	for (const char of fromEnd ? [...chars].reverse() : chars) {
		const w = stringWidth(char);
		if (used + w > width) {
			break;
		}

		out.push(char);
		used += w;
	}

	return (fromEnd ? out.reverse() : out).join('');
}

/** Cut to width with an ellipsis at the end. */
export function truncate(text: string, width: number): string {
	if (width <= 0) {
		return '';
	}

	return stringWidth(text) <= width ? text : takeCells([...text], width - 1) + '…';
}

/** Cut from the start, keeping the end: the end of a path tells it apart. */
export function truncateStart(text: string, width: number): string {
	if (width <= 0) {
		return '';
	}

	return stringWidth(text) <= width ? text : '…' + takeCells([...text], width - 1, true);
}

/**
 * Fill to `width` cells. Text that is wider stays whole (`cut` 'none', plain text), or is cut with an ellipsis at its
 * end or its start ('start' keeps a path's end, which tells paths apart).
 */
export function pad(text: string, width: number, cut: 'none' | 'end' | 'start' = 'none'): string {
	const fitted = cut === 'none' ? text : cut === 'start' ? truncateStart(text, width) : truncate(text, width);
	return fitted + ' '.repeat(Math.max(0, width - stringWidth(fitted)));
}

/** Width in terminal cells. */
export const cells = (text: string): number => stringWidth(text);

export function center(text: string, width: number): string {
	const length = stringWidth(text);
	if (length >= width) {
		return truncate(text, width);
	}

	const left = Math.floor((width - length) / 2);
	return ' '.repeat(left) + text + ' '.repeat(width - length - left);
}

/** Break a word longer than a line into pieces of `width` cells: a command or a path is never cut, only broken. */
export function breakWord(word: string, width: number): string[] {
	const pieces: string[] = [];
	let rest = [...word];
	while (rest.length > 0) {
		const piece = takeCells(rest, Math.max(1, width)) || rest[0]!;
		pieces.push(piece);
		rest = rest.slice([...piece].length);
	}

	return pieces;
}

/** Word-wrap to width; a word longer than a line is broken, never cut. At most maxLines lines, the last one ellipsed. */
export function wrapLines(text: string, width: number, maxLines = Number.POSITIVE_INFINITY): string[] {
	if (width <= 0) {
		return [];
	}

	const lines: string[] = [];
	let line = '';
	for (const word of text.split(/\s+/).filter(Boolean)) {
		const candidate = line ? `${line} ${word}` : word;
		if (stringWidth(candidate) <= width) {
			line = candidate;
			continue;
		}

		if (line) {
			lines.push(line);
		}

		const pieces = breakWord(word, width);
		lines.push(...pieces.slice(0, -1));
		line = pieces.at(-1)!;
	}

	if (line) {
		lines.push(line);
	}

	if (lines.length > maxLines) {
		const kept = lines.slice(0, maxLines);
		// The next word did not fit on the last kept line, so this always ends in an ellipsis.
		kept[maxLines - 1] = truncate(`${kept[maxLines - 1]} ${lines[maxLines]}`, width);
		return kept;
	}

	return lines;
}

export function plural(n: number, word: string): string {
	return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes in IEC units (1 KiB = 1024 B), everywhere: screens, plain text, messages. */
export function formatBytes(n: number): string {
	let value = n;
	let i = 0;
	while (Math.abs(value) >= 1024 && i < IEC.length - 1) {
		value /= 1024;
		i++;
	}

	return `${i === 0 ? Math.round(value) : value.toFixed(1)} ${IEC[i]}`;
}
