import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {buildLocations, isExternalVolume} from '../../source/core/model.js';
import {survivalOf} from '../../source/core/matrix.js';
import {GENERIC_PROFILE} from '../../source/core/profiles.js';
import {makeFacts, recordedFacts, vol} from '../helpers/facts.js';

describe('compose volumes: owned or external', () => {
	// Recorded from compose 1.29: p9_named made by compose, p9_premade made by hand under compose's name, ext9 external.
	const facts = recordedFacts('compose-external', {bindSourceIsFile: {}});
	const byPath = new Map(buildLocations(facts, GENERIC_PROFILE, ['/layer']).map(l => [l.path, l]));

	it('reads the project and service from the labels', () => {
		assert.deepEqual(byPath.get('/named')?.compose, {project: 'p9', service: 'app'});
	});

	it('treats labelled and compose-named volumes as the project\'s, and anything else as external', () => {
		assert.equal(byPath.get('/named')?.external, false);
		assert.equal(byPath.get('/premade')?.external, false);
		assert.equal(byPath.get('/ext')?.external, true);
		assert.equal(byPath.get('/anon')?.external, false);
	});

	it('predicts down -v: project volumes and anonymous ones lost, external kept', () => {
		const downV = Object.fromEntries([...byPath].map(([path, l]) => [path, l.survives['compose-down-v']]));
		assert.deepEqual(downV, {'/named': 'lost', '/anon': 'lost', '/imgvol': 'lost', '/ext': 'kept', '/premade': 'lost', '/tmpfs': 'lost', '/layer': 'lost'});
	});

	it('predicts a compose recreate keeps anonymous volumes and down-up orphans them', () => {
		assert.equal(byPath.get('/anon')?.survives['compose-recreate'], 'kept');
		assert.equal(byPath.get('/imgvol')?.survives['compose-down-up'], 'orphaned');
	});

	it('calls a volume of another project external', () => {
		const other = makeFacts({
			labels: {'com.docker.compose.project': 'b', 'com.docker.compose.service': 's'},
			mounts: [vol('a_data', '/data')],
			volumes: {'a_data': {name: 'a_data', driver: 'local', labels: {'com.docker.compose.project': 'a'}, mountpoint: null}},
		});
		assert.equal(isExternalVolume('a_data', other), true);
		assert.equal(isExternalVolume('b_data', other), false);
		assert.equal(isExternalVolume('data', makeFacts()), false, 'no compose, no external');
	});
});

describe('--rm, read-only root filesystem and both kinds of tmpfs', () => {
	// Recorded: docker run --rm --read-only --tmpfs /run -v fxv:/data --mount type=tmpfs,destination=/t2 -v file:/f.txt:ro, image VOLUME /imgvol.
	const facts = recordedFacts('rm-readonly-rootfs', {bindSourceIsFile: {'/tmp/m2/c/file.txt': true}});
	const byPath = new Map(buildLocations(facts, GENERIC_PROFILE, ['/layer']).map(l => [l.path, l]));

	it('classifies the mounts', () => {
		assert.equal(facts.autoRemove, true);
		assert.equal(byPath.get('/run')?.storage, 'tmpfs');
		assert.equal(byPath.get('/t2')?.storage, 'tmpfs');
		assert.equal(byPath.get('/f.txt')?.storage, 'bind-file');
		assert.equal(byPath.get('/f.txt')?.readOnly, true);
		assert.equal(byPath.get('/layer')?.readOnly, true, 'the root filesystem is read-only');
		assert.equal(byPath.get('/imgvol')?.storage, 'anonymous-volume');
	});

	it('loses anonymous volumes and the layer on stop (the container removes itself) but orphans them on rm -f', () => {
		assert.equal(byPath.get('/imgvol')?.survives['stop-start'], 'lost');
		assert.equal(byPath.get('/layer')?.survives['stop-start'], 'lost');
		assert.equal(byPath.get('/imgvol')?.survives['host-reboot'], 'lost');
		assert.equal(byPath.get('/imgvol')?.survives.restart, 'kept');
		assert.equal(byPath.get('/imgvol')?.survives.recreate, 'orphaned');
		assert.equal(byPath.get('/data')?.survives['stop-start'], 'kept');
	});

	it('does not apply compose or occ scenarios to a plain container', () => {
		const row = byPath.get('/data')!.survives;
		for (const scenario of ['compose-recreate', 'compose-down-up', 'compose-down-v', 'occ-update', 'occ-reset', 'occ-reset-volumes'] as const) {
			assert.equal(row[scenario], null, scenario);
		}
	});

	it('keeps the plain rules for a container without --rm', () => {
		const location = {storage: 'anonymous-volume' as const, external: false, mount: null};
		assert.equal(survivalOf('stop-start', location, {autoRemove: false}), 'kept');
		assert.equal(survivalOf('recreate', location, {autoRemove: false}), 'orphaned');
	});
});
