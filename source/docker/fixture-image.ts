import {existsSync, readFileSync, statSync} from 'node:fs';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import {DoctorError} from './engine.js';

export const BUSYBOX = '/bin/busybox';

/** An idle main process that exits at once on SIGTERM, so restarts take milliseconds. */
export const IDLE_CMD = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while true; do sleep 1 & wait $!; done'];

export interface ImageSpec {
	tag: string;
	/** Image VOLUME paths. */
	volumes?: string[];
	/** Extra Dockerfile lines after busybox is installed (RUN uses busybox sh). */
	lines?: string[];
	labels?: Record<string, string>;
	user?: string;
	env?: Record<string, string>;
	cmd?: string[];
	/** Host files copied into the image at the same paths (symlinks followed): a real binary and its libraries. */
	files?: string[];
}

/**
 * Build an image FROM scratch with Debian's busybox-static: no registry is needed.
 * Used by the tests and by `occ-doctor demo`.
 */
export async function buildBusyboxImage(docker: Docker, spec: ImageSpec): Promise<string> {
	if (!existsSync(BUSYBOX)) {
		throw new DoctorError(`no ${BUSYBOX} to build the image from: sudo apt-get install busybox-static`);
	}

	const dockerfile = [
		'FROM scratch',
		`COPY busybox ${BUSYBOX}`,
		`RUN ["${BUSYBOX}", "--install", "-s", "/bin"]`,
		...(spec.files?.length ? ['COPY rootfs/ /'] : []),
		'RUN mkdir -p /tmp /root /etc && chmod 1777 /tmp && echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd && echo "opencoder:x:1000:1000::/home/opencoder:/bin/sh" >> /etc/passwd && echo "root:x:0:" > /etc/group && echo "opencoder:x:1000:" >> /etc/group',
		...(spec.lines ?? []),
		...Object.entries(spec.env ?? {}).map(([k, v]) => `ENV ${k}=${JSON.stringify(v)}`),
		...Object.entries(spec.labels ?? {}).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`),
		...(spec.volumes?.length ? [`VOLUME ${JSON.stringify(spec.volumes)}`] : []),
		...(spec.user ? [`USER ${spec.user}`] : []),
		`CMD ${JSON.stringify(spec.cmd ?? IDLE_CMD)}`,
	].join('\n') + '\n';

	const pack = tar.pack();
	pack.entry({name: 'Dockerfile'}, dockerfile);
	pack.entry({name: 'busybox', mode: 0o755}, readFileSync(BUSYBOX));
	for (const file of spec.files ?? []) {
		pack.entry({name: `rootfs${file}`, mode: statSync(file).mode & 0o7777}, readFileSync(file));
	}

	pack.finalize();

	const stream = await docker.buildImage(pack as unknown as NodeJS.ReadableStream, {t: spec.tag, rm: true, forcerm: true});
	await new Promise<void>((resolve, reject) => {
		docker.modem.followProgress(stream, (error: Error | null, output: Array<{error?: string}>) => {
			const failed = error ?? output.find(o => o.error);
			if (failed) {
				reject(new DoctorError(`building ${spec.tag} failed: ${failed instanceof Error ? failed.message : failed.error}`));
			} else {
				resolve();
			}
		});
	});
	return spec.tag;
}
