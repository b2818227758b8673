// comesBack, measured: an engine of the test's own is stopped and started again on the same data directory (what
// `systemctl restart docker` does), and exactly the containers check said would come back run again by themselves.
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {connect} from '../../source/docker/engine.js';
import {buildBusyboxImage} from '../../source/docker/fixture-image.js';
import {canStartPrivateEngine, startPrivateEngine, type PrivateEngine} from '../../source/docker/private-engine.js';
import {skipOrFail} from '../helpers/engine.js';
import {checkUnchanged, readOnlyTour} from '../helpers/host-snapshot.js';

const POLICIES = ['no', 'on-failure', 'always', 'unless-stopped'] as const;

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await condition()) {
			return true;
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}

	return condition();
}

describe('restart policy on a real engine restart', () => {
	it('the containers check says come back are the ones running after the engine restarts; the others stay stopped', async t => {
		if (!canStartPrivateEngine()) {
			skipOrFail(t, 'an engine restart needs root and dockerd (apt-get install docker.io)');
			return;
		}

		let first: PrivateEngine | undefined = await startPrivateEngine({prefix: 'occr-'});
		let second: PrivateEngine | undefined;
		try {
			let engine = await connect({host: first.host});
			const image = await buildBusyboxImage(engine.docker, {tag: 'occ-doctor-test/restart:1'});
			const predicted: Record<string, boolean> = {};
			for (const policy of POLICIES) {
				const container = await engine.docker.createContainer({Image: image, name: `occr-${policy}`, HostConfig: {NetworkMode: 'none', RestartPolicy: {Name: policy}}});
				await container.start();
				const {report} = await checkUnchanged(engine, {container: container.id, databases: false});
				// This engine is thrown away with its containers, never cleaned up: toured now.
				await readOnlyTour(engine, container.id);
				assert.equal(report.restartPolicy, policy);
				predicted[policy] = report.comesBack['engine-restart'];
				assert.equal(report.findings.some(f => f.code === 'no-restart-policy'), !predicted[policy]);
			}

			assert.deepEqual(predicted, {no: false, 'on-failure': false, always: true, 'unless-stopped': true});
			await first.stop({keep: true});
			second = await startPrivateEngine({dir: first.dir});
			first = undefined;
			engine = await connect({host: second.host});
			const running = async (policy: string) => Boolean((await engine.docker.getContainer(`occr-${policy}`).inspect()).State?.Running);
			// The engine starts restart-policy containers just after it answers: wait for those, then look at all.
			assert.ok(await waitFor(async () => (await Promise.all(POLICIES.filter(p => predicted[p]).map(running))).every(Boolean), 20_000), 'the predicted containers came back');
			for (const policy of POLICIES) {
				assert.equal(await running(policy), predicted[policy], `restart policy ${policy}`);
			}
		} finally {
			await first?.stop();
			await second?.stop();
		}
	});
});
