import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import Database from 'better-sqlite3';
import tar from 'tar-stream';
import {OPENCODE_CLOUD_VOLUMES} from '../core/profiles.js';
import {explainEngineError, DoctorError, type Engine} from '../docker/engine.js';
import {BUSYBOX, IDLE_CMD, buildBusyboxImage} from '../docker/fixture-image.js';

/** Everything the demo makes carries this label with the demo's id: cleanup finds it all, even after a crash. */
export const DEMO_LABEL = 'dev.occ-doctor.demo';
const HOME = '/home/opencoder';
/** The one critical path the demo leaves on an anonymous volume (an image VOLUME), so the doctor has something real to find. */
export const DEMO_ANONYMOUS = `${HOME}/workspace`;

export interface DemoSetup {
	id: string;
	containerId: string;
	containerName: string;
	volumes: string[];
	image: string;
}

/** A small, believable file tree: opencode.db (WAL, newest rows only in -wal), the JSON storage it was migrated from, a repository, a key, a user, a config. */
function seedArchive(): tar.Pack {
	const dir = mkdtempSync(join(tmpdir(), 'occ-demo-'));
	try {
		const file = join(dir, 'opencode.db');
		const db = new Database(file);
		db.pragma('journal_mode = WAL');
		db.pragma('wal_autocheckpoint = 0');
		db.exec(`CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT);
			CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT, title TEXT);
			CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, role TEXT);
			CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, type TEXT, text TEXT);`);
		db.prepare('INSERT INTO project VALUES (?, ?)').run('demo-project', `${DEMO_ANONYMOUS}/demo-repo`);
		const titles = ['Fix the flaky upload test', 'Add retries to the sync job', 'Explain the billing module'];
		db.transaction(() => {
			titles.forEach((title, s) => {
				db.prepare('INSERT INTO session VALUES (?, ?, ?)').run(`ses_${s}`, 'demo-project', title);
				for (let m = 0; m < 4; m++) {
					db.prepare('INSERT INTO message VALUES (?, ?, ?)').run(`msg_${s}_${m}`, `ses_${s}`, m % 2 ? 'assistant' : 'user');
					for (let p = 0; p < 5; p++) {
						db.prepare('INSERT INTO part VALUES (?, ?, ?, ?)').run(`prt_${s}_${m}_${p}`, `msg_${s}_${m}`, 'text', `part ${p}`);
					}
				}
			});
		})();
		// Read the files while the connection is open: closing would checkpoint the -wal away.
		const main = readFileSync(file);
		const wal = readFileSync(`${file}-wal`);
		db.close();

		const data = 'home/opencoder/.local/share/opencode';
		const owner = {uid: 1000, gid: 1000};
		const pack = tar.pack();
		const put = (name: string, content: string | Buffer, mode = 0o644) => pack.entry({name, mode, ...owner}, content);
		put(`${data}/opencode.db`, main);
		put(`${data}/opencode.db-wal`, wal);
		titles.forEach((title, s) => {
			put(`${data}/storage/session/demo-project/ses_${s}.json`, JSON.stringify({id: `ses_${s}`, projectID: 'demo-project', title}));
			put(`${data}/storage/message/ses_${s}/msg_${s}_0.json`, JSON.stringify({id: `msg_${s}_0`, sessionID: `ses_${s}`, role: 'user'}));
		});
		put(`${data}/storage/project/demo-project.json`, JSON.stringify({id: 'demo-project'}));
		put('home/opencoder/workspace/demo-repo/README.md', '# demo-repo\n');
		put('home/opencoder/workspace/demo-repo/.git/HEAD', 'ref: refs/heads/main\n');
		put('home/opencoder/.ssh/id_ed25519.pub', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDEMO demo@occ-doctor\n');
		put('home/opencoder/.config/opencode/opencode.json', '{"theme":"dark"}\n');
		put('var/lib/opencode-users/users', 'opencoder:x:1000:1000\n', 0o600);
		pack.finalize();
		return pack;
	} finally {
		rmSync(dir, {recursive: true, force: true});
	}
}

/** Build the image, create the volumes, start the container. Checks the signal between steps so Ctrl+C stops early. */
export async function createDemo(engine: Engine, id: string, signal: AbortSignal, log: (line: string) => void): Promise<DemoSetup> {
	if (!existsSync(BUSYBOX)) {
		throw new DoctorError(`the demo builds its image from ${BUSYBOX}, which is missing: sudo apt-get install busybox-static`);
	}

	const {docker} = engine;
	const labels = {[DEMO_LABEL]: id};
	const image = `occ-doctor-demo/sandbox:${id}`;
	const containerName = `occ-doctor-demo-sandbox-${id}`;
	try {
		log(`building ${image} from busybox (no registry needed)…`);
		await buildBusyboxImage(docker, {tag: image, labels, volumes: [DEMO_ANONYMOUS], env: {HOME}});
		signal.throwIfAborted();

		const named = OPENCODE_CLOUD_VOLUMES.filter(v => v.path !== DEMO_ANONYMOUS);
		const volumes: string[] = [];
		for (const v of named) {
			const name = `${v.volume}-${id}`;
			await docker.createVolume({Name: name, Labels: labels});
			volumes.push(name);
		}

		signal.throwIfAborted();
		log(`starting ${containerName}: ${volumes.length} named volumes, ${DEMO_ANONYMOUS} left on an anonymous volume…`);
		const container = await docker.createContainer({
			name: containerName,
			Image: image,
			Cmd: IDLE_CMD,
			Labels: {...labels, 'managed-by': 'opencode-cloud'},
			HostConfig: {
				NetworkMode: 'none',
				Mounts: named.map((v, i) => ({Type: 'volume' as const, Source: volumes[i]!, Target: v.path})),
			},
		});
		// Seeded before the start through the archive API, so the first check sees all of it.
		await container.putArchive(seedArchive() as unknown as NodeJS.ReadableStream, {path: '/'});
		await container.start();
		signal.throwIfAborted();
		return {id, containerId: container.id, containerName, volumes, image};
	} catch (error) {
		throw signal.aborted ? signal.reason : explainEngineError(error, engine.target);
	}
}

/** Remove what the demo with this id made: containers (with their anonymous volumes), named volumes, the image. */
export async function removeDemo(engine: Engine, id: string): Promise<{containers: number; volumes: number; images: number}> {
	const {docker} = engine;
	const filter = {label: [`${DEMO_LABEL}=${id}`]};
	const removed = {containers: 0, volumes: 0, images: 0};
	for (const c of await docker.listContainers({all: true, filters: filter})) {
		// v: true takes the anonymous volume (the workspace) with it.
		await docker.getContainer(c.Id).remove({force: true, v: true});
		removed.containers++;
	}

	const {Volumes: volumes} = await docker.listVolumes({filters: filter});
	for (const v of volumes ?? []) {
		await docker.getVolume(v.Name).remove({force: true});
		removed.volumes++;
	}

	for (const image of await docker.listImages({filters: filter})) {
		await docker.getImage(image.Id).remove({force: true});
		removed.images++;
	}

	return removed;
}
