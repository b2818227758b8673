import type Docker from 'dockerode';

// Every engine call, streams included, goes through the modem's dial: one dial is one HTTP request (one round trip
// over ssh:// or a slow link). Counted per client, so a report can say how many it took.
const counts = new WeakMap<object, {count: number}>();

/** Start counting the requests this client makes (idempotent). */
export function countRequests(docker: Docker): void {
	const modem = (docker as unknown as {modem: {dial: (...args: unknown[]) => unknown}}).modem;
	if (counts.has(modem)) {
		return;
	}

	const counter = {count: 0};
	counts.set(modem, counter);
	const dial = modem.dial.bind(modem);
	modem.dial = (...args: unknown[]) => {
		counter.count++;
		return dial(...args);
	};
}

/** Requests made so far by this client (0 when it was never counted). */
export function requestsMade(docker: Docker): number {
	return counts.get((docker as unknown as {modem: object}).modem)?.count ?? 0;
}
