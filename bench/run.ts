// `npm run bench`: runs every bench/*.bench.ts in turn (each prints its own figures) and fails if one fails.
import {spawnSync} from 'node:child_process';
import {readdirSync} from 'node:fs';

const only = process.argv.slice(2);
const files = readdirSync('bench').filter(f => f.endsWith('.bench.ts') && (only.length === 0 || only.some(o => f.includes(o)))).sort();
let failed = 0;
for (const file of files) {
	process.stdout.write(`\n=== bench/${file}\n`);
	const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${file}`], {stdio: 'inherit'});
	if (result.status !== 0) {
		failed++;
	}
}

process.exit(failed > 0 ? 1 : 0);
