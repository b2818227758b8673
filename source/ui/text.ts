// Layout for the screens: every line fits the width we own, so Ink never wraps. The text pieces are shared with the
// plain report (source/report/text.ts).
export {breakWord, cells, center, pad, plural, truncate, truncateStart, wrapLines} from '../report/text.js';

/** The first visible index of a list of `count` items so that `selected` is in a window of `height`. */
export function scrollStart(count: number, height: number, selected: number): number {
	if (count <= height || height <= 0) {
		return 0;
	}

	const half = Math.floor(height / 2);
	return Math.max(0, Math.min(count - height, selected - half));
}

/** Lines that belong to items (item -1: a heading): the window of `height` lines that shows the selected item whole when it can. */
export function lineWindow<T extends {item: number}>(lines: T[], height: number, selected: number): T[] {
	if (lines.length <= height) {
		return lines;
	}

	const first = lines.findIndex(l => l.item === selected);
	if (first < 0) {
		return lines.slice(0, height);
	}

	let last = first;
	while (last + 1 < lines.length && lines[last + 1]!.item === selected) {
		last++;
	}

	// Keep the item's heading line above it when there is room.
	const wanted = first > 0 && lines[first - 1]!.item === -1 ? first - 1 : first;
	let start = Math.max(0, Math.min(lines.length - height, wanted - Math.floor((height - (last - first + 1)) / 2)));
	if (last >= start + height) {
		start = last - height + 1;
	}

	if (wanted < start && last - wanted < height) {
		start = wanted;
	}

	return lines.slice(start, start + height);
}
