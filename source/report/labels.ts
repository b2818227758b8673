import type {Finding, FixStep, Priority, Scenario, Severity, Survival} from '../core/types.js';

/** Short column heads for narrow terminals; the legend spells them out. */
export const SCENARIO_SHORT: Record<Scenario, string> = {
	restart: 'rst',
	'stop-start': 'stp',
	recreate: 'rec',
	'compose-recreate': 'c-up',
	'compose-down-up': 'c-dn',
	'compose-down-v': 'c-dv',
	'occ-update': 'o-up',
	'occ-reset': 'o-rs',
	'occ-reset-volumes': 'o-rv',
	'host-reboot': 'boot',
	'engine-reset': 'eng',
};

export const SCENARIO_TITLE: Record<Scenario, string> = {
	restart: 'docker restart',
	'stop-start': 'docker stop + start',
	recreate: 'docker rm -f + docker run (same flags, or pull + recreate)',
	'compose-recreate': 'docker compose up -d after a change',
	'compose-down-up': 'docker compose down, then up',
	'compose-down-v': 'docker compose down -v, then up',
	'occ-update': 'occ update container',
	'occ-reset': 'occ reset container',
	'occ-reset-volumes': 'occ reset container --volumes',
	'host-reboot': 'the host reboots',
	'engine-reset': 'Docker data wiped / Desktop factory reset',
};

/** A glyph as well as a colour, so the matrix reads without colour. */
export const SURVIVAL_GLYPH: Record<Survival, string> = {kept: '✓', orphaned: '◐', lost: '✗'};
export const SURVIVAL_COLOR: Record<Survival, string> = {kept: 'green', orphaned: 'yellow', lost: 'red'};
/** The two priorities that stand out in lists; the others are plain. */
export const PRIORITY_COLOR: Partial<Record<Priority, string>> = {critical: 'magenta', high: 'cyan'};

/** A cell the probe observed, on the Matrix and in the details. */
export const OBSERVED_MARK = '●';
export const SEVERITY_MARK: Record<Severity, string> = {error: '✗', warning: '!', info: 'i'};
/** A location that does not exist in the container: nothing there to lose (unless a finding says otherwise). */
export const ABSENT_MARK = '○';
export const SEVERITY_COLOR: Record<Severity, string> = {error: 'red', warning: 'yellow', info: 'blue'};

/** How a fix step reads in the plain report and the TUI: what to run after `$ `, what only a person can do after `by hand: `. */
export const COMMAND_MARK = '$ ';
export const ADVICE_MARK = 'by hand: ';

/** One step: `label: $ command`, or `by hand: advice`. */
export function stepText(step: FixStep): string {
	return 'command' in step ? `${step.label ? `${step.label}: ` : ''}${COMMAND_MARK}${step.command}` : `${ADVICE_MARK}${step.advice}`;
}

/** A fix's steps as lines, each after the first read "then …" (a finding without steps, from an older report: its one line). */
export function stepTexts(f: Pick<Finding, 'fix' | 'steps'>): string[] {
	return f.steps?.length ? f.steps.map((step, n) => `${n === 0 ? '' : 'then '}${stepText(step)}`) : [f.fix];
}

/** The whole fix on one line, its steps marked (the JSON's `fix` is the same without the marks). */
export function fixText(f: Pick<Finding, 'fix' | 'steps'>): string {
	return stepTexts(f).join(' ; ');
}

export function shortId(id: string): string {
	return id.slice(0, 12);
}

/** Where a location's data really lives, in a few words: the volume name or the host path. */
export function mountLabel(mount: {type: string; name: string | null; source: string | null} | null): string {
	if (!mount) {
		return '—';
	}

	if (mount.type === 'volume') {
		return mount.name && /^[0-9a-f]{64}$/.test(mount.name) ? `${mount.name.slice(0, 12)}…` : mount.name ?? '';
	}

	return mount.source ?? mount.type;
}
