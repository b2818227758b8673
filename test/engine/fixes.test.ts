// The fixes check prints work: each one is run, as printed, on the container it was printed for, and the data is
// still there afterwards. A "recreate NAME with -v A:B" step is the one the test performs itself, because only the
// test knows the container's whole `docker run` line; it replaces any mount at B, as a user's edited command would.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import type {Finding} from '../../source/core/types.js';
import type {Engine} from '../../source/docker/engine.js';
import {cleanup, engineOrSkip, image, LABEL_FLAGS, RUN_ID, TEST_LABEL, uniqueName} from '../helpers/engine.js';
import {docker, run} from '../helpers/docker-cli.js';
import {checkUnchanged} from '../helpers/host-snapshot.js';

const DATA = '/root/.local/share/opencode';
const work = mkdtempSync(join(tmpdir(), 'occt-fixes-'));
const made: string[] = [];
let engine: Engine | undefined;

/** A container the test can recreate: its flags as [flag, value] pairs, so a recreate can swap one mount. */
interface Fixture {
	name: string;
	image: string;
	mounts: Array<{source: string | null; destination: string}>;
	flags: string[];
}

async function start(fixture: Fixture): Promise<void> {
	const volumes = fixture.mounts.flatMap(m => ['-v', m.source ? `${m.source}:${m.destination}` : m.destination]);
	await docker('run', '-d', '--name', fixture.name, '--network', 'none', ...LABEL_FLAGS, ...fixture.flags, ...volumes, fixture.image);
}

/** Run one printed step. Returns false for a step that is not a command (a pointer to another finding's fix). */
async function runStep(step: string, fixture: Fixture): Promise<boolean> {
	const command = step.replace(/^(save it first|put it back|copy it into a named volume first): /, '');
	const recreate = /^recreate (\S+) with -v (\S+):(\S+)$/.exec(command);
	if (recreate) {
		assert.equal(recreate[1], fixture.name);
		await docker('rm', '-f', fixture.name);
		fixture.mounts = [...fixture.mounts.filter(m => m.destination !== recreate[3]), {source: recreate[2]!, destination: recreate[3]!}];
		made.push(recreate[2]!);
		await start(fixture);
		return true;
	}

	if (/^move \S+ \(the fix under it\)/.test(command)) {
		return false;
	}

	assert.match(command, /^(docker|chown) /, `a fix step is a command: ${command}`);
	const result = await run('sh', ['-c', command], {cwd: work});
	assert.equal(result.code, 0, `${command}: ${result.stderr}`);
	return true;
}

async function runFixes(findings: Finding[], fixture: Fixture): Promise<number> {
	let ran = 0;
	for (const finding of findings.filter(f => f.severity !== 'info')) {
		for (const step of finding.fix.split(' ; then ')) {
			ran += Number(await runStep(step, fixture));
		}
	}

	return ran;
}

describe('the printed fixes work', () => {
	after(async () => {
		if (engine) {
			await cleanup(engine.docker, made);
		}

		rmSync(work, {recursive: true, force: true});
	});

	it('opencode data on the layer (a dir with a file and a database in it) and an anonymous volume: every fix runs, the data survives a recreate', async t => {
		engine = await engineOrSkip(t);
		if (!engine) {
			return;
		}

		const fixture: Fixture = {
			name: uniqueName('fix'),
			image: await image(engine.docker, {lines: [`RUN mkdir -p ${DATA}/storage /srv/anon`]}),
			mounts: [{source: null, destination: '/srv/anon'}],
			flags: ['--restart', 'unless-stopped', '--label', `${TEST_LABEL}=${RUN_ID}`],
		};
		await start(fixture);
		await docker('exec', fixture.name, 'sh', '-c', `echo '{"k":1}' > ${DATA}/auth.json && echo db > ${DATA}/opencode.db && echo kept > /srv/anon/notes`);
		const {report} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		const codes = report.findings.map(f => `${f.code} ${f.path}`);
		assert.ok(codes.includes(`not-persistent ${DATA}`), codes.join(', '));
		assert.ok(codes.includes(`not-persistent ${DATA}/auth.json`), codes.join(', '));
		assert.ok(codes.includes('anonymous-volume /srv/anon'), codes.join(', '));

		const ran = await runFixes(report.findings, fixture);
		// Save, recreate, put back for the data dir; copy, recreate for the anonymous volume.
		assert.equal(ran, 5);

		const {report: after} = await checkUnchanged(engine, {container: fixture.name, profile: 'opencode', databases: false});
		assert.deepEqual(after.findings.filter(f => f.code === 'not-persistent' || f.code === 'anonymous-volume').map(f => f.path), []);
		assert.equal(await docker('exec', fixture.name, 'cat', `${DATA}/auth.json`), '{"k":1}');
		assert.equal(await docker('exec', fixture.name, 'cat', `${DATA}/opencode.db`), 'db');
		assert.equal(await docker('exec', fixture.name, 'cat', '/srv/anon/notes'), 'kept');
		// And the data is now where a recreate keeps it.
		assert.ok(after.locations.filter(l => l.path === DATA || l.path === '/srv/anon').every(l => l.survives.recreate === 'kept'));
	});
});
