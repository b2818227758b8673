import {useEffect, useState} from 'react';
import {useStdout} from 'ink';

export interface Size {
	columns: number;
	rows: number;
}

/** The terminal's size, following resizes; `fixed` (tests) wins. */
export function useTerminalSize(fixed?: Size): Size {
	const {stdout} = useStdout();
	const read = (): Size => ({columns: stdout.columns || 80, rows: stdout.rows || 24});
	const [size, setSize] = useState<Size>(read);
	useEffect(() => {
		if (fixed) {
			return;
		}

		const onResize = () => setSize(read());
		stdout.on('resize', onResize);
		return () => {
			stdout.off('resize', onResize);
		};
	}, [stdout, fixed]); // eslint-disable-line react-hooks/exhaustive-deps
	return fixed ?? size;
}
