import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {analyze} from '../../source/core/analyze.js';
import {composeUp, fixLine} from '../../source/core/fix.js';
import {findProfile} from '../../source/core/profiles.js';
import {makeFacts} from '../helpers/facts.js';

const compose = (version: string) => ({
	'com.docker.compose.project': 'my app',
	'com.docker.compose.service': 'web',
	'com.docker.compose.version': version,
	'com.docker.compose.project.config_files': '/srv/app/docker-compose.yml,/srv/app/override.yml',
});

describe('fix steps', () => {
	it('compose up -d runs from anywhere: the project and every file from the labels, v1 as docker-compose, v2 as docker compose', () => {
		assert.deepEqual(composeUp({labels: compose('1.29.2')}), {command: 'docker-compose -p \'my app\' -f /srv/app/docker-compose.yml -f /srv/app/override.yml up -d'});
		assert.deepEqual(composeUp({labels: compose('2.24.6')}), {command: 'docker compose -p \'my app\' -f /srv/app/docker-compose.yml -f /srv/app/override.yml up -d'});
		assert.deepEqual(composeUp({labels: {'com.docker.compose.project': 'p'}}), {command: 'docker compose up -d', label: 'in the project\'s directory'});
	});

	it('the one line is the steps in order, commands after their labels', () => {
		assert.equal(fixLine([{command: 'docker cp a:/x ./x-saved', label: 'save it first'}, {advice: 'recreate a with -v x:/x'}, {command: 'docker cp ./x-saved/. a:/x'}]), 'save it first: docker cp a:/x ./x-saved ; then recreate a with -v x:/x ; then docker cp ./x-saved/. a:/x');
	});

	it('a compose service\'s fixes name its file and run up -d as a command; a plain container\'s recreate is advice', () => {
		const layer = (labels: Record<string, string>) => analyze(makeFacts({labels, restartPolicy: 'no'}), findProfile('opencode')!, 'test').findings;
		const inCompose = layer(compose('1.29.2'));
		const restart = inCompose.find(f => f.code === 'no-restart-policy')!;
		assert.deepEqual(restart.steps, [{advice: 'add `restart: unless-stopped` under services.web in /srv/app/docker-compose.yml, /srv/app/override.yml'}, {command: 'docker-compose -p \'my app\' -f /srv/app/docker-compose.yml -f /srv/app/override.yml up -d'}]);
		const plain = layer({}).find(f => f.code === 'no-restart-policy')!;
		assert.deepEqual(plain.steps, [{command: 'docker update --restart unless-stopped app'}]);
	});
});
