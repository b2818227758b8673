// Part of the bundle (scripts/bundle.mjs), not of the source: loads a CommonJS chunk with the V8 code cache the build
// wrote beside it, so its functions are not compiled again. A cache V8 rejects (another Node version or other flags)
// is ignored: the chunk then compiles as usual.
const {readFileSync} = require('node:fs');
const Module = require('node:module');
const {dirname} = require('node:path');
const {Script} = require('node:vm');

/** The chunk compiled as Node would wrap it, with its cache when there is one (`cachedDataRejected` tells). */
function compile(file) {
	let cachedData;
	try {
		cachedData = readFileSync(`${file}.cache`);
	} catch {}

	return new Script(Module.wrap(readFileSync(file, 'utf8')), {filename: file, cachedData});
}

exports.compile = compile;

exports.loadCached = function (file) {
	const module = {exports: {}};
	compile(file).runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, dirname(file));
	return module.exports;
};
