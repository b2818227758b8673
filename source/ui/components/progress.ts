// Shared view pieces of long tasks: the spinner frame (the timer is useTick's) and the progress bar.

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The spinner's frame for a tick of useTick. */
export const spin = (tick = 0): string => SPINNER[tick % SPINNER.length]!;

/** A bar of `width` cells: █ done, ░ to do; the glyphs carry it without colour. */
export function bar(bytes: number, total: number | null, width: number): string {
	if (total === null || total <= 0) {
		return '░'.repeat(width);
	}

	const filled = Math.max(0, Math.min(width, Math.round((bytes / total) * width)));
	return '█'.repeat(filled) + '░'.repeat(width - filled);
}
