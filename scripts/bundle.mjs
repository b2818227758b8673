// `npm run build` step 2 (docs/startup.md has the layout and the figures). dist/cli.js and dist/chunks/check.cjs are
// CommonJS, so `--help` and `check` load no ES module and check's code comes with a V8 code cache; the other commands
// are ES module chunks under dist/chunks/ (Ink and yoga need ESM), imported when they run. dockerode is one CommonJS
// file, dist/chunks/dockerode.cjs, required on first use. better-sqlite3 stays external (native addon); so do
// dockerode's session and BuildKit progress decoder (gRPC and protobufjs, for BuildKit builds only) and ssh2 (native
// parts), which load only when a build or an ssh:// engine needs them, from node_modules as they ship.
import {build} from 'esbuild';
import {createRequire} from 'node:module';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {resolve} from 'node:path';

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

// The code cache of check.cjs as it loads (its top level run as scripts/load-cached.cjs runs it; no check is made).
const script = createRequire(import.meta.url)('./load-cached.cjs').compile(check);
const loaded = {exports: {}};
script.runInThisContext().call(loaded.exports, loaded.exports, createRequire(check), loaded, check, resolve('dist/chunks'));
if (typeof loaded.exports.checkCommand !== 'function') {
	throw new Error('dist/chunks/check.cjs does not export checkCommand: update scripts/bundle.mjs');
}

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
