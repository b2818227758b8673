// node:fs, not node:fs/promises: fs/promises (and the readline modules it loads) would cost every check ~1 ms.
import {readFileSync} from 'node:fs';
import {analyze} from '../core/analyze.js';
import {detectProfile, findProfile, parseProfile, BUILTIN_PROFILES} from '../core/profiles.js';
import type {ContainerFacts, Profile, Report} from '../core/types.js';
import {connect, DoctorError, type Engine} from '../docker/engine.js';
import {findCandidates, gatherFacts, type Candidate} from '../docker/inspect.js';
import {configuredUser, ownedLocations, pathOwners, pathsExist} from '../docker/exists.js';
import {collectCandidates, coveringMount} from '../core/model.js';
import {statInContainer, type PathStat} from '../docker/archive.js';
import {sortFindings} from '../core/findings.js';
import {isRedis, redisProfile, withRedis} from '../core/redis.js';
import {gatherRedis} from './redis.js';
import {decideDatabase, mountedHostFiles} from '../sqlite/shell-source.js';
import {examineStack, pickFromStack} from './stack.js';

export interface CheckOptions {
	host?: string;
	/** --context: a docker context's name (see chooseEngine). */
	context?: string;
	container?: string;
	paths?: string[];
	profile?: string;
	/** Container paths of databases to count besides those found (--db). */
	db?: string[];
	/** false skips database discovery and counting (--no-databases). */
	databases?: boolean;
	/** true runs quick_check on every database, false on none; unset, within the default budget (--integrity). */
	integrity?: boolean;
	/** --service: of the container's compose project, check only this service. */
	service?: string;
	signal?: AbortSignal;
}

/** --profile NAME picks a built-in profile; anything else is read as a JSON or YAML file. */
export async function loadProfile(spec: string): Promise<Profile> {
	const builtin = findProfile(spec);
	if (builtin) {
		return builtin;
	}

	let text: string;
	try {
		text = readFileSync(spec, 'utf8');
	} catch (error) {
		const names = BUILTIN_PROFILES.map(p => p.name).join(', ');
		throw new DoctorError(`no profile "${spec}" (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): use one of ${names}, generic, or a path to a JSON/YAML file`, 'usage', {code: 'bad-profile'});
	}

	try {
		return parseProfile(text, spec);
	} catch (error) {
		throw new DoctorError((error as Error).message, 'usage', {code: 'bad-profile'});
	}
}

/** Thrown when no --container was given and several containers fit. Carries them for a list or a picker. */
export class AmbiguousContainerError extends DoctorError {
	constructor(readonly candidates: Candidate[]) {
		// Under --json the candidates are in the error object, so a script can pick one (docs/json.md, Errors).
		super(`${candidates.length} containers look like coding agents (${candidates.map(c => c.name).join(', ')}): pass --container NAME`, 'usage', {
			code: 'ambiguous-container',
			details: {candidates: candidates.map(({id, name, image, state, profile, compose}) => ({id, name, image, state, profile, compose}))},
		});
	}
}

/** The container to check: --container, else the only candidate. */
export async function pickContainer(engine: Engine, ref?: string): Promise<string> {
	if (ref) {
		return ref;
	}

	const candidates = await findCandidates(engine);
	if (candidates.length === 0) {
		throw new DoctorError(`no coding-agent container found on ${engine.target.label}: pass --container NAME (\`docker ps -a\` lists them)`);
	}

	// The services of one compose project are one stack: check one of them, and the stack with it.
	const stack = pickFromStack(candidates);
	if (candidates.length > 1 && !stack) {
		throw new AmbiguousContainerError(candidates);
	}

	return stack ?? candidates[0]!.id;
}

type ReaderFor = typeof import('../sqlite/index.js').readerFor;

export interface CheckResult {
	engine: Engine;
	facts: ContainerFacts;
	profile: Profile;
	report: Report;
}

/** A --db path must be a file in the container: a typo must not pass as "nothing to count". */
async function requireDatabases(engine: Engine, facts: ContainerFacts, paths: string[], readerFor: ReaderFor): Promise<void> {
	for (const path of paths) {
		// Where no read is safe, the database's own entry says why; a guess here would be no better.
		const {source} = readerFor(engine, facts, path);
		const stat = source ? await source.stat(path) : {isFile: true};
		if (!stat?.isFile) {
			throw new DoctorError(`--db ${path}: ${stat ? 'not a file' : 'no such file'} in ${facts.name}: pass the container path of a SQLite database`, 'usage', {code: 'missing-db'});
		}
	}
}

/** The locations and databases that archiveRisk kept from being read (never silently zero: see notCountedFinding). */
function notRead(risk: string | null, skipped: string[], databases: Array<{path: string; error: string | null}>): string[] {
	if (!risk) {
		return [];
	}

	const why = `not read: ${risk}`;
	const locations = skipped.filter(s => s.endsWith(` (${why})`)).map(s => s.slice(0, -(why.length + 3)));
	// Database files first: they are what the user looks for in the message.
	const paths = [...databases.filter(d => d.error === why).map(d => d.path), ...locations];
	return [...new Set([...paths.filter(p => /\.(db|sqlite3?)$/.test(p)), ...paths])];
}

type UserAnswer = ContainerFacts['appUser'];
type EarlyPaths = {paths: string[]; answers: Promise<[ContainerFacts['pathExists'], UserAnswer]>; stats: Map<string, Promise<PathStat | null>>};

/**
 * The paths' existence and the configured user, asked from the inspect's facts alone (see pathsAndUser). With them
 * go the first stats of each profile database's snapshot (main file, -wal, -journal), taken by countDatabases: a
 * round trip fewer, and the proof only spans a longer window (docs/databases.md).
 */
function askEarly(engine: Engine, facts: ContainerFacts, profile: Profile, extra: string[]): EarlyPaths {
	const candidates = collectCandidates(facts, profile, extra);
	const container = () => engine.docker.getContainer(facts.id);
	const stats = new Map<string, Promise<PathStat | null>>();
	/** Existence known from the host shell's answers (not a snapshot's first stat: its fingerprint is of another kind). */
	const existence = new Map<string, Promise<PathStat | null>>();
	// Not over dial-stdio sessions (sshd refused the forward): each request is a session there, and a burst past
	// sshd's MaxSessions while earlier ones close is refused, which reads as a dropped link (a second login).
	const prefetch = !facts.archiveRisk && engine.target.ssh?.forwarding !== false;
	// Over ssh://, whether the engine's host lets us read each database is asked of its shell now, with its first stats.
	const shell = facts.archiveRisk ? undefined : engine.target.ssh?.hostShellNow;
	for (const {path} of prefetch ? candidates.filter(c => c.kind === 'sqlite' && coveringMount(c.path, facts)?.type !== 'tmpfs') : []) {
		if (shell && mountedHostFiles(facts, path)) {
			const decided = decideDatabase(shell, facts, path);
			// Its existence, for pathsExist: from the host when it can read it, else as before.
			const exists = decided.then(async ({onHost, first}) => (onHost ? (first.get(path) ? {isFile: true} as PathStat : null) : statInContainer(container(), path)));
			exists.catch(() => {});
			existence.set(path, exists);
			continue;
		}

		for (const file of [path, `${path}-wal`, `${path}-journal`]) {
			const stat = statInContainer(container(), file);
			stat.catch(() => {}); // Whoever takes it gets the failure.
			stats.set(file, stat);
		}
	}

	const paths = candidates.map(c => c.path);
	const answers = Promise.all([pathsExist(engine, facts, paths, new Map([...stats, ...existence])), configuredUser(engine, facts)]);
	answers.catch(() => {}); // Awaited by pathsAndUser; a check that failed before then has its own error.
	return {paths, answers, stats};
}

/**
 * Which of `paths` exist, and the configured user (which does not depend on them: both go at once). Answers asked
 * early are taken; only paths they lack (an image VOLUME, a profile that the image or Redis changed) are asked now.
 */
async function pathsAndUser(engine: Engine, facts: ContainerFacts, paths: string[], early?: EarlyPaths): Promise<[ContainerFacts['pathExists'], UserAnswer]> {
	if (!early) {
		return Promise.all([pathsExist(engine, facts, paths), configuredUser(engine, facts)]);
	}

	const [known, user] = await early.answers;
	const more = await pathsExist(engine, facts, paths.filter(p => !early.paths.includes(p)));
	return [Object.fromEntries(paths.map(p => [p, p in more ? more[p]! : known[p] ?? null])), user];
}

/** Inspect one container and predict what survives what. Reads only. `lap` times the phases (report.timings). */
export async function checkContainer(engine: Engine, ref: string, options: CheckOptions, lap: (phase: string) => void = () => {}, phases?: Record<string, number>): Promise<CheckResult> {
	// A --profile is read first: it decides, as a detected one would, whether the logs are worth a request.
	const forced = options.profile ? await loadProfile(options.profile) : undefined;
	let early: EarlyPaths | undefined;
	// Over a link, which paths exist and who the configured user is go out with the image and volume requests (a round
	// trip fewer); a local engine answers both from the host without a request.
	const whileAnswering = engine.target.local ? undefined : (facts: ContainerFacts) => {
		early = askEarly(engine, facts, forced ?? detectProfile(facts).profile, options.paths ?? []);
	};
	const facts = await gatherFacts(engine, ref, {profile: forced, whileAnswering});
	const redis = isRedis(facts) ? await gatherRedis(engine, facts) : undefined;
	const detected = forced ? {profile: forced, detectedBy: `--profile ${options.profile}`} : detectProfile(facts);
	const {profile, detectedBy} = redis && !forced ? redisProfile(detected, redis) : detected;
	const [pathExists, appUser] = await pathsAndUser(engine, facts, collectCandidates(facts, profile, options.paths ?? []).map(c => c.path), early);
	facts.pathExists = pathExists;
	// Owners are read only for the locations that exist and must be written: the first analysis says which.
	const owned = ownedLocations(analyze(facts, profile, detectedBy, options.paths ?? []).locations).map(l => l.path);
	facts.appUser = appUser;
	facts.pathOwners = facts.appUser && facts.appUser.uid !== 0 ? await pathOwners(engine, facts, owned) : {};
	const {target} = engine;
	const {schemaVersion, ...analysis} = analyze(facts, profile, detectedBy, options.paths ?? []);
	let report: Report = {schemaVersion, engine: {context: target.context, host: target.label, transport: target.transport}, ...analysis};
	if (redis) {
		report = withRedis(report, facts, redis);
	}

	lap('inspect');
	if (options.databases !== false) {
		// better-sqlite3 and the tar parser load only when databases are counted.
		const {countDatabases, databaseFindings, notCountedFinding, readerFor} = await import('../sqlite/index.js');
		await requireDatabases(engine, facts, options.db ?? [], readerFor);
		const {databases, legacyStorage, skipped} = await countDatabases(engine, facts, report.locations, {extra: options.db, signal: options.signal, integrity: options.integrity, phases, firstStats: early?.stats});
		report.databases = databases;
		report.legacyStorage = legacyStorage;
		const found = databaseFindings(databases, legacyStorage, facts.env);
		const notCounted = notCountedFinding({...facts, engine: target}, notRead(facts.archiveRisk, skipped, databases));
		if (notCounted) {
			found.push(notCounted);
		}

		if (skipped.length > 0) {
			report.databasesSkipped = skipped;
		}

		report.findings = sortFindings([...report.findings, ...found]);
	}

	return {engine, facts, profile, report};
}

/**
 * Check the container and, when it is a compose service, every other service of its project (`services`);
 * `--service` checks only that service of the project. Reads only.
 */
export async function runCheck(options: CheckOptions, engine?: Engine): Promise<CheckResult> {
	const phases: Record<string, number> = {};
	// process.hrtime, not performance.now(): the performance global loads perf_hooks on first use.
	const now = () => Number(process.hrtime.bigint()) / 1e6;
	let started = now();
	const lap = (name: string) => {
		phases[name] = Math.round(now() - started);
		started = now();
	};

	const requestsBefore = engine?.requests ?? 0;
	if (options.databases !== false) {
		// Loaded while the engine answers: the counting code and the SQLite addon are not free to load.
		import('../sqlite/index.js').catch(() => {});
	}

	if (!engine) {
		engine = await connect(options);
		lap('connect');
	}

	const ref = await pickContainer(engine, options.container);
	const first = await checkContainer(engine, ref, options, lap, phases);
	const result = await examineStack(engine, first, options, (id, own) => checkContainer(engine!, id, {...own, integrity: options.integrity}));
	if (result !== first || result.report.services) {
		lap('stack');
	}

	result.report.timings = {requests: engine.requests - requestsBefore, phases};
	return result;
}
