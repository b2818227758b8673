import {PassThrough} from 'node:stream';
import type Docker from 'dockerode';

export interface ExecResult {
	exitCode: number;
	stdout: string;
	stderr: string;
}

/**
 * Run a command in a running container and collect its output. Used only where the archive API cannot help:
 * tmpfs (it sees beneath the mount) and removing files (it cannot delete). A missing binary gives exit 126/127.
 */
export async function execIn(container: Docker.Container, cmd: string[], options: {user?: string; timeoutMs?: number} = {}): Promise<ExecResult> {
	const exec = await container.exec({Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(options.user === undefined ? {} : {User: options.user})});
	const stream = await exec.start({hijack: true, stdin: false}) as unknown as NodeJS.ReadableStream & {destroy(): void};
	const out: Buffer[] = [];
	const err: Buffer[] = [];
	const stdout = new PassThrough();
	const stderr = new PassThrough();
	stdout.on('data', (c: Buffer) => out.push(c));
	stderr.on('data', (c: Buffer) => err.push(c));
	container.modem.demuxStream(stream, stdout, stderr);
	await new Promise<void>((resolve, reject) => {
		// A command that hangs must not hang the probe.
		const timer = setTimeout(() => {
			stream.destroy();
			reject(new Error(`\`${cmd.join(' ')}\` in the container did not finish in ${(options.timeoutMs ?? 30_000) / 1000} s`));
		}, options.timeoutMs ?? 30_000);
		stream.on('end', () => {
			clearTimeout(timer);
			resolve();
		});
		stream.on('close', () => {
			clearTimeout(timer);
			resolve();
		});
		stream.on('error', (error: Error) => {
			clearTimeout(timer);
			reject(error);
		});
	});
	const info = await exec.inspect();
	return {exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')};
}

export function shellQuote(s: string): string {
	return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll('\'', '\'"\'"\'')}'`;
}
