import type {ContainerFacts, Location, Report} from '../../core/types.js';
import {OBSERVED_MARK, SURVIVAL_COLOR, SURVIVAL_GLYPH} from '../../report/labels.js';
import {cellOf, sourceNote, visibleScenarios} from '../../report/summary.js';
import {cells} from '../text.js';
import {findingBlock} from './finding.js';
import {Lines, seg, wrapLine, type Line} from './line.js';

/** The inspect facts behind a location: the covering Mounts entry, its volume, the image VOLUME, tmpfs and the root filesystem. */
function factLines(location: Location, facts: ContainerFacts | null, width: number): Line[] {
	const lines: Line[] = [[seg('docker inspect facts', {bold: true})]];
	if (!facts) {
		return [...lines, [seg('  (not available)', {dim: true})]];
	}

	const fact = (key: string, value: string): Line => [seg(`  ${key} `, {dim: true}), seg(value)];
	const mount = location.mount ? facts.mounts.find(m => m.destination === location.mount!.destination) : undefined;
	if (mount) {
		lines.push(fact('.Mounts[]', `Type ${mount.type} · Name ${mount.name ?? '""'} · RW ${mount.rw} · Driver ${mount.driver ?? '""'}`));
		lines.push(fact('         ', `Destination ${mount.destination}`));
		lines.push(fact('         ', `Source ${mount.source ?? '""'}`));
		const volume = mount.name ? facts.volumes[mount.name] : undefined;
		if (volume) {
			const labels = Object.entries(volume.labels).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)';
			lines.push(fact('volume   ', `labels ${labels}`));
		}

		if (mount.type === 'bind' && mount.source) {
			const exists = facts.bindSourceExists[mount.source];
			lines.push(fact('host path', exists === null || exists === undefined ? 'not checked (remote engine)' : exists ? `exists${facts.bindSourceIsFile[mount.source] ? ', a file' : ', a directory'}` : 'MISSING'));
		}
	} else if (facts.tmpfs.some(t => location.path === t || location.path.startsWith(`${t}/`))) {
		lines.push(fact('HostConfig.Tmpfs', facts.tmpfs.join(' ')));
	} else {
		lines.push(fact('.Mounts[]', `no mount covers ${location.path}: it lives in the container's writable layer`));
	}

	if (facts.imageVolumes.includes(location.path) || (location.mount && facts.imageVolumes.includes(location.mount.destination))) {
		lines.push(fact('image VOLUME', `${location.mount?.destination ?? location.path} (declared by ${facts.image}: docker run makes an anonymous volume)`));
	}

	if (facts.readonlyRootfs) {
		lines.push(fact('HostConfig.ReadonlyRootfs', 'true'));
	}

	// Evidence is wrapped, never cut: a volume's 64-hex name or a long host path must be readable in full.
	return lines.flatMap(line => (line.length === 2 && line[0]!.dim ? wrapLine(line, width, cells(line[0]!.text)) : [line]));
}

export function detailLines(report: Report, facts: ContainerFacts | null, path: string, width: number): Line[] {
	const location = report.locations.find(l => l.path === path);
	if (!location) {
		return [[seg(`${path} is not in the report any more (re-inspected?)`, {dim: true})]];
	}

	const key = (k: string) => seg(k.padEnd(10), {dim: true});
	const lines: Line[] = [
		[seg(sourceNote(report), {dim: true})],
		[seg(location.path, {bold: true}), seg(` · ${location.label}`)],
		[key('priority'), seg(`${location.priority} · ${location.kind} · must be ${location.expected} · from the ${location.origin}`)],
		[key('storage'), seg(location.storage, {bold: true}), seg(location.readOnly ? ' · read-only' : ' · read-write')],
		// The whole volume name here (tables show its short form).
		[key('mount'), seg(location.mount ? `${location.mount.type} ${location.mount.name ?? location.mount.source ?? ''} → ${location.mount.destination}${location.mount.rw ? '' : ' (ro)'}` : 'none: the container\'s own layer')],
	].flatMap(line => wrapLine(line, width, line[0]?.dim && /^\w[\w ]* +$/.test(line[0].text) ? 10 : 0));
	const fact = (k: string, value: string) => lines.push(...wrapLine([key(k), seg(value)], width, 10));
	if (location.hostSource) {
		fact('on host', location.hostSource);
	}

	if (location.compose) {
		fact('compose', `${location.compose.project}/${location.compose.service}${location.external ? ' · external volume' : ''}`);
	}

	if (location.observed?.note) {
		fact('probe', location.observed.note);
	}

	// The matrix row in words, packed onto as few lines as fit.
	const marks = visibleScenarios(report).map(s => {
		const cell = cellOf(location, s);
		const glyph = cell.value ? SURVIVAL_GLYPH[cell.value] : '·';
		return seg(`${cell.observed ? OBSERVED_MARK : ''}${glyph} ${s}  `, {color: cell.value ? SURVIVAL_COLOR[cell.value] : undefined, bold: cell.observed !== null});
	});
	let row: Line = [key('survives')];
	let used = 10;
	for (const cell of marks) {
		if (used + cell.text.length > width && row.length > 1) {
			lines.push(row);
			row = [seg(' '.repeat(10))];
			used = 10;
		}

		row.push(cell);
		used += cell.text.length;
	}

	lines.push(row, []);

	const findings = report.findings.filter(f => f.path === location.path);
	lines.push([seg(`Findings (${findings.length})`, {bold: true})]);
	if (findings.length === 0) {
		lines.push([seg('  none: this location is fine', {dim: true})]);
	}

	lines.push(...findings.flatMap(f => findingBlock(f, width)));

	lines.push([], ...factLines(location, facts, width));
	return lines;
}

export function LocationDetails({report, facts, path, scroll, width, height}: {report: Report; facts: ContainerFacts | null; path: string; scroll: number; width: number; height: number}) {
	const lines = detailLines(report, facts, path, width);
	const start = Math.min(scroll, Math.max(0, lines.length - height));
	return <Lines lines={lines.slice(start, start + height)} width={width} height={height}/>;
}

