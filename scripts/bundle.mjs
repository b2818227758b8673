// `npm run build` step 2 (docs/startup.md has the layout and the figures). dist/cli.js and dist/chunks/check.cjs are
// CommonJS, so `--help` and `check` load no ES module and check's code comes with a V8 code cache; the other commands
// are ES module chunks under dist/chunks/ (Ink and yoga need ESM), imported when they run. dockerode is one CommonJS
// file, dist/chunks/dockerode.cjs, required on first use. better-sqlite3 stays external (native addon); so do
// dockerode's session and BuildKit progress decoder (gRPC and protobufjs, for BuildKit builds only) and ssh2 (native
// parts), which load only when a build or an ssh:// engine needs them, from node_modules as they ship.
import {build} from 'esbuild';
import {createRequire} from 'node:module';
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';

// Requires in our engine client that check never uses, made lazy or left out of the bundle, and a debug line whose argument
// (util.inspect of every request's options) was computed even with debugging off. The text is matched exactly, so
// a dependency update that changes it fails the build here rather than silently undoing it.
const LAZY = [
	{file: /docker-modem[/\\]lib[/\\]modem\.js$/, from: "debug('Sending: %s', util.inspect(options, {", to: "debug.enabled && debug('Sending: %s', util.inspect(options, {"},
	{file: /dockerode[/\\]lib[/\\]util\.js$/, from: "var tar = require('tar-fs');", to: "var tar = {pack: function () { var fs = require('tar-fs'); return fs.pack.apply(fs, arguments); }};"},
	{file: /dockerode[/\\]lib[/\\]util\.js$/, from: "var DockerIgnore = require('@balena/dockerignore');", to: "var DockerIgnore = function () { var d = require('@balena/dockerignore'); return d.apply(this, arguments); };"},
	{file: /dockerode[/\\]lib[/\\]docker\.js$/, from: "var buildkit = require('./buildkit');", to: "var buildkit = require('dockerode/lib/buildkit.js');"},
	{file: /dockerode[/\\]lib[/\\]docker\.js$/, from: "withSession = require('./session'),", to: "withSession = function () { return require('dockerode/lib/session.js').apply(this, arguments); },"},
	{file: /docker-modem[/\\]lib[/\\]modem\.js$/, from: "ssh = require('./ssh'),", to: "ssh = function (opt) { return require('./ssh')(opt); },"},
];

// dockerode is required on first use (source/docker/engine.ts, loadDockerode), from a one-file CommonJS bundle of its
// own: `check` on a local engine talks HTTP without it (source/docker/api.ts), and everything else loads it in one read.
const DOCKERODE = {file: /source[/\\]docker[/\\]engine\.ts$/, from: "const DOCKERODE = 'dockerode';", to: "const DOCKERODE = './dockerode.cjs';", loader: 'ts'};

function patches(list) {
	return {
		name: 'patches',
		setup(b) {
			// One handler per file: esbuild takes the first onLoad that matches.
			const files = new Map(list.map(l => [l.file.source, l.file]));
			for (const [source, file] of files) {
				const mine = list.filter(l => l.file.source === source);
				b.onLoad({filter: file}, async args => {
					let text = await readFile(args.path, 'utf8');
					for (const {from, to} of mine) {
						if (!text.includes(from)) {
							throw new Error(`${args.path} no longer contains ${from}: update scripts/bundle.mjs`);
						}

						text = text.replace(from, to);
					}

					return {contents: text, loader: mine[0].loader ?? 'js'};
				});
			}
		},
	};
}

// Loaded by native require(): ssh2's native parts and BuildKit's gRPC stay in node_modules.
const EXTERNAL = ['better-sqlite3', 'ssh2', 'cpu-features', 'dockerode/lib/session.js', 'dockerode/lib/buildkit.js'];
/**
 * Run `check --json --no-databases` once, in this process, against a stand-in engine on a private unix socket that
 * answers with a recorded opencode-cloud-like container (test/fixtures/inspect). It reads nothing but the recorded
 * answers and stats of their host paths. A check that fails here only leaves the cache smaller: the build goes on.
 */
async function warmCheck(checkCommand) {
	const recorded = JSON.parse(await readFile('test/fixtures/inspect/occ-anon-workspace.json', 'utf8'));
	const volumes = {Volumes: Object.values(recorded.volumes).map(v => ({Name: v.name, Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint}))};
	const answer = path => path === '/_ping' ? 'OK'
		: /^\/containers\/[^/]+\/json/.test(path) ? recorded.container
			: /^\/images\//.test(path) ? recorded.image
				: /^\/volumes/.test(path) ? volumes
					: /^\/containers\/[^/]+\/logs/.test(path) ? '' : undefined;
	const dir = await mkdtemp(join(tmpdir(), 'occ-build-'));
	const server = createServer(socket => socket.once('data', chunk => {
		const body = answer(/^GET (\S+?)(\?|\s)/.exec(chunk.toString('latin1'))?.[1] ?? '');
		const text = body === undefined ? '{"message":"not recorded"}' : typeof body === 'string' ? body : JSON.stringify(body);
		socket.end(`HTTP/1.1 ${body === undefined ? '404 Not Found' : '200 OK'}\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24 (linux)\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
	}));
	await new Promise(done => server.listen(join(dir, 'engine.sock'), done));
	let output = '';
	const stdout = {write: text => (output += text, true)};
	try {
		const flags = {host: `unix://${join(dir, 'engine.sock')}`, container: 'recorded', databases: false, json: true};
		await checkCommand({mode: 'json', flags, signal: new AbortController().signal, stdout, stderr: stdout, interactive: false});
		if (!JSON.parse(output).locations) {
			throw new Error(output.slice(0, 200));
		}
	} catch (error) {
		process.stderr.write(`scripts/bundle.mjs: the check that warms the code cache failed (${error.message}): the cache holds the top level only\n`);
	} finally {
		server.close();
		await rm(dir, {recursive: true, force: true});
	}
}

// The ES module commands, each dist/chunks/<name>.mjs; `check` is the CommonJS dist/chunks/check.cjs.
const ESM_COMMANDS = ['probe', 'backup', 'restore', 'tui', 'demo'];

// CommonJS has no import.meta: the file's own URL, as an ES module would see it.
const COMMONJS = {
	bundle: true,
	platform: 'node',
	format: 'cjs',
	target: 'node20',
	define: {'import.meta.url': 'occImportMetaUrl'},
	banner: {js: "var occImportMetaUrl = require('node:url').pathToFileURL(__filename).href;"},
	logLevel: 'warning',
};

// dist/ is CommonJS (cli.js); tsc's dist/source/ stays ES modules, as the sources are.
await mkdir('dist/chunks', {recursive: true});
await writeFile('dist/package.json', '{"type": "commonjs"}\n');
await writeFile('dist/source/package.json', '{"type": "module"}\n');

await build({...COMMONJS, entryPoints: ['dockerode'], outfile: 'dist/chunks/dockerode.cjs', external: EXTERNAL, plugins: [patches(LAZY)], define: {}, banner: {}});

await build({
	entryPoints: Object.fromEntries(ESM_COMMANDS.map(name => [name, `source/commands/${name}.ts`])),
	outdir: 'dist/chunks',
	entryNames: '[name]',
	chunkNames: '[name]-[hash]',
	outExtension: {'.js': '.mjs'},
	bundle: true,
	splitting: true,
	platform: 'node',
	format: 'esm',
	target: 'node20',
	jsx: 'automatic',
	external: [...EXTERNAL, 'dockerode', 'react-devtools-core'],
	plugins: [patches([DOCKERODE])],
	// Bundled CommonJS calls require(); an ES module has none.
	banner: {js: "import {createRequire as occCreateRequire} from 'node:module'; const require = occCreateRequire(import.meta.url);"},
	logLevel: 'warning',
});

const check = resolve('dist/chunks/check.cjs');
await build({...COMMONJS, entryPoints: ['source/commands/check.ts'], outfile: check, external: [...EXTERNAL, 'dockerode'], plugins: [patches([DOCKERODE])]});

// The code cache of check.cjs: its top level run as scripts/load-cached.cjs runs it, then one check --json of a
// recorded container, so the functions a check calls are in the cache too, not compiled on every run (~2 ms).
const script = createRequire(import.meta.url)('./load-cached.cjs').compile(check);
const loaded = {exports: {}};
script.runInThisContext().call(loaded.exports, loaded.exports, createRequire(check), loaded, check, resolve('dist/chunks'));
if (typeof loaded.exports.checkCommand !== 'function') {
	throw new Error('dist/chunks/check.cjs does not export checkCommand: update scripts/bundle.mjs');
}

await warmCheck(loaded.exports.checkCommand);
await writeFile(`${check}.cache`, script.createCachedData());

// cli.tsx's import() of a command: check from check.cjs with its cache, the others from their ES module chunk.
const commands = {
	name: 'commands',
	setup(b) {
		b.onResolve({filter: /^\.\/source\/commands\/\w+\.js$/}, args => {
			const name = /(\w+)\.js$/.exec(args.path)[1];
			if (!args.importer.endsWith('cli.tsx') || args.kind !== 'dynamic-import') {
				return undefined;
			}

			if (name === 'check') {
				return {path: 'check', namespace: 'occ-check'};
			}

			if (!ESM_COMMANDS.includes(name)) {
				throw new Error(`cli.tsx imports the command ${name}, which scripts/bundle.mjs does not build: add it to ESM_COMMANDS`);
			}

			return {path: `./chunks/${name}.mjs`, external: true};
		});
		b.onLoad({filter: /.*/, namespace: 'occ-check'}, () => ({
			contents: "module.exports = require('./scripts/load-cached.cjs').loadCached(require('node:path').join(__dirname, 'chunks', 'check.cjs'));",
			resolveDir: resolve('.'),
			loader: 'js',
		}));
	},
};

// Written last: scripts/build-if-stale.mjs takes dist/cli.js's time as the build's.
await build({...COMMONJS, entryPoints: ['cli.tsx'], outfile: 'dist/cli.js', external: EXTERNAL, plugins: [commands]});

// The installed `occ-doctor` (npm's bin, this file run by its first line) starts through sh: Node 20 reads every
// certificate of NODE_EXTRA_CA_CERTS before any script runs (~35 ms for a distribution's bundle, more than the rest of
// a check), and only a TLS engine needs them; sh hands the path on as OCC_DOCTOR_EXTRA_CA_CERTS, which engine.ts adds
// to a TLS engine's trusted roots. To Node the second line is a string and a comment (docs/startup.md).
const LAUNCHER = `#!/bin/sh
':' //; [ -n "\${NODE_EXTRA_CA_CERTS-}" ] && export OCC_DOCTOR_EXTRA_CA_CERTS="\$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; exec node "\$0" "\$@"
`;
const cli = await readFile('dist/cli.js', 'utf8');
if (!cli.startsWith('#!/usr/bin/env node\n')) {
	throw new Error('dist/cli.js no longer starts with the node shebang: update scripts/bundle.mjs');
}

await writeFile('dist/cli.js', LAUNCHER + cli.slice(cli.indexOf('\n') + 1), {mode: 0o755});
await chmod('dist/cli.js', 0o755);
