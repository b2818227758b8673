// A fix is a sequence of steps, each either a command that runs as printed (sh, from the directory check ran in,
// real names and numeric ids) or advice: a step only a person can take, such as recreating a container with its own
// `docker run` line plus one flag, or editing a compose file. `fix` is the one line people read; `steps` is for scripts.
import type {ContainerFacts, Finding, FixStep} from './types.js';

export function shellQuote(s: string): string {
	return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll('\'', '\'"\'"\'')}'`;
}

/** A command; `label` says what it is for, in front of it in the one-line `fix`. */
export const command = (run: string, label?: string): FixStep => ({command: run, ...(label ? {label} : {})});
export const advice = (text: string): FixStep => ({advice: text});

/** The one line people read: the steps in order, each command with its label. */
export function fixLine(steps: FixStep[]): string {
	return steps.map(s => ('command' in s ? (s.label ? `${s.label}: ${s.command}` : s.command) : s.advice)).join(' ; then ');
}

export function fixOf(steps: FixStep[]): Pick<Finding, 'fix' | 'steps'> {
	return {fix: fixLine(steps), steps};
}

/** The compose file(s) a service came from, as compose labels them; null when the labels do not say. */
export function composeFiles(facts: Pick<ContainerFacts, 'labels'>): string[] | null {
	const files = facts.labels['com.docker.compose.project.config_files'];
	return files ? files.split(',').filter(Boolean) : null;
}

/** Where to make an edit: the service in its compose file, named as the labels name it. */
export function composeWhere(facts: Pick<ContainerFacts, 'labels'>, service: string): string {
	const files = composeFiles(facts);
	return `under services.${service || 'app'}${files ? ` in ${files.join(', ')}` : ''}`;
}

/**
 * `up -d` for the project, runnable from anywhere: the project name and files from the compose labels, and
 * docker-compose (v1) or docker compose (v2) as the label `com.docker.compose.version` says made it.
 */
export function composeUp(facts: Pick<ContainerFacts, 'labels'>): FixStep {
	const project = facts.labels['com.docker.compose.project'];
	const files = composeFiles(facts);
	const tool = (facts.labels['com.docker.compose.version'] ?? '').startsWith('1.') ? 'docker-compose' : 'docker compose';
	if (!project || !files) {
		return command(`${tool} up -d`, 'in the project\'s directory');
	}

	return command(`${tool} -p ${shellQuote(project)} ${files.map(f => `-f ${shellQuote(f)}`).join(' ')} up -d`);
}

/** What compose names a volume a service declares: `<project>_<name>`. */
export function composeVolume(facts: Pick<ContainerFacts, 'labels'>, volume: string): string {
	const project = facts.labels['com.docker.compose.project'];
	return project ? `${project}_${volume}` : volume;
}
