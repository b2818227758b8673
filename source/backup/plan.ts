// Which archives a backup writes: one per volume or bind mount of the container, named for file systems. Pure.
import {isUnder} from '../core/model.js';
import {normalisePath} from '../core/profiles.js';
import {PRIORITIES, type ContainerFacts, type Location, type Priority} from '../core/types.js';
import type {BackupUnit} from './types.js';

const PRIORITY_RANK = (p: Priority) => PRIORITIES.indexOf(p);

/** A file-name-safe name: letters, digits, dot, dash and underscore; never empty, never hidden. */
export function sanitise(name: string): string {
	const clean = name.replace(/[^\w.-]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-.]+|-+$/g, '');
	return clean.slice(0, 100) || 'data';
}

/** The archive's base name: the volume's name (as the seeds' recipe names it), else the container path. */
function baseName(mount: {type: string; name: string | null; destination: string}, anonymous: boolean): string {
	if (mount.type === 'volume' && mount.name && !anonymous) {
		return sanitise(mount.name);
	}

	return sanitise(`${anonymous ? 'anon' : 'bind'}-${mount.destination}`);
}

/** One unit per volume or bind mount, labelled and prioritised by the locations it covers. */
export function planUnits(facts: ContainerFacts, locations: Location[]): BackupUnit[] {
	const mounts = facts.mounts.filter(m => m.type === 'volume' || m.type === 'bind');
	const used = new Set<string>();
	const units: BackupUnit[] = [];
	for (const mount of mounts) {
		const destination = normalisePath(mount.destination);
		const covered = locations.filter(l => l.mount && normalisePath(l.mount.destination) === destination);
		const own = covered.find(l => l.path === destination);
		const anonymous = covered.some(l => l.storage === 'anonymous-volume');
		const priority = covered.map(l => l.priority).sort((a, b) => PRIORITY_RANK(a) - PRIORITY_RANK(b))[0] ?? 'medium';
		let name = baseName(mount, anonymous);
		for (let i = 2; used.has(name.toLowerCase()); i++) {
			name = `${baseName(mount, anonymous)}-${i}`;
		}

		used.add(name.toLowerCase());
		const isFile = mount.type === 'bind' && mount.source !== null && facts.bindSourceIsFile[mount.source] === true;
		const nested = [...mounts.map(m => normalisePath(m.destination)), ...facts.tmpfs.map(t => normalisePath(t))]
			.filter(d => d !== destination && isUnder(d, destination));
		units.push({
			name,
			label: own?.label ?? covered[0]?.label ?? destination,
			containerPath: destination,
			storage: own?.storage ?? covered[0]?.storage ?? (mount.type === 'bind' ? 'bind' : 'named-volume'),
			priority,
			source: mount.type === 'volume' ? {type: 'volume', name: mount.name, path: mount.source} : {type: 'bind', name: null, path: mount.source},
			isFile,
			excluded: [...new Set(nested)].sort(),
			estimate: {bytes: null, from: 'none'},
		});
	}

	return units.sort((a, b) => PRIORITY_RANK(a.priority) - PRIORITY_RANK(b.priority) || a.containerPath.localeCompare(b.containerPath));
}

/** Apply --only (name, label, container path or volume name) and --priority. */
export function selectUnits(units: BackupUnit[], only?: string[], priorities?: Priority[]): BackupUnit[] {
	const wanted = (only ?? []).map(o => o.trim()).filter(Boolean);
	return units.filter(u => {
		if (priorities?.length && !priorities.includes(u.priority)) {
			return false;
		}

		if (wanted.length === 0) {
			return true;
		}

		return wanted.some(w => [u.name, u.label, u.containerPath, u.source.name ?? ''].some(v => v.toLowerCase() === w.toLowerCase()));
	});
}

/** ./occ-doctor-backup-<container>-<UTC yyyymmddThhmmssZ>. */
export function defaultBackupDir(containerName: string, now = new Date()): string {
	const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
	return `occ-doctor-backup-${sanitise(containerName)}-${stamp}`;
}
