import {execFile} from 'node:child_process';
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

/** The CLI from source (no build needed): `node --import tsx cli.tsx ...`. */
export function cli(args: string[], options: {env?: NodeJS.ProcessEnv; uid?: number; gid?: number} = {}): Promise<Run> {
	return run(process.execPath, ['--import', 'tsx', 'cli.tsx', ...args], {cwd: REPO_ROOT, ...options});
}
