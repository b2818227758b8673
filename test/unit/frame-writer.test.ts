import assert from 'node:assert/strict';
import {EventEmitter} from 'node:events';
import {describe, it} from 'node:test';
import ansiEscapes from 'ansi-escapes';
import {FrameWriter} from '../../source/ui/frame-writer.js';

const ESC = '\u001B[';

/** A fake terminal: records what reaches it. */
class Sink extends EventEmitter {
	columns = 80;
	rows = 24;
	text = '';
	write = (chunk: string) => {
		this.text += chunk;
		return true;
	};

	take(): string {
		const {text} = this;
		this.text = '';
		return text;
	}
}

/** A chunk as Ink 6.8 writes it without incremental rendering: erase the last frame's lines, then the frame and '\n'. */
const inkChunk = (lines: string[], previous?: string[]) => ansiEscapes.eraseLines(previous ? previous.length + 1 : 0) + lines.join('\n') + '\n';

function started(lines: string[]) {
	const sink = new Sink();
	const writer = new FrameWriter(sink);
	writer.write(inkChunk(lines));
	assert.equal(sink.take(), `${ESC}H${ESC}2J` + lines.map((l, i) => `${ESC}${i + 1};1H${ESC}K${l}`).join('') + `${ESC}${lines.length + 1};1H`, 'the first frame is painted whole');
	return {sink, writer};
}

const frame = ['title', '\u001B[1mrow one\u001B[22m', 'row two', 'row three', 'keys'];

describe('FrameWriter', () => {
	it('writes only the line that changed, at its row', () => {
		const {sink, writer} = started(frame);
		const next = frame.with(2, '\u001B[7mrow two\u001B[27m');
		writer.write(inkChunk(next, frame));
		assert.equal(sink.take(), `${ESC}3;1H${ESC}K\u001B[7mrow two\u001B[27m` + `${ESC}6;1H`);
	});

	it('writes nothing for an identical frame', () => {
		const {sink, writer} = started(frame);
		writer.write(inkChunk(frame, frame));
		assert.equal(sink.take(), '');
	});

	it('clears the rows a shorter frame no longer has', () => {
		const {sink, writer} = started(frame);
		writer.write(inkChunk(['title', 'keys'], frame));
		assert.equal(sink.take(), `${ESC}2;1H${ESC}Kkeys${ESC}3;1H${ESC}K${ESC}4;1H${ESC}K${ESC}5;1H${ESC}K` + `${ESC}3;1H`);
	});

	it('passes unrecognised chunks through unchanged, then repaints the next frame whole', () => {
		const {sink, writer} = started(frame);
		for (const chunk of ['\u001B[?25l', '\u001B[?2026h', '\u001B[?2026l', '', '\u001B[?25h']) {
			writer.write(chunk);
			assert.equal(sink.take(), chunk, 'harmless control sequences');
		}

		writer.write(inkChunk(frame, frame));
		assert.equal(sink.take(), '', 'they do not cost a repaint');
		const odd = `${ansiEscapes.clearTerminal}fullscreen\nframe`;
		writer.write(odd);
		assert.equal(sink.take(), odd);
		writer.write(inkChunk(frame, frame));
		assert.match(sink.take(), /^\u001B\[H\u001B\[2J/, 'after a chunk it did not understand, a full repaint');
	});

	it('repaints whole after a resize, and forwards the size and the event', () => {
		const {sink, writer} = started(frame);
		let resized = 0;
		writer.on('resize', () => resized++);
		sink.columns = 100;
		sink.emit('resize');
		assert.equal(resized, 1);
		assert.equal(writer.columns, 100);
		writer.write(inkChunk(frame, frame));
		assert.match(sink.take(), /^\u001B\[H\u001B\[2J/);
		writer.dispose();
		sink.emit('resize');
		assert.equal(resized, 1, 'disposed: no longer follows the terminal');
	});

	it("repaints whole when Ink's erase count does not match the frame on screen", () => {
		const {sink, writer} = started(frame);
		writer.write(ansiEscapes.eraseLines(3) + frame.join('\n') + '\n');
		assert.match(sink.take(), /^\u001B\[H\u001B\[2J/);
	});

	it("treats Ink's clear as an empty screen and draws the next frame on it", () => {
		const {sink, writer} = started(frame);
		writer.write(ansiEscapes.eraseLines(frame.length + 1));
		assert.equal(sink.take(), `${ESC}H${ESC}2J`);
		writer.write(inkChunk(['a']));
		assert.equal(sink.take(), `${ESC}1;1H${ESC}Ka${ESC}2;1H`);
	});

	it('calls the write callback even when nothing is sent', async () => {
		const {writer} = started(frame);
		await new Promise<void>(resolve => writer.write(inkChunk(frame, frame), () => resolve()));
	});
});
