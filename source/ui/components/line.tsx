import {Box, Text} from 'ink';
import {useTheme} from '../theme.js';
import {pad} from '../text.js';

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

		const chars = [...s.text];
		const text = chars.length <= left ? s.text : chars.slice(0, Math.max(0, left - 1)).join('') + '…';
		out.push({...s, text});
		left -= [...text].length;
	}

	if (selected && left > 0) {
		out.push({text: ' '.repeat(left)});
	}

	return selected ? out.map(s => ({...s, inverse: true})) : out;
}

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
