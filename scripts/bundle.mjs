// `npm run build` step 2: bundle cli.tsx into dist/cli.js plus one chunk per command (loaded by `import()` when it
// runs), so start-up reads a few files instead of hundreds of modules (docs/startup.md has the figures).
// better-sqlite3 stays external (native addon); so do dockerode's session and BuildKit progress decoder (gRPC and
// protobufjs, for BuildKit builds only) and ssh2 (native parts), which load only when a build or an ssh:// engine
// needs them, from node_modules as they ship. dockerode itself is bundled apart, into dist/chunks/dockerode.cjs,
// required on first use.
import {build} from 'esbuild';
import {readFile} from 'node:fs/promises';

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

const cli = await build({
	entryPoints: ['cli.tsx'],
	outdir: 'dist',
	entryNames: '[name]',
	chunkNames: 'chunks/[name]-[hash]',
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
	metafile: true,
});

// The chunk that requires './dockerode.cjs' must sit beside it, in dist/chunks/.
const requiring = Object.keys(cli.metafile.outputs).filter(out => out.endsWith('.js') && Object.keys(cli.metafile.outputs[out].inputs).some(input => DOCKERODE.file.test(input)));
if (requiring.length === 0 || requiring.some(out => !out.startsWith('dist/chunks/'))) {
	throw new Error(`source/docker/engine.ts was bundled into ${requiring.join(', ') || 'nothing'}, not dist/chunks/: update scripts/bundle.mjs`);
}

await build({
	entryPoints: ['dockerode'],
	outfile: 'dist/chunks/dockerode.cjs',
	bundle: true,
	platform: 'node',
	format: 'cjs',
	target: 'node20',
	external: EXTERNAL,
	plugins: [patches(LAZY)],
	logLevel: 'warning',
});
