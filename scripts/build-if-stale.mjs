// `npm run demo` (and bench) on a built tree start at once: the build runs only when an input is newer than
// dist/cli.js, which the build writes last. A full `npm run build` takes ~13 s; this check takes a few ms.
import {spawnSync} from 'node:child_process';
import {readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';

const INPUTS = ['cli.tsx', 'source', 'scripts/bundle.mjs', 'scripts/load-cached.cjs', 'tsconfig.json', 'package.json', 'package-lock.json'];

function newest(path) {
	const stat = statSync(path, {throwIfNoEntry: false});
	if (!stat) {
		return 0;
	}

	return stat.isDirectory() ? Math.max(stat.mtimeMs, ...readdirSync(path).map(name => newest(join(path, name)))) : stat.mtimeMs;
}

const built = statSync('dist/cli.js', {throwIfNoEntry: false})?.mtimeMs ?? 0;
const changed = Math.max(...INPUTS.map(newest));
if (changed > built) {
	process.stderr.write('build: sources changed since the last build, building…\n');
	const result = spawnSync('npm', ['run', 'build', '--silent'], {stdio: ['ignore', process.stderr, 'inherit']});
	process.exit(result.status ?? 1);
}
