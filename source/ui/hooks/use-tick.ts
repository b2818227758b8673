import {useEffect, useState} from 'react';

/** A frame counter for spinners while something runs; no timer (and no redraws) when idle. */
export function useTick(active: boolean, intervalMs = 120): number {
	const [tick, setTick] = useState(0);
	useEffect(() => {
		if (!active) {
			return;
		}

		const timer = setInterval(() => setTick(t => t + 1), intervalMs);
		return () => clearInterval(timer);
	}, [active, intervalMs]);
	return tick;
}
