// Pure text layout for the screens: every line is cut to the width we own, so Ink never wraps.

/** Cut to width with an ellipsis at the end. */
export function truncate(text: string, width: number): string {
	if (width <= 0) {
		return '';
	}

	const chars = [...text];
	return chars.length <= width ? text : chars.slice(0, width - 1).join('') + '…';
}

/** Cut from the start, keeping the end: the end of a path tells it apart. */
export function truncateStart(text: string, width: number): string {
	if (width <= 0) {
		return '';
	}

	const chars = [...text];
	return chars.length <= width ? text : '…' + chars.slice(chars.length - width + 1).join('');
}

export function pad(text: string, width: number): string {
	const cut = truncate(text, width);
	return cut + ' '.repeat(Math.max(0, width - [...cut].length));
}

export function padStart(text: string, width: number): string {
	const cut = truncateStart(text, width);
	return cut + ' '.repeat(Math.max(0, width - [...cut].length));
}

export function center(text: string, width: number): string {
	const length = [...text].length;
	if (length >= width) {
		return truncate(text, width);
	}

	const left = Math.floor((width - length) / 2);
	return ' '.repeat(left) + text + ' '.repeat(width - length - left);
}

/** Word-wrap to width; words longer than a line are cut. At most maxLines lines, the last one ellipsed. */
export function wrapLines(text: string, width: number, maxLines = Number.POSITIVE_INFINITY): string[] {
	if (width <= 0) {
		return [];
	}

	const lines: string[] = [];
	let line = '';
	for (const word of text.split(/\s+/).filter(Boolean)) {
		const candidate = line ? `${line} ${word}` : word;
		if ([...candidate].length <= width) {
			line = candidate;
			continue;
		}

		if (line) {
			lines.push(line);
		}

		line = [...word].length > width ? truncate(word, width) : word;
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

export function plural(n: number, word: string): string {
	return `${n} ${word}${n === 1 ? '' : 's'}`;
}
