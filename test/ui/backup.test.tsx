/** @jsxRuntime automatic */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import chalk from 'chalk';
import {cleanup} from 'ink-testing-library';
import {exitCodeFor} from '../../source/core/analyze.js';
import {runTui} from '../../source/ui/run.js';
import type {BackupEvent} from '../../source/backup/types.js';
import {DoctorError} from '../../source/docker/engine.js';
import type {BackupRunOptions} from '../../source/ui/services.js';
import {fakeBackup, UNITS} from './fakes.js';
import {FakeStdin, FakeStdout, KEY, press, renderApp, waitFor, waitForText} from './helpers.js';

after(() => cleanup());

const lines = (frame: string) => frame.split('\n');
const strip = (frame: string) => frame.replace(/\u001B\[[0-9;]*m/g, '');
const widest = (frame: string) => Math.max(...lines(frame).map(l => [...strip(l)].length));
const DIR = '/backups/occ-doctor-backup-opencode-cloud-sandbox-20260101T000000Z';

describe('backup screen', () => {
	it('lists the locations with priorities and size estimates, critical and high preselected; space and a toggle', async () => {
		const backup = fakeBackup();
		const app = renderApp({services: backup.services, launch: {screen: 'backup'}}, {columns: 100, rows: 30});
		let frame = await waitForText(app.lastFrame, 'locations selected');
		assert.match(frame, /sizes from the engine's disk usage/, 'says where its numbers come from');
		assert.match(frame, /\[x\] sessions & project data\s+\/home\/opencoder\/\.local\/share\/opencode\s+critical\s+named\s+~190\.7 MiB/);
		assert.match(frame, /\[x\] SSH keys .* high .* ~3\.9 KiB/);
		assert.match(frame, /\[ \] opencode config .* medium/);
		assert.match(frame, /\[ \] cache \(regenerable\) .* low .* ~85\.8 MiB/);
		assert.match(frame, /2 of 4 locations selected · ~190\.7 MiB/);
		assert.match(frame, new RegExp(`out +${DIR}`));
		assert.match(frame, /stop +off: keeps running/);
		await press(app, 'j', ' ');
		frame = await waitForText(app.lastFrame, '1 of 4 locations selected');
		assert.match(frame, /\[ \] SSH keys/);
		await press(app, 'a');
		await waitForText(app.lastFrame, '4 of 4 locations selected · ~276.6 MiB');
		await press(app, 'a');
		await waitForText(app.lastFrame, '0 of 4 locations selected');
		await press(app, KEY.enter);
		assert.doesNotMatch(app.lastFrame()!, /Back up/, 'nothing to start with nothing selected');
		app.unmount();
	});

	it('changes the directory, asks before starting, confirms --stop in words, and esc goes back', async () => {
		const backup = fakeBackup();
		const app = renderApp({services: backup.services, launch: {screen: 'backup'}}, {columns: 100, rows: 30});
		await waitForText(app.lastFrame, 'locations selected');
		await press(app, 'o');
		await waitForText(app.lastFrame, '⏎ keep · esc cancel');
		await press(app, ...Array.from({length: 17}, () => KEY.backspace), ...'/srv/bk'.split(''), KEY.enter);
		let frame = await waitForText(app.lastFrame, 'o change');
		assert.match(frame, /out +\/backups\/occ-doctor-backup-opencode-cloud-sandbox\/srv\/bk/);
		await press(app, 's');
		frame = await waitForText(app.lastFrame, '! on: opencode-cloud-sandbox is stopped during the backup');
		await press(app, KEY.enter);
		frame = await waitForText(app.lastFrame, 'Back up 2 locations of opencode-cloud-sandbox');
		assert.match(frame, /into +\/backups\/occ-doctor-backup-opencode-cloud-sandbox\/srv\/bk/);
		assert.match(frame, /! opencode-cloud-sandbox will be STOPPED during the backup and started again afterwards/);
		assert.match(frame, /directory 0700, files 0600/);
		assert.equal(backup.runs.length, 0, 'nothing runs before the answer');
		await press(app, KEY.escape);
		await waitForText(app.lastFrame, 'locations selected');
		await press(app, 's', KEY.enter);
		frame = await waitForText(app.lastFrame, 'Back up 2 locations');
		assert.match(frame, /✓ opencode-cloud-sandbox keeps running/);
		await press(app, 'y');
		await waitForText(app.lastFrame, 'backup verified');
		assert.deepEqual(backup.runs.map(r => ({only: r.only, out: r.out, stop: r.stop})), [{only: ['opencode-data', 'opencode-ssh'], out: '/backups/occ-doctor-backup-opencode-cloud-sandbox/srv/bk', stop: false}]);
		app.unmount();
	});

	it('shows a bar per location and one overall while it runs (bytes, %, rate), then the verified archives and the directory', async () => {
		const backup = fakeBackup({hold: true});
		const app = renderApp({services: backup.services, launch: {screen: 'backup'}});
		await waitForText(app.lastFrame, 'locations selected');
		await press(app, KEY.enter, 'y');
		let frame = await waitForText(app.lastFrame, '95.4 MiB / 190.7 MiB  50%');
		assert.match(frame, /Backing up opencode-cloud-sandbox/);
		assert.match(frame, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] sessions & projec… █+░+ 95\.4 MiB \/ 190\.7 MiB {2}50%/);
		assert.match(frame, /· SSH keys +░+ waiting/);
		assert.match(frame, /∑ overall +█+░+ 95\.4 MiB \/ 190\.7 MiB {2}49%/);
		assert.match(lines(frame).at(-1)!, /ctrl\+c cancel/);
		assert.ok(widest(frame) <= 80, frame);
		backup.release();
		frame = await waitForText(app.lastFrame, 'backup verified');
		assert.match(frame, /✓ backup verified: 2 archives \+ manifest\.json, re-read: gzip, tar, sha256/);
		assert.match(frame, new RegExp(DIR));
		assert.match(frame, /✓ opencode-data\.tar\.gz +63\.6 MiB +20 files, 190\.7 MiB +1 db, 352 rows/);
		assert.match(frame, /check later: occ-doctor backup --verify/);
		assert.ok(widest(frame) <= 80, frame);
		app.unmount();
	});

	it('a location that finished smaller than its estimate reads 100% with a full bar while the next one runs', async () => {
		const backup = fakeBackup();
		const [first, second] = UNITS;
		const services = {
			...backup.services,
			async backup(_ref: string, run: BackupRunOptions, emit: (e: BackupEvent) => void) {
				const small = 84_000_000;
				emit({type: 'start', location: first!.name, total: first!.estimate.bytes});
				emit({type: 'progress', location: first!.name, bytes: small, total: first!.estimate.bytes, files: 9, overall: {bytes: small, total: 204_000_000}});
				emit({type: 'written', location: first!.name, archive: {file: 'a.tar.gz', bytes: small, fileCount: 9, compressedBytes: 1, sha256: 'ab'.repeat(32), databases: []} as any});
				emit({type: 'verify', location: first!.name, ok: true, error: null});
				emit({type: 'start', location: second!.name, total: second!.estimate.bytes});
				emit({type: 'progress', location: second!.name, bytes: 2000, total: second!.estimate.bytes, files: 1, overall: {bytes: small + 2000, total: 204_000_000}});
				await new Promise(resolve => run.signal.addEventListener('abort', resolve, {once: true}));
				throw new DoctorError('interrupted', 'interrupted');
			},
		};
		const app = renderApp({services, launch: {screen: 'backup'}}, {columns: 100, rows: 30});
		await waitForText(app.lastFrame, 'locations selected');
		await press(app, KEY.enter, 'y');
		const frame = await waitForText(app.lastFrame, 'verified');
		assert.match(frame, /✓ sessions & project data +█+ 80\.1 MiB {2}100% {2}verified/, `the finished location is whole:\n${frame}`);
		assert.doesNotMatch(frame.split('\n').find(l => l.includes('sessions &'))!, /░/);
		// The overall total counts the finished location at its real size, not its 190.7 MiB estimate.
		assert.match(frame, /∑ overall +█+░* 80\.1 MiB \/ 80\.1 MiB {2}99%/);
		app.unmount();
	});

	it('a rate and an ETA appear once two samples are seconds apart', async () => {
		const {backupReducer, initialBackup} = await import('../../source/ui/hooks/use-backup.js');
		const {UNITS} = await import('./fakes.js');
		let state = backupReducer(initialBackup, {type: 'choices', choices: {units: UNITS, dir: DIR}, preselect: ['opencode-data']});
		state = backupReducer(state, {type: 'running'});
		state = backupReducer(state, {type: 'event', t: 0, event: {type: 'start', location: 'opencode-data', total: 200_000_000}});
		state = backupReducer(state, {type: 'event', t: 2000, event: {type: 'progress', location: 'opencode-data', bytes: 20_000_000, total: 200_000_000, files: 3, overall: {bytes: 20_000_000, total: 200_000_000}}});
		const {RateMeter, progressText} = await import('../../source/backup/progress.js');
		const meter = new RateMeter();
		for (const s of state.progress['opencode-data']!.samples) {
			meter.add(s.bytes, s.t);
		}

		assert.equal(progressText(20_000_000, 200_000_000, meter), '19.1 MiB / 190.7 MiB  10%  9.5 MiB/s  ETA 18s');
	});

	it('`occ-doctor backup` in a terminal exits 0 after a verified backup, as --plain does, even when the check found errors', async () => {
		const backup = fakeBackup();
		assert.equal(exitCodeFor((await backup.services.check('x')).report), 1, 'the fixture has error findings');
		const stdin = new FakeStdin();
		const stdout = new FakeStdout();
		const done = runTui({services: backup.services, launch: {screen: 'backup'}, signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any, stderr: {write: () => true} as any});
		await waitFor(() => stdout.text, t => t.includes('locations selected'));
		stdin.write('\r');
		await waitFor(() => stdout.text, t => t.includes('Back up 2 locations'));
		stdin.write('y');
		await waitFor(() => stdout.text, t => t.includes('backup verified'));
		stdin.write('q');
		assert.equal(await done, 0);
	});

	it('Ctrl+C cancels a running backup: the service cleans up, the screen and the shell say no final-named file is left', async () => {
		const backup = fakeBackup({hold: true});
		const stdin = new FakeStdin();
		const stdout = new FakeStdout();
		let stderr = '';
		const done = runTui({services: backup.services, launch: {screen: 'backup'}, signal: new AbortController().signal, stdin: stdin as any, stdout: stdout as any, stderr: {write: (s: string) => (stderr += s)} as any});
		await waitFor(() => stdout.text, t => t.includes('locations selected'));
		stdin.write('\r');
		await waitFor(() => stdout.text, t => t.includes('Back up 2 locations'));
		stdin.write('y');
		await waitFor(() => stdout.text, t => t.includes('50%'));
		stdin.write('\u0003');
		assert.equal(await done, 130);
		assert.ok(backup.runs[0]!.signal.aborted);
		assert.deepEqual(backup.finalFiles, []);
		assert.match(stdout.text, /✗ backup cancelled: no archive was left under a final name/);
		assert.match(stderr, /^occ-doctor: backup cancelled: no archive was left under a final name in \/backups\//);
	});

	it('fits 80×24 and 200×50 in every phase, and NO_COLOR keeps the marks', async () => {
		const previous = chalk.level;
		chalk.level = 1;
		try {
			for (const [columns, rows] of [[80, 24], [200, 50]] as const) {
				const backup = fakeBackup({hold: true});
				const app = renderApp({services: backup.services, launch: {screen: 'backup'}, color: false}, {columns, rows});
				const check = (frame: string, what: string) => {
					assert.ok(widest(frame) <= columns, `${what} wider than ${columns}:\n${frame}`);
					assert.ok(lines(frame).length <= rows - 1, `${what} taller than ${rows - 1}`);
					assert.doesNotMatch(frame, /\u001B\[(3[0-9]|9[0-7])m/, `${what}: no colour under NO_COLOR`);
				};

				check(await waitForText(app.lastFrame, 'locations selected'), 'select');
				await press(app, 's', KEY.enter);
				check(await waitForText(app.lastFrame, 'STOPPED'), 'confirm');
				await press(app, 'y');
				check(await waitForText(app.lastFrame, '50%'), 'running');
				backup.release();
				check(await waitForText(app.lastFrame, 'backup verified'), 'done');
				app.unmount();
			}
		} finally {
			chalk.level = previous;
		}
	});
});
