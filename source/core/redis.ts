// Redis persistence, pure: read its settings from the command line and the config file, merge them with what the
// running server says, and judge them. The I/O (archive API, exec) is in source/check/redis.ts.
import {posix} from 'node:path';
import {fillVolume, sortFindings} from './findings.js';
import {findProfile} from './profiles.js';
import {advice, command, composeUp, composeVolume, composeWhere, fixOf, shellQuote} from './fix.js';
import type {ContainerFacts, Finding, FixStep, Location, Profile, RedisSettings, Report} from './types.js';

/** Redis 7's built-in schedule (redis.conf: `save 3600 1 300 100 60 10000`), used when nothing sets `save`. */
export const DEFAULT_SAVE = '3600 1 300 100 60 10000';

type Setting = 'appendonly' | 'save' | 'dir';
export type RedisValues = Partial<Record<Setting, string>>;

/** The redis-server words of the main process: `docker-entrypoint.sh redis-server …`, or `sh -c "redis-server …"`. */
function serverArgs(command: string[]): string[] | null {
	const words = command.length <= 3 && /^(\/bin\/)?(ba)?sh$/.test(command[0] ?? '') && command[1] === '-c' ? splitWords(command[2] ?? '') : command;
	const at = words.findIndex(w => posix.basename(w) === 'redis-server');
	return at === -1 ? null : words.slice(at + 1);
}

/** Shell-like words: quotes group, so `--save ""` keeps its empty value. */
function splitWords(line: string): string[] {
	const words: string[] = [];
	for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
		words.push(match[1] ?? match[2] ?? match[3] ?? '');
	}

	return words;
}

export function isRedis(facts: Pick<ContainerFacts, 'command'>): boolean {
	return serverArgs(facts.command ?? []) !== null;
}

/**
 * `redis-server [config file] [--name value ...]`: a `--name` takes the words up to the next `--`, as Redis does
 * (`--save 60 1` is `save "60 1"`). The last one of a name wins, except `save`, which Redis appends to.
 */
export function parseCommandLine(command: string[]): {configFile: string | null; values: RedisValues; port: string | null; password: boolean} {
	const args = serverArgs(command) ?? [];
	const configFile = args[0] !== undefined && !args[0].startsWith('--') ? args[0] : null;
	const options: Array<{name: string; words: string[]}> = [];
	for (const word of args.slice(configFile === null ? 0 : 1)) {
		if (word.startsWith('--')) {
			options.push({name: word.slice(2).toLowerCase(), words: []});
		} else {
			options.at(-1)?.words.push(word);
		}
	}

	const all = (name: string) => options.filter(o => o.name === name).map(o => o.words.join(' ').trim());
	const values: RedisValues = {};
	for (const name of ['appendonly', 'dir'] as const) {
		const given = all(name);
		if (given.length > 0) {
			values[name] = given.at(-1)!;
		}
	}

	if (all('save').length > 0) {
		values.save = saveValue(all('save'));
	}

	return {configFile, values, port: all('port').at(-1) ?? null, password: all('requirepass').length > 0};
}

/** Several `save` lines add up; an empty one (`save ""`) clears the ones before it. */
function saveValue(parts: string[]): string {
	const after = parts.lastIndexOf('');
	return parts.slice(after + 1).filter(Boolean).join(' ');
}

/** redis.conf lines: `appendonly yes`, `save 900 1` (repeatable), `save ""`, `dir /data`. `include` is not followed. */
export function parseConfigFile(text: string): RedisValues & {password: boolean} {
	const values: RedisValues & {password: boolean} = {password: false};
	const saves: string[] = [];
	for (const raw of text.split('\n')) {
		const [name, ...rest] = splitWords(raw.trim().startsWith('#') ? '' : raw);
		const key = name?.toLowerCase();
		if (key === 'appendonly' || key === 'dir') {
			values[key] = rest.join(' ');
		} else if (key === 'save') {
			saves.push(rest.join(' ').trim());
		} else if (key === 'requirepass') {
			values.password = true;
		}
	}

	if (saves.length > 0) {
		values.save = saveValue(saves);
	}

	return values;
}

/**
 * The settings in force: the running server's (CONFIG GET) first, then the command line, then the config file,
 * then Redis's defaults. A relative `dir` is taken from the container's working directory, as redis-server does.
 */
export function mergeSettings(layers: Array<{from: string; values: RedisValues}>, workingDir: string, configFile: string | null, notes: string[]): RedisSettings {
	const pick = (name: Setting, fallback: string) => {
		const layer = layers.find(l => l.values[name] !== undefined);
		return layer ? {value: layer.values[name]!, from: layer.from} : {value: fallback, from: 'default'};
	};

	const appendonly = pick('appendonly', 'no');
	const save = pick('save', DEFAULT_SAVE);
	const dir = pick('dir', './');
	return {
		appendonly: appendonly.value.trim().toLowerCase() === 'yes',
		save: save.value.trim(),
		dir: posix.normalize(posix.resolve(workingDir || '/', dir.value.trim() || '.')),
		from: {appendonly: appendonly.from, save: save.from, dir: dir.from},
		configFile,
		notes,
	};
}

function duration(seconds: number): string {
	return seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** "3600 1 300 100" → the longest gap between snapshots and the rules in words. */
export function describeSave(save: string): {worst: string; rules: string} | null {
	const numbers = save.split(/\s+/).filter(Boolean).map(Number);
	const rules: Array<[number, number]> = [];
	for (let i = 0; i + 1 < numbers.length; i += 2) {
		rules.push([numbers[i]!, numbers[i + 1]!]);
	}

	if (rules.length === 0 || rules.some(([s, c]) => !Number.isFinite(s) || !Number.isFinite(c))) {
		return null;
	}

	rules.sort((a, b) => a[0] - b[0]);
	const worst = Math.max(...rules.map(([seconds]) => seconds));
	return {worst: duration(worst), rules: rules.map(([seconds, changes]) => `after ${duration(seconds)} if ≥${changes} write${changes === 1 ? '' : 's'}`).join(', ')};
}

function serviceOf(facts: ContainerFacts): string | null {
	return facts.labels['com.docker.compose.service'] ?? null;
}

/**
 * AOF on at once, then wait for the first AOF: until its rewrite ends, a Redis killed (`docker rm -f`, a recreate)
 * and started again with --appendonly yes finds no AOF and starts empty, ignoring its dump.rdb.
 */
function aofFix(facts: ContainerFacts): FixStep[] {
	const name = shellQuote(facts.name);
	const wait = `while docker exec ${name} redis-cli INFO persistence | grep -Eq '^aof_rewrite_(in_progress|scheduled):1'; do sleep 1; done`;
	const now = command(`docker exec ${name} redis-cli CONFIG SET appendonly yes && ${wait}`, 'at once, until the next start (and wait for its first AOF: a recreate before it starts empty)');
	const service = serviceOf(facts);
	return service
		? [now, advice(`to keep it: command: ["redis-server", "--appendonly", "yes"] ${composeWhere(facts, service)}`), composeUp(facts)]
		: [now, advice(`to keep it: recreate ${facts.name} with redis-server --appendonly yes as its command`)];
}

/**
 * Onto a named volume without losing the dataset: a Redis recreated on an empty volume starts empty, and a dump put
 * back while it runs is overwritten by its next save. So the volume is filled before the recreate (fillVolume).
 */
function volumeFix(facts: ContainerFacts, dir: string): FixStep[] {
	const service = serviceOf(facts);
	const volume = service ? composeVolume(facts, 'redis-data') : 'redis-data';
	return [
		fillVolume(facts, volume, dir, facts.tmpfs.some(t => dir === t || dir.startsWith(`${t}/`))),
		...(service
			? [advice(`add volumes: ["redis-data:${dir}"] ${composeWhere(facts, service)} (and redis-data: under top-level volumes:)`), composeUp(facts)]
			: [advice(`recreate ${facts.name} with -v redis-data:${dir}`)]),
	];
}

/** How much a Redis without AOF loses. */
function lossWithoutAof(redis: RedisSettings): {severity: 'error' | 'warning'; loss: string} {
	const schedule = describeSave(redis.save);
	if (!schedule) {
		return {severity: 'error', loss: `neither an append-only file nor RDB snapshots (appendonly no, save "${redis.save}"): every restart loses everything it holds`};
	}

	return {
		severity: 'warning',
		loss: `no append-only file (appendonly no, from ${redis.from.appendonly}): a crash, kill or host power loss loses every write since the last RDB snapshot, up to ${schedule.worst} of writes (save "${redis.save}": a snapshot ${schedule.rules}); a clean stop writes one first`,
	};
}

/**
 * redis-no-aof: how much is lost without the AOF. redis-data-not-persistent: its dir is not on a volume or bind,
 * so a recreate loses the files themselves (it replaces the generic not-persistent finding on that path).
 */
export function redisFindings(redis: RedisSettings, facts: ContainerFacts, locations: Location[]): Finding[] {
	const findings: Finding[] = [];
	if (!redis.appendonly) {
		const {severity, loss} = lossWithoutAof(redis);
		findings.push({code: 'redis-no-aof', severity, path: redis.dir, message: `Redis in ${facts.name} has ${loss}`, ...fixOf(aofFix(facts))});
	}

	const location = locations.find(l => l.path === redis.dir);
	if (location && (location.storage === 'container-layer' || location.storage === 'tmpfs')) {
		const where = location.storage === 'tmpfs' ? 'a tmpfs: a stop or restart' : 'the container\'s own layer: a recreate (an image update, docker compose up after a change)';
		findings.push({
			code: 'redis-data-not-persistent',
			severity: 'error',
			path: redis.dir,
			message: `Redis writes its RDB and AOF files to ${redis.dir} (dir, from ${redis.from.dir}), which is on ${where} loses them`,
			...fixOf(volumeFix(facts, redis.dir)),
		});
	}

	return findings;
}

/** The profile for a Redis container: redis-aof's one location moved to the `dir` Redis really writes to. */
export function redisProfile(detected: {profile: Profile; detectedBy: string}, redis: RedisSettings): {profile: Profile; detectedBy: string} {
	const base = findProfile('redis-aof')!;
	if (detected.profile.name !== base.name && detected.profile.name !== 'generic') {
		return detected;
	}

	const locations = base.locations.map(l => ({...l, path: redis.dir}));
	return {profile: {...base, locations}, detectedBy: 'command redis-server'};
}

/** The report with the Redis settings and their findings; redis-data-not-persistent replaces not-persistent on its dir. */
export function withRedis<R extends Pick<Report, 'findings' | 'locations'>>(report: R, facts: ContainerFacts, redis: RedisSettings): R & {redis: RedisSettings} {
	const found = redisFindings(redis, facts, report.locations);
	const replaced = new Set(found.filter(f => f.code === 'redis-data-not-persistent').map(f => f.path));
	const kept = report.findings.filter(f => !(f.code === 'not-persistent' && replaced.has(f.path)));
	return {...report, redis, findings: sortFindings([...kept, ...found])};
}
