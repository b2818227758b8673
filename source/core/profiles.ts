import {createRequire} from 'node:module';
import {PRIORITIES, type ContainerFacts, type Priority, type Profile, type ProfileLocation, type LocationKind, type Expectation} from './types.js';

// Facts from ../shared/seeds: opencode-cloud's persistence guide (000), the agent server's guide (001),
// opencode 1.2's move to SQLite (002), the management API's plan (003) and opencode's JSON layout (004).

const OCC_HOME = '/home/opencoder';

/** opencode-cloud's seven volumes, their container paths, the CLI's bind sources and priorities. */
export const OPENCODE_CLOUD_VOLUMES = [
	// writesAtRuntime: opencode makes its data and state dirs on first run, the root entrypoint its users store.
	{volume: 'opencode-data', path: `${OCC_HOME}/.local/share/opencode`, cliBind: '~/.local/share/opencode', label: 'sessions & project data', priority: 'critical', writesAtRuntime: true},
	{volume: 'opencode-workspace', path: `${OCC_HOME}/workspace`, cliBind: '~/opencode', label: 'workspace (repositories)', priority: 'critical'},
	{volume: 'opencode-ssh', path: `${OCC_HOME}/.ssh`, cliBind: '~/.local/share/opencode-cloud/ssh', label: 'SSH keys', priority: 'high'},
	// Root's entrypoint writes the users store; upstream makes it root 0700 on purpose.
	{volume: 'opencode-users', path: '/var/lib/opencode-users', cliBind: undefined, label: 'user accounts', priority: 'high', writesAtRuntime: true, writer: 'root'},
	{volume: 'opencode-config', path: `${OCC_HOME}/.config/opencode`, cliBind: '~/.config/opencode-cloud/opencode', label: 'opencode config', priority: 'medium'},
	{volume: 'opencode-state', path: `${OCC_HOME}/.local/state/opencode`, cliBind: '~/.local/state/opencode', label: 'app state', priority: 'medium', writesAtRuntime: true},
	{volume: 'opencode-cache', path: `${OCC_HOME}/.cache/opencode`, cliBind: '~/.cache/opencode', label: 'cache (regenerable)', priority: 'low'},
] as const;

const opencodeCloud: Profile = {
	name: 'opencode-cloud',
	title: 'opencode-cloud sandbox (occ)',
	description: 'The occ sandbox: seven volumes (or the CLI\'s bind mounts) under /home/opencoder and /var/lib/opencode-users.',
	entrypointWarning: 'WARNING: Persistence is not configured',
	locations: [
		...OPENCODE_CLOUD_VOLUMES.map(v => ({
			path: v.path,
			label: v.label,
			priority: v.priority as Priority,
			kind: 'dir' as const,
			volume: v.volume,
			cliBind: v.cliBind,
			...('writesAtRuntime' in v ? {writesAtRuntime: true} : {}),
			...('writer' in v ? {writer: v.writer} : {}),
		})),
		{path: `${OCC_HOME}/.local/share/opencode/opencode.db`, label: 'opencode database', priority: 'critical', kind: 'sqlite'},
	],
};

const XDG_DATA = '${XDG_DATA_HOME:-${HOME}/.local/share}/opencode';
const opencode: Profile = {
	name: 'opencode',
	title: 'opencode 1.2+',
	description: 'opencode with its XDG data, config, state and cache dirs; sessions in opencode.db (WAL).',
	locations: [
		{path: XDG_DATA, label: 'opencode data', priority: 'critical', kind: 'dir'},
		{path: `${XDG_DATA}/opencode.db`, label: 'opencode database', priority: 'critical', kind: 'sqlite'},
		{path: `${XDG_DATA}/auth.json`, label: 'provider credentials', priority: 'high', kind: 'file'},
		{path: `${XDG_DATA}/mcp-auth.json`, label: 'MCP credentials', priority: 'high', kind: 'file'},
		{path: `${XDG_DATA}/storage`, label: 'legacy JSON storage (pre-1.2)', priority: 'medium', kind: 'dir'},
		{path: '${XDG_CONFIG_HOME:-${HOME}/.config}/opencode', label: 'opencode config', priority: 'medium', kind: 'dir'},
		{path: '${XDG_STATE_HOME:-${HOME}/.local/state}/opencode', label: 'opencode state', priority: 'medium', kind: 'dir'},
		{path: '${XDG_CACHE_HOME:-${HOME}/.cache}/opencode', label: 'opencode cache', priority: 'low', kind: 'dir'},
	],
};

const agentServer: Profile = {
	name: 'agent-server',
	title: 'agent server (/data + SQLite)',
	description: 'One /data volume: machine.db, credentials, uploaded agents and skills, webhooks, registry; read-only built-ins under /app.',
	locations: [
		{path: '/data', label: 'agent data', priority: 'critical', kind: 'dir', writesAtRuntime: true},
		{path: '/data/db/machine.db', label: 'machine database', priority: 'critical', kind: 'sqlite'},
		{path: '/data/credentials', label: 'API credentials', priority: 'high', kind: 'dir'},
		{path: '/data/config/agents', label: 'uploaded agents', priority: 'high', kind: 'dir'},
		{path: '/data/config/skills', label: 'uploaded skills', priority: 'high', kind: 'dir'},
		{path: '/data/config/webhooks', label: 'webhook config', priority: 'medium', kind: 'dir'},
		{path: '/data/registry', label: 'agent registry', priority: 'medium', kind: 'dir'},
		{path: '/app/agents', label: 'built-in agents', priority: 'low', kind: 'dir', expected: 'read-only'},
		{path: '/app/skills', label: 'built-in skills', priority: 'low', kind: 'dir', expected: 'read-only'},
		{path: '/app/.claude', label: 'built-in CLAUDE.md', priority: 'low', kind: 'dir', expected: 'read-only'},
	],
};

const redis: Profile = {
	name: 'redis-aof',
	title: 'Redis with AOF',
	description: 'The agent server\'s Redis: task queue and status in /data, persisted by the append-only file.',
	locations: [{path: '/data', label: 'redis AOF + RDB', priority: 'high', kind: 'dir', writesAtRuntime: true}],
};

const managementApi: Profile = {
	name: 'management-api',
	title: 'management API (SQLite)',
	description: 'A management API whose SQLite database holds sandboxes, chat sessions and messages, preferences and activity. '
		+ 'The database path comes from DATABASE_PATH or a sqlite: DATABASE_URL, else /app/data.',
	locations: [
		{path: '${DATABASE_DIR:-/app/data}', label: 'API data', priority: 'critical', kind: 'dir'},
		{path: '${DATABASE_PATH:-/app/data/management.db}', label: 'management database', priority: 'critical', kind: 'sqlite'},
	],
};

export const BUILTIN_PROFILES: Profile[] = [opencodeCloud, opencode, agentServer, redis, managementApi];

/** The fallback: no profile fits, so every mount, image VOLUME and --path is a location of unknown priority. */
export const GENERIC_PROFILE: Profile = {
	name: 'generic',
	title: 'generic container',
	description: 'No known product: every mount and image VOLUME is checked.',
	locations: [],
};

export function findProfile(name: string): Profile | undefined {
	return [...BUILTIN_PROFILES, GENERIC_PROFILE].find(p => p.name === name);
}

const OCC_NAME = /^\/?opencode-cloud-sandbox(?:-[\w.-]+)?$/;

/** Which built-in profile fits this container, and why. Labels first, then names and images, then paths. */
export function detectProfile(facts: ContainerFacts): {profile: Profile; detectedBy: string} {
	const image = facts.image.toLowerCase();
	const destinations = new Set([...facts.mounts.map(m => m.destination), ...facts.imageVolumes, ...facts.tmpfs]);
	const volumeNames = facts.mounts.map(m => m.name ?? '');
	if (facts.labels['managed-by'] === 'opencode-cloud') {
		return {profile: opencodeCloud, detectedBy: 'label managed-by=opencode-cloud'};
	}

	if (OCC_NAME.test(facts.name)) {
		return {profile: opencodeCloud, detectedBy: `container name ${facts.name}`};
	}

	if (image.includes('opencode-cloud')) {
		return {profile: opencodeCloud, detectedBy: `image ${facts.image}`};
	}

	if (volumeNames.some(n => /^opencode-(data|workspace|ssh|users)(-|$)/.test(n)) || [...destinations].some(d => d.startsWith(OCC_HOME + '/') || d === '/var/lib/opencode-users')) {
		return {profile: opencodeCloud, detectedBy: 'opencode-cloud paths in the mounts'};
	}

	const env = facts.env;
	if (image.includes('opencode') || Object.entries(env).some(([k, v]) => k.startsWith('XDG_') && v.includes('opencode')) || [...destinations].some(d => /\/\.local\/share\/opencode(\/|$)/.test(d) || /\/opencode\/?$/.test(d) && d.includes('.local/share'))) {
		return {profile: opencode, detectedBy: image.includes('opencode') ? `image ${facts.image}` : 'opencode XDG paths'};
	}

	if (image.includes('redis') || facts.labels['com.docker.compose.service'] === 'redis') {
		return {profile: redis, detectedBy: `image ${facts.image}`};
	}

	if (env.DATABASE_PATH || /^sqlite:/.test(env.DATABASE_URL ?? '') && !(env.DATABASE_URL ?? '').includes('/data/db/machine.db') || image.includes('management-api')) {
		return {profile: managementApi, detectedBy: env.DATABASE_PATH ? 'env DATABASE_PATH' : 'env DATABASE_URL'};
	}

	if (destinations.has('/data') && (image.includes('agent') || (env.DATABASE_URL ?? '').includes('machine.db') || [...destinations].some(d => d.startsWith('/app/')))) {
		return {profile: agentServer, detectedBy: 'a /data mount with /app built-ins'};
	}

	return {profile: GENERIC_PROFILE, detectedBy: 'no known product matched'};
}

/** True when the container matches a built-in profile other than the generic one (used to find candidates). */
export function matchesKnownProfile(facts: ContainerFacts): boolean {
	return detectProfile(facts).profile !== GENERIC_PROFILE;
}

/**
 * Resolve `${VAR}` and `${VAR:-default}` against the container's environment, the way a shell would.
 * HOME falls back to /root for root and /home/<user> otherwise.
 */
export function resolvePath(template: string, facts: Pick<ContainerFacts, 'env' | 'user'>): string {
	const env = {...facts.env};
	if (!env.HOME) {
		const user = facts.user.split(':')[0] ?? '';
		env.HOME = user === '' || user === 'root' || user === '0' ? '/root' : (/^\d+$/.test(user) ? '/' : `/home/${user}`);
	}

	if (env.DATABASE_URL && !env.DATABASE_PATH) {
		const m = /^sqlite(?:\+\w+)?:\/\/\/?(\/.+)$/.exec(env.DATABASE_URL);
		if (m) {
			env.DATABASE_PATH = m[1]!;
		}
	}

	if (env.DATABASE_PATH && !env.DATABASE_DIR) {
		env.DATABASE_DIR = env.DATABASE_PATH.replace(/\/[^/]*$/, '') || '/';
	}

	let out = template;
	// Innermost first, so defaults may themselves reference variables.
	for (let i = 0; i < 10 && out.includes('${'); i++) {
		out = out.replace(/\$\{(\w+)(?::-([^${}]*))?\}/g, (_m, name: string, fallback?: string) => {
			const value = env[name];
			return value !== undefined && value !== '' ? value : (fallback ?? '');
		});
	}

	return normalisePath(out);
}

export function normalisePath(p: string): string {
	const parts: string[] = [];
	for (const part of p.split('/')) {
		if (part === '' || part === '.') {
			continue;
		}

		if (part === '..') {
			parts.pop();
		} else {
			parts.push(part);
		}
	}

	return '/' + parts.join('/');
}

const KINDS = new Set(['dir', 'file', 'sqlite']);
const EXPECTATIONS = new Set(['persistent', 'read-only', 'ephemeral', 'unknown']);

/** Parse a user's profile file (JSON or YAML). Throws an Error with a one-line reason. */
/**
 * A parser's message on one line, whole: YAML's "at line 4, column 1:" is followed by the offending line and a caret
 * under it; keep the line (quoted), drop the caret.
 */
export function parseMessage(error: unknown): string {
	const [first = '', ...rest] = String((error as Error)?.message ?? error).split('\n');
	const quoted = rest.map(line => line.trimEnd()).filter(line => line.trim() && !/^\s*\^+\s*$/.test(line));
	return quoted.length > 0 ? `${first.trim()} ${quoted.map(line => JSON.stringify(line.trim())).join(' ')}` : first.trim();
}

export function parseProfile(text: string, source: string): Profile {
	let raw: unknown;
	try {
		raw = source.endsWith('.json') ? JSON.parse(text) : (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
	} catch (error) {
		throw new Error(`profile ${source} is not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${parseMessage(error)}`);
	}

	const object = raw as Partial<Profile> | null;
	if (!object || typeof object !== 'object' || !Array.isArray(object.locations)) {
		throw new Error(`profile ${source} needs a "locations" list`);
	}

	const locations: ProfileLocation[] = object.locations.map((l, i) => {
		const loc = l as Partial<ProfileLocation>;
		if (typeof loc.path !== 'string' || !loc.path.startsWith('/') && !loc.path.startsWith('${')) {
			throw new Error(`profile ${source}: locations[${i}].path must be an absolute container path`);
		}

		const priority = loc.priority ?? 'medium';
		const kind = loc.kind ?? 'dir';
		if (!(PRIORITIES as readonly string[]).includes(priority)) {
			throw new Error(`profile ${source}: locations[${i}].priority must be one of ${PRIORITIES.join(', ')}`);
		}

		if (!KINDS.has(kind)) {
			throw new Error(`profile ${source}: locations[${i}].kind must be dir, file or sqlite`);
		}

		if (loc.expected !== undefined && !EXPECTATIONS.has(loc.expected)) {
			throw new Error(`profile ${source}: locations[${i}].expected must be persistent, read-only, ephemeral or unknown`);
		}

		if (loc.writer !== undefined && loc.writer !== 'root' && loc.writer !== 'app') {
			throw new Error(`profile ${source}: locations[${i}].writer must be root or app`);
		}

		return {path: loc.path, label: loc.label ?? loc.path, priority: priority as Priority, kind: kind as LocationKind, expected: loc.expected as Expectation | undefined, ...(loc.writesAtRuntime === true ? {writesAtRuntime: true} : {}), ...(loc.writer ? {writer: loc.writer} : {})};
	});
	return {
		name: typeof object.name === 'string' ? object.name : source.replace(/^.*\//, '').replace(/\.(json|ya?ml)$/, ''),
		title: typeof object.title === 'string' ? object.title : `custom profile ${source}`,
		description: typeof object.description === 'string' ? object.description : '',
		locations,
	};
}
