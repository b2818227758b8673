// A real OpenSSH server on a free loopback port, with throwaway keys, known_hosts and an ssh config, for the
// tests and the bench. Nothing under /root/.ssh is read or written: ssh is reached through a wrapper on PATH
// that adds `-F <our config>` (ssh takes ~ from the password file, not from HOME, so HOME alone is not enough).
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export const SSHD = '/usr/sbin/sshd';
/** The docker CLI the remote end runs (the one with `system dial-stdio`). */
export const REMOTE_DOCKER = existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : '/usr/bin/docker';

export interface SshBox {
	dir: string;
	port: number;
	/** Prepend to PATH: a `ssh` that reads our config, and nothing else. */
	binDir: string;
	config: string;
	/** The environment for occ-doctor or docker as the client: our ssh first on PATH, no agent. */
	env: NodeJS.ProcessEnv;
	/** Logins sshd accepted so far, from its own log. */
	logins(): number;
	/** Sessions (exec channels) sshd started so far, from its log: each dial-stdio or other remote command. */
	sessions(): number;
	log(): string;
	/** Kill sshd's per-connection processes (its children): every link drops as if the network went away. Returns how many. */
	cutLinks(): number;
	stop(): Promise<void>;
}

/** The aliases in the ssh config, each reaching one behaviour of the remote end (authorized_keys options). */
export const ALIASES = ['box', 'box-nobody', 'box-nofwd', 'box-nodocker', 'box-noperm', 'box-down', 'box-nodial', 'box-denied', 'box-unknown', 'box-changed', 'box-refused', 'box-nxdomain'] as const;

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as {port: number};
			server.close(() => resolve(port));
		});
	});
}

function keygen(path: string, comment: string): string {
	const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], {encoding: 'utf8'});
	if (result.status !== 0) {
		throw new Error(`ssh-keygen failed: ${result.stderr}`);
	}

	return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** Wait until the predicate holds, checking every 50 ms, or fail with what the caller can show. */
async function until(predicate: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) {
			throw new Error(what());
		}

		// eslint-disable-next-line no-await-in-loop
		await new Promise(resolve => setTimeout(resolve, 50));
	}
}

/**
 * Start sshd (as root, so the remote commands run as root) whose `docker` reaches `dockerHost` through SetEnv.
 * Each alias logs in with its own key; authorized_keys options give each key one remote behaviour.
 */
/** `slowPort`: also an alias `box-slow` reaching sshd through that port (the bench's delaying proxy). */
export async function startSshd(dockerHost: string, options: {slowPort?: number} = {}): Promise<SshBox> {
	if (!existsSync(SSHD) || process.getuid?.() !== 0) {
		throw new Error(`a real sshd needs root and ${SSHD} (apt-get install openssh-server openssh-client)`);
	}

	// sshd refuses to start without its privilege separation directory (the package's unit makes it at boot).
	mkdirSync('/run/sshd', {recursive: true, mode: 0o755});
	const dir = mkdtempSync(join(tmpdir(), 'occs-'));
	chmodSync(dir, 0o700);
	const binDir = join(dir, 'bin');
	mkdirSync(binDir);
	const hostKey = join(dir, 'host_key');
	const hostPub = keygen(hostKey, 'occ-doctor test host');
	const otherPub = keygen(join(dir, 'other_host_key'), 'another host');
	const keys: Record<string, string> = {};
	for (const alias of ['box', 'box-nobody', 'box-nofwd', 'box-nodocker', 'box-noperm', 'box-down', 'box-nodial', 'box-denied']) {
		keys[alias] = keygen(join(dir, `id_${alias}`), alias);
	}

	const docker = REMOTE_DOCKER;
	const forced: Record<string, string> = {
		// The session (the login's shell on the host) as nobody, who may not read the engine's data root; the forward
		// to the engine's socket is sshd's, as root: databases and walks go through the archive API instead.
		'box-nobody': String.raw`command="exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp /bin/sh -c \"$SSH_ORIGINAL_COMMAND\""`,
		// sshd refuses to forward the engine's socket for this key: every connection stays a dial-stdio session.
		'box-nofwd': 'no-port-forwarding',
		'box-nodocker': String.raw`command="PATH=/var/empty; eval \"$SSH_ORIGINAL_COMMAND\""`,
		// The real docker CLI as nobody, who cannot reach the engine's socket.
		'box-noperm': `command="exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp ${docker} system dial-stdio"`,
		'box-down': `command="DOCKER_HOST=unix://${dir}/no-engine.sock exec ${docker} system dial-stdio"`,
		// No docker CLI without dial-stdio (before 18.09) is installable here: the real CLI asked for a subcommand it lacks.
		'box-nodial': `command="exec ${docker} system dial-stdio-unsupported"`,
	};
	writeFileSync(join(dir, 'authorized_keys'), ['box', 'box-nobody', 'box-nofwd', 'box-nodocker', 'box-noperm', 'box-down', 'box-nodial'].map(alias => `${forced[alias] ? `${forced[alias]} ` : ''}${keys[alias]}\n`).join(''));

	const port = await freePort();
	const logFile = join(dir, 'sshd.log');
	writeFileSync(join(dir, 'sshd_config'), [
		`Port ${port}`,
		'ListenAddress 127.0.0.1',
		`HostKey ${hostKey}`,
		`PidFile ${dir}/sshd.pid`,
		`AuthorizedKeysFile ${dir}/authorized_keys`,
		'StrictModes no',
		'UsePAM no',
		'PermitRootLogin prohibit-password',
		'PasswordAuthentication no',
		'KbdInteractiveAuthentication no',
		'LogLevel VERBOSE',
		'MaxSessions 10',
		'PrintMotd no',
		`SetEnv DOCKER_HOST=${dockerHost}`,
		'',
	].join('\n'));

	const known = (file: string, pub: string) => {
		const key = pub.split(' ').slice(0, 2).join(' ');
		writeFileSync(join(dir, file), [port, options.slowPort].filter(Boolean).map(p => `[127.0.0.1]:${p} ${key}\n`).join(''));
	};

	known('known_hosts', hostPub);
	known('known_hosts_changed', otherPub);
	writeFileSync(join(dir, 'known_hosts_empty'), '');
	const host = (alias: string, lines: string[]) => [`Host ${alias}`, ...lines.map(l => `  ${l}`)].join('\n');
	const common = (alias: string, knownHosts = 'known_hosts') => [
		'HostName 127.0.0.1', `Port ${port}`, 'User root', `IdentityFile ${dir}/id_${alias}`, 'IdentitiesOnly yes',
		`UserKnownHostsFile ${dir}/${knownHosts}`, 'GlobalKnownHostsFile /dev/null',
	];
	const config = join(dir, 'ssh_config');
	writeFileSync(config, [
		...['box', 'box-nobody', 'box-nofwd', 'box-nodocker', 'box-noperm', 'box-down', 'box-nodial', 'box-denied'].map(alias => host(alias, common(alias))),
		host('box-unknown', common('box', 'known_hosts_empty')),
		host('box-changed', common('box', 'known_hosts_changed')),
		host('box-refused', [...common('box').map(l => (l.startsWith('Port') ? `Port ${port === 1 ? 2 : 1}` : l))]),
		host('box-nxdomain', ['HostName occ-doctor-no-such-host.invalid', ...common('box').slice(1)]),
		...(options.slowPort ? [host('box-slow', common('box').map(l => (l.startsWith('Port') ? `Port ${options.slowPort}` : l)))] : []),
		'',
	].join('\n\n'));
	writeFileSync(join(binDir, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${config} "$@"\n`, {mode: 0o755});

	const child: ChildProcess = spawn(SSHD, ['-D', '-f', join(dir, 'sshd_config'), '-E', logFile], {stdio: 'ignore'});
	let exited = false;
	child.on('exit', () => {
		exited = true;
	});
	const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
	await until(() => exited || log().includes(`Server listening on 127.0.0.1 port ${port}`), 15_000, () => `sshd did not start:\n${log()}`);
	if (exited) {
		throw new Error(`sshd exited at start:\n${log()}`);
	}

	const env: NodeJS.ProcessEnv = {...process.env, PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`};
	delete env.SSH_AUTH_SOCK;
	return {
		dir,
		port,
		binDir,
		config,
		env,
		logins: () => log().split('\n').filter(line => line.includes('Accepted publickey')).length,
		sessions: () => log().split('\n').filter(line => line.includes('Starting session')).length,
		log,
		cutLinks() {
			let cut = 0;
			for (const entry of readdirSync('/proc').filter(n => /^\d+$/.test(n))) {
				try {
					const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
					if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === child.pid) {
						process.kill(Number(entry), 'SIGKILL');
						cut++;
					}
				} catch {
					// Gone already.
				}
			}

			return cut;
		},
		async stop() {
			if (!exited) {
				child.kill('SIGTERM');
				await until(() => exited, 10_000, () => 'sshd did not stop');
			}

			rmSync(dir, {recursive: true, force: true});
		},
	};
}
