// Whole compose stacks: a container that is a compose service is checked with every other service of its project.
import type Docker from 'dockerode';
import type {ContainerFacts, Profile, Report, ServiceReport} from '../core/types.js';
import {explainEngineError, type Engine} from '../docker/engine.js';
import type {Candidate} from '../docker/inspect.js';
import {DoctorError} from '../errors.js';

const PROJECT = 'com.docker.compose.project';
const SERVICE = 'com.docker.compose.service';

interface Checked {
	facts: ContainerFacts;
	profile: Profile;
	report: Report;
}

interface StackOptions {
	service?: string;
	databases?: boolean;
	signal?: AbortSignal;
}

interface Member {
	id: string;
	name: string;
	service: string;
	state: string;
}

/** When every candidate is a service of one compose project, the one to start from (the agent before its Redis). */
export function pickFromStack(candidates: Candidate[]): string | null {
	const projects = new Set(candidates.map(c => c.compose?.project ?? null));
	if (candidates.length < 2 || projects.size !== 1 || projects.has(null)) {
		return null;
	}

	return (candidates.find(c => c.profile !== 'redis-aof') ?? candidates[0]!).id;
}

/** Every container of the project, stopped ones too, by service name. */
async function members(engine: Engine, project: string): Promise<Member[]> {
	try {
		const list = await engine.api.json<Docker.ContainerInfo[]>('/containers/json', {all: true, filters: {label: [`${PROJECT}=${project}`]}});
		return list
			.map(c => ({id: c.Id, name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), service: c.Labels?.[SERVICE] ?? '', state: c.State}))
			.sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
	} catch (error) {
		throw explainEngineError(error, engine.target);
	}
}

/** One service's line in the stack: its verdict, counts and findings. */
export function serviceReport(checked: Checked): ServiceReport {
	const {facts, report} = checked;
	const count = (severity: string) => report.findings.filter(f => f.severity === severity).length;
	const counts = {errors: count('error'), warnings: count('warning'), infos: count('info')};
	return {
		name: report.container.compose?.service ?? facts.labels[SERVICE] ?? facts.name,
		container: {id: facts.id, name: facts.name, state: facts.state.status},
		profile: report.profile.name,
		verdict: counts.errors > 0 ? 'errors' : counts.warnings > 0 ? 'warnings' : 'ok',
		counts,
		findings: report.findings,
		...(report.redis ? {redis: report.redis} : {}),
	};
}

function unchecked(member: Member, error: unknown): ServiceReport {
	return {
		name: member.service,
		container: {id: member.id, name: member.name, state: member.state},
		profile: null,
		verdict: 'errors',
		counts: {errors: 1, warnings: 0, infos: 0},
		findings: [],
		error: (error instanceof Error ? error.message : String(error)).split('\n')[0],
	};
}

/** --service NAME: the container of that service in the project of the container given (or picked); usage error otherwise. */
export async function serviceContainer(engine: Engine, facts: Pick<ContainerFacts, 'id' | 'name' | 'labels'>, service: string): Promise<string> {
	const project = facts.labels[PROJECT];
	if (!project) {
		throw new DoctorError(`--service ${service}: ${facts.name} is not a compose service: leave out --service, or pass --container with a container of the project`, 'usage', {code: 'unknown-service'});
	}

	if (facts.labels[SERVICE] === service) {
		return facts.id;
	}

	const all = await members(engine, project);
	const target = all.find(m => m.service === service);
	if (!target) {
		throw new DoctorError(`--service ${service}: compose project ${project} has no such service (services: ${[...new Set(all.map(m => m.service))].join(', ')})`, 'usage', {code: 'unknown-service'});
	}

	return target.id;
}

/**
 * With --service: the check of that service of the project (the first one's own when it is that service).
 * Without: the first check with `services`, one per container of its project; --path, --db and --profile
 * apply to the first container only.
 */
export async function examineStack<T extends Checked>(engine: Engine, first: T, options: StackOptions, check: (id: string, options: {databases?: boolean; signal?: AbortSignal}) => Promise<T>): Promise<T> {
	const project = first.facts.labels[PROJECT];
	if (options.service !== undefined) {
		const id = await serviceContainer(engine, first.facts, options.service);
		return id === first.facts.id ? first : check(id, options);
	}

	if (!project) {
		return first;
	}

	const all = await members(engine, project);
	if (all.length < 2) {
		return first;
	}

	const services: ServiceReport[] = [];
	for (const member of all) {
		if (member.id === first.facts.id) {
			services.push(serviceReport(first));
			continue;
		}

		try {
			services.push(serviceReport(await check(member.id, {databases: options.databases, signal: options.signal})));
		} catch (error) {
			if (options.signal?.aborted) {
				throw error;
			}

			services.push(unchecked(member, error));
		}
	}

	first.report.services = services;
	return first;
}
