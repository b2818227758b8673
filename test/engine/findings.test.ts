// Each finding fires on a real container that calls for it, and none fires on a clean all-named-volume setup.
import assert from 'node:assert/strict';
import {chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it, type TestContext} from 'node:test';
import {exitCodeFor} from '../../source/core/analyze.js';
import {OPENCODE_CLOUD_VOLUMES} from '../../source/core/profiles.js';
import type {Finding, Report} from '../../source/core/types.js';
import type {Engine} from '../../source/docker/engine.js';
import {IDLE_CMD} from '../../source/docker/fixture-image.js';
import {PERSISTENCE_WARNING} from '../../source/docker/inspect.js';
import {cleanup, engineOrSkip, image, RUN_ID, TEST_LABEL, uniqueName, LABEL_FLAGS} from '../helpers/engine.js';
import {cli, docker, run} from '../helpers/docker-cli.js';
import {assertUnchanged, checkUnchanged} from '../helpers/host-snapshot.js';

let engine: Engine | undefined;
let img = '';
const dirs: string[] = [];
const anonymous = new Set<string>();

async function ready(t: TestContext): Promise<boolean> {
	engine ??= await engineOrSkip(t);
	if (!engine) {
		return false;
	}

	img ||= await image(engine.docker);
	return true;
}

function hostDir(): string {
	const dir = mkdtempSync(join(tmpdir(), 'occt-findings-'));
	dirs.push(dir);
	return dir;
}

/** Run a container with these flags (and optionally a command) and check it. */
async function check(flags: string[], command: string[] = []): Promise<{name: string; report: Report}> {
	const name = uniqueName('find');
	await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, ...flags, img, ...command);
	for (const volume of (await docker('inspect', '-f', '{{range .Mounts}}{{.Name}} {{end}}', name)).split(/\s+/).filter(v => /^[0-9a-f]{64}$/.test(v))) {
		anonymous.add(volume);
	}

	const {report} = await checkUnchanged(engine!, {container: name});
	return {name, report};
}

const MODEL_CODES = ['not-persistent', 'anonymous-volume', 'single-file-mount', 'sqlite-sidecar-split', 'sqlite-sidecar-file-mount', 'read-only-data', 'bind-dropped-on-occ-update', 'missing-host-path', 'entrypoint-warning'];
const at = (report: Report, code: string, path: string | null): Finding | undefined => report.findings.find(f => f.code === code && f.path === path);

function assertWellFormed(findings: Finding[]): void {
	for (const f of findings) {
		assert.ok(f.message.length > 0 && !f.message.includes('\n'), `${f.code}: one-line message`);
		assert.ok(f.fix.length > 0, `${f.code}: has a fix`);
		assert.ok(f.steps.length > 0, `${f.code}: has its steps`);
		// A step is a command or advice, never both: the one line is exactly the steps.
		assert.equal(f.fix, f.steps.map(s => ('command' in s ? (s.label ? `${s.label}: ${s.command}` : s.command) : s.advice)).join(' ; then '));
	}
}

describe('findings on real containers', () => {
	after(async () => {
		if (engine) {
			await cleanup(engine.docker, [...anonymous]);
		}

		for (const dir of dirs) {
			rmSync(dir, {recursive: true, force: true});
		}
	});

	it('not-persistent and anonymous-volume: an opencode-cloud sandbox on its layer, a tmpfs and an anonymous workspace', async t => {
		if (!await ready(t)) {
			return;
		}

		const {report} = await check(['--label', 'managed-by=opencode-cloud', '-v', '/home/opencoder/workspace', '--tmpfs', '/home/opencoder/.local/share/opencode']);
		assert.equal(report.profile.name, 'opencode-cloud');
		// Absent from this image, and nothing writes it at run time: not at risk. The users store is written by the entrypoint.
		assert.equal(report.locations.find(l => l.path === '/home/opencoder/.ssh')?.exists, false);
		assert.equal(at(report, 'not-persistent', '/home/opencoder/.ssh'), undefined);
		const users = at(report, 'not-persistent', '/var/lib/opencode-users');
		assert.equal(users?.severity, 'error');
		assert.match(users?.fix ?? '', /^recreate \S+ with -v opencode-users:\/var\/lib\/opencode-users$/);
		assert.match(at(report, 'not-persistent', '/home/opencoder/.local/share/opencode')?.message ?? '', /tmpfs/);
		const anon = at(report, 'anonymous-volume', '/home/opencoder/workspace');
		assert.equal(anon?.severity, 'error');
		assert.match(anon?.fix ?? '', /^copy it into a named volume first: .* -v opencode-workspace:\/to .* ; then recreate \S+ with -v opencode-workspace:\/home\/opencoder\/workspace$/);
		assert.equal(exitCodeFor(report), 1);
		assertWellFormed(report.findings);
	});

	it('sqlite-sidecar-file-mount: opencode.db bind-mounted on its own', async t => {
		if (!await ready(t)) {
			return;
		}

		const dir = hostDir();
		writeFileSync(join(dir, 'opencode.db'), '');
		const {report} = await check(['-v', `${join(dir, 'opencode.db')}:/root/.local/share/opencode/opencode.db`]);
		assert.equal(report.profile.name, 'opencode');
		const db = '/root/.local/share/opencode/opencode.db';
		assert.equal(report.locations.find(l => l.path === db)?.storage, 'bind-file');
		assert.equal(at(report, 'sqlite-sidecar-file-mount', db)?.severity, 'error');
		assert.match(at(report, 'sqlite-sidecar-file-mount', db)?.fix ?? '', new RegExp(`-v ${dir}:/root/.local/share/opencode`));
		assertWellFormed(report.findings);
	});

	it('read-only-data: opencode\'s data dir mounted :ro', async t => {
		if (!await ready(t)) {
			return;
		}

		const dir = hostDir();
		const {report} = await check(['-v', `${dir}:/root/.local/share/opencode:ro`]);
		const finding = at(report, 'read-only-data', '/root/.local/share/opencode');
		assert.equal(finding?.severity, 'error');
		assert.match(finding?.fix ?? '', /drop :ro/);
	});

	it('bind-dropped-on-occ-update: an opencode-cloud container on the CLI\'s bind mounts', async t => {
		if (!await ready(t)) {
			return;
		}

		const dir = hostDir();
		mkdirSync(join(dir, 'data'));
		mkdirSync(join(dir, 'ws'));
		const {report} = await check(['--label', 'managed-by=opencode-cloud', '-v', `${join(dir, 'data')}:/home/opencoder/.local/share/opencode`, '-v', `${join(dir, 'ws')}:/home/opencoder/workspace`]);
		const finding = at(report, 'bind-dropped-on-occ-update', null);
		assert.equal(finding?.severity, 'warning');
		assert.match(finding?.message ?? '', /\/home\/opencoder\/workspace/);
		assert.equal(report.locations.find(l => l.path === '/home/opencoder/workspace')?.survives['occ-update'], 'orphaned');
	});

	it('missing-host-path: the bind source is removed after the container was created', async t => {
		if (!await ready(t)) {
			return;
		}

		const dir = hostDir();
		mkdirSync(join(dir, 'gone'));
		const name = uniqueName('find');
		await docker('create', '--name', name, '--network', 'none', ...LABEL_FLAGS, '-v', `${join(dir, 'gone')}:/srv/data`, img);
		rmSync(join(dir, 'gone'), {recursive: true});
		const {report} = await checkUnchanged(engine!, {container: name});
		const finding = at(report, 'missing-host-path', '/srv/data');
		assert.equal(finding?.severity, 'error');
		assert.match(finding?.message ?? '', new RegExp(`${dir}/gone`));
	});

	it('entrypoint-warning: the logs say persistence is not configured', async t => {
		if (!await ready(t)) {
			return;
		}

		// opencode-cloud's entrypoint prints it, and check reads the logs only for a profile that has such a warning.
		const {name, report} = await check(['--label', 'managed-by=opencode-cloud'], ['sh', '-c', `echo "${PERSISTENCE_WARNING}. Mount a volume." >&2; ${IDLE_CMD[2]}`]);
		const finding = at(report, 'entrypoint-warning', null);
		assert.equal(finding?.severity, 'warning');
		assert.match(finding?.fix ?? '', new RegExp(`docker logs ${name}`));
		// Its command, run as printed, shows the lines that name the paths (the advice after it: mount them).
		const [show] = finding!.steps;
		assert.ok(show && 'command' in show, JSON.stringify(finding!.steps));
		const shown = await run('sh', ['-c', show.command]);
		assert.equal(shown.code, 0, shown.stderr);
		assert.match(shown.stdout, new RegExp(`${PERSISTENCE_WARNING}\\. Mount a volume\\.`));
	});

	it('fires nothing on an opencode-cloud sandbox whose seven locations are named volumes', async t => {
		if (!await ready(t)) {
			return;
		}

		const flags = ['--label', 'managed-by=opencode-cloud', '--restart', 'unless-stopped'];
		for (const v of OPENCODE_CLOUD_VOLUMES) {
			const name = `${v.volume}-${RUN_ID}`;
			await docker('volume', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, name);
			flags.push('-v', `${name}:${v.path}`);
		}

		const {report} = await check(flags);
		assert.equal(report.profile.name, 'opencode-cloud');
		// Database discovery may add info lines of its own; no problem may be reported.
		assert.deepEqual(report.findings.filter(f => f.severity !== 'info' || MODEL_CODES.includes(f.code)), []);
		assert.ok(report.locations.every(l => l.storage === 'named-volume'), 'every location on a named volume');
		assert.equal(exitCodeFor(report), 0);
		assert.deepEqual(report.comesBack, {'host-reboot': true, 'engine-restart': true});
	});

	it('a container without the profile\'s paths: every location exists: false, exit 0; --path to nothing is an info line', async t => {
		if (!await ready(t)) {
			return;
		}

		const name = uniqueName('find');
		await docker('run', '-d', '--name', name, '--network', 'none', ...LABEL_FLAGS, img);
		const result = await assertUnchanged(engine!.docker, name, async () => cli(['check', '--json', '--container', name, '--profile', 'opencode', '--path', '/no/such/dir']));
		assert.equal(result.code, 0, result.stdout + result.stderr);
		const report = JSON.parse(result.stdout) as Report;
		assert.ok(report.locations.length >= 8);
		assert.deepEqual(report.locations.filter(l => l.exists !== false).map(l => l.path), []);
		assert.deepEqual(report.findings.filter(f => f.severity === 'error'), []);
		assert.equal(at(report, 'path-absent', '/no/such/dir')?.severity, 'info');
		// And /etc, which the image has, is found on its layers.
		const {report: withEtc} = await checkUnchanged(engine!, {container: name, profile: 'opencode', paths: ['/etc/passwd', '/tmp']});
		assert.deepEqual(withEtc.locations.filter(l => l.exists === true).map(l => l.path).sort(), ['/etc/passwd', '/tmp']);
		const plain = await cli(['check', '--plain', '--container', name, '--profile', 'opencode']);
		assert.match(plain.stdout, /○ \/root\/.local\/share\/opencode +critical +absent, container-layer/);
	});

	it('owner-mismatch: data owned by uid 1000 (bind) and root (volume) while the app runs as 1001; the printed chowns fix it; root\'s users store is fine', async t => {
		if (!await ready(t)) {
			return;
		}

		const dir = hostDir();
		const data = join(dir, 'data');
		mkdirSync(data);
		writeFileSync(join(data, 'auth.json'), '{}');
		chownSync(data, 1000, 1000);
		chownSync(join(data, 'auth.json'), 1000, 1000);
		const workspace = uniqueName('ws');
		const users = uniqueName('users');
		for (const volume of [workspace, users]) {
			await docker('volume', 'create', '--label', `${TEST_LABEL}=${RUN_ID}`, volume);
		}

		// Upstream's users store: root 0700, written by the root entrypoint.
		await docker('run', '--rm', '-u', '0', '--network', 'none', '--entrypoint', 'chmod', '-v', `${users}:/d`, img, '0700', '/d');
		const flags = ['--label', 'managed-by=opencode-cloud', '--restart', 'unless-stopped', '--user', '1001', '-v', `${data}:/home/opencoder/.local/share/opencode`, '-v', `${workspace}:/home/opencoder/workspace`, '-v', `${users}:/var/lib/opencode-users`];
		const {name, report} = await check(flags);
		const mismatches = report.findings.filter(f => f.code === 'owner-mismatch');
		assert.deepEqual(mismatches.map(f => f.path).sort(), ['/home/opencoder/.local/share/opencode', '/home/opencoder/workspace']);
		assert.equal(at(report, 'owner-mismatch', '/home/opencoder/.local/share/opencode')?.fix, `chown -R 1001:1001 ${data}`);
		assert.match(at(report, 'owner-mismatch', '/home/opencoder/workspace')?.fix ?? '', new RegExp(`^docker run --rm -u 0 --network none --entrypoint chown -v ${workspace}:/d \\S+ -R 1001:1001 /d$`));
		assert.deepEqual(report.locations.find(l => l.path === '/var/lib/opencode-users')?.owner, {uid: 0, gid: 0, mode: '0700'});
		assert.equal(report.locations.find(l => l.path === '/var/lib/opencode-users')?.writer, 'root');

		for (const finding of mismatches) {
			const result = await run('sh', ['-c', finding.fix]);
			assert.equal(result.code, 0, `${finding.fix}: ${result.stderr}`);
		}

		const {report: after} = await checkUnchanged(engine!, {container: name});
		assert.deepEqual(after.findings.filter(f => f.code === 'owner-mismatch'), []);
		// And the container's user can write there now: the fix works where it matters.
		for (const path of ['/home/opencoder/.local/share/opencode', '/home/opencoder/workspace']) {
			await docker('exec', name, 'touch', `${path}/written-by-1001`);
		}
	});

	it('no-restart-policy: a container without one stays down after a reboot; the printed fix gives it one', async t => {
		if (!await ready(t)) {
			return;
		}

		const {name, report} = await check([]);
		assert.equal(report.restartPolicy, 'no');
		assert.deepEqual(report.comesBack, {'host-reboot': false, 'engine-restart': false});
		const finding = at(report, 'no-restart-policy', null);
		assert.equal(finding?.severity, 'warning');
		assert.equal(finding?.fix, `docker update --restart unless-stopped ${name}`);
		const [command, ...args] = finding!.fix.split(' ');
		assert.equal(command, 'docker');
		await docker(...args);
		assert.equal(await docker('inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', name), 'unless-stopped');
		const {report: after} = await checkUnchanged(engine!, {container: name});
		assert.equal(at(after, 'no-restart-policy', null), undefined);
		assert.deepEqual(after.comesBack, {'host-reboot': true, 'engine-restart': true});
	});
});
