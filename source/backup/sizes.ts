// Size estimates for progress: the engine's disk-usage API first, else a walk of the host path when the engine is local.
import {lstat, readdir} from 'node:fs/promises';
import {join} from 'node:path';
import type {Engine} from '../docker/engine.js';
import type {BackupUnit} from './types.js';

/**
 * Volume sizes from `GET /system/df`, in either shape: old engines list `Volumes[].UsageData.Size`,
 * newer ones group by type (`VolumesDiskUsage.Items[]`, or `VolumeUsage`). -1 means "not computed": left out.
 */
export function volumeSizesFromDf(df: unknown): Map<string, number> {
	const sizes = new Map<string, number>();
	const root = (df ?? {}) as Record<string, any>;
	const grouped = root.VolumesDiskUsage ?? root.VolumeUsage;
	const lists: unknown[] = [
		root.Volumes,
		Array.isArray(grouped) ? grouped : grouped?.Items ?? grouped?.Volumes,
	];
	for (const list of lists) {
		if (!Array.isArray(list)) {
			continue;
		}

		for (const v of list as Array<Record<string, any>>) {
			const size = v?.UsageData?.Size ?? v?.Size;
			if (typeof v?.Name === 'string' && typeof size === 'number' && size >= 0) {
				sizes.set(v.Name, size);
			}
		}
	}

	return sizes;
}

/** Sum of regular file sizes under a host path; stops early on abort. Unreadable entries are skipped. */
export async function walkBytes(path: string, signal?: AbortSignal): Promise<number | null> {
	let total = 0;
	const stack = [path];
	try {
		const top = await lstat(path);
		if (top.isFile()) {
			return top.size;
		}
	} catch {
		return null;
	}

	while (stack.length > 0) {
		signal?.throwIfAborted();
		const dir = stack.pop()!;
		let entries;
		try {
			entries = await readdir(dir, {withFileTypes: true});
		} catch {
			continue;
		}

		for (const entry of entries) {
			const full = join(dir, entry.name);
			if (entry.isDirectory()) {
				stack.push(full);
			} else if (entry.isFile()) {
				try {
					total += (await lstat(full)).size;
				} catch {
					// Gone since readdir: it will not be in the archive either.
				}
			}
		}
	}

	return total;
}

/** Fill each unit's estimate in place: disk usage for volumes, else a host walk (binds, or -1 sizes). */
export async function estimateSizes(engine: Engine, units: BackupUnit[], signal?: AbortSignal): Promise<void> {
	let sizes = new Map<string, number>();
	if (units.some(u => u.source.type === 'volume')) {
		try {
			sizes = volumeSizesFromDf(await engine.docker.df());
		} catch {
			// An engine that refuses df still backs up; the walk or an unknown total follows.
		}
	}

	for (const unit of units) {
		const fromDf = unit.source.name ? sizes.get(unit.source.name) : undefined;
		if (fromDf !== undefined) {
			unit.estimate = {bytes: fromDf, from: 'disk-usage'};
			continue;
		}

		if (engine.target.local && unit.source.path) {
			const bytes = await walkBytes(unit.source.path, signal);
			if (bytes !== null) {
				unit.estimate = {bytes, from: 'walk'};
			}
		}
	}
}
