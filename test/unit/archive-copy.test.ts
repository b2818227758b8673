// The two tar readers that replace a tar library on hot paths: the single-file reader of the database copy (every
// header form the engine sends, a stream cut short) and the header walk of backup verification.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {describe, it} from 'node:test';
import tar from 'tar-stream';
import {writeFirstFile} from '../../source/docker/archive.js';
import {TarWalker} from '../../source/backup/verify.js';

async function tarOf(entries: Array<{name: string; type?: 'file' | 'directory' | 'symlink'; body?: Buffer; pax?: Record<string, string>; linkname?: string}>): Promise<Buffer> {
	const pack = tar.pack();
	for (const e of entries) {
		pack.entry({name: e.name, type: e.type ?? 'file', linkname: e.linkname, pax: e.pax}, e.body ?? undefined);
	}

	pack.finalize();
	const chunks: Buffer[] = [];
	for await (const c of pack) {
		chunks.push(c as Buffer);
	}

	return Buffer.concat(chunks);
}

/** Feed `data` in chunks of `size` bytes (headers and bodies split anywhere), collect what gets written. */
async function extract(data: Buffer, size: number): Promise<{bytes: number | null; written: Buffer}> {
	const pieces: Buffer[] = [];
	for (let i = 0; i < data.length; i += size) {
		pieces.push(data.subarray(i, i + size));
	}

	const written: Buffer[] = [];
	const sink = new Writable({write(chunk: Buffer, _e, cb) {
		written.push(chunk);
		cb();
	}});
	const bytes = await writeFirstFile(Readable.from(pieces), sink);
	return {bytes, written: Buffer.concat(written)};
}

describe('writeFirstFile', () => {
	const body = randomBytes(70_000);
	it('writes the first regular file byte for byte, whatever the chunking, past directories, links and long names', async () => {
		const long = `${'d'.repeat(120)}/${'f'.repeat(130)}.db`;
		const data = await tarOf([{name: 'opencode', type: 'directory'}, {name: 'link', type: 'symlink', linkname: 'x'}, {name: long, body}, {name: 'other', body: Buffer.from('no')}]);
		for (const size of [1, 511, 512, 513, 4096, 65_536, data.length]) {
			const {bytes, written} = await extract(data, size);
			assert.equal(bytes, body.length, `chunk ${size}`);
			assert.ok(written.equals(body), `chunk ${size}`);
		}
	});

	it('takes the size from a PAX header (as tar writes it for files over 8 GB)', async () => {
		const data = await tarOf([{name: 'x.db', body, pax: {size: String(body.length), comment: 'y'.repeat(600)}}]);
		// Blank the file header's own size field: only the PAX record can give it.
		const paxBody = Number.parseInt(data.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
		const fileHeader = 512 + (Math.ceil(paxBody / 512) * 512);
		assert.equal(data[fileHeader + 156], '0'.charCodeAt(0));
		data.fill(0, fileHeader + 124, fileHeader + 136);
		const {bytes, written} = await extract(data, 1000);
		assert.equal(bytes, body.length);
		assert.ok(written.equals(body));
	});

	it('returns null for a stream without a regular file, and throws when the file is cut short', async () => {
		assert.equal((await extract(await tarOf([{name: 'd', type: 'directory'}]), 512)).bytes, null);
		const data = await tarOf([{name: 'x.db', body}]);
		await assert.rejects(extract(data.subarray(0, 512 + 1000), 300), /ended 69000 bytes before the end/);
	});
});

describe('TarWalker (verification)', () => {
	async function walk(data: Buffer, size = 777): Promise<number> {
		const walker = new TarWalker();
		await pipeline(Readable.from(Array.from({length: Math.ceil(data.length / size)}, (_, i) => data.subarray(i * size, (i + 1) * size))), walker);
		return walker.entries;
	}

	const entries = [
		{name: 'd', type: 'directory' as const},
		{name: `${'long-dir/'.repeat(20)}${'n'.repeat(120)}.txt`, body: randomBytes(3000)},
		{name: 'l', type: 'symlink' as const, linkname: 'd'},
		{name: 'p.bin', body: randomBytes(10_000), pax: {'SCHILY.xattr.user.k': 'v'}},
		{name: 'empty', body: Buffer.alloc(0)},
	];

	it('counts the entries tar lists, past PAX headers and long names', async () => {
		const data = await tarOf(entries);
		const listed = spawnSync('tar', ['-tf', '-'], {input: data}).stdout.toString().trim().split('\n');
		assert.equal(listed.length, entries.length);
		assert.equal(await walk(data), entries.length);
		assert.equal(await walk(data, 1), entries.length);
	});

	it('fails on a damaged header and on a stream that stops inside an entry', async () => {
		const data = await tarOf(entries);
		const damaged = Buffer.from(data);
		damaged[0] ^= 0x40;
		await assert.rejects(walk(damaged), /Invalid tar header/);
		await assert.rejects(walk(data.subarray(0, 512 + 100)), /Unexpected end of data/);
		await assert.rejects(walk(data.subarray(0, 700)), /Unexpected end of data/);
	});
});
