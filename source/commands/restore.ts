import {connect} from '../docker/engine.js';
import {DoctorError, errorJson, errorLine} from '../errors.js';
import {cleanupRestores, planRestore, restoreReporter, restoreSummary, runRestore, type RestoreOptions, type RestorePlan, type RestoreResult} from '../restore/index.js';
import {formatBytes} from '../report/text.js';
import {findBackups} from '../restore/find.js';
import {listFlag} from './backup.js';
import type {Command, CommandContext} from './context.js';
import {askAtTerminal} from './prompt.js';
import {progressOutput, type StatusStream} from '../report/status.js';

/** Confirm a restore in place: --yes, or the container's name typed at the prompt. */
async function confirm(ctx: CommandContext, plan: RestorePlan): Promise<void> {
	if (ctx.flags.yes) {
		return;
	}

	if (!ctx.interactive) {
		throw new DoctorError(`restore replaces the data of ${plan.container.name}: pass --yes to confirm, or --dry-run to preview`);
	}

	const answer = await askAtTerminal(`This stops ${plan.container.name} and replaces ${plan.items.length} target(s) (a safety copy is made first). Type the container's name to go on: `, {input: process.stdin, output: ctx.stderr}, ctx.signal, 'nothing was changed');
	if (answer.trim() !== plan.container.name) {
		throw new DoctorError('restore cancelled: nothing was changed', 'declined');
	}
}

function exitCodeOf(result: RestoreResult): number {
	return result.outcome === 'rolled-back' || result.outcome === 'damaged' ? 1 : 0;
}

async function cleanupCommand(ctx: CommandContext): Promise<number> {
	const engine = await connect({host: ctx.flags.host, context: ctx.flags.context as string | undefined});
	const {done, problems} = await cleanupRestores(engine);
	if (ctx.mode === 'json') {
		ctx.stdout.write(JSON.stringify({done, problems}, null, 2) + '\n');
	} else {
		ctx.stdout.write([...done.map(d => `✓ ${d}`), ...problems.map(p => `✗ ${p}`), done.length + problems.length === 0 ? 'nothing to finish: no interrupted restore on this engine' : ''].filter(Boolean).join('\n') + '\n');
	}

	return problems.length === 0 ? 0 : 1;
}

/** `backup --rehearse`: the same rehearsal on the backup just written. Returns its exit code. */
export async function rehearseBackup(ctx: CommandContext, dir: string, container: string): Promise<{code: number; result: RestoreResult}> {
	const options: RestoreOptions = {host: ctx.flags.host, context: ctx.flags.context as string | undefined, dir, container, rehearse: true, signal: ctx.signal};
	const engine = await connect({host: options.host, context: options.context});
	const out = progressOutput(ctx.stderr as StatusStream);
	const report = restoreReporter(out);
	const result = await planRestore(options, engine, report).then(plan => runRestore(plan, options, report)).finally(() => out.end());
	return {code: exitCodeOf(result), result};
}

/** `occ-doctor restore DIR`: preview, rehearse, or restore in place with a safety copy and rollback. */
export const restoreCommand: Command = async ctx => {
	if (ctx.flags.cleanup) {
		return cleanupCommand(ctx);
	}

	const dir = ctx.args?.[0];
	if (!dir && ctx.mode === 'tui') {
		// In a terminal without DIR: the Restore screen lists the backups and walks through the restore.
		const {openTui} = await import('./tui.js');
		return openTui(ctx, {screen: 'restore'}, {backupDirs: typeof ctx.flags.out === 'string' ? [ctx.flags.out] : []});
	}

	if (!dir) {
		// Without DIR: list what there is to restore (newest first), then say how to pick one.
		const found = await findBackups(['.', ...(typeof ctx.flags.out === 'string' ? [ctx.flags.out] : [])]);
		if (ctx.mode !== 'json') {
			for (const b of found) {
				ctx.stdout.write(`${b.dir}  ${b.createdAt}  ${b.container}  ${b.archives} archive${b.archives === 1 ? '' : 's'}  ${formatBytes(b.compressedBytes)}  ${b.verified ? 'verified' : 'not verified'}  (manifest v${b.version})\n`);
			}
		}

		throw new DoctorError(found.length > 0 ? 'restore needs the backup to restore: occ-doctor restore DIR with one of the directories above (newest first)' : 'restore needs the backup to restore: occ-doctor restore DIR (none here; --out DIR also looks in DIR)', 'usage', {code: 'missing-backup', details: {backups: found}});
	}

	const options: RestoreOptions = {
		host: ctx.flags.host,
		context: ctx.flags.context as string | undefined,
		dir,
		container: ctx.flags.container,
		only: listFlag(ctx.flags.only),
		to: listFlag(ctx.flags.to),
		dryRun: Boolean(ctx.flags.dryRun),
		rehearse: Boolean(ctx.flags.rehearse),
		force: Boolean(ctx.flags.force),
		signal: ctx.signal,
	};
	const engine = await connect({host: options.host, context: options.context});
	const out = progressOutput(ctx.stderr as StatusStream);
	const report = restoreReporter(out);
	const plan = await planRestore(options, engine, report).finally(() => out.end());
	if (!options.dryRun && !options.rehearse) {
		await confirm(ctx, plan);
	}

	let result: RestoreResult;
	try {
		result = await runRestore(plan, options, report).finally(() => out.end());
	} catch (error) {
		// Ctrl+C, then a rollback that failed: the old data is not back, so this must not read as an interrupt (130).
		if (error instanceof DoctorError && error.code === 'rollback-failed') {
			if (ctx.mode === 'json') {
				ctx.stdout.write(errorJson(error));
			}

			ctx.stderr.write(errorLine(error) + '\n');
			return error.exitCode;
		}

		throw error;
	}

	ctx.stdout.write((ctx.mode === 'json' ? JSON.stringify(result, null, 2) : restoreSummary(result)) + '\n');
	if (result.error) {
		ctx.stderr.write(`occ-doctor: ${result.error}\n`);
	}

	return exitCodeOf(result);
};
