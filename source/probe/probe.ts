import {randomBytes} from 'node:crypto';
import {accessSync, constants, existsSync} from 'node:fs';
import {posix} from 'node:path';
import type Docker from 'dockerode';
import {sortFindings} from '../core/findings.js';
import {coveringMount} from '../core/model.js';
import type {ContainerFacts, DatabaseReport, Location, Observation} from '../core/types.js';
import {runCheck, type CheckResult} from '../check/check.js';
import {DoctorError, connect, type Engine} from '../docker/engine.js';
import {compareCounts, countDatabases} from '../sqlite/index.js';
import {statInContainer as statPath} from '../docker/archive.js';
import {refuseBindsAtRisk} from '../docker/bind-guard.js';
import {checkAbort, interrupted} from '../docker/abort.js';
import {writerCanWrite} from '../core/owners.js';
import {UndoStack} from '../docker/undo.js';
import {containerUser, dirOwner, processUser, resolveUser, type ContainerUser} from './access.js';
import {execIn} from './exec.js';
import {probeFindings} from './findings.js';
import {DEFAULT_READY_TIMEOUT_MS, containerGone, explainContainerError, restartContainer, startContainer, stopContainer, stopTimeoutOf, waitReady} from '../docker/lifecycle.js';
import {defaultStateDir, journalPath, removeJournal, writeJournal, type ProbeJournal} from './journal.js';
import {isEngineFailure, readSentinel, removeSentinels, writeSentinel, type RemoveEntry} from './sentinel.js';
import {hostPathOf, initialTargets, sameStorageAncestors, sentinelContent, sentinelName, sentinelPath} from './targets.js';
import {removeHelper, removeWithHelper, twinCreateOptions} from './twin.js';
import type {Observed, ProbeEvent, ProbeHooks, ProbeOptions, ProbePlan, ProbeResult, ProbeStep, ProbeTarget} from './types.js';

export function newRunId(): string {
	return randomBytes(4).toString('hex');
}

function ownerFix(dir: string, wanted: string, user: ContainerUser, facts: ContainerFacts): string {
	const host = hostPathOf(dir, facts);
	const ids = `${user.uid}:${user.gid ?? user.uid}`;
	const mount = coveringMount(dir, facts);
	if (dir !== wanted) {
		// Never chown a parent (it may be /): create the missing directory for the user instead.
		return `docker exec -u 0 ${facts.name} sh -c 'mkdir -p ${wanted} && chown ${ids} ${wanted}'`;
	}

	if (mount?.type === 'bind' && host) {
		return `sudo chown -R ${ids} ${host}`;
	}

	return `docker exec -u 0 ${facts.name} chown -R ${ids} ${dir}${host ? `  # or on the host: sudo chown -R ${ids} ${host}` : ''}`;
}

/** Look inside the container: the directory to write to (nearest existing one on the same storage) and whether the container's user may write there. */
async function resolveTarget(container: Docker.Container, target: ProbeTarget, facts: ContainerFacts, user: ContainerUser, runId: string, running: boolean, runningNow: boolean): Promise<void> {
	if (target.skip) {
		return;
	}

	if (target.channel === 'exec') {
		if (!running) {
			target.skip = {observed: null, note: 'not probed: tmpfs is reachable only through exec in a running container'};
		} else if (runningNow) {
			// The nearest existing directory on the same tmpfs, asked through the shell (the archive API sees beneath tmpfs).
			const candidates = [target.dir, ...sameStorageAncestors(target.dir, facts)];
			const found = await execIn(container, ['sh', '-c', 'for d in "$@"; do [ -d "$d" ] && { echo "$d"; exit 0; }; done; exit 3', 'sh', ...candidates]).catch(() => null);
			const dir = found?.exitCode === 0 ? found.stdout.trim() : null;
			if (found?.exitCode === 3) {
				target.skip = {observed: null, note: `not probed: ${target.dir} does not exist and no parent on the same tmpfs does`};
			} else if (dir && dir !== target.dir) {
				target.note = `${target.dir} does not exist yet: probed its parent ${dir} on the same tmpfs`;
				target.dir = dir;
				target.sentinel = sentinelPath(dir, runId);
			}
		}

		return;
	}

	let dir: string | null = null;
	for (const candidate of [target.dir, ...sameStorageAncestors(target.dir, facts)]) {
		const stat = await statPath(container, candidate);
		if (stat?.isDir) {
			dir = candidate;
			break;
		}

		if (stat) {
			// A file on a volume, bind dir or the layer tells its directory's story; only a single-file bind has none to write to.
			const parent = posix.dirname(candidate);
			if (coveringMount(candidate, facts)?.destination === candidate || coveringMount(parent, facts)?.destination !== coveringMount(candidate, facts)?.destination) {
				target.skip = {observed: null, note: 'not probed (single file)'};
				return;
			}

			const above = await statPath(container, parent);
			if (above?.isDir) {
				dir = parent;
				target.note = `${candidate} is a file: probed its directory ${parent} on the same storage`;
				break;
			}

			target.skip = {observed: null, note: 'not probed (single file)'};
			return;
		}
	}

	if (!dir) {
		target.skip = {observed: null, note: `not probed: ${target.dir} does not exist and no parent on the same storage does`};
		return;
	}

	const wanted = target.dir;
	if (dir !== target.dir) {
		target.note ??= `${target.dir} does not exist yet: probed its nearest existing parent ${dir} (${storageName(dir, facts)})`;
		target.dir = dir;
		target.sentinel = sentinelPath(dir, runId);
	}

	const owner = await dirOwner(container, dir);
	// The same rule as check's owner-mismatch (source/core/owners.ts): a root-written directory is not the user's.
	if (owner && !writerCanWrite({writer: dir === wanted ? target.writer : undefined}, user, owner)) {
		const mode = owner.mode.toString(8).padStart(4, '0');
		target.skip = {
			observed: 'unwritable',
			note: `permission denied: ${dir} is owned by uid ${owner.uid} (gid ${owner.gid}, mode ${mode}) and the container runs as uid ${user.uid}${user.from ? ` (${user.from})` : ''}; fix: ${ownerFix(dir, wanted, user, facts)}`,
		};
	}
}

/** The storage a directory is on, in words, for notes. */
function storageName(dir: string, facts: ContainerFacts): string {
	const mount = coveringMount(dir, facts);
	if (!mount) {
		return 'same storage: the container layer';
	}

	return `same storage: the ${mount.type === 'volume' ? `volume at ${mount.destination}` : `${mount.type} at ${mount.destination}`}`;
}

function removeEntry(target: ProbeTarget, facts: ContainerFacts, info: any): RemoveEntry {
	const mount = coveringMount(target.dir, facts);
	const hostPath = hostPathOf(target.dir, facts);
	const upper = info?.GraphDriver?.Name === 'overlay2' ? info.GraphDriver.Data?.UpperDir as string | undefined : undefined;
	return {
		sentinel: target.sentinel,
		channel: target.channel,
		mount: target.channel === 'exec' ? null : (mount?.type === 'volume' || mount?.type === 'bind' ? mount.type : null),
		hostPath: hostPath ? posix.join(hostPath, posix.basename(target.sentinel)) : null,
		layerHostPath: !hostPath && upper && target.channel === 'archive' ? posix.join(upper, target.sentinel) : null,
	};
}

function hostWritable(path: string | null): boolean {
	if (!path) {
		return false;
	}

	try {
		accessSync(posix.dirname(path), constants.W_OK);
		return existsSync(posix.dirname(path));
	} catch {
		return false;
	}
}

export interface PreparedProbe {
	engine: Engine;
	check: CheckResult;
	info: any;
	user: ContainerUser;
	plan: ProbePlan;
	/** The targets are not resolved yet: reading them would have changed the container (facts.archiveRisk). */
	deferred: boolean;
}

/** Everything before the first write: the check, the container's user, the targets and the plan. Reads only. */
export async function prepareProbe(options: ProbeOptions, engine?: Engine): Promise<PreparedProbe> {
	engine ??= await connect(options);
	const check = await runCheck({host: options.host, container: options.container, paths: options.paths, profile: options.profile}, engine);
	const {facts} = check;
	// Its reads and its restart would both make the engine create a missing (or unseen) bind source on the host.
	refuseBindsAtRisk(facts.bindsAtRisk, {verb: 'probe', name: facts.name, command: `probe --container ${facts.name}`, target: engine.target});

	const container = engine.docker.getContainer(facts.id);
	let info: any;
	try {
		info = await container.inspect();
	} catch (error) {
		throw explainContainerError(error, engine, facts.name);
	}

	const runId = options.runId ?? newRunId();
	const running = Boolean(info.State?.Running);
	const restart = !options.noRestart;
	const startStopped = restart && !running;
	// While an archive call would change something (a never-started container gets its mount points made in its
	// layer), the plan reads nothing through the engine: the targets are resolved after the yes, once it runs.
	const deferred = facts.archiveRisk !== null;
	const user = deferred ? userFromFacts(facts, info.Config?.User ?? '') : await probeUser(container, info, running);
	const targets = initialTargets(check.report.locations, runId);
	if (!deferred) {
		await resolveTargets(engine, container, targets, facts, user, runId, running || startStopped, running);
	}

	const stopTimeout = stopTimeoutOf(info);
	const writable = targets.filter(t => !t.skip);
	const summary = [
		`write ${writable.length} sentinel file${writable.length === 1 ? '' : 's'} named ${sentinelName(runId)} (${writable.map(t => t.dir).join(', ') || 'none'})`,
		...(startStopped ? [`start the stopped container ${facts.name}, and stop it again at the end`] : []),
		...(restart ? [`restart ${facts.name} (docker restart, stop timeout ${stopTimeout} s) and wait until it runs${info.Config?.Healthcheck ? ' and is healthy' : ''}`] : []),
		`create a twin container (never started, no network) with the mounts a recreate would give, read the sentinels through it, and remove it`,
		'remove every sentinel',
		...(deferred ? [`choose the directories once ${facts.name} runs, not now: ${facts.archiveRisk}`] : []),
	];
	const plan: ProbePlan = {
		runId,
		container: {id: facts.id, name: facts.name, image: facts.image, running, health: facts.state.health, stopTimeout},
		targets,
		restart,
		startStopped,
		summary,
	};
	return {engine, check, info, user, plan, deferred};
}

/** The container's user from its /etc/passwd; an entrypoint that drops privileges (gosu, su-exec, su): the running process's user wins. */
async function probeUser(container: Docker.Container, info: any, running: boolean): Promise<ContainerUser> {
	const configured = await containerUser(container, info.Config?.User ?? '');
	return (running ? await processUser(container, configured) : null) ?? configured;
}

/** The user check resolved from the host's copy of /etc/passwd, without an engine request. */
function userFromFacts(facts: ContainerFacts, spec: string): ContainerUser {
	return facts.appUser ? {spec, uid: facts.appUser.uid, gid: facts.appUser.gid, groups: facts.appUser.groups} : resolveUser(spec, null, null);
}

async function resolveTargets(engine: Engine, container: Docker.Container, targets: ProbeTarget[], facts: ContainerFacts, user: ContainerUser, runId: string, running: boolean, runningNow: boolean): Promise<void> {
	try {
		for (const target of targets) {
			await resolveTarget(container, target, facts, user, runId, running, runningNow);
		}
	} catch (error) {
		throw explainContainerError(error, engine, facts.name);
	}
}

/** The targets a plan left for later (see prepareProbe), now that the user said yes and the container runs. */
async function resolveDeferred(run: ProbeRun): Promise<void> {
	if (!run.deferred) {
		return;
	}

	const running = run.plan.container.running || run.plan.startStopped;
	run.user = await probeUser(run.container, run.info, running);
	await resolveTargets(run.engine, run.container, run.plan.targets, run.check.facts, run.user, run.plan.runId, running, running);
}

type Observations = Map<ProbeTarget, {restart: Observed | null; recreate: Observed | null; note?: string}>;

/** One probe in flight: what it planned, what it has seen and put in place so far, and how to put that back. */
interface ProbeRun {
	options: ProbeOptions;
	engine: Engine;
	check: CheckResult;
	info: any;
	user: ContainerUser;
	plan: ProbePlan;
	deferred: boolean;
	container: Docker.Container;
	content: string;
	readyTimeout: number;
	emit: (event: ProbeEvent) => void;
	step: (next: ProbeStep, detail?: string) => void;
	/** Add the time of the step in progress to the timings, at the end. */
	stopClock: () => void;
	timings: Partial<Record<ProbeStep, number>>;
	/** Everything put in place, undone newest first by cleanup. */
	undo: UndoStack;
	observed: Observations;
	/** Every sentinel a write was tried for (a failed write can leave an empty file). */
	attempted: ProbeTarget[];
	startedByUs: boolean;
	restarted: boolean;
	databases?: {before: DatabaseReport[]; after: DatabaseReport[]};
	failure: unknown;
	leftovers: string[];
	/** False once the container was found removed. */
	exists: boolean;
	runningNow: boolean;
	/** The container is back in the state it was found in (running, or stopped). */
	stateRestored: boolean;
	journal: ProbeJournal | null;
	stateDir: string;
}

/** Record the run's progress in its journal; a journal that cannot be written is dropped with a warning. */
function record(run: ProbeRun, change: Partial<ProbeJournal>): void {
	if (!run.journal) {
		return;
	}

	run.journal = {...run.journal, ...change};
	try {
		writeJournal(run.stateDir, run.journal);
	} catch (error) {
		run.journal = null;
		run.emit({type: 'warning', message: `could not record the probe's state in ${journalPath(run.stateDir, run.plan.runId)} (${(error as Error).message.split('\n')[0]}): if the engine dies mid-probe, \`probe --cleanup\` cannot restore ${run.check.facts.name}'s state`});
	}
}

/** Prepare, show the plan, ask, and open the journal. Nothing is changed before this returns. */
async function beginProbe(options: ProbeOptions, hooks: ProbeHooks, given?: Engine): Promise<ProbeRun> {
	const emit = (event: ProbeEvent) => hooks.onEvent?.(event);
	const timings: Partial<Record<ProbeStep, number>> = {};
	let stepStart = Date.now();
	let current: ProbeStep = 'preparing';
	const stopClock = () => {
		timings[current] = (timings[current] ?? 0) + Date.now() - stepStart;
		stepStart = Date.now();
	};

	const step = (next: ProbeStep, detail?: string) => {
		stopClock();
		current = next;
		emit({type: 'step', step: next, ...(detail ? {detail} : {})});
	};

	emit({type: 'step', step: 'preparing'});
	const {engine, check, info, user, plan, deferred} = await prepareProbe(options, given);
	const {facts} = check;
	emit({type: 'plan', plan});
	checkAbort(options.signal);
	if ((plan.restart || plan.startStopped) && hooks.confirm && !(await hooks.confirm(plan))) {
		throw new DoctorError(`probe cancelled: nothing was written and ${facts.name} was not restarted`, 'declined');
	}

	checkAbort(options.signal);
	const run: ProbeRun = {
		options, engine, check, info, user, plan, deferred, emit, step, stopClock, timings,
		container: engine.docker.getContainer(facts.id),
		content: sentinelContent(plan.runId, randomBytes(16).toString('hex')),
		readyTimeout: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
		undo: new UndoStack(),
		observed: new Map(),
		attempted: [],
		startedByUs: false,
		restarted: false,
		failure: null,
		leftovers: [],
		exists: true,
		runningNow: false,
		stateRestored: false,
		stateDir: options.stateDir ?? defaultStateDir(),
		// The state before and what we put in place, on this machine, for `probe --cleanup` after an engine death.
		journal: {
			version: 1,
			runId: plan.runId,
			engine: engine.target.label,
			container: {id: facts.id, name: facts.name},
			before: {status: facts.state.status, running: plan.container.running},
			startedByUs: plan.startStopped,
			sentinels: [],
			twin: null,
			step: 'preparing',
			pid: process.pid,
			startedAt: new Date().toISOString(),
			updatedAt: '',
		},
	};
	record(run, {step: plan.startStopped ? 'starting' : 'writing'});
	// Whatever happens from here: the container ends as it was found, running or stopped.
	run.stateRestored = !plan.startStopped;
	return run;
}

/** A stopped container is started only for the probe (with --yes), and stopped again at the end. */
async function startIfStopped(run: ProbeRun): Promise<void> {
	const {engine, plan, check: {facts}} = run;
	if (!plan.startStopped) {
		return;
	}

	run.step('starting', facts.name);
	run.startedByUs = true;
	run.undo.push(`stop ${facts.name} again`, async () => {
		if (!run.exists) {
			return;
		}

		run.step('stopping', facts.name);
		run.stateRestored = await stopContainer(engine, facts.id, facts.name, plan.container.stopTimeout).then(() => true, (error: unknown) => {
			// Removed under us: there is nothing left to put back.
			if (error instanceof DoctorError && error.code === 'container-gone') {
				run.exists = false;
				return true;
			}

			run.failure ??= error;
			return false;
		});
	});
	await startContainer(engine, facts.id, facts.name);
	await waitReady(engine, facts.id, facts.name, run.readyTimeout, run.options.signal);
	checkAbort(run.options.signal);
}

/** The archive API cannot delete: a target whose sentinel could not be removed afterwards is not probed. */
async function skipUnremovable(run: ProbeRun): Promise<void> {
	const {engine, plan, info, container, options, check: {facts}} = run;
	const running = plan.container.running || plan.startStopped;
	const execRm = running && await execIn(container, ['rm', '-f', `/${sentinelName(plan.runId)}-check`], {user: '0'}).then(r => r.exitCode === 0, () => false);
	let helperRm: boolean | null = null;
	for (const target of plan.targets.filter(t => !t.skip)) {
		const entry = removeEntry(target, facts, info);
		if (execRm || hostWritable(entry.hostPath) || (!running && hostWritable(entry.layerHostPath))) {
			continue;
		}

		if (entry.mount && target.channel === 'archive') {
			helperRm ??= await removeWithHelper(engine, facts.imageId, facts, [`/${sentinelName(plan.runId)}-check`], plan.runId, options.labels).catch(() => false);
			if (helperRm) {
				continue;
			}
		}

		target.skip = {observed: null, note: 'not probed: the sentinel could not be removed afterwards (no rm in the image, and the engine\'s disk is not reachable from here)'};
	}
}

/** Put the container back running if it should run, then remove every sentinel attempted. */
async function removeSentinelsUndo(run: ProbeRun): Promise<void> {
	const {engine, plan, info, container, options, check: {facts}} = run;
	try {
		const now = await container.inspect();
		if (now.State?.Status === 'removing' || now.State?.Dead) {
			throw Object.assign(new Error('removing'), {statusCode: 404});
		}

		run.runningNow = Boolean(now.State?.Running);
		if ((plan.container.running || run.startedByUs) && !run.runningNow && !now.State?.Restarting) {
			await startContainer(engine, facts.id, facts.name);
			await waitReady(engine, facts.id, facts.name, run.readyTimeout);
			run.runningNow = true;
		}
	} catch (error) {
		run.exists = (error as {statusCode?: number}).statusCode !== 404;
		run.failure ??= error;
	}

	const left = await removeSentinels(run.attempted.map(t => removeEntry(t, facts, info)), {
		container: run.exists ? container : null,
		running: run.runningNow,
		helper: async paths => removeWithHelper(engine, facts.imageId, facts, paths, plan.runId, options.labels),
	});
	run.leftovers.push(...left);
	for (const target of run.attempted) {
		run.emit({type: 'sentinel', dir: target.dir, action: left.includes(target.sentinel) ? 'left' : 'removed'});
	}

	run.stateRestored = !run.exists || (plan.container.running ? run.runningNow : !run.startedByUs);
}

async function writeSentinels(run: ProbeRun): Promise<void> {
	const {plan, info, container, content, user, emit, check: {facts}} = run;
	run.step('writing');
	run.undo.push('remove the sentinels', async () => removeSentinelsUndo(run));
	for (const target of plan.targets) {
		checkAbort(run.options.signal);
		if (target.skip) {
			emit({type: 'sentinel', dir: target.dir, action: target.skip.observed === 'unwritable' ? 'unwritable' : 'skipped', note: target.skip.note});
			continue;
		}

		run.attempted.push(target);
		record(run, {sentinels: run.attempted.map(t => removeEntry(t, facts, info))});
		const failed = await writeSentinel(container, target, content, {uid: user.uid ?? 0, gid: user.gid ?? 0}, user.from ? `${user.uid}:${user.gid}` : undefined);
		if (failed === 'no-shell') {
			target.skip = {observed: null, note: 'not probed: tmpfs needs a shell in the image (the archive API cannot reach tmpfs)'};
			emit({type: 'sentinel', dir: target.dir, action: 'skipped', note: target.skip.note});
		} else if (failed) {
			target.skip = {observed: 'unwritable', note: failed};
			emit({type: 'sentinel', dir: target.dir, action: 'unwritable', note: failed});
		} else {
			run.observed.set(target, {restart: null, recreate: null, ...(target.note ? {note: target.note} : {})});
			emit({type: 'sentinel', dir: target.dir, action: 'written', ...(target.note ? {note: target.note} : {})});
		}
	}
}

/** Restart, wait, read every sentinel back; rows before and after (a restart that loses rows is an error). */
async function restartAndRead(run: ProbeRun): Promise<void> {
	const {engine, plan, info, container, content, check, options: {signal}} = run;
	const {facts} = check;
	if (!plan.restart) {
		return;
	}

	checkAbort(signal);
	const before = await countRows(engine, facts, check.report.locations, signal, run.emit);
	run.step('restarting', `stop timeout ${plan.container.stopTimeout} s`);
	record(run, {step: 'restarting'});
	const pending = restartContainer(engine, facts.id, facts.name, plan.container.stopTimeout);
	// A restart the engine has begun finishes: cleanup waits for it, so the container ends running.
	run.undo.push('wait for the restart', async () => {
		await pending.catch(() => {});
	});
	await pending;
	run.restarted = true;
	run.step('waiting', info.Config?.Healthcheck ? 'running and healthy' : 'running');
	await waitReady(engine, facts.id, facts.name, run.readyTimeout, signal);
	checkAbort(signal);
	run.step('reading');
	for (const [target, o] of run.observed) {
		o.restart = await readSentinel(container, target, content);
	}

	const after = before ? await countRows(engine, facts, check.report.locations, signal, run.emit) : null;
	if (before && after) {
		run.databases = {before, after};
	}
}

/** Read the sentinels through a never-started twin with the mounts a recreate would give. */
async function readThroughTwin(run: ProbeRun): Promise<void> {
	const {engine, plan, info, content, options, check: {facts}} = run;
	checkAbort(options.signal);
	run.step('recreate', `twin occ-doctor-twin-${plan.runId}`);
	record(run, {step: 'recreate', twin: `occ-doctor-twin-${plan.runId}`});
	try {
		const twin = await engine.docker.createContainer(twinCreateOptions(info, facts, plan.runId, options.labels));
		run.undo.push(`remove twin container ${twin.id.slice(0, 12)}`, async () => {
			await removeHelper(engine, twin.id).catch(() => run.leftovers.push(`twin container ${twin.id.slice(0, 12)}`));
		});
		for (const [target, o] of run.observed) {
			// The twin is never started: its tmpfs is not mounted, and what lies beneath is the image's, as in a new container.
			o.recreate = await readSentinel(twin, target, content, 'archive');
		}
	} catch (error) {
		if (isEngineFailure(error)) {
			throw error;
		}

		// The image was removed, or the engine refused the twin: the restart observations still stand.
		run.emit({type: 'warning', message: `recreate probe failed: ${explainContainerError(error, engine, facts.name).message}`});
	}
}

/** The error to throw, if any: an engine that went away names `probe --cleanup`; leftovers are listed. */
async function probeError(run: ProbeRun): Promise<DoctorError | null> {
	const {engine, plan, options: {signal}, check: {facts}} = run;
	const name = facts.name;
	const engineUp = await engine.docker.ping().then(() => true, () => false);
	if (run.journal && engineUp && run.leftovers.length === 0 && run.stateRestored) {
		removeJournal(run.stateDir, plan.runId);
		run.journal = null;
	}

	let failure = run.failure;
	if (failure && !(failure instanceof DoctorError && failure.exitCode === 130) && !engineUp) {
		const was = plan.container.running ? 'running' : 'stopped';
		const after = run.journal
			? `when it is back, run \`occ-doctor probe --cleanup --container ${name}\`: it puts ${name} back as it was (${was}) and removes what is left, from ${journalPath(run.stateDir, plan.runId)}`
			: `start it again; ${name}'s restart policy decides whether it runs`;
		const said = String((failure as Error).message ?? failure).split('\n')[0]!;
		// The engine error's own advice ("start it …") is replaced by what to do after the probe: keep just its cause.
		const cause = /\((E[A-Z]+)\)/.exec(said)?.[1] ?? (failure as NodeJS.ErrnoException).code ?? said;
		failure = new DoctorError(`the Docker engine at ${engine.target.label} went away during the probe (${cause}): ${after}`, 'cannot-run');
	}

	if (!failure) {
		return null;
	}

	// Whatever the engine said first, a container that is gone now was removed under us.
	const error = signal?.aborted && !(failure instanceof DoctorError && failure.exitCode !== 130) ? interrupted(signal) : (run.exists ? explainContainerError(failure, engine, name) : containerGone(name));
	if (run.leftovers.length > 0) {
		error.message += ` · left behind: ${run.leftovers.join(', ')}${engineUp ? `; run \`occ-doctor probe --cleanup --container ${name}\`` : ''}`;
	}

	return error;
}

/**
 * Write a sentinel into every location, restart the container, read them back, read them through a twin that has the
 * mounts a recreate would give, and clean up. Each step pushes how to undo what it put in place; whatever happens
 * (an error, an abort), the stack is unwound (twin removed, restart awaited, container running again, sentinels
 * removed, a container we started stopped) before the error is rethrown.
 */
export async function runProbe(options: ProbeOptions, hooks: ProbeHooks = {}, engine?: Engine): Promise<ProbeResult> {
	const run = await beginProbe(options, hooks, engine);
	try {
		await startIfStopped(run);
		await resolveDeferred(run);
		await skipUnremovable(run);
		await writeSentinels(run);
		await restartAndRead(run);
		await readThroughTwin(run);
	} catch (error) {
		run.failure = error;
	} finally {
		run.step('cleanup');
		for (const {error} of await run.undo.unwind()) {
			run.failure ??= error;
		}

		run.stopClock();
	}

	const error = await probeError(run);
	if (error) {
		throw error;
	}

	const {check, plan, container} = run;
	return buildResult(check, plan, run.observed, {restarted: run.restarted, startedByUs: run.startedByUs, timings: run.timings, leftovers: run.leftovers, databases: run.databases, stateBefore: check.facts.state.status, stateAfter: await container.inspect().then(i => i.State?.Status ?? 'unknown', () => 'unknown')}, run.emit);
}

/** Row counts for the before/after comparison. Counting must never fail the probe: a failure is a warning. */
async function countRows(engine: Engine, facts: ContainerFacts, locations: Location[], signal: AbortSignal | undefined, emit: (e: ProbeEvent) => void): Promise<DatabaseReport[] | null> {
	try {
		const {databases} = await countDatabases(engine, facts, locations, {signal, integrity: false});
		return databases;
	} catch (error) {
		checkAbort(signal);
		emit({type: 'warning', message: `could not count database rows: ${(error as Error).message.split('\n')[0]}`});
		return null;
	}
}

function buildResult(
	check: CheckResult,
	plan: ProbePlan,
	observed: Map<ProbeTarget, {restart: Observed | null; recreate: Observed | null; note?: string}>,
	run: {restarted: boolean; startedByUs: boolean; timings: Partial<Record<ProbeStep, number>>; leftovers: string[]; databases?: {before: DatabaseReport[]; after: DatabaseReport[]}; stateBefore: string; stateAfter: string},
	emit: (e: ProbeEvent) => void,
): ProbeResult {
	const cells = (target: ProbeTarget): Observation => {
		if (target.skip) {
			return {restart: plan.restart ? target.skip.observed : null, recreate: target.skip.observed, note: target.skip.note};
		}

		const o = observed.get(target) ?? {restart: null, recreate: null};
		return {restart: o.restart, recreate: o.recreate, ...(o.note ? {note: o.note} : {})};
	};

	const locations = check.report.locations.map(location => {
		const target = plan.targets.find(t => t.locations.includes(location.path));
		const withObserved: Location = target ? {...location, observed: cells(target)} : location;
		if (withObserved.observed) {
			emit({type: 'location', path: location.path, observed: withObserved.observed});
		}

		return withObserved;
	});
	const rowsLost = run.databases ? compareCounts(run.databases.before, run.databases.after) : [];
	return {
		...check.report,
		locations,
		findings: sortFindings([...check.report.findings, ...probeFindings(locations), ...rowsLost]),
		...(run.databases ? {databases: run.databases.after} : {}),
		probe: {
			runId: plan.runId,
			restarted: run.restarted,
			startedStopped: run.startedByUs,
			targets: plan.targets.map(t => {
				const c = cells(t);
				return {dir: t.dir, sentinel: t.sentinel, locations: t.locations, channel: t.channel, restart: c.restart, recreate: c.recreate, ...(c.note ?? t.note ? {note: c.note ?? t.note} : {})};
			}),
			timings: run.timings,
			state: {before: run.stateBefore, after: run.stateAfter},
			leftovers: run.leftovers,
			...(run.databases ? {databases: run.databases} : {}),
		},
	};
}
