// Whether this process is the child `backup` relaunched itself in (source/relaunch.ts). A module of its own, with
// no imports: cli.tsx and the prompt read it on every start, and relaunch.ts (which loads child_process) only when
// a backup runs.

/** Set in the child: it is the relaunched one (never relaunch again), and it dedupes an interrupt sent twice. */
export const RELAUNCHED_ENV = 'OCC_DOCTOR_RELAUNCHED';

export function isRelaunched(env: NodeJS.ProcessEnv = process.env): boolean {
	return env[RELAUNCHED_ENV] === '1';
}
