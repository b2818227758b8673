// The engine over SSH, the way the docker CLI reaches it: the user's own `ssh` runs `docker system dial-stdio` on
// the remote, so ~/.ssh/config, the agent and known_hosts work as they do for `ssh`. One login per run: a
// ControlMaster in a private directory, and every HTTP connection is a session multiplexed on it.
import type {ChildProcess} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import type {Agent} from 'node:http';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {connect as connectSocket, type Socket} from 'node:net';
import {Duplex} from 'node:stream';
import {DoctorError} from './errors.js';
import {HostShell, type Shell} from './host-shell.js';
import {pipelined} from './pipeline.js';

/** A prefetched answer (SshTransport.prefetch). */
export interface EarlyAnswer {
	statusCode: number;
	/** Lower-cased names. */
	headers: Record<string, string>;
	body: Buffer;
}

// node:child_process and node:http load on the first ssh:// use: engine.ts imports this module for every run, and a
// check of a local engine has no use for them (docs/startup.md).
const lazy = createRequire(import.meta.url);
const childProcess = () => lazy('node:child_process') as typeof import('node:child_process');
const spawn = ((...args: unknown[]) => (childProcess().spawn as (...a: unknown[]) => ChildProcess)(...args)) as typeof import('node:child_process').spawn;
const spawnSync = ((...args: unknown[]) => (childProcess().spawnSync as (...a: unknown[]) => unknown)(...args)) as typeof import('node:child_process').spawnSync;

/**
 * sshd allows 10 sessions per connection by default, and counts a session until its close is through: stay under
 * it with room for the host shell (the login's own session, kept), a hijacked exec and sessions still closing.
 */
export const MAX_SESSIONS = 7;
/** Channels to the forwarded socket opened ahead of need, so a burst of requests does not wait a round trip each to open one. */
export const SPARE_CHANNELS = 4;
/** How long the early GETs (prefetch) may take before they are dropped and asked again through the forward. */
const EARLY_ANSWER_MS = 5000;
/** A master nobody uses any more (occ-doctor killed outright) goes away by itself after this. */
const IDLE_EXIT = '60s';
/** A link that stops answering is noticed within 3 × 5 s, so no request hangs forever. */
const KEEPALIVE = ['-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3', '-o', 'ConnectTimeout=20'];

/** ssh's arguments for an ssh:// address: the host as written (an alias works), with -l and -p only when given. */
export function sshDestination(address: string): {args: string[]; host: string} {
	const url = new URL(address);
	const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
	const args = [...(url.username ? ['-l', decodeURIComponent(url.username)] : []), ...(url.port ? ['-p', url.port] : []), '--', host];
	return {args, host};
}

/** Why ssh or the remote docker failed, from ssh's stderr and exit code: one line with the stage and its fix. */
export function explainSshFailure(stderr: string, code: number | null, host: string): DoctorError {
	const text = stderr.trim();
	const last = text.split('\n').filter(Boolean).pop() ?? `exit ${code}`;
	const line = (stage: string, fix: string) => new DoctorError(`${stage}: ${fix}`);
	if (/Could not resolve hostname/i.test(text)) {
		return line(`cannot resolve the SSH host "${host}" (name resolution)`, 'check the name in the address or context, or its HostName in ~/.ssh/config');
	}

	const tcp = /connect to host \S+ port \d+: (.*)/i.exec(text);
	if (tcp) {
		return line(`cannot open a TCP connection to ${host} (${tcp[1]!.trim()})`, `check the host and its Port in ~/.ssh/config, and that sshd runs there (\`ssh ${host}\` must work)`);
	}

	if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text)) {
		const remove = /ssh-keygen -f "[^"]*" -R "[^"]*"/.exec(text)?.[0] ?? `ssh-keygen -R ${host}`;
		return line(`the host key of ${host} has changed since you last connected (host key refused)`, `if the change is expected, remove the old key with \`${remove}\`, then accept the new one with \`ssh ${host}\` once`);
	}

	if (/Host key verification failed|host key is known/i.test(text)) {
		return line(`the host key of ${host} is not in your known_hosts (host key unknown)`, `check it and accept it once with \`ssh ${host}\`, then run occ-doctor again`);
	}

	if (/Permission denied \(|Too many authentication failures|no more authentication methods/i.test(text)) {
		return line(`ssh could not log in to ${host} (authentication)`, `make \`ssh ${host} true\` work without a prompt: an IdentityFile for it in ~/.ssh/config or a key in your agent (ssh-add)`);
	}

	if (code === 127 || /docker: (command )?not found/i.test(text)) {
		return line(`there is no \`docker\` on the PATH of ssh sessions on ${host} (remote docker CLI)`, 'install the docker CLI there, or put its directory on the PATH that non-interactive ssh sessions get');
	}

	if (/permission denied/i.test(text)) {
		return line(`the remote user may not use the Docker socket on ${host} (remote permission)`, 'add that user to the docker group there (sudo usermod -aG docker USER, then log in again), or log in as a user who may');
	}

	if (/unknown command|is not a docker command|unknown flag|dial-stdio/i.test(text)) {
		return line(`the docker CLI on ${host} has no \`docker system dial-stdio\` (remote docker too old)`, 'install Docker 18.09 or later there');
	}

	if (/Cannot connect to the Docker daemon|no such file or directory|connection refused/i.test(text)) {
		return line(`the Docker engine on ${host} is not running (${last})`, `start it there (ssh ${host} sudo systemctl start docker)`);
	}

	if (/timed out|Timeout, server .* not responding/i.test(text)) {
		return line(`the SSH link to ${host} timed out (${last})`, 'check the network, then run again');
	}

	return line(`ssh to ${host} failed (${last})`, `run \`ssh ${host} docker system dial-stdio </dev/null\` to see why`);
}

/** The stdio of one `ssh … docker system dial-stdio` as the socket an HTTP request runs over. */
class StdioSocket extends Duplex {
	private stderr = '';
	private sawData = false;

	constructor(private readonly child: ChildProcess, private readonly onFailure: (stderr: string, code: number | null, sawData: boolean) => Error | undefined) {
		super({allowHalfOpen: false});
		child.stdout!.on('data', (chunk: Buffer) => {
			this.sawData = true;
			if (!this.push(chunk)) {
				child.stdout!.pause();
			}
		});
		child.stderr!.on('data', (chunk: Buffer) => {
			this.stderr += chunk.toString('utf8');
		});
		child.stdin!.on('error', () => {});
		child.on('close', (code: number | null) => {
			const error = code === 0 ? undefined : this.onFailure(this.stderr, code, this.sawData);
			if (error) {
				this.destroy(error);
			} else {
				this.push(null);
			}
		});
	}

	override _read(): void {
		this.child.stdout!.resume();
	}

	override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
		this.child.stdin!.write(chunk, callback);
	}

	override _final(callback: (error?: Error | null) => void): void {
		this.child.stdin!.end(callback);
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		if (this.child.exitCode === null) {
			this.child.kill();
		}

		callback(error);
	}

	// What http.Agent calls on a net.Socket. An idle kept-alive connection must not keep the process alive.
	setKeepAlive(): this {
		return this;
	}

	setNoDelay(): this {
		return this;
	}

	setTimeout(): this {
		return this;
	}

	ref(): this {
		this.child.ref();
		for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr] as Array<{ref?: () => void} | null>) {
			stream?.ref?.();
		}

		return this;
	}

	unref(): this {
		this.child.unref();
		for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr] as Array<{unref?: () => void} | null>) {
			stream?.unref?.();
		}

		return this;
	}
}

/** Every transport still open, closed when the process exits (Ctrl+C included: cli.tsx lets the process end). */
const open = new Set<SshTransport>();
process.on('exit', () => {
	for (const transport of open) {
		transport.close();
	}
});

/** Where the docker CLI finds its engine when nothing says otherwise: WHERE_IS_THE_ENGINE's last answer. */
export const USUAL_ENGINE_SOCKET = '/var/run/docker.sock';

/**
 * Where the remote docker CLI would connect, asked of `sh` rather than of a docker CLI (whose start costs more than
 * the login on a busy host): DOCKER_HOST, else the default socket; a context (DOCKER_CONTEXT or a currentContext in
 * the CLI's config) is asked of `docker context inspect`, as the docker CLI would resolve it. No single quote and no
 * `!` inside: it goes through the user's login shell, whatever that is, as `sh -c '…'`.
 */
export const WHERE_IS_THE_ENGINE = 'if [ -n "$DOCKER_HOST" ]; then echo "$DOCKER_HOST"; elif [ -n "$DOCKER_CONTEXT" ] || grep -qs currentContext "${DOCKER_CONFIG:-$HOME/.docker}/config.json"; then docker context inspect --format "{{.Endpoints.docker.Host}}"; else echo unix://' + USUAL_ENGINE_SOCKET + '; fi';

/** The login's answer line: a login script may print before it. */
const ANSWER = 'occ-doctor-engine=';
/** Printed once the login's session has become the host shell (host-shell.ts). */
const READY = 'occ-doctor-shell-ready';
/**
 * The login's own command: where the engine listens, then `sh` reading commands from the session's stdin, kept for
 * the run (HostShell): later looks at the engine's host cost no new session.
 */
export const LOGIN_COMMAND = `sh -c 'a=$(${WHERE_IS_THE_ENGINE}) && echo "${ANSWER}$a"; echo ${READY}; exec sh'`;

/** One ControlMaster to the host and an http.Agent whose connections are channels (or sessions) on it. */
export class SshTransport {
	readonly host: string;
	readonly agent: Agent;
	/** Set when the link dropped after it had worked; the next request logs in again. */
	lost: DoctorError | undefined;
	private readonly args: string[];
	private dir = '';
	private master: Promise<void> | undefined;
	private masterUp = false;
	/** The remote engine's socket forwarded over the master; unproven until a request through it was answered. */
	private forwardPath: string | undefined;
	/** Where the remote docker CLI's engine listens, as the login's question answered (unix:///… or tcp://…). */
	private engineEndpoint: string | undefined;
	/** Connections to the forward opened ahead (their channel opens while nothing waits on it). */
	private spare: Socket[] = [];
	private logins = 0;
	/** Forward USUAL_ENGINE_SOCKET on the login's own command line (off for an ssh that cannot). */
	private earlyForward = true;
	/** Requests sent through channel(): the engine's request count includes them. */
	pipelinedRequests = 0;
	/** GETs sent through the early forward before the question answered (prefetch), and their answers. */
	private early: {paths: string[]; taken: Set<string>; answers?: Promise<Array<EarlyAnswer | null> | null>} | undefined;
	/** The login's session, kept as a shell on the remote host (host-shell.ts); undefined before the login or without sh. */
	private shell: HostShell | undefined;
	private shellProcess: ChildProcess | undefined;

	constructor(address: string, private readonly ssh = 'ssh') {
		const {args, host} = sshDestination(address);
		this.args = args;
		this.host = host;
		open.add(this);
		const agent = new (lazy('node:http') as typeof import('node:http')).Agent({keepAlive: true, maxSockets: MAX_SESSIONS, maxFreeSockets: MAX_SESSIONS});
		agent.createConnection = ((_options: unknown, done: (error: Error | null, socket?: Duplex) => void) => {
			this.session().then(socket => done(null, socket), (error: Error) => done(error));
		}) as unknown as Agent['createConnection'];
		this.agent = agent;
	}

	private get controlPath(): string {
		// A short private path (0700), made on first use: a ControlPath must fit in a unix socket address (104 bytes on macOS).
		this.dir ||= mkdtempSync(join(tmpdir().length <= 60 || !existsSync('/tmp') ? tmpdir() : '/tmp', 'occ-ssh-'));
		return join(this.dir, 'c');
	}

	/** How many times this run logged in (1 unless the link dropped and was opened again). */
	get loginCount(): number {
		return this.logins;
	}

	/** Are connections going through the forwarded engine socket (rather than dial-stdio sessions)? */
	get forwarding(): boolean {
		return this.forwardPath !== undefined;
	}

	/** Log in once; later calls share it. After a drop (the control socket is gone), log in again. */
	ready(): Promise<void> {
		if (!this.master || (this.masterUp && (this.lost || !existsSync(this.controlPath)))) {
			this.masterUp = false;
			const master = this.startMaster().then(async remote => this.forward(remote));
			this.master = master;
			master.then(() => {
				this.masterUp = true;
			}, () => {
				// A failed login: the next request (or `r` in the TUI) tries again.
				if (this.master === master) {
					this.master = undefined;
				}
			});
		}

		return this.master;
	}

	/**
	 * Log in, and in the same step ask where the remote engine listens: the master's first session runs
	 * WHERE_IS_THE_ENGINE, and ControlPersist keeps the master in the background once it has answered.
	 * Resolves to the remote engine's unix socket, or undefined where that is unknown (dial-stdio sessions then).
	 */
	private startMaster(): Promise<string | undefined> {
		// A socket left by a master that died outright would turn ours off ("already exists, disabling multiplexing").
		rmSync(this.controlPath, {force: true});
		this.forwardPath = undefined;
		this.dropSpare();
		this.engineEndpoint = undefined;
		this.shell?.end(new Error('logged in again'));
		this.shell = undefined;
		// The usual engine socket is forwarded from the login on, and channels to it are opened as soon as the login
		// is through, while the question runs: when the answer is that socket, the first request need not wait for a
		// forward to be set up and a channel to open. Another answer drops them (forward()).
		const early = this.earlyForwardPath;
		rmSync(early, {force: true});
		return new Promise((resolve, reject) => {
			const forwardEarly = this.earlyForward ? ['-L', `${early}:${USUAL_ENGINE_SOCKET}`] : [];
			const child = spawn(this.ssh, ['-o', 'BatchMode=yes', '-o', 'ControlMaster=yes', '-o', `ControlPath=${this.controlPath}`, '-o', `ControlPersist=${IDLE_EXIT}`, ...KEEPALIVE, ...forwardEarly, ...this.args, LOGIN_COMMAND], {stdio: ['pipe', 'pipe', 'pipe']});
			const listening = setInterval(() => {
				if (existsSync(early)) {
					clearInterval(listening);
					this.sendEarly(early);
					this.fillSpare(early);
				}
			}, 5);
			listening.unref();
			let said = Buffer.alloc(0);
			let stderr = '';
			let answered = false;
			/** This login's shell: after a later login, this.shell is another one. */
			let shell: HostShell | undefined;
			const loggedIn = (text: string) => {
				this.logins++;
				this.lost = undefined;
				const answer = text.split('\n').filter(l => l.startsWith(ANSWER)).pop()?.slice(ANSWER.length).trim();
				this.engineEndpoint = answer || undefined;
				resolve(/^unix:\/\/(\/\S+)$/.exec(this.engineEndpoint ?? '')?.[1]);
			};

			const onData = (chunk: Buffer) => {
				said = Buffer.concat([said, chunk]);
				// latin1: one character per byte, so `at` is also the offset in `said`.
				const text = said.toString('latin1');
				const at = `\n${text}`.indexOf(`\n${READY}\n`);
				if (at < 0) {
					return;
				}

				// The login is through and its session is now a shell on the engine's host, kept for the run.
				answered = true;
				clearInterval(timer);
				child.stdout.off('data', onData);
				shell = new HostShell(child.stdin, child.stdout, busy => hold(child, busy), () => child.kill());
				this.shell = shell;
				this.shellProcess = child;
				shell.takeLeftover(said.subarray(at + READY.length + 1));
				hold(child, false);
				loggedIn(said.subarray(0, at).toString('utf8'));
			};

			child.stdout.on('data', onData);
			child.stderr.on('data', (chunk: Buffer) => {
				stderr += chunk.toString('utf8');
			});
			child.on('error', error => {
				clearInterval(listening);
				reject(new DoctorError(`cannot run ssh (${error.message}): install the OpenSSH client (apt-get install openssh-client)`));
			});
			// A remote command that never ends (a forced command waiting for input) must not hold the run: once
			// logged in, stop waiting for the answer after a while and use dial-stdio sessions.
			const timer = setInterval(() => {
				if (existsSync(this.controlPath)) {
					child.kill();
				}
			}, 20_000);
			timer.unref();
			child.on('close', code => {
				clearInterval(timer);
				clearInterval(listening);
				if (answered) {
					// The host shell's session ended: the link went, or the run is over.
					shell?.end(new DoctorError(`the shell on ${this.host} ended`));
					return;
				}

				// The control socket says the login worked, whatever the question's answer (a forced command, no sh).
				if (existsSync(this.controlPath)) {
					loggedIn(code === 0 ? said.toString('utf8') : '');
				} else if (this.earlyForward && /bad (local )?forwarding specification/i.test(stderr)) {
					// An ssh that cannot forward a unix socket (OpenSSH before 6.7): log in without the early forward.
					this.earlyForward = false;
					this.startMaster().then(resolve, reject);
				} else {
					reject(explainSshFailure(stderr, code, this.host));
				}
			});
		});
	}

	/**
	 * Forward the remote engine's unix socket over the master (as `ssh -L local.sock:remote.sock`): a connection is
	 * then one channel, with no process on either end. Nothing crosses the link to set it up; whether sshd allows it
	 * shows on the first request (see dropForward).
	 */
	private async forward(remote: string | undefined): Promise<void> {
		if (remote === USUAL_ENGINE_SOCKET && existsSync(this.earlyForwardPath)) {
			// Forwarded since the login, its channels already open (startMaster).
			this.forwardPath = this.earlyForwardPath;
			this.fillSpare(this.forwardPath);
			return;
		}

		this.dropSpare();
		if (!remote) {
			return;
		}

		const local = join(this.dir, 'engine.sock');
		rmSync(local, {force: true});
		const forward = await quietly(this.ssh, ['-o', `ControlPath=${this.controlPath}`, '-O', 'forward', '-L', `${local}:${remote}`, ...this.args]);
		if (forward.code === 0) {
			this.forwardPath = local;
			this.fillSpare(local);
		}
	}

	/**
	 * GETs to send as soon as the login is through, before the question where the engine listens has answered: to
	 * the usual socket, pipelined on one channel. They are read-only (the version, an inspect); their answers are
	 * used only if the question then names that socket (prefetched), else dropped unread by anyone.
	 */
	prefetch(paths: string[]): void {
		if (this.earlyForward && !this.master) {
			this.early = {paths, taken: new Set()};
		}
	}

	/** The answer to a prefetched GET, once the login has said it came from the engine the docker CLI there uses. */
	async prefetched(path: string): Promise<EarlyAnswer | undefined> {
		const early = this.early;
		const index = early?.paths.indexOf(path) ?? -1;
		// Taken once: a later request (the TUI's refresh) asks the engine again.
		if (!early || index < 0 || early.taken.has(path)) {
			return undefined;
		}

		early.taken.add(path);
		await this.ready().catch(() => {});
		// Not the engine the login named: never wait on what another socket (perhaps one that never answers) says.
		if (this.forwardPath !== this.earlyForwardPath || !early.answers) {
			return undefined;
		}

		const answers = await early.answers;
		return answers?.[index] ?? undefined;
	}

	private sendEarly(socketPath: string): void {
		const early = this.early;
		if (!early || early.answers) {
			return;
		}

		this.pipelinedRequests += early.paths.length;
		early.answers = (async () => {
			const socket = connectSocket(socketPath);
			socket.on('error', () => {});
			// An engine that takes the connection and never answers must not hold the run: ask again the usual way.
			socket.setTimeout(EARLY_ANSWER_MS, () => socket.destroy());
			const answers: Array<EarlyAnswer | null> = [];
			try {
				for await (const answer of pipelined(socket, early.paths.map(path => ({method: 'GET' as const, path})))) {
					const chunks: Buffer[] = [];
					for await (const chunk of answer.body) {
						chunks.push(chunk);
					}

					answers.push({statusCode: answer.statusCode, headers: answer.headers, body: Buffer.concat(chunks)});
				}

				return answers;
			} catch {
				return null; // No engine there, or not one we can read: the usual requests say why.
			}
		})();
	}

	/** Where the login forwards the usual engine socket (USUAL_ENGINE_SOCKET) to, on this side. */
	private get earlyForwardPath(): string {
		return join(dirname(this.controlPath), 'usual.sock');
	}

	/**
	 * The first request through the forward failed (sshd refused forwarding, the socket is not the engine's, or the
	 * engine is down or forbidden): go on with dial-stdio sessions, whose docker CLI says which. False when there
	 * was no forward to give up.
	 */
	dropForward(): boolean {
		if (!this.forwardPath) {
			return false;
		}

		this.forwardPath = undefined;
		this.dropSpare();
		// Every connection is a session from now on, and a burst of them must stay under sshd's MaxSessions: the host
		// shell's session is given up (its reads go through the archive API, as they did before it existed).
		this.shell?.end(new DoctorError(`the shell on ${this.host} was given up for dial-stdio sessions`));
		this.shellProcess?.kill();
		return true;
	}

	/**
	 * A raw connection for `requests` pipelined requests (pipeline.ts), when the engine's socket is forwarded: a
	 * channel, no session, so sshd's MaxSessions is not touched. null over dial-stdio sessions.
	 */
	async channel(requests: number): Promise<Duplex | null> {
		await this.ready();
		if (!this.forwardPath) {
			return null;
		}

		this.pipelinedRequests += requests;
		return this.session();
	}

	/** A fresh connection to the remote engine: a channel to the forwarded socket, else a dial-stdio session. */
	private async session(): Promise<Duplex> {
		await this.ready();
		if (this.forwardPath) {
			const socket = this.spare.shift() ?? connectSocket(this.forwardPath);
			this.fillSpare();
			return socket.ref();
		}

		const child = spawn(this.ssh, ['-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', `ControlPath=${this.controlPath}`, ...KEEPALIVE, ...this.args, 'docker', 'system', 'dial-stdio'], {stdio: ['pipe', 'pipe', 'pipe']});
		return new StdioSocket(child, (stderr, code, sawData) => {
			if (code === null) {
				return undefined; // We ended it (the agent closed an idle connection).
			}

			// What ssh says when the link itself went: the master's connection closed, reset or stopped answering.
			if (/mux_client|control socket|Broken pipe|closed by remote host|Connection reset|not responding|Connection closed/i.test(stderr)) {
				this.lost = explainLost(this.host, stderr);
				return this.lost;
			}

			// ssh's own exit code after bytes flowed: the session ended under us. Was it the link? Ask the master.
			if (sawData && code === 255 && !this.masterAnswers()) {
				this.lost = explainLost(this.host, stderr);
				return this.lost;
			}

			// After bytes flowed, the engine (or we) ended the connection, as it does after a streamed response: not a failure.
			return sawData ? undefined : explainSshFailure(stderr, code, this.host);
		});
	}

	/**
	 * Run a read-only shell command on the remote host over the master (no new login), or null when that is not the
	 * engine's host: only when the remote docker CLI reaches its engine through a unix socket do paths there mean
	 * what they mean to the engine (bind sources). `command` is one string for the remote login shell. It goes to the
	 * host shell when there is one (no new session), else it is a session of its own.
	 */
	async runOnEngineHost(command: string): Promise<{code: number | null; stdout: string} | null> {
		const shell = await this.engineHostShell();
		if (shell) {
			const reply = await shell.run({line: command});
			return {code: reply.code, stdout: reply.lines.join('\n')};
		}

		if (!this.engineEndpoint?.startsWith('unix://')) {
			return null;
		}

		return quietly(this.ssh, ['-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', `ControlPath=${this.controlPath}`, ...KEEPALIVE, ...this.args, command]);
	}

	/** The shell on the engine's own host, when the login's session became one and the engine is a unix socket there. */
	async engineHostShell(): Promise<Shell | undefined> {
		await this.ready();
		return this.engineEndpoint?.startsWith('unix://') && this.shell?.usable ? this.shell : undefined;
	}

	/** As engineHostShell, without waiting: for code that runs after the login (a check's readers). */
	get hostShellNow(): Shell | undefined {
		return this.masterUp && this.engineEndpoint?.startsWith('unix://') && this.shell?.usable ? this.shell : undefined;
	}

	/** Open channels to `path` up to SPARE_CHANNELS; one that closes unused (the link went, the engine hung up) is dropped. */
	private fillSpare(path: string | undefined = this.forwardPath): void {
		while (path && this.spare.length < SPARE_CHANNELS && open.has(this)) {
			const socket = connectSocket(path);
			// Unused, it must not keep the process alive; session() refs it when a request takes it.
			socket.unref();
			socket.on('error', () => {});
			socket.once('close', () => {
				this.spare = this.spare.filter(s => s !== socket);
			});
			this.spare.push(socket);
		}
	}

	private dropSpare(): void {
		for (const socket of this.spare.splice(0)) {
			socket.destroy();
		}
	}

	private masterAnswers(): boolean {
		return existsSync(this.controlPath) && spawnSync(this.ssh, ['-o', `ControlPath=${this.controlPath}`, '-O', 'check', ...this.args], {stdio: 'ignore', timeout: 5000}).status === 0;
	}

	/** End the master (and with it every session) and remove the private directory. Safe to call twice. */
	close(): void {
		if (!open.delete(this)) {
			return;
		}

		this.agent.destroy();
		this.dropSpare();
		this.shell?.end(new DoctorError(`the SSH link to ${this.host} was closed`));
		if (!this.dir) {
			return;
		}

		if (existsSync(this.controlPath)) {
			spawnSync(this.ssh, ['-o', `ControlPath=${this.controlPath}`, '-O', 'exit', ...this.args], {stdio: 'ignore', timeout: 5000});
		}

		this.shellProcess?.kill();
		rmSync(this.dir, {recursive: true, force: true});
	}
}

/** A busy host shell keeps the process alive; an idle one must not (like an idle kept-alive connection). */
function hold(child: ChildProcess, busy: boolean): void {
	for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<{ref?: () => void; unref?: () => void} | null>) {
		(busy ? handle?.ref : handle?.unref)?.call(handle);
	}
}

function explainLost(host: string, stderr: string): DoctorError {
	const why = stderr.trim().split('\n').filter(Boolean).pop();
	return new DoctorError(`the SSH link to ${host} dropped${why ? ` (${why})` : ''}: check the network and run again (in the TUI, press r to reconnect)`);
}

/** Run ssh for its output, never a prompt, for at most 20 s. */
async function quietly(ssh: string, args: string[]): Promise<{code: number | null; stdout: string}> {
	return new Promise(resolve => {
		const child = spawn(ssh, args, {stdio: ['ignore', 'pipe', 'ignore']});
		let stdout = '';
		child.stdout.on('data', (chunk: Buffer) => {
			stdout += chunk.toString('utf8');
		});
		child.on('error', () => resolve({code: null, stdout}));
		child.on('close', code => {
			clearTimeout(timer);
			resolve({code, stdout});
		});
		// A master that never answers must not hold the run.
		const timer = setTimeout(() => child.kill(), 20_000);
		timer.unref();
	});
}
