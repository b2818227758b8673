// The test launcher behind `npm test`: finds the test files (Node 20's --test takes no globs), makes sure an engine
// answers (the one at DOCKER_HOST, else a private dockerd when we are root), runs them, and stops what it started.
import {spawn} from 'node:child_process';
import {existsSync, readdirSync} from 'node:fs';
import {join, relative} from 'node:path';
import Docker from 'dockerode';
import {engineTarget} from '../source/docker/engine.js';
import {canStartPrivateEngine, startPrivateEngine, type PrivateEngine} from '../source/docker/private-engine.js';

function testFiles(dir: string): string[] {
	return readdirSync(dir, {withFileTypes: true}).flatMap(entry => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) {
			return testFiles(path);
		}

		return /\.test\.tsx?$/.test(entry.name) ? [path] : [];
	});
}

async function engineAnswers(host: string | undefined): Promise<boolean> {
	try {
		await new Docker(engineTarget(host).options).ping();
		return true;
	} catch {
		return false;
	}
}

const args = process.argv.slice(2);
const roots = args.length > 0 ? args : ['test'];
const files = roots.filter(r => existsSync(r)).flatMap(r => (/\.test\.tsx?$/.test(r) ? [r] : testFiles(r))).map(f => relative(process.cwd(), f)).sort();
const needsEngine = files.some(f => f.includes(`engine${'/'}`) || f.includes('e2e'));

let engine: PrivateEngine | undefined;
const env = {...process.env};
if (needsEngine && !(await engineAnswers(env.DOCKER_HOST))) {
	if (canStartPrivateEngine()) {
		engine = await startPrivateEngine({prefix: 'occt-'});
		env.DOCKER_HOST = engine.host;
		process.stderr.write(`test: started a private Docker engine at ${engine.host}\n`);
	} else {
		process.stderr.write(`test: no Docker engine answers${env.CI === 'true' ? ' and CI=true: the engine tests cannot run' : '; engine tests will skip'} (run as root with docker.io installed, or set DOCKER_HOST)\n`);
		if (env.CI === 'true') {
			process.exit(1);
		}
	}
}

// Ink decides at import that CI gets no live frames; the screen and tmux tests need them. The tests learn
// about CI from OCC_TEST_CI instead, so engine tests still refuse to skip there.
if (env.CI && env.CI !== '0' && env.CI !== 'false') {
	env.OCC_TEST_CI = 'true';
}

delete env.CI;
delete env.CONTINUOUS_INTEGRATION;

const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', '--import', 'tsx', ...files], {stdio: 'inherit', env});
const stop = async () => {
	await engine?.stop();
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		child.kill(signal);
	});
}

const code = await new Promise<number>(resolve => {
	child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
await stop();
process.exit(code);
