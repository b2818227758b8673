import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {dechunk, parseResponse, queryString, statusError, versionFromPing} from '../../source/docker/api.js';

// The small HTTP client check uses on a unix socket: what it makes of the engine's bytes. Against a real engine,
// test/engine/cli.test.ts and the other engine tests run every request of check through it.

const CRLF = '\r\n';

describe('engine api client', () => {
	it('sends filters as JSON and leaves out what is unset, as docker-modem does', () => {
		assert.equal(queryString({all: true, filters: {label: ['a=b']}, since: undefined}), '?all=true&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D');
		assert.equal(new URLSearchParams(queryString({filters: {name: ['x', 'y']}})).get('filters'), '{"name":["x","y"]}');
		assert.equal(queryString({}), '');
	});

	it('joins a chunked body, chunk sizes in hex, and refuses one cut short', () => {
		const body = Buffer.from(`5${CRLF}{"a":${CRLF}c${CRLF}1234567890a}${CRLF}0${CRLF}${CRLF}`);
		assert.equal(dechunk(body).toString(), '{"a":1234567890a}');
		assert.throws(() => dechunk(Buffer.from(`10${CRLF}short`)), /malformed/);
	});

	it('reads the status and the body of a plain and of a chunked response', () => {
		const plain = parseResponse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Content-Type: application/json${CRLF}Content-Length: 7${CRLF}${CRLF}{"a":1}`));
		assert.deepEqual([plain.statusCode, plain.body.toString()], [200, '{"a":1}']);
		const chunked = parseResponse(Buffer.from(`HTTP/1.1 404 Not Found${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}2${CRLF}{}${CRLF}0${CRLF}${CRLF}`));
		assert.deepEqual([chunked.statusCode, chunked.body.toString()], [404, '{}']);
		assert.throws(() => parseResponse(Buffer.from('')), /no HTTP response/);
	});

	it('reads the versions from the head of the engine\'s answer to /_ping, and gives up without an Api-Version', () => {
		// The head Engine 20.10 sends (test/engine/cli.test.ts runs the real one); case and spacing as HTTP allows.
		const head = `HTTP/1.1 200 OK${CRLF}Api-Version: 1.41${CRLF}Cache-Control: no-cache${CRLF}Server: Docker/20.10.24+dfsg1 (linux)${CRLF}Content-Length: 2`;
		assert.deepEqual(versionFromPing(head), {ApiVersion: '1.41', Version: '20.10.24+dfsg1'});
		assert.deepEqual(versionFromPing(`HTTP/1.1 200 OK${CRLF}api-version:1.39`), {ApiVersion: '1.39'});
		assert.equal(versionFromPing(`HTTP/1.1 200 OK${CRLF}Server: nginx${CRLF}Content-Length: 2`), null);
		assert.equal(parseResponse(Buffer.from(`${head}${CRLF}${CRLF}OK`)).head, head);
	});

	it('fails as docker-modem does, so a 404 still reads "no container" and the engine message reaches the line', () => {
		const error = statusError(404, Buffer.from('{"message":"No such container: web"}'));
		assert.equal(error.statusCode, 404);
		assert.deepEqual(error.json, {message: 'No such container: web'});
		assert.match(error.message, /^\(HTTP code 404\) not found - No such container: web/);
		assert.match(statusError(500, Buffer.from('boom')).message, /server error - boom/);
	});
});
