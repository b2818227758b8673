import {Box, Text} from 'ink';
import {useTheme} from '../theme.js';
import {breakWord, cells, pad, truncate} from '../text.js';

/** A styled run of text. Screens build lines of segments in pure functions; LineView draws one line. */
export interface Segment {
	text: string;
	color?: string;
	bold?: boolean;
	dim?: boolean;
	inverse?: boolean;
}

export type Line = Segment[];

export const seg = (text: string, style: Omit<Segment, 'text'> = {}): Segment => ({text, ...style});

export function lineText(line: Line): string {
	return line.map(s => s.text).join('');
}

/** Cut the segments to width; a selected line is padded to the full width so the highlight reads as a bar. */
export function fitLine(line: Line, width: number, selected = false): Line {
	const out: Line = [];
	let left = width;
	for (const s of line) {
		if (left <= 0) {
			break;
		}

		const text = truncate(s.text, left);
		out.push({...s, text});
		left -= cells(text);
	}

	if (selected && left > 0) {
		out.push({text: ' '.repeat(left)});
	}

	return selected ? out.map(s => ({...s, inverse: true})) : out;
}

/** Where a line's text starts after its marker (`  • `, ` ✗ `, `  1. `, `fix: `): its continuation lines start there. */
export function hangingIndent(line: Line): number {
	const match = /^\s*(?:(?:\d+\.|[•›✓✗!?·–●]|fix:)\s+)?/.exec(lineText(line));
	return Math.min(cells(match?.[0] ?? ''), 16);
}

/**
 * Wrap a styled line to `width`: words move whole to the next line, a word longer than a line (a command, a 64-hex
 * volume name, a path) is broken, never cut. Continuation lines start at `indent` (by default the hanging indent).
 */
export function wrapLine(line: Line, width: number, indent = hangingIndent(line)): Line[] {
	if (cells(lineText(line)) <= width) {
		return [line];
	}

	const room = Math.max(8, width - indent);
	const out: Line[] = [[]];
	let used = 0;
	// At the start of a continuation line: spaces there are dropped, so it starts at its indent.
	let fresh = false;
	const newLine = () => {
		out.push(indent > 0 ? [seg(' '.repeat(indent))] : []);
		used = indent;
		fresh = true;
	};

	for (const s of line) {
		for (const token of s.text.split(/(\s+)/).filter(Boolean)) {
			const w = cells(token);
			if (/^\s+$/.test(token)) {
				if (!fresh && used + w <= width) {
					out.at(-1)!.push({...s, text: token});
					used += w;
				}

				continue;
			}

			// A word that fits a fresh line moves there whole; one longer than any line starts here and is broken.
			if (used + w > width && !fresh && used > 0 && w <= room) {
				newLine();
			}

			const first = breakWord(token, Math.max(1, width - used))[0]!;
			const pieces = w <= width - used ? [token] : [first, ...breakWord([...token].slice([...first].length).join(''), room)];
			for (const [i, piece] of pieces.entries()) {
				if (i > 0) {
					newLine();
				}

				out.at(-1)!.push({...s, text: piece});
				used += cells(piece);
				fresh = false;
			}
		}
	}

	return out;
}

/** Every line wrapped to width (prose: findings, fixes, the probe's introduction); table rows are not passed here. */
export const wrapAll = (lines: Line[], width: number): Line[] => lines.flatMap(line => wrapLine(line, width));

export function LineView({line, width, selected = false}: {line: Line; width: number; selected?: boolean}) {
	const {tint} = useTheme();
	const fitted = fitLine(line, width, selected);
	if (fitted.length === 0 || lineText(fitted) === '') {
		return <Text> </Text>;
	}

	return (
		<Text wrap="truncate">
			{fitted.map((s, i) => (
				<Text key={i} color={tint(s.color)} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>{s.text}</Text>
			))}
		</Text>
	);
}

/** A column of lines, at most `height` of them, none wider than `width`. */
export function Lines({lines, width, height, selected}: {lines: Line[]; width: number; height?: number; selected?: (index: number) => boolean}) {
	const shown = height === undefined ? lines : lines.slice(0, height);
	return (
		<Box flexDirection="column" width={width}>
			{shown.map((line, i) => <LineView key={i} line={line} width={width} selected={selected?.(i) ?? false}/>)}
		</Box>
	);
}

export {pad};
