import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Duplex, PassThrough} from 'node:stream';
import {after, describe, it} from 'node:test';
import tar from 'tar-stream';
import {copyThenStatInContainer} from '../../source/docker/archive.js';
import {pipelined} from '../../source/docker/pipeline.js';
import {archiveSource} from '../../source/sqlite/snapshot.js';
import type Docker from 'dockerode';

const dir = mkdtempSync(join(tmpdir(), 'occt-pipe-'));
after(() => rmSync(dir, {recursive: true, force: true}));

/** A connection that answers with `answers` (one piece per 7 bytes, to cut every line and chunk) and keeps what was sent. */
function connection(answers: Buffer): {socket: Duplex; sent: () => string} {
	let sent = '';
	const readable = new PassThrough();
	for (let i = 0; i < answers.length; i += 7) {
		readable.write(answers.subarray(i, i + 7));
	}

	readable.end();
	const socket = Duplex.from({readable, writable: new PassThrough().on('data', (c: Buffer) => (sent += c.toString('latin1')))});
	return {socket, sent: () => sent};
}

async function tarOf(name: string, content: Buffer): Promise<Buffer> {
	const pack = tar.pack();
	pack.entry({name}, content);
	pack.finalize();
	const parts: Buffer[] = [];
	for await (const part of pack) {
		parts.push(part as Buffer);
	}

	return Buffer.concat(parts);
}

const chunkedAnswer = (body: Buffer) => Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n'), Buffer.from(`${(300).toString(16)}\r\n`), body.subarray(0, 300), Buffer.from('\r\n'), Buffer.from(`${(body.length - 300).toString(16)};x=y\r\n`), body.subarray(300), Buffer.from('\r\n0\r\n\r\n')]);
const lengthAnswer = (status: string, body: Buffer | string) => Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);
const stat = (size: number) => Buffer.from(JSON.stringify({name: 'x', size, mode: 420, mtime: '2026-12-03T07:00:00.123456789Z', linkTarget: ''})).toString('base64');
const headAnswer = (size: number | null) => Buffer.from(size === null ? 'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n' : `HTTP/1.1 200 OK\r\nX-Docker-Container-Path-Stat: ${stat(size)}\r\nContent-Length: 0\r\n\r\n`);

describe('pipelined requests to the engine (HTTP/1.1 on one connection)', () => {
	it('sends every request at once and reads chunked, sized and bodiless answers in order, skipping what a caller leaves', async () => {
		const {socket, sent} = connection(Buffer.concat([chunkedAnswer(Buffer.alloc(1000, 1)), lengthAnswer('200 OK', 'hello'), headAnswer(7)]));
		const seen: Array<{status: number; bytes: number}> = [];
		let first = true;
		for await (const answer of pipelined(socket, [{method: 'GET', path: '/a'}, {method: 'GET', path: '/b'}, {method: 'HEAD', path: '/c'}])) {
			let bytes = 0;
			for await (const chunk of answer.body) {
				bytes += chunk.length;
				if (first) {
					// A caller that stops early: the rest of this answer is skipped, not read as the next one.
					break;
				}
			}

			first = false;
			seen.push({status: answer.statusCode, bytes});
		}

		assert.equal(sent(), 'GET /a HTTP/1.1\r\nHost: docker\r\nUser-Agent: occ-doctor\r\n\r\nGET /b HTTP/1.1\r\nHost: docker\r\nUser-Agent: occ-doctor\r\n\r\nHEAD /c HTTP/1.1\r\nHost: docker\r\nUser-Agent: occ-doctor\r\n\r\n');
		assert.equal(seen.length, 3);
		assert.deepEqual(seen.slice(1), [{status: 200, bytes: 5}, {status: 200, bytes: 0}]);
	});

	it('a connection that ends early is an error, not a short file', async () => {
		const {socket} = connection(lengthAnswer('200 OK', 'hello').subarray(0, 30));
		await assert.rejects(async () => {
			for await (const answer of pipelined(socket, [{method: 'GET', path: '/a'}])) {
				for await (const _ of answer.body) {
					// Read.
				}
			}
		}, /closed the connection/);
	});

	it('copies files then stats, as one round trip: the copies land whole, the stats come back in order', async () => {
		const wal = Buffer.alloc(5000, 7);
		const main = Buffer.alloc(4096, 9);
		const {socket, sent} = connection(Buffer.concat([chunkedAnswer(await tarOf('db-wal', wal)), lengthAnswer('200 OK', await tarOf('db', main)), headAnswer(4096), headAnswer(5000), headAnswer(null)]));
		const stats = await copyThenStatInContainer(socket, 'abc', [{path: '/d/db-wal', destination: join(dir, 'db-wal')}, {path: '/d/db', destination: join(dir, 'db')}], ['/d/db', '/d/db-wal', '/d/db-journal']);
		assert.deepEqual(readFileSync(join(dir, 'db-wal')), wal);
		assert.deepEqual(readFileSync(join(dir, 'db')), main);
		assert.deepEqual(stats.map(s => s?.size ?? null), [4096, 5000, null]);
		assert.match(sent(), /^GET \/containers\/abc\/archive\?path=%2Fd%2Fdb-wal HTTP\/1\.1\r\n/);
		assert.equal(sent().split('HEAD ').length, 4);
	});

	it('a file gone before its copy (404) fails the attempt as a vanished file at once, the later copies not read', async () => {
		const {socket} = connection(Buffer.concat([lengthAnswer('404 Not Found', '{"message":"Could not find the file"}'), lengthAnswer('200 OK', await tarOf('db', Buffer.alloc(512, 1))), headAnswer(512)]));
		await assert.rejects(copyThenStatInContainer(socket, 'abc', [{path: '/d/db-wal', destination: join(dir, 'gone-wal')}, {path: '/d/db', destination: join(dir, 'gone')}], ['/d/db']), (error: {statusCode?: number; message: string}) => error.statusCode === 404 && /db-wal vanished/.test(error.message));
	});

	it('answers that cannot be read as HTTP/1.1 end pipelining for that source: one request at a time from then on', async () => {
		let asked = 0;
		const source = archiveSource({id: 'abc'} as unknown as Docker.Container, async () => {
			asked++;
			return connection(Buffer.from('SSH-2.0-not-an-engine\r\n\r\n')).socket;
		});
		assert.equal(await source.copyThenStat!([{path: '/d/db', destination: join(dir, 'x')}], ['/d/db']), null);
		assert.equal(await source.copyThenStat!([{path: '/d/db', destination: join(dir, 'x')}], ['/d/db']), null);
		assert.equal(asked, 1, 'not asked again');
	});

	it('another engine error is thrown with its message', async () => {
		const {socket} = connection(Buffer.concat([lengthAnswer('500 Internal Server Error', '{"message":"mount failed"}'), headAnswer(1)]));
		await assert.rejects(copyThenStatInContainer(socket, 'abc', [{path: '/d/db', destination: join(dir, 'e')}], ['/d/db']), (error: {statusCode?: number; message: string}) => error.statusCode === 500 && /mount failed/.test(error.message));
	});
});
