import type Docker from 'dockerode';

/** Sentinels left in container directories, listed with ls through exec (the test images have busybox). */
export async function sentinelsLeft(container: Docker.Container, paths: string[]): Promise<string[]> {
	const exec = await container.exec({Cmd: ['sh', '-c', `ls -1a ${paths.join(' ')} 2>/dev/null | grep occ-doctor-probe || true`], AttachStdout: true, AttachStderr: true, User: '0'});
	const stream = await exec.start({hijack: true, stdin: false});
	const chunks: Buffer[] = [];
	stream.on('data', (c: Buffer) => chunks.push(c));
	await new Promise(resolve => stream.on('end', resolve));
	// Each line carries exec's 8-byte stream header in front.
	return Buffer.concat(chunks).toString('utf8').split('\n').map(l => l.replace(/^[\s\S]{8}/, '').trim()).filter(l => l.includes('occ-doctor-probe'));
}
