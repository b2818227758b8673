import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {analyze, exitCodeFor} from '../../source/core/analyze.js';
import {buildLocations, collectCandidates, coveringMount} from '../../source/core/model.js';
import {GENERIC_PROFILE, detectProfile, findProfile, resolvePath} from '../../source/core/profiles.js';
import {bind, makeFacts, recordedFacts, vol} from '../helpers/facts.js';
import {archiveRiskOf} from '../../source/docker/inspect.js';
import {bindsAtRisk, refuseBindsAtRisk} from '../../source/docker/bind-guard.js';
import type {DoctorError} from '../../source/errors.js';
import {stepTexts} from '../../source/report/labels.js';
import {renderPlain} from '../../source/report/plain.js';

const ANON = 'a'.repeat(64);

describe('storage classes', () => {
	it('classifies a recorded opencode-cloud container: named volume, anonymous workspace, tmpfs cache, layer', () => {
		const facts = recordedFacts('occ-anon-workspace');
		const {profile} = detectProfile(facts);
		assert.equal(profile.name, 'opencode-cloud');
		const byPath = new Map(buildLocations(facts, profile).map(l => [l.path, l]));
		assert.equal(byPath.get('/home/opencoder/.local/share/opencode')?.storage, 'named-volume');
		assert.equal(byPath.get('/home/opencoder/workspace')?.storage, 'anonymous-volume');
		assert.equal(byPath.get('/home/opencoder/.cache/opencode')?.storage, 'tmpfs');
		assert.equal(byPath.get('/home/opencoder/.ssh')?.storage, 'container-layer');
		assert.equal(byPath.get('/vol-image')?.storage, 'anonymous-volume');
		assert.equal(byPath.get('/vol-image')?.origin, 'image-volume');
	});

	it('lets the longest destination win, so a bind nested in a volume owns its subtree', () => {
		const facts = makeFacts({mounts: [vol('data', '/data'), bind('/srv/creds', '/data/credentials')]});
		assert.equal(coveringMount('/data/credentials/key.json', facts)?.source, '/srv/creds');
		assert.equal(coveringMount('/data/db/machine.db', facts)?.name, 'data');
		assert.equal(coveringMount('/datax', facts), null);
	});

	it('tells anonymous volumes by label or by a 64-hex name', () => {
		const facts = makeFacts({
			mounts: [vol(ANON, '/a'), vol('labelled', '/b'), vol('named', '/c')],
			volumes: {labelled: {name: 'labelled', driver: 'local', labels: {'com.docker.volume.anonymous': ''}, mountpoint: null}},
		});
		const storage = buildLocations(facts, GENERIC_PROFILE).map(l => l.storage);
		assert.deepEqual(storage, ['anonymous-volume', 'anonymous-volume', 'named-volume']);
	});

	it('classifies bind files, read-only binds and read-only root filesystems', () => {
		const facts = makeFacts({
			mounts: [bind('/h/auth.json', '/root/.local/share/opencode/auth.json'), bind('/h/agents', '/app/agents', false)],
			bindSourceIsFile: {'/h/auth.json': true},
			readonlyRootfs: true,
		});
		const byPath = new Map(buildLocations(facts, GENERIC_PROFILE, ['/srv']).map(l => [l.path, l]));
		assert.equal(byPath.get('/root/.local/share/opencode/auth.json')?.storage, 'bind-file');
		assert.equal(byPath.get('/app/agents')?.readOnly, true);
		assert.equal(byPath.get('/app/agents')?.expected, 'read-only');
		assert.equal(byPath.get('/srv')?.storage, 'container-layer');
		assert.equal(byPath.get('/srv')?.readOnly, true);
	});
});

describe('profiles', () => {
	it('resolves XDG paths from the container env, with HOME defaults', () => {
		assert.equal(resolvePath('${XDG_DATA_HOME:-${HOME}/.local/share}/opencode', {env: {}, user: ''}), '/root/.local/share/opencode');
		assert.equal(resolvePath('${XDG_DATA_HOME:-${HOME}/.local/share}/opencode', {env: {XDG_DATA_HOME: '/xdg'}, user: ''}), '/xdg/opencode');
		assert.equal(resolvePath('${XDG_DATA_HOME:-${HOME}/.local/share}/opencode', {env: {HOME: '/home/me'}, user: 'me'}), '/home/me/.local/share/opencode');
		assert.equal(resolvePath('${DATABASE_PATH:-/app/data/management.db}', {env: {DATABASE_URL: 'sqlite:///srv/api/app.db'}, user: ''}), '/srv/api/app.db');
	});

	it('detects profiles by label, name, paths and env', () => {
		assert.equal(detectProfile(makeFacts({labels: {'managed-by': 'opencode-cloud'}})).profile.name, 'opencode-cloud');
		assert.equal(detectProfile(makeFacts({name: 'opencode-cloud-sandbox-mytree'})).profile.name, 'opencode-cloud');
		assert.equal(detectProfile(makeFacts({mounts: [vol('x', '/root/.local/share/opencode')]})).profile.name, 'opencode');
		assert.equal(detectProfile(makeFacts({image: 'redis:7'})).profile.name, 'redis-aof');
		assert.equal(detectProfile(makeFacts({mounts: [vol('machine_data', '/data'), bind('/h/agents', '/app/agents', false)]})).profile.name, 'agent-server');
		assert.equal(detectProfile(makeFacts({env: {DATABASE_PATH: '/srv/api.db'}})).profile.name, 'management-api');
		assert.equal(detectProfile(makeFacts({image: 'nginx'})).profile.name, 'generic');
	});
});

describe('findings', () => {
	const occ = findProfile('opencode-cloud')!;

	it('flags critical data on the container layer and an anonymous workspace as errors, with fixes', () => {
		const report = analyze(recordedFacts('occ-anon-workspace'), occ, 'test');
		const codes = report.findings.map(f => `${f.code}:${f.severity}:${f.path}`);
		assert.ok(codes.includes('anonymous-volume:error:/home/opencoder/workspace'));
		assert.ok(codes.includes('not-persistent:error:/home/opencoder/.ssh'));
		const fix = report.findings.find(f => f.code === 'anonymous-volume' && f.path === '/home/opencoder/workspace')?.fix;
		assert.match(fix ?? '', /^copy it into a named volume first: docker run --rm --entrypoint cp -v [0-9a-f]{64}:\/from -v opencode-workspace:\/to \S+ -a \/from\/\. \/to\/ ; then recreate \S+ with -v opencode-workspace:\/home\/opencoder\/workspace$/);
		assert.equal(exitCodeFor(report), 1);
	});

	it('a database bind-mounted as a single file is one sqlite-sidecar-file-mount error, telling to mount the directory', () => {
		const facts = makeFacts({mounts: [bind('/h/opencode.db', '/root/.local/share/opencode/opencode.db')], bindSourceIsFile: {'/h/opencode.db': true}});
		const report = analyze(facts, findProfile('opencode')!, 'test');
		const found = report.findings.filter(f => f.path === '/root/.local/share/opencode/opencode.db');
		assert.deepEqual(found.map(f => f.code), ['sqlite-sidecar-file-mount']);
		assert.match(found[0]!.fix, /-v \/h:\/root\/.local\/share\/opencode /);
	});

	it('the plain report marks each step: a command after `$ `, advice after `by hand: `; the JSON fix stays the bare line', () => {
		const report = analyze(recordedFacts('occ-anon-workspace'), occ, 'test');
		const finding = report.findings.find(f => f.code === 'anonymous-volume' && f.path === '/home/opencoder/workspace')!;
		assert.match(renderPlain(report), /^ {8}fix: copy it into a named volume first: \$ docker run --rm --entrypoint cp -v [0-9a-f]{64}:\/from .* ; then by hand: recreate \S+ with -v opencode-workspace:\/home\/opencoder\/workspace$/m);
		assert.deepEqual(stepTexts(finding).map(s => s.replace(/ .*/, '')), ['copy', 'then']);
		assert.match(finding.fix, /^copy it into a named volume first: docker run .* ; then recreate /);
	});

	it('a database on its own mount with -wal and -shm elsewhere is sqlite-sidecar-split', () => {
		const facts = makeFacts({mounts: [vol('data', '/root/.local/share/opencode'), vol('db', '/root/.local/share/opencode/opencode.db')], tmpfs: ['/root/.local/share/opencode/opencode.db-wal']});
		const report = analyze(facts, findProfile('opencode')!, 'test');
		const split = report.findings.find(f => f.code === 'sqlite-sidecar-split');
		// The mounts on the file paths go: all three land in the directory's volume (no placeholder to fill in).
		assert.deepEqual(split?.steps, [{advice: `recreate ${facts.name} without the mounts of /root/.local/share/opencode/opencode.db, /root/.local/share/opencode/opencode.db-wal`}]);
	});

	it('sqlite-sidecar-split on a database bound as a file whose kind is unseen (a remote engine): its directory is bound instead', () => {
		const facts = makeFacts({mounts: [bind('/h/opencode.db', '/root/.local/share/opencode/opencode.db')]});
		const report = analyze(facts, findProfile('opencode')!, 'test');
		assert.equal(report.findings.find(f => f.code === 'sqlite-sidecar-split')?.fix, `bind-mount the directory instead: recreate ${facts.name} with -v /h:/root/.local/share/opencode in place of the file bind`);
	});

	it('opencode 1.2\'s file binds with -wal and -shm gone on the host: the sidecar finding and each missing source with its harm', () => {
		const data = '/root/.local/share/opencode';
		const facts = makeFacts({
			mounts: [bind('/h/opencode.db', `${data}/opencode.db`), bind('/h/opencode.db-wal', `${data}/opencode.db-wal`), bind('/h/opencode.db-shm', `${data}/opencode.db-shm`)],
			bindSourceIsFile: {'/h/opencode.db': true},
			bindSourceExists: {'/h/opencode.db': true, '/h/opencode.db-wal': false, '/h/opencode.db-shm': false},
		});
		const report = analyze(facts, findProfile('opencode')!, 'test');
		const sidecar = report.findings.filter(f => f.code === 'sqlite-sidecar-file-mount');
		assert.equal(sidecar.length, 1);
		assert.match(sidecar[0]!.message, /opencode\.db, opencode\.db-wal, opencode\.db-shm are bind-mounted as single files: SQLite deletes -wal and -shm/);
		const missing = report.findings.filter(f => f.code === 'missing-host-path');
		assert.deepEqual(missing.map(f => f.path).sort(), [`${data}/opencode.db-shm`, `${data}/opencode.db-wal`]);
		assert.match(missing[0]!.message, /creates it as an empty directory at the next start.*unable to open database file/);
		assert.match(missing[0]!.fix, /^touch \/h\/opencode\.db-(wal|shm) {2}# before the next start/);
		assert.ok(!report.findings.some(f => f.code === 'single-file-mount' || f.code === 'sqlite-sidecar-split'));
	});

	it('reading through the engine is unsafe while a -v bind source is missing, or unknown on a remote engine', () => {
		const info = {HostConfig: {Binds: ['/h/a:/a', '/h/b:/b:ro']}};
		assert.equal(archiveRiskOf(info, {'/h/a': true, '/h/b': true}), null);
		assert.match(archiveRiskOf(info, {'/h/a': true, '/h/b': false}) ?? '', /\/h\/b is missing/);
		assert.match(archiveRiskOf(info, {'/h/a': null, '/h/b': true}) ?? '', /cannot see whether the bind source \/h\/a exists/);
		// --mount binds are never created by the engine: an unknown source there is no risk.
		assert.equal(archiveRiskOf({HostConfig: {Binds: null}}, {'/h/c': null}), null);
	});

	it('backup, probe and restore share one rule: every -v source known to exist, else one line naming cause and fix', () => {
		const info = {HostConfig: {Binds: ['/h/a:/a', '/h/b:/b']}};
		assert.deepEqual(bindsAtRisk(info, {'/h/a': true, '/h/b': true, '/h/m': null}), {missing: [], unknown: []});
		assert.deepEqual(bindsAtRisk(info, {'/h/a': null, '/h/b': false}), {missing: ['/h/b'], unknown: ['/h/a']});
		const refuse = (atRisk: {missing: string[]; unknown: string[]}, target: {label: string; transport: string; local: boolean}, only?: string) => {
			try {
				refuseBindsAtRisk(atRisk, {verb: 'backup', name: 'app', command: 'backup --container app', target: target as any, only});
				return null;
			} catch (error) {
				assert.equal((error as DoctorError).exitCode, 2);
				return (error as Error).message;
			}
		};

		const tcp = {label: 'tcp://box:2375', transport: 'tcp', local: false};
		assert.equal(refuse({missing: [], unknown: []}, tcp), null);
		assert.match(refuse({missing: [], unknown: ['/h/a', '/h/b']}, tcp, '--only cannot avoid it') ?? '', /^backup stopped before touching anything: occ-doctor cannot tell whether the bind source \/h\/a \(and 1 more\) of app exists on the engine's host \(tcp:\/\/box:2375 offers no way to look\).*\(--only cannot avoid it\): .*occ-doctor backup --container app --host ssh:\/\/box/);
		assert.doesNotMatch(refuse({missing: [], unknown: ['/h/a']}, tcp) ?? '', /--only/);
		assert.match(refuse({missing: [], unknown: ['/h/a']}, {label: 'ssh://me@box', transport: 'ssh', local: false}) ?? '', /SSH user may not look there.*ssh -t box sudo occ-doctor backup/);
		assert.match(refuse({missing: [], unknown: ['/h/a']}, {label: 'unix:///var/run/docker.sock', transport: 'unix', local: true}) ?? '', /no permission to look.*sudo occ-doctor backup/);
		assert.match(refuse({missing: ['/h/b'], unknown: ['/h/a']}, tcp) ?? '', /the bind source \/h\/b of app is missing.*put it back first/);
	});

	it('warns that occ update drops bind mounts, and reports the entrypoint warning and a missing host path', () => {
		const facts = makeFacts({
			labels: {'managed-by': 'opencode-cloud'},
			mounts: [bind('/home/me/opencode', '/home/opencoder/workspace')],
			bindSourceExists: {'/home/me/opencode': false},
			persistenceWarningInLogs: true,
		});
		const report = analyze(facts, occ, 'test');
		const codes = new Set(report.findings.map(f => f.code));
		for (const code of ['bind-dropped-on-occ-update', 'entrypoint-warning', 'missing-host-path']) {
			assert.ok(codes.has(code), code);
		}

		const workspace = report.locations.find(l => l.path === '/home/opencoder/workspace')!;
		assert.equal(workspace.survives['occ-update'], 'orphaned');
		assert.equal(workspace.survives['compose-recreate'], null);
	});

	it('flags data that must be written on a read-only mount, and leaves read-only built-ins alone', () => {
		const facts = makeFacts({mounts: [vol('machine_data', '/data', false), bind('/h/agents', '/app/agents', false)]});
		const report = analyze(facts, findProfile('agent-server')!, 'test');
		const readOnly = report.findings.filter(f => f.code === 'read-only-data').map(f => f.path);
		assert.ok(readOnly.includes('/data'));
		assert.ok(!readOnly.includes('/app/agents'));
	});

	it('reports nothing wrong for a container whose data is all on named volumes', () => {
		const facts = makeFacts({mounts: [vol('machine_data', '/data')], image: 'agent-server'});
		const report = analyze(facts, findProfile('agent-server')!, 'test');
		assert.deepEqual(report.findings.filter(f => f.severity === 'error'), []);
		assert.equal(exitCodeFor(report), 0);
	});

	it('comes back after a reboot or an engine restart only with restart policy always or unless-stopped', () => {
		const cases: Array<[string, boolean, boolean]> = [['', false, false], ['no', false, false], ['on-failure', false, false], ['always', false, true], ['unless-stopped', false, true], ['unless-stopped', true, false]];
		for (const [restartPolicy, autoRemove, back] of cases) {
			const report = analyze(makeFacts({restartPolicy, autoRemove}), GENERIC_PROFILE, 'test');
			assert.deepEqual(report.comesBack, {'host-reboot': back, 'engine-restart': back}, `${restartPolicy} --rm=${autoRemove}`);
			assert.equal(report.findings.some(f => f.code === 'no-restart-policy'), !back, restartPolicy);
		}

		const compose = analyze(makeFacts({labels: {'com.docker.compose.project': 'p', 'com.docker.compose.service': 'web'}}), GENERIC_PROFILE, 'test');
		assert.match(compose.findings.find(f => f.code === 'no-restart-policy')!.fix, /restart: unless-stopped. under services\.web/);
	});

	it('an absent location is not at risk, unless the product writes there at run time; --path to nothing says so', () => {
		const absent = (paths: string[]) => Object.fromEntries(paths.map(p => [p, false]));
		const occFacts = makeFacts({labels: {'managed-by': 'opencode-cloud'}, restartPolicy: 'always'});
		occFacts.pathExists = absent(collectCandidates(occFacts, occ).map(c => c.path));
		const report = analyze(occFacts, occ, 'test');
		assert.ok(report.locations.every(l => l.exists === false));
		const errors = report.findings.filter(f => f.severity === 'error');
		assert.deepEqual(errors.map(f => f.path).sort(), ['/home/opencoder/.local/share/opencode', '/var/lib/opencode-users']);
		for (const f of errors) {
			assert.match(f.message, /does not exist yet, and opencode-cloud sandbox \(occ\) writes it at run time/);
			assert.match(f.fix, /^recreate app with -v opencode-(data|users):/);
			assert.doesNotMatch(f.fix, /docker cp/);
		}

		const plain = makeFacts({restartPolicy: 'always'});
		plain.pathExists = absent([...collectCandidates(plain, findProfile('opencode')!, ['/no/such/dir']).map(c => c.path)]);
		const quiet = analyze(plain, findProfile('opencode')!, 'test', ['/no/such/dir']);
		assert.equal(exitCodeFor(quiet), 0);
		assert.deepEqual(quiet.findings.map(f => `${f.code} ${f.severity} ${f.path}`), ['path-absent info /no/such/dir']);
	});

	it('one rule for moving data: a file moves with its directory, a nested path with its parent, copies are of directories', () => {
		const facts = makeFacts({restartPolicy: 'always'});
		const profile = findProfile('opencode')!;
		facts.pathExists = Object.fromEntries(collectCandidates(facts, profile).map(c => [c.path, true]));
		const report = analyze(facts, profile, 'test');
		const fixOf = (path: string) => report.findings.find(f => f.code === 'not-persistent' && f.path === path)?.fix ?? '';
		const data = '/root/.local/share/opencode';
		assert.equal(fixOf(data), `copy it into the named volume first: docker create --name app-fill -v local-share-opencode:${data} example/app:1 && docker cp app:${data} - | docker cp -a - app-fill:/root/.local/share && docker rm app-fill ; then recreate app with -v local-share-opencode:${data}`);
		for (const child of [`${data}/auth.json`, `${data}/opencode.db`, `${data}/storage`]) {
			assert.equal(fixOf(child), `move ${data} (the fix under it); ${child} goes with it, no volume of its own`);
		}

		for (const f of report.findings) {
			assert.doesNotMatch(f.fix, /-v [\w.-]+:\S+\.(json|db)\b/, `no named volume on a file: ${f.fix}`);
		}

		const custom = {name: 'mine', title: 'mine', description: '', locations: [{path: '/srv/app/config.json', label: 'config', priority: 'high' as const, kind: 'file' as const}]};
		const file = makeFacts({restartPolicy: 'always', pathExists: {'/srv/app/config.json': true}});
		const fix = analyze(file, custom, 'test').findings.find(f => f.code === 'not-persistent')!.fix;
		assert.equal(fix, 'copy it into the named volume first: docker create --name app-fill -v srv-app:/srv/app example/app:1 && docker cp app:/srv/app - | docker cp -a - app-fill:/srv && docker rm app-fill ; then recreate app with -v srv-app:/srv/app');
	});
});
