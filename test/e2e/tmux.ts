import {spawnSync} from 'node:child_process';
import {existsSync, rmSync, statSync} from 'node:fs';
import {after, before} from 'node:test';
import type Docker from 'dockerode';
import {cleanup, engineOrSkip, image, LABELS, RUN_ID, uniqueName} from '../helpers/engine.js';

const SOCKET = `occt-${RUN_ID}`;

function tmux(...args: string[]): string {
	const result = spawnSync('tmux', ['-L', SOCKET, ...args], {encoding: 'utf8'});
	if (result.status !== 0) {
		throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
	}

	return result.stdout;
}

/**
 * Build dist/ as `npm test` does: tsc, then the bundle, whose dist/cli.js is CommonJS (tsc's alone would not run). tsc
 * emits even when another module has a type error, and the bundle does not wait on it; the test checks it emitted.
 */
export function buildCli(): string {
	const started = Date.now();
	spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], {stdio: 'ignore'});
	rmSync('dist/chunks', {recursive: true, force: true});
	spawnSync(process.execPath, ['scripts/bundle.mjs'], {stdio: 'ignore'});
	if (!existsSync('dist/cli.js') || statSync('dist/cli.js').mtimeMs < started - 1000) {
		throw new Error('npm run build did not produce dist/cli.js');
	}

	return 'dist/cli.js';
}

/** A terminal of a given size on our own tmux server, running a plain shell in this directory. */
export function openTerminal(columns: number, rows: number, session = 'e2e'): {session: string} {
	tmux('new-session', '-d', '-x', String(columns), '-y', String(rows), '-s', session, '-c', process.cwd(), 'sh');
	return {session};
}

export function type(session: string, text: string, enter = false): void {
	tmux('send-keys', '-t', session, '-l', text);
	if (enter) {
		tmux('send-keys', '-t', session, 'Enter');
	}
}

/** Named keys, as tmux calls them: Tab, BTab (shift+tab), Escape, Enter, Up, Down. */
export function key(session: string, ...names: string[]): void {
	tmux('send-keys', '-t', session, ...names);
}

export function screen(session: string): string {
	return tmux('capture-pane', '-p', '-t', session);
}

/** The pane with its SGR codes (inverse, bold, colours), for what plain text cannot show: where the cursor is. */
export function screenWithAttributes(session: string): string {
	return tmux('capture-pane', '-e', '-p', '-t', session);
}

/** Poll the pane until it shows what we wait for. */
export async function waitForScreen(session: string, predicate: (text: string) => boolean, timeoutMs = 30_000): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const text = screen(session);
		if (predicate(text)) {
			return text;
		}

		if (Date.now() > deadline) {
			throw new Error(`timed out; the pane shows:\n${text}`);
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}
}

export function closeTerminals(): void {
	spawnSync('tmux', ['-L', SOCKET, 'kill-server'], {stdio: 'ignore'});
}

/**
 * The environment prefix for a command typed into the pane: the engine the tests use, and CI=true, so every tmux
 * test also proves that a terminal with CI set still gets live frames (Ink alone would render none).
 */
export function envPrefix(): string {
	return `CI=true ${process.env.DOCKER_HOST ? `DOCKER_HOST='${process.env.DOCKER_HOST}' ` : ''}`;
}

export interface TmuxSandbox {
	docker?: Docker;
	name: string;
	cli: string;
}

/**
 * For a describe block: build the CLI and start an opencode-cloud-like container (data on a named volume, the
 * workspace on the image's anonymous VOLUME) before its tests; close the terminals and remove it all after them.
 */
export function tmuxSandbox(prefix: string): TmuxSandbox {
	const sandbox: TmuxSandbox = {name: '', cli: ''};
	let volume = '';
	before(async t => {
		const engine = await engineOrSkip(t as any);
		if (!engine) {
			return;
		}

		const {docker} = engine;
		sandbox.docker = docker;
		sandbox.cli = buildCli();
		sandbox.name = uniqueName(prefix);
		volume = `${sandbox.name}-data`;
		const tag = await image(docker, {volumes: ['/home/opencoder/workspace']});
		await docker.createVolume({Name: volume, Labels: LABELS});
		const container = await docker.createContainer({
			name: sandbox.name,
			Image: tag,
			Labels: {...LABELS, 'managed-by': 'opencode-cloud'},
			HostConfig: {NetworkMode: 'none', Mounts: [{Type: 'volume', Source: volume, Target: '/home/opencoder/.local/share/opencode'}]},
		});
		await container.start();
	});

	after(async () => {
		closeTerminals();
		if (sandbox.docker) {
			await cleanup(sandbox.docker, [volume]);
		}
	});

	return sandbox;
}
