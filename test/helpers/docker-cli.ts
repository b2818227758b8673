import {execFile} from 'node:child_process';
import {chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';

export interface Run {
	code: number;
	stdout: string;
	stderr: string;
}

/** Run a command with the test's environment (DOCKER_HOST included); never throws on a non-zero exit. */
export function run(file: string, args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string; uid?: number; gid?: number} = {}): Promise<Run> {
	return new Promise(resolve => {
		const child = execFile(file, args, {cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8', uid: options.uid, gid: options.gid}, (error, stdout, stderr) => {
			const code = error ? (typeof (error as {code?: unknown}).code === 'number' ? (error as {code: number}).code : 1) : 0;
			resolve({code, stdout, stderr});
		});
		if (options.input !== undefined) {
			child.stdin?.end(options.input);
		}
	});
}

/** `docker ...`, failing the test with docker's own message when it fails. */
export async function docker(...args: string[]): Promise<string> {
	const result = await run('docker', args);
	if (result.code !== 0) {
		throw new Error(`docker ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
	}

	return result.stdout.trim();
}

/** `docker-compose -p <project> -f <file> ...` (Debian's compose 1.29). */
export async function compose(project: string, file: string, ...args: string[]): Promise<string> {
	const result = await run('docker-compose', ['-p', project, '-f', file, ...args]);
	if (result.code !== 0) {
		throw new Error(`docker-compose ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
	}

	return result.stdout.trim();
}

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The CLI from source (no build needed): `node --import tsx cli.tsx ...`; `cwd` runs another copy (readableCopy). */
export function cli(args: string[], options: {env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string} = {}): Promise<Run> {
	return run(process.execPath, ['--import', 'tsx', 'cli.tsx', ...args], {cwd: REPO_ROOT, ...options});
}

/** Hard links where the file system allows (same device), copies elsewhere; directories 0755, symlinks kept. */
function linkTree(from: string, to: string): void {
	mkdirSync(to, {recursive: true, mode: 0o755});
	chmodSync(to, 0o755);
	for (const entry of readdirSync(from, {withFileTypes: true})) {
		const [source, target] = [join(from, entry.name), join(to, entry.name)];
		if (entry.isDirectory()) {
			linkTree(source, target);
		} else if (entry.isSymbolicLink()) {
			symlinkSync(readlinkSync(source), target);
		} else {
			try {
				linkSync(source, target);
			} catch {
				copyFileSync(source, target);
			}
		}
	}
}

/**
 * The CLI's sources and node_modules under a world-readable temp dir, for a test that runs the CLI as another user:
 * a checkout inside a 0700 directory (a clone under root's home, `mktemp -d`) is unreachable for that user.
 */
export function readableCopy(): {dir: string; remove: () => void} {
	const dir = mkdtempSync(join(tmpdir(), 'occt-readable-'));
	chmodSync(dir, 0o755);
	for (const file of ['cli.tsx', 'package.json', 'tsconfig.json']) {
		copyFileSync(join(REPO_ROOT, file), join(dir, file));
		chmodSync(join(dir, file), 0o644);
	}

	linkTree(join(REPO_ROOT, 'source'), join(dir, 'source'));
	// A worktree's node_modules may be a symlink into another checkout: link what it points at.
	linkTree(realpathSync(join(REPO_ROOT, 'node_modules')), join(dir, 'node_modules'));

	return {dir, remove: () => rmSync(dir, {recursive: true, force: true})};
}
