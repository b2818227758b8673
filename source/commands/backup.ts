import {PRIORITIES, type Priority} from '../core/types.js';
import {DoctorError, exitCode} from '../errors.js';
import {phaseTimer, plainReporter, readerFromEnv, runBackup, verifyBackup, verifyLine} from '../backup/index.js';
import {progressOutput, type StatusStream} from '../report/status.js';
import {formatBytes, plural} from '../report/text.js';
import type {Command, CommandContext} from './context.js';
import {askAtTerminal} from './prompt.js';


/** --only a,b --only c → [a, b, c]. */
export function listFlag(value: unknown): string[] {
	const raw = Array.isArray(value) ? value : (typeof value === 'string' ? [value] : []);
	return raw.flatMap(v => String(v).split(',')).map(v => v.trim()).filter(Boolean);
}

export function parsePriorities(value: unknown): Priority[] {
	const list = listFlag(value);
	for (const p of list) {
		if (!(PRIORITIES as readonly string[]).includes(p)) {
			throw new DoctorError(`unknown priority "${p}": use ${PRIORITIES.join(', ')}`);
		}
	}

	return list as Priority[];
}

async function confirmStop(ctx: CommandContext, container: string): Promise<void> {
	if (ctx.flags.yes) {
		return;
	}

	if (!ctx.interactive) {
		throw new DoctorError(`--stop stops ${container} during the backup: pass --yes to confirm`);
	}

	const answer = await askAtTerminal(`Stop ${container} during the backup and start it again afterwards? [y/N] `, {input: process.stdin, output: ctx.stderr}, ctx.signal, 'the container was not stopped');
	if (!/^y(es)?$/i.test(answer.trim())) {
		throw new DoctorError('backup cancelled: the container was not stopped', 'declined');
	}
}

async function verifyCommand(ctx: CommandContext, dir: string): Promise<number> {
	const {manifest, results} = await verifyBackup(dir, result => {
		if (ctx.mode !== 'json') {
			ctx.stdout.write(verifyLine(result) + '\n');
		}
	}, ctx.signal);
	const failed = results.filter(r => !r.ok);
	if (ctx.mode === 'json') {
		ctx.stdout.write(JSON.stringify({dir, verified: failed.length === 0, container: manifest.container, results}, null, 2) + '\n');
	} else {
		ctx.stdout.write(failed.length === 0 ? `✓ ${results.length} archives verified in ${dir}\n` : `✗ ${failed.length} of ${results.length} archives failed in ${dir}\n`);
	}

	return exitCode(failed.length === 0 ? 'ok' : 'failed');
}

/** `occ-doctor backup`: one verified .tar.gz per volume or bind mount, and a manifest; progress on stderr. */
export const backupCommand: Command = async ctx => {
	if (typeof ctx.flags.verify === 'string') {
		return verifyCommand(ctx, ctx.flags.verify);
	}

	const stop = Boolean(ctx.flags.stop);
	// In a terminal: the TUI's Backup screen (choose, confirm, a bar per location). Ink loads only here.
	if (ctx.mode === 'tui') {
		const {openTui} = await import('./tui.js');
		const out = typeof ctx.flags.out === 'string' ? ctx.flags.out : undefined;
		return openTui(ctx, {screen: 'backup', backup: {only: listFlag(ctx.flags.only), priority: parsePriorities(ctx.flags.priority), stop, ...(out ? {out} : {})}});
	}

	if (stop) {
		await confirmStop(ctx, ctx.flags.container ?? 'the container');
	}

	const out = progressOutput(ctx.stderr as StatusStream);
	const report = plainReporter(out);
	const timer = phaseTimer();
	const {dir, manifest} = await runBackup({
		host: ctx.flags.host,
		context: ctx.flags.context,
		container: ctx.flags.container,
		profile: ctx.flags.profile,
		only: listFlag(ctx.flags.only),
		priority: parsePriorities(ctx.flags.priority),
		out: typeof ctx.flags.out === 'string' ? ctx.flags.out : undefined,
		stop,
		reader: readerFromEnv(process.env),
		signal: ctx.signal,
	}, event => {
		timer.see(event);
		report(event);
	}).finally(() => out.end());
	const timings = timer.result();

	// --rehearse: restore what was just written into scratch volumes, verify every file, open every database.
	const rehearsal = ctx.flags.rehearse ? await (await import('./restore.js')).rehearseBackup(ctx, dir, manifest.container.id) : null;
	if (ctx.mode === 'json') {
		ctx.stdout.write(JSON.stringify({dir, ...manifest, timings, ...(rehearsal ? {rehearsal: rehearsal.result} : {})}, null, 2) + '\n');
		return rehearsal?.code ?? exitCode('ok');
	}

	const lines = [`Backup of ${manifest.container.name} in ${dir}${manifest.verified ? ' (verified)' : ''}`];
	for (const a of manifest.archives) {
		lines.push(`  ✓ ${a.file}  ${formatBytes(a.compressedBytes)}  ${plural(a.fileCount, 'file')}, ${formatBytes(a.bytes)}  ${a.containerPath}`, `      sha256 ${a.sha256}`);
		for (const db of a.databases) {
			const rows = db.tables ? Object.entries(db.tables).map(([t, n]) => `${t} ${n}`).join(', ') : 'not counted';
			lines.push(`      db ${db.path}: ${rows}${db.error ? `  (${db.error})` : ''}`);
		}
	}

	if (rehearsal) {
		const {restoreSummary} = await import('../restore/index.js');
		lines.push(restoreSummary(rehearsal.result));
		if (rehearsal.result.error) {
			ctx.stderr.write(`occ-doctor: ${rehearsal.result.error}\n`);
		}
	}

	lines.push(`Restore: occ-doctor restore ${dir} --dry-run   ·   prove it restores: occ-doctor restore ${dir} --rehearse`);
	ctx.stdout.write(lines.join('\n') + '\n');
	return rehearsal?.code ?? exitCode('ok');
};
