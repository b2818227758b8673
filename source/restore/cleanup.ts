// `restore --cleanup`: finish what a restore that died (engine gone, occ-doctor killed) left, from its journal:
// every touched target put back from the safety copy, the container started again if the restore stopped it,
// helpers and scratch volumes removed.
import {rmSync} from 'node:fs';
import type {Engine} from '../docker/engine.js';
import {defaultStateDir} from '../docker/journal.js';
import {DEFAULT_READY_TIMEOUT_MS, startContainer, waitReady} from '../docker/lifecycle.js';
import {describeTarget, removeHelper, ROLE_LABEL, RUN_LABEL} from './engine-side.js';
import {refuseContainerAtRisk} from '../docker/bind-guard.js';
import {ownerAlive, readRestoreJournals, removeRestoreJournal, type RestoreJournal} from './journal.js';
import {putBack} from './restore.js';

export interface RestoreCleanup {
	/** One line per thing done. */
	done: string[];
	/** One line per thing that could not be done (exit 1). */
	problems: string[];
}

async function removeLeftovers(engine: Engine, runId: string): Promise<void> {
	const containers = await engine.docker.listContainers({all: true, filters: {label: [`${RUN_LABEL}=${runId}`]}});
	await Promise.all(containers.filter(c => c.Labels?.[ROLE_LABEL] === 'restore-helper').map(async c => removeHelper(engine.docker.getContainer(c.Id))));
	const {Volumes: volumes} = await engine.docker.listVolumes({filters: {label: [`${RUN_LABEL}=${runId}`]}});
	await Promise.all((volumes ?? []).filter(v => v.Labels?.[ROLE_LABEL] === 'rehearse').map(async v => engine.docker.getVolume(v.Name).remove({force: true}).catch(() => {})));
}

/**
 * Refused before anything is done while a container this run would start again has a `-v` bind source missing or
 * unseen: the start would make the engine create it as a directory (the rule of backup, probe and restore).
 */
async function refuseStartsAtRisk(engine: Engine, journals: RestoreJournal[]): Promise<void> {
	for (const journal of journals.filter(j => j.stopped || j.before.running)) {
		const info = await engine.docker.getContainer(journal.container.id).inspect().catch(() => null);
		if (info && !info.State?.Running) {
			await refuseContainerAtRisk(engine, info, {verb: 'restore --cleanup', command: () => 'restore --cleanup'});
		}
	}
}

export async function cleanupRestores(engine: Engine, stateDir = defaultStateDir()): Promise<RestoreCleanup> {
	const out: RestoreCleanup = {done: [], problems: []};
	const journals = readRestoreJournals(stateDir).filter(j => j.engine === engine.target.label && !ownerAlive(j));
	await refuseStartsAtRisk(engine, journals);
	for (const journal of journals) {

		try {
			await removeLeftovers(engine, journal.runId);
			for (const t of journal.targets.filter(t => !t.touched && t.host)) {
				// Staged beside an untouched target: only the staging directory to remove.
				rmSync(t.host!.staged, {recursive: true, force: true});
			}

			for (const t of journal.targets.filter(t => t.touched).reverse()) {
				await putBack(engine, journal.image, journal.runId, t);
				out.done.push(`rolled back ${describeTarget(t.target)} from ${t.safetyFile ?? 'its empty state'}`);
			}

			const info = await engine.docker.getContainer(journal.container.id).inspect().catch(() => null);
			if (info && (journal.stopped || journal.before.running) && !info.State?.Running) {
				await startContainer(engine, journal.container.id, journal.container.name);
				await waitReady(engine, journal.container.id, journal.container.name, DEFAULT_READY_TIMEOUT_MS);
				out.done.push(`started ${journal.container.name} again`);
			}

			await removeLeftovers(engine, journal.runId);
			removeRestoreJournal(stateDir, journal.runId);
		} catch (error) {
			out.problems.push(`restore ${journal.runId} of ${journal.container.name}: ${(error as Error).message.split('\n')[0]}`);
		}
	}

	return out;
}
