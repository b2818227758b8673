/** @jsxRuntime automatic */
// Every screen at 80×24 and 120×40 with the longest real values (64-hex volume names, deep paths, long fixes):
// no line wider than the terminal, no frame taller, and every fix command found whole on screen.
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import {cleanup} from 'ink-testing-library';
import type {Finding, Report} from '../../source/core/types.js';
import {topFix} from '../../source/report/summary.js';
import {SCREENS} from '../../source/ui/screens/index.js';
import type {DoctorServices} from '../../source/ui/services.js';
import {fakeBackup, fakeProbe, fakeRestore, LONG_CONTAINER, RESTORE_ARCHIVES, RESTORE_DIR, SAFETY_DIR} from './fakes.js';
import {fakeServices, KEY, press, recordedInspection, renderApp, waitForText} from './helpers.js';

after(() => cleanup());

const DEEP = `/home/opencoder/workspace/${'nested-project-directory/'.repeat(6)}checkout`;

/** A location deeper than any screen is wide, with its own finding and a fix that names it. */
function addDeepLocation(report: Report): void {
	const workspace = report.locations.find(l => l.path === '/home/opencoder/workspace')!;
	report.locations.push({...workspace, path: DEEP, label: 'deep checkout'});
	const finding = report.findings.find(f => f.path === workspace.path)!;
	const deep = (s: string) => s.replaceAll(workspace.path, DEEP);
	const steps = finding.steps.map(s => ('command' in s ? {...s, command: deep(s.command)} : {advice: deep(s.advice)}));
	report.findings.push({...finding, path: DEEP, message: deep(finding.message), fix: deep(finding.fix), steps});
}

function services(): DoctorServices {
	const probe = fakeProbe({withDatabases: true, mutate: addDeepLocation});
	const backup = fakeBackup();
	return {...probe.services, backupChoices: backup.services.backupChoices, backup: backup.services.backup};
}

const FIXTURES: Array<[string, () => DoctorServices, Report]> = [
	['occ-anon-workspace with a deep path, databases, probe and backup', services, recordedInspection(addDeepLocation).report],
	...(['compose-external', 'rm-readonly-rootfs'] as const).map(name => {
		const inspection = recordedInspection(undefined, name);
		return [name, () => fakeServices({inspection}), inspection.report] as [string, () => DoctorServices, Report];
	}),
];

const strip = (text: string) => text.replace(/\u001B\[[0-9;]*m/g, '');
/** The frame's text with all blanks gone: a command wrapped over lines (never cut) is found in it whole. */
const squeezed = (frame: string) => strip(frame).replace(/\s+/g, '');
/** Every step of a fix (shown one a line, marked `$ ` or `by hand: `) is whole in the frame. */
const fixWhole = (frame: string, f: Pick<Finding, 'steps'>) => f.steps.every(step => squeezed(frame).includes(('command' in step ? `$${step.command}` : `byhand:${step.advice}`).replace(/\s+/g, '')));

function assertFits(frame: string, columns: number, rows: number, where: string): void {
	const lines = strip(frame).split('\n');
	const wide = lines.find(l => [...l].length > columns);
	assert.ok(wide === undefined, `${where}: a line wider than ${columns}:\n${wide}`);
	assert.ok(lines.length <= rows - 1, `${where}: ${lines.length} lines at ${rows} rows`);
}

for (const [columns, rows] of [[80, 24], [120, 40]] as const) {
	describe(`${columns}×${rows}`, () => {
		for (const [name, make, report] of FIXTURES) {
			it(`${name}: every screen fits, the top fix and every finding's fix are whole`, async () => {
				const app = renderApp({services: make()}, {columns, rows});
				let frame = await waitForText(app.lastFrame, 'Fix this first');
				assertFits(frame, columns, rows, 'overview');
				assert.ok(fixWhole(frame, topFix(report)!), `the top fix is whole on the Overview:\n${frame}`);
				for (const screen of SCREENS) {
					await press(app, String(screen.number));
					assertFits(app.lastFrame()!, columns, rows, screen.title);
				}

				// The Findings screen shows the finding under the cursor whole, with its fix.
				await press(app, '4');
				const order = ['error', 'warning', 'info'].flatMap(s => report.findings.filter(f => f.severity === s));
				for (const [i, finding] of order.entries()) {
					frame = app.lastFrame()!;
					assert.ok(fixWhole(frame, finding), `finding ${i} (${finding.code}) has its fix whole:\n${frame}`);
					assertFits(frame, columns, rows, `finding ${i}`);
					await press(app, 'j');
				}

				app.unmount();
			});
		}

		it('the details show a deep path whole, and the help fits', async () => {
			const app = renderApp({services: services()}, {columns, rows});
			await waitForText(app.lastFrame, 'Fix this first');
			await press(app, '2', 'G', KEY.enter);
			const frame = await waitForText(app.lastFrame, 'Findings (1)');
			assert.ok(squeezed(frame).includes(DEEP), `the details hold the whole path:\n${frame}`);
			assertFits(frame, columns, rows, 'details');
			await press(app, KEY.escape, '?');
			assertFits(await waitForText(app.lastFrame, 'esc/? close'), columns, rows, 'help');
			await press(app, 'G');
			assertFits(app.lastFrame()!, columns, rows, 'help, end');
			app.unmount();
		});

		it('the probe and backup screens fit in every phase', async () => {
			const app = renderApp({services: services(), launch: {screen: 'probe'}}, {columns, rows});
			assertFits(await waitForText(app.lastFrame, 'prepare the probe'), columns, rows, 'probe idle');
			await press(app, KEY.enter);
			assertFits(await waitForText(app.lastFrame, 'This RESTARTS'), columns, rows, 'probe plan');
			await press(app, 'y');
			assertFits(await waitForText(app.lastFrame, 'probe done'), columns, rows, 'probe done');
			await press(app, '7');
			assertFits(await waitForText(app.lastFrame, 'locations selected'), columns, rows, 'backup choices');
			await press(app, KEY.enter);
			assertFits(await waitForText(app.lastFrame, 'Back up 2 locations'), columns, rows, 'backup confirm');
			await press(app, 'y');
			const done = await waitForText(app.lastFrame, 'backup verified');
			assertFits(done, columns, rows, 'backup done');
			assert.ok(squeezed(done).includes('occ-doctorbackup--verify'), `the verify command is whole:\n${done}`);
			app.unmount();
		});

		it('the restore screen fits in every step, with long names: backups, archives, a refusal, preview, a wrong name, progress, done, rollback, rolled back', async () => {
			const refusal = `${RESTORE_ARCHIVES[1]!.name}.tar.gz is the single file /home/opencoder/.local/share/opencode/opencode.db, bind-mounted from /srv/opencode/${'deep/'.repeat(6)}opencode.db, which restore cannot replace in place through the engine: nothing was changed; restore the others with --only ${RESTORE_ARCHIVES[0]!.name}`;
			const notice = `the room for volume ${'f'.repeat(64)} (not there yet) could not be measured: ${RESTORE_ARCHIVES[0]!.name}.tar.gz needs 190.7 MiB`;
			const restore = fakeRestore({hold: true, refuseAll: refusal, notice});
			const app = renderApp({services: restore.services, launch: {screen: 'restore'}}, {columns, rows});
			let frame = await waitForText(app.lastFrame, 'newest first');
			assertFits(frame, columns, rows, 'restore: backups');
			assert.ok(squeezed(frame).includes(RESTORE_DIR), `the backup's directory is whole:\n${frame}`);
			await press(app, KEY.enter);
			assertFits(await waitForText(app.lastFrame, '2 of 2 archives selected'), columns, rows, 'restore: archives');
			await press(app, KEY.enter);
			frame = await waitForText(app.lastFrame, 'nothing was changed');
			assertFits(frame, columns, rows, 'restore: refused');
			assert.ok(squeezed(frame).includes(refusal.replace(/\s+/g, '')), `the refusal is whole:\n${frame}`);
			await press(app, KEY.escape);
			await waitForText(app.lastFrame, '2 of 2 archives selected');
			await press(app, 'j', ' ', KEY.enter);
			frame = await waitForText(app.lastFrame, 'Type the container\'s name');
			assertFits(frame, columns, rows, 'restore: preview');
			assert.ok(squeezed(frame).includes(notice.replace(/\s+/g, '')), `what the plan noticed is said whole:\n${frame}`);
			await press(app, ...'opencode'.split(''), KEY.enter);
			assertFits(await waitForText(app.lastFrame, 'is not'), columns, rows, 'restore: a wrong name');
			await press(app, ...LONG_CONTAINER.split(''), KEY.enter);
			frame = await waitForText(app.lastFrame, 'ctrl+c cancels');
			assertFits(frame, columns, rows, 'restore: running');
			assert.ok(squeezed(frame).includes(notice.replace(/\s+/g, '')), `what the run noticed is said whole:\n${frame}`);
			restore.release();
			frame = await waitForText(app.lastFrame, 'restored and verified');
			assertFits(frame, columns, rows, 'restore: done');
			assert.ok(squeezed(frame).includes(`occ-doctorrestore${SAFETY_DIR}--container${LONG_CONTAINER}--yes`), `the rollback command is whole:\n${frame}`);
			await press(app, 'u');
			assertFits(await waitForText(app.lastFrame, 'rolled back: the data from before the restore is back'), columns, rows, 'restore: rolled back by u');
			app.unmount();

			// A restore whose verification failed comes back rolled back, with its reason.
			const failed = fakeRestore({rollBack: `${RESTORE_ARCHIVES[0]!.name}.tar.gz does not verify in volume ${'e'.repeat(64)}: ./opencode.db: sha256 differs: the restore was rolled back, the old data is back`});
			const again = renderApp({services: failed.services, launch: {screen: 'restore'}}, {columns, rows});
			await waitForText(again.lastFrame, 'newest first');
			await press(again, KEY.enter);
			await waitForText(again.lastFrame, '2 of 2 archives selected');
			await press(again, KEY.enter);
			await waitForText(again.lastFrame, 'Type the container\'s name');
			await press(again, ...LONG_CONTAINER.split(''), KEY.enter);
			frame = await waitForText(again.lastFrame, 'sha256 differs');
			assertFits(frame, columns, rows, 'restore: rolled back after a failed verification');
			again.unmount();
		});
	});
}
