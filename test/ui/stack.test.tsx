/** @jsxRuntime automatic */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import {cleanup} from 'ink-testing-library';
import type {Report} from '../../source/core/types.js';
import {serviceReport} from '../../source/check/stack.js';
import {fakeServices, KEY, press, recordedInspection, renderApp, waitForText} from './helpers.js';

after(() => cleanup());

const REDIS = {appendonly: false, save: '3600 1 300 100 60 10000', dir: '/data', from: {appendonly: 'CONFIG GET', save: 'CONFIG GET', dir: 'CONFIG GET'}, configFile: null, notes: []};

/** The recorded opencode-cloud report as the app service of project `agents`, next to a Redis without AOF. */
function stackReport(report: Report): void {
	report.container.compose = {project: 'agents', service: 'app'};
	const app = serviceReport({facts: {id: report.container.id, name: report.container.name, state: {status: 'running'}, labels: {}} as any, profile: null as any, report});
	const redis = {
		name: 'redis', container: {id: 'redis-id', name: 'agents_redis_1', state: 'running'}, profile: 'redis-aof', verdict: 'warnings' as const,
		counts: {errors: 0, warnings: 1, infos: 0}, redis: REDIS,
		findings: [{code: 'redis-no-aof', severity: 'warning' as const, path: '/data', message: 'Redis in agents_redis_1 has no append-only file', fix: 'docker exec agents_redis_1 redis-cli CONFIG SET appendonly yes'}],
	};
	report.services = [app, redis];
}

describe('Stack screen', () => {
	it('lists each service with its verdict, shows the selected one\'s fixes, and enter checks it', async () => {
		const services = fakeServices({inspection: recordedInspection(stackReport)});
		const app = renderApp({services}, {columns: 100, rows: 30});
		await waitForText(app.lastFrame, 'Overview');
		await press(app, '9');
		let frame = await waitForText(app.lastFrame, 'compose project agents · 2 services');
		assert.match(frame, /✗ app +opencode-cloud-sandbox +running +opencode-cloud +3 errors · 4 warnings +◂ shown/);
		assert.match(frame, /! redis +agents_redis_1 +running +redis-aof +0 errors · 1 warning/);
		await press(app, 'j');
		frame = await waitForText(app.lastFrame, 'fix: docker exec agents_redis_1 redis-cli CONFIG SET appendonly yes');
		assert.match(frame, /redis appendonly no \(CONFIG GET\) · save "3600 1 300 100 60 10000"/);
		assert.deepEqual(services.checked, ['opencode-cloud-sandbox-id']);
		await press(app, KEY.enter);
		await waitForText(app.lastFrame, 'compose project agents');
		assert.deepEqual(services.checked, ['opencode-cloud-sandbox-id', 'redis-id']);
		app.unmount();
	});

	it('says why it is empty outside a compose project', async () => {
		const app = renderApp();
		await waitForText(app.lastFrame, 'Overview');
		await press(app, '9');
		await waitForText(app.lastFrame, 'not part of a compose project with other services');
		app.unmount();
	});
});
