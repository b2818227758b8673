// The backups a restore can start from: the current directory's `occ-doctor-backup-*` (and safety copies,
// `occ-doctor-pre-restore-*`), and those in the directories given with --out. Reads only.
import {readdir} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {readManifest} from '../backup/verify.js';

export interface FoundBackup {
	dir: string;
	createdAt: string;
	container: string;
	archives: number;
	compressedBytes: number;
	verified: boolean;
	version: number;
}

export async function findBackups(parents: string[]): Promise<FoundBackup[]> {
	const found: FoundBackup[] = [];
	for (const parent of [...new Set(parents.map(p => resolve(p)))]) {
		const names = await readdir(parent).catch(() => [] as string[]);
		for (const name of names.filter(n => /^occ-doctor-(backup|pre-restore)-/.test(n)).sort()) {
			const dir = join(parent, name);
			const manifest = await readManifest(dir).catch(() => null);
			if (manifest) {
				found.push({dir, createdAt: manifest.createdAt, container: manifest.container.name, archives: manifest.archives.length, compressedBytes: manifest.archives.reduce((n, a) => n + a.compressedBytes, 0), verified: manifest.verified, version: manifest.version});
			}
		}
	}

	return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
