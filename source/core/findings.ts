import {composeOf, coveringMount, isUnder} from './model.js';
import {comesBackOf} from './matrix.js';
import {ownerIds, writerCanWrite} from './owners.js';
import {normalisePath as normalise, OPENCODE_CLOUD_VOLUMES} from './profiles.js';
import {posix} from 'node:path';
import {advice, command, composeUp, composeVolume, composeWhere, fixOf, shellQuote} from './fix.js';
import type {ContainerFacts, Finding, FixStep, Location, MountFacts, Profile, Severity} from './types.js';

const SEVERITY_ORDER: Record<Severity, number> = {error: 0, warning: 1, info: 2};

export function sortFindings(findings: Finding[]): Finding[] {
	return [...findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
}

/** The named volume a location should live on: opencode-cloud's own name where it has one. */
function volumeName(location: Location, profile: Profile): string {
	const occ = OPENCODE_CLOUD_VOLUMES.find(v => v.path === location.path);
	// /root/.config/opencode → config-opencode: no home prefix, no leading dots.
	const parts = location.path.split('/').filter(Boolean).map(p => p.replace(/^\.+/, ''));
	const rest = parts[0] === 'root' ? parts.slice(1) : (parts[0] === 'home' ? parts.slice(2) : parts);
	const fallback = rest.join('-').replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'data';
	return profile.name === 'opencode-cloud' && occ ? occ.volume : fallback;
}

/** The mount itself: a compose edit and `up -d`, or a recreate with the container's own run line plus one -v. */
function mountSteps(location: Location, profile: Profile, facts: ContainerFacts): FixStep[] {
	const volume = volumeName(location, profile);
	return location.compose
		? [advice(`add volumes: ["${volume}:${location.path}"] ${composeWhere(facts, location.compose.service)} (and ${volume}: under top-level volumes:)`), composeUp(facts)]
		: [advice(`recreate ${facts.name} with -v ${volume}:${shellQuote(location.path)}`)];
}

/**
 * The way onto a named volume without losing what is there now: a recreate alone would start on an empty volume.
 * An anonymous volume is copied volume to volume. Data on the layer or a tmpfs fills the named volume before the
 * recreate, streamed container to container (`docker cp … - | docker cp -a - …`: owners and modes kept, the volume's
 * own directory included, nothing through the host, so it works on a remote engine), through a container that is
 * never started; the app then starts on its data, and nothing is copied under a running app.
 */
function namedVolumeFix(location: Location, profile: Profile, facts: ContainerFacts): FixStep[] {
	const volume = volumeName(location, profile);
	// Compose names the volume it makes <project>_<name>: the copy goes where the edited service will look.
	const target = location.compose ? composeVolume(facts, volume) : volume;
	if (location.storage === 'anonymous-volume' && location.mount?.name) {
		return [command(`docker run --rm --entrypoint cp -v ${location.mount.name}:/from -v ${target}:/to ${facts.image} -a /from/. /to/`, 'copy it into a named volume first'), ...mountSteps(location, profile, facts)];
	}

	return [fillVolume(facts, target, location.path, location.storage === 'tmpfs'), ...mountSteps(location, profile, facts)];
}

/**
 * The mount for a path that does not exist yet. The engine makes a new volume's directory root's when the image has
 * nothing at that path, so an app that does not run as root could not write there: the volume is made its user's first.
 */
function newVolumeSteps(location: Location, profile: Profile, facts: ContainerFacts): FixStep[] {
	const user = facts.appUser;
	if (!user || user.uid === 0 || location.writer === 'root') {
		return mountSteps(location, profile, facts);
	}

	const volume = volumeName(location, profile);
	const target = location.compose ? composeVolume(facts, volume) : volume;
	return [
		command(`docker run --rm -u 0 --network none --entrypoint chown -v ${target}:/d ${shellQuote(facts.image)} ${ownerIds(user)} /d`, 'make the volume the app user\'s first'),
		...mountSteps(location, profile, facts),
	];
}

/** Fill `volume` with what `path` holds now, through a never-started container of the same image (see namedVolumeFix). */
export function fillVolume(facts: Pick<ContainerFacts, 'name' | 'image'>, volume: string, path: string, tmpfs = false): FixStep {
	const filler = `${facts.name}-fill`;
	const parent = posix.dirname(path);
	// The archive API cannot read a tmpfs: its files come out through tar in the running container.
	const read = tmpfs
		? `docker exec ${shellQuote(facts.name)} tar -C ${shellQuote(parent)} -cf - ${shellQuote(posix.basename(path))}`
		: `docker cp ${shellQuote(facts.name)}:${shellQuote(path)} -`;
	return command(`docker create --name ${shellQuote(filler)} -v ${volume}:${shellQuote(path)} ${shellQuote(facts.image)} && ${read} | docker cp -a - ${shellQuote(filler)}:${shellQuote(parent)} && docker rm ${shellQuote(filler)}`, 'copy it into the named volume first');
}

const MOVABLE: ReadonlySet<Location['storage']> = new Set(['container-layer', 'tmpfs']);

/**
 * Where data on the layer or a tmpfs can be moved: one rule for every location. A file moves with its directory
 * (a named volume on a file path makes a directory there); a nested path moves with the outermost location above it
 * on the same storage (one volume, not one per child). Returns the directory to mount, and the location it belongs
 * to when that is another location.
 */
export function moveRoot(location: Location, locations: Location[], facts: Pick<ContainerFacts, 'mounts' | 'tmpfs'>): {path: string; parent: Location | null} {
	const dirOf = (l: Location) => (l.kind === 'dir' ? l.path : posix.dirname(l.path));
	const own = coveringMount(location.path, facts)?.destination ?? null;
	const parent = [...locations]
		.sort((a, b) => a.path.length - b.path.length)
		.find(other => other !== location && other.kind === 'dir' && other.expected === 'persistent' && MOVABLE.has(other.storage) && other.exists !== false
			&& (coveringMount(other.path, facts)?.destination ?? null) === own && isUnder(dirOf(location), other.path));
	return parent ? {path: parent.path, parent} : {path: dirOf(location), parent: null};
}

/** The fix for data on the layer or a tmpfs: its own, its directory's, or a pointer to the parent that carries it. */
function moveFix(location: Location, locations: Location[], profile: Profile, facts: ContainerFacts): FixStep[] {
	const root = moveRoot(location, locations, facts);
	if (root.parent) {
		return [advice(`move ${root.path} (the fix under it); ${location.path} goes with it, no volume of its own`)];
	}

	if (root.path !== location.path) {
		// A file: its directory gets the volume, and the copy is the directory's.
		return namedVolumeFix({...location, path: root.path, kind: 'dir'}, profile, facts);
	}

	return namedVolumeFix(location, profile, facts);
}

/**
 * Mount the file's directory instead, unless that directory is already another mount's (a volume holding the
 * database, say): binding the directory over it would hide that data, so the file moves into that mount.
 */
function singleFileFix(location: Location, facts: ContainerFacts): FixStep[] {
	const directory = location.path.replace(/\/[^/]*$/, '') || '/';
	const parent = coveringMount(directory, facts);
	if (parent && normalise(parent.destination) !== location.path && location.hostSource) {
		const inside = parent.type === 'volume' ? `volume ${parent.name}` : parent.source ?? parent.destination;
		return [
			command(`docker cp ${shellQuote(location.hostSource)} ${facts.name}:${shellQuote(location.path)}.new`, `keep the file inside ${inside} instead`),
			advice(`recreate ${facts.name} without the file bind of ${location.path}`),
			command(`docker exec ${facts.name} mv ${shellQuote(location.path)}.new ${shellQuote(location.path)}`),
		];
	}

	const hostDirectory = (location.hostSource ?? '').replace(/\/[^/]*$/, '') || '/host/dir';
	return [advice(`bind-mount the directory instead: recreate ${facts.name} with -v ${shellQuote(hostDirectory)}:${shellQuote(directory)} in place of the file bind`)];
}

/**
 * A database and its -wal/-shm back on one storage, its directory's: a file bind on the database becomes a bind of
 * its directory (singleFileFix); any other mount on the database's own path or a sidecar's goes. Such a mount
 * holds no database (a volume there is a directory), so nothing is copied.
 */
function sidecarSplitFix(location: Location, facts: ContainerFacts): FixStep[] {
	const onPath = (path: string) => {
		const mount = coveringMount(path, facts);
		return mount && normalise(mount.destination) === path ? mount : null;
	};
	const own = onPath(location.path);
	const fileBind = own?.type === 'bind' && location.hostSource ? singleFileFix(location, facts) : [];
	const drop = [location.path, `${location.path}-wal`, `${location.path}-shm`].filter(p => onPath(p) && !(p === location.path && fileBind.length > 0));
	if (drop.length === 0) {
		return fileBind;
	}

	const dropStep = location.compose
		? [advice(`remove the volumes entries of ${drop.join(', ')} ${composeWhere(facts, location.compose.service)}`), composeUp(facts)]
		: [advice(`recreate ${facts.name} without the mounts of ${drop.join(', ')}`)];
	return [...fileBind, ...dropStep];
}

/** A path that SQLite or an editor keeps as a file (so a directory there breaks it). */
export function looksLikeFile(path: string, kind?: Location['kind']): boolean {
	return kind === 'file' || kind === 'sqlite' || /-(wal|shm|journal)$|\.(db|sqlite3?|json|ya?ml|toml)$/.test(path);
}

function missingHostPath(location: Location, source: string): Finding {
	const file = looksLikeFile(location.path, location.kind);
	return {
		code: 'missing-host-path',
		severity: 'error',
		path: location.path,
		message: `the host path ${source} behind ${location.path} is missing: the engine creates it as an empty directory at the next start${file ? `, and ${location.path} then cannot be opened as a file${/-(wal|shm)$|\.db$/.test(location.path) ? ' (SQLite: "unable to open database file")' : ''}` : ''}`,
		// A command as it stands (the rest is a shell comment), so it can be pasted and run.
		...fixOf([command(`${file ? 'touch' : 'mkdir -p'} ${shellQuote(source)}  # before the next start, or restore it from a backup`)]),
	};
}

/** Bind mounts whose destination is a SQLite database or its -wal/-shm, grouped by database. */
function sqliteFileBinds(facts: ContainerFacts, locations: Location[]): Map<string, MountFacts[]> {
	const databases = new Set(locations.filter(l => l.kind === 'sqlite').map(l => l.path));
	const byDatabase = new Map<string, MountFacts[]>();
	for (const mount of facts.mounts.filter(m => m.type === 'bind' && m.source)) {
		const destination = normalise(mount.destination);
		const sidecar = /^(.*)-(wal|shm)$/.exec(destination)?.[1];
		const isDatabaseFile = databases.has(destination) && (facts.bindSourceIsFile[mount.source!] || facts.bindSourceExists[mount.source!] === false);
		const database = sidecar ?? (isDatabaseFile ? destination : null);
		if (database) {
			byDatabase.set(database, [...(byDatabase.get(database) ?? []), mount]);
		}
	}

	return byDatabase;
}

/**
 * A database or its -wal/-shm bind-mounted as single files. SQLite deletes -wal and -shm when its last connection
 * closes, on the host too; at the next start the engine recreates each missing bind source as a directory, and the
 * database cannot be opened any more. One finding per database; it replaces single-file-mount and sidecar-split there.
 */
function sqliteFileMountFindings(facts: ContainerFacts, locations: Location[]): Finding[] {
	const findings: Finding[] = [];
	for (const [database, mounts] of sqliteFileBinds(facts, locations)) {
		const directory = posix.dirname(database);
		const main = mounts.find(m => normalise(m.destination) === database) ?? mounts[0]!;
		const hostDirectory = posix.dirname(main.source!);
		const names = mounts.map(m => posix.basename(normalise(m.destination))).join(', ');
		findings.push({
			code: 'sqlite-sidecar-file-mount',
			severity: 'error',
			path: database,
			message: `${names} ${mounts.length === 1 ? 'is' : 'are'} bind-mounted as single files: SQLite deletes -wal and -shm when it closes the database, the engine then recreates them as directories at the next start, and ${posix.basename(database)} cannot be opened`,
			...fixOf([advice(`mount the directory instead of the files: -v ${shellQuote(hostDirectory)}:${shellQuote(directory)} (and drop the ${mounts.length} file bind${mounts.length === 1 ? '' : 's'})`)]),
		});
	}

	return findings;
}

/** May this user write the file itself (not create beside it)? */
function canWriteFile(user: {uid: number; groups: number[]}, owner: {uid: number; gid: number; mode: number}): boolean {
	if (user.uid === 0) {
		return true;
	}

	const bits = owner.uid === user.uid ? owner.mode >> 6 : (user.groups.includes(owner.gid) ? owner.mode >> 3 : owner.mode);
	return (bits & 0o2) !== 0;
}

/** A chown with numeric ids, run where the data is: the host for a local bind, a throwaway root container for a volume. */
function chownFix(location: Location, facts: ContainerFacts, ids: string): string {
	const mount = location.mount;
	const rest = mount && location.path !== mount.destination ? location.path.slice(mount.destination.length) : '';
	const recursive = location.kind === 'dir' ? '-R ' : '';
	if (mount?.type === 'bind' && mount.source && facts.bindSourceExists[mount.source] === true) {
		return `chown ${recursive}${ids} ${shellQuote(mount.source + rest)}`;
	}

	if (mount?.type === 'volume' || mount?.type === 'bind') {
		const source = mount.type === 'volume' ? mount.name! : mount.source!;
		return `docker run --rm -u 0 --network none --entrypoint chown -v ${shellQuote(source)}:/d ${shellQuote(facts.image)} ${recursive}${ids} ${shellQuote('/d' + rest)}`;
	}

	return `docker exec -u 0 ${shellQuote(facts.name)} chown ${recursive}${ids} ${shellQuote(location.path)}`;
}

/** Data the product must write, owned so that the user who writes it cannot (check reads owners without a side effect). */
function ownerFindings(facts: ContainerFacts, locations: Location[]): Finding[] {
	const user = facts.appUser;
	if (!user) {
		return [];
	}

	const findings: Finding[] = [];
	for (const location of locations) {
		const owner = facts.pathOwners[location.path];
		if (!owner || location.expected !== 'persistent' || location.readOnly || location.exists !== true) {
			continue;
		}

		const writable = location.kind === 'dir' ? writerCanWrite(location, user, owner) : location.writer === 'root' || canWriteFile(user, owner);
		if (writable) {
			continue;
		}

		const ids = ownerIds(user);
		const important = location.priority === 'critical' || location.priority === 'high';
		findings.push({
			code: 'owner-mismatch',
			severity: important ? 'error' : 'warning',
			path: location.path,
			message: `${location.path} is owned by uid ${owner.uid} (gid ${owner.gid}, mode ${owner.mode.toString(8).padStart(4, '0')}) but the container writes it as uid ${user.uid}: its writes fail with "permission denied"`,
			...fixOf([command(chownFix(location, facts, ids))]),
		});
	}

	return findings;
}

/** A container without a policy that brings it back stays down after a host reboot or an engine restart. */
function restartPolicyFinding(facts: ContainerFacts): Finding | null {
	if (comesBackOf(facts)['host-reboot']) {
		return null;
	}

	const policy = facts.restartPolicy && facts.restartPolicy !== 'no' ? `restart policy ${facts.restartPolicy}` : 'no restart policy';

	const compose = composeOf(facts);
	const steps = compose
		? [advice(`add \`restart: unless-stopped\` ${composeWhere(facts, compose.service)}`), composeUp(facts)]
		: (facts.autoRemove
			? [advice(`recreate ${facts.name} without --rm and with --restart unless-stopped (a --rm container cannot have a restart policy)`)]
			: [command(`docker update --restart unless-stopped ${shellQuote(facts.name)}`)]);
	return {
		code: 'no-restart-policy',
		severity: 'warning',
		path: null,
		message: `${facts.name} has ${facts.autoRemove ? '--rm and ' : ''}${policy}: after a host reboot or an engine restart it ${facts.autoRemove ? 'is removed' : 'stays stopped'} until someone starts it`,
		...fixOf(steps),
	};
}

/** Findings from the model alone. Pure: every fact comes from `facts` and `locations`. */
export function findingsFor(facts: ContainerFacts, profile: Profile, locations: Location[]): Finding[] {
	const findings: Finding[] = [];
	const important = (l: Location) => l.priority === 'critical' || l.priority === 'high';
	const sqliteFileMounts = new Set(sqliteFileMountFindings(facts, locations).flatMap(f => [f.path!, `${f.path!}-wal`, `${f.path!}-shm`]));

	for (const location of locations) {
		const wantsPersistence = location.expected === 'persistent';
		// Nothing there and nothing will be: nothing to lose. Only a path the product writes at run time is at risk.
		if (location.exists === false && !location.writesAtRuntime) {
			if (location.origin === 'user') {
				findings.push({code: 'path-absent', severity: 'info', path: location.path, message: `${location.path} (given with --path) does not exist in ${facts.name}`, ...fixOf([command(`docker diff ${shellQuote(facts.name)}`, 'check the path; this lists what the container wrote')])});
			}

			continue;
		}

		if (wantsPersistence && (location.storage === 'container-layer' || location.storage === 'tmpfs')) {
			const where = location.storage === 'tmpfs' ? 'a tmpfs (memory)' : 'the container\'s own layer';
			const absent = location.exists === false;
			if (important(location) || location.priority === 'medium') {
				findings.push({
					code: 'not-persistent',
					severity: important(location) ? 'error' : 'warning',
					path: location.path,
					message: absent
						? `${location.label} (${location.priority}) does not exist yet, and ${profile.title} writes it at run time: it will land on ${where} and be lost on ${location.storage === 'tmpfs' ? 'every restart' : 'recreate or update'}`
						: `${location.label} (${location.priority}) is on ${where}: it is lost on ${location.storage === 'tmpfs' ? 'every restart' : 'recreate or update'}`,
					// Nothing to save yet: the fix only creates the mount.
					...fixOf(absent ? newVolumeSteps({...location, path: moveRoot(location, locations, facts).path}, profile, facts) : moveFix(location, locations, profile, facts)),
				});
			}
		}

		if (location.storage === 'anonymous-volume' && wantsPersistence) {
			findings.push({
				code: 'anonymous-volume',
				severity: important(location) ? 'error' : 'warning',
				path: location.path,
				message: `${location.label} is on anonymous volume ${location.mount?.name?.slice(0, 12) ?? ''}: a recreate leaves it orphaned and the new container starts empty`,
				...fixOf(namedVolumeFix(location, profile, facts)),
			});
		}

		if (location.storage === 'bind-file' && location.mount?.destination === location.path && !sqliteFileMounts.has(location.path)) {
			findings.push({
				code: 'single-file-mount',
				severity: location.kind === 'sqlite' ? 'error' : 'warning',
				path: location.path,
				message: `${location.path} is a single bind-mounted file: a write by rename (atomic save) or a new -wal/-shm beside it never reaches the host`,
				...fixOf(singleFileFix(location, facts)),
			});
		}

		if (wantsPersistence && location.readOnly) {
			findings.push({
				code: 'read-only-data',
				severity: important(location) ? 'error' : 'warning',
				path: location.path,
				message: `${location.label} must be written but is ${location.mount ? 'mounted read-only' : 'on a read-only root filesystem'}`,
				...fixOf(location.mount ? [advice(`drop :ro from the mount of ${location.mount.destination}`)] : moveFix(location, locations, profile, facts)),
			});
		}

		if (location.mount?.type === 'bind' && location.mount.destination === location.path && location.mount.source && facts.bindSourceExists[location.mount.source] === false) {
			findings.push(missingHostPath(location, location.mount.source));
		}
	}

	findings.push(...sqliteFileMountFindings(facts, locations));

	// A database's -wal and -shm must sit on the same storage as the database, or commits are lost or torn.
	for (const location of locations.filter(l => l.kind === 'sqlite' && !sqliteFileMounts.has(l.path))) {
		const own = coveringMount(location.path, facts);
		const sidecars = ['-wal', '-shm'].map(suffix => ({suffix, mount: coveringMount(location.path + suffix, facts)}));
		const split = sidecars.filter(s => (s.mount?.destination ?? null) !== (own?.destination ?? null));
		if (split.length > 0) {
			findings.push({
				code: 'sqlite-sidecar-split',
				severity: 'error',
				path: location.path,
				message: `${location.path}${split.map(s => s.suffix).join(' and ')} would land on different storage than the database itself: its newest commits live there`,
				...fixOf(sidecarSplitFix(location, facts)),
			});
		}
	}

	if (profile.name === 'opencode-cloud') {
		const binds = locations.filter(l => l.origin === 'profile' && (l.storage === 'bind' || l.storage === 'bind-file') && l.mount?.destination === l.path);
		if (binds.length > 0) {
			findings.push({
				code: 'bind-dropped-on-occ-update',
				severity: 'warning',
				path: null,
				message: `${binds.length} path(s) rely on bind mounts (${binds.map(b => b.path).join(', ')}), which \`occ update container\` drops when it recreates the container`,
				...fixOf([advice('after `occ update container`, run `occ restart` so the CLI re-applies its mounts, or move the data to the opencode-* named volumes')]),
			});
		}
	}

	findings.push(...ownerFindings(facts, locations));

	const restart = restartPolicyFinding(facts);
	if (restart) {
		findings.push(restart);
	}

	if (facts.persistenceWarningInLogs) {
		findings.push({
			code: 'entrypoint-warning',
			severity: 'warning',
			path: null,
			message: 'the container\'s logs say "WARNING: Persistence is not configured"',
			...fixOf([command(`docker logs ${shellQuote(facts.name)} 2>&1 | grep -A5 'Persistence is not configured'`), advice('mount the paths it names')]),
		});
	}

	return sortFindings(findings);
}
