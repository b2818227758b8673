// The Stack screen: every service of the container's compose project with its verdict; enter checks the one under
// the cursor (its screens replace these; the stack stays listed here). Reports only what check found.
import type {ServiceReport} from '../../core/types.js';
import {SEVERITY_COLOR, SEVERITY_MARK, fixText} from '../../report/labels.js';
import {redisLine, serviceCounts} from '../../report/stack.js';
import {Lines, seg, wrapAll, type Line} from '../components/line.js';
import {pad} from '../text.js';
import {matches, type ScreenDef, type ScreenProps} from './screen.js';

const VERDICT: Record<ServiceReport['verdict'], {mark: string; color: string}> = {
	ok: {mark: '✓', color: 'green'},
	warnings: {mark: '!', color: 'yellow'},
	errors: {mark: '✗', color: 'red'},
};

/** What the selected service's own screens would say first: its Redis settings, its errors and warnings with fixes. */
function detailOf(service: ServiceReport): Line[] {
	const lines: Line[] = [];
	if (service.error) {
		lines.push([seg(`not checked: ${service.error}`, {color: 'red'})]);
	}

	if (service.redis) {
		lines.push([seg('redis ', {dim: true}), seg(redisLine(service.redis))]);
	}

	for (const f of service.findings.filter(f => f.severity !== 'info')) {
		lines.push([seg(`${SEVERITY_MARK[f.severity]} `, {color: SEVERITY_COLOR[f.severity]}), seg(f.message)], [seg('  fix: ', {dim: true}), seg(fixText(f))]);
	}

	return lines.length > 0 ? lines : [[seg('✓ nothing to fix', {color: 'green'})]];
}

function Stack({data, rows, cursor, width, height}: ScreenProps<ServiceReport>) {
	const report = data.inspection.report;
	const nameWidth = Math.max(7, ...rows.map(s => s.name.length));
	const containerWidth = Math.max(9, ...rows.map(s => s.container.name.length));
	const list: Line[] = rows.map(service => {
		const here = service.container.id === report.container.id;
		const {mark, color} = VERDICT[service.verdict];
		return [
			seg(`${mark} `, {color}),
			seg(pad(service.name, nameWidth), {bold: here}),
			seg(`  ${pad(service.container.name, containerWidth)}  ${pad(service.container.state, 8)}  ${pad(service.profile ?? '-', 14)}  `),
			seg(serviceCounts(service), {color: service.verdict === 'ok' ? undefined : color}),
			seg(here ? '  ◂ shown' : '', {dim: true}),
		];
	});
	const selected = rows[cursor];
	const head: Line[] = [[seg(`compose project ${report.container.compose?.project ?? ''} · ${rows.length} service${rows.length === 1 ? '' : 's'} · enter checks the one under the cursor`, {dim: true})], []];
	const detail = selected ? [[], [seg(selected.name, {bold: true}), seg(` (${selected.container.name})`, {dim: true})], ...wrapAll(detailOf(selected), width)] : [];
	const lines = [...head, ...list, ...detail].slice(0, height);
	return <Lines lines={lines} width={width} height={height} selected={i => i - head.length === cursor}/>;
}

export const stackScreen: ScreenDef<ServiceReport> = {
	id: 'stack',
	number: 9,
	title: 'Stack',
	empty: data => (data.inspection.report.services?.length ? null : 'not part of a compose project with other services: nothing to list'),
	rows: (data, filter) => (data.inspection.report.services ?? []).filter(s => matches(filter, s.name, s.container.name, s.profile, s.verdict)),
	bindings: [
		{
			scope: 'stack', keys: ['enter'], label: '⏎', legend: 'check service', description: 'check the service under the cursor: the other screens show it, this list stays',
			when: c => Boolean(c.row && c.data?.open) && !c.busy, run: c => c.data?.open?.((c.row as ServiceReport).container.id),
		},
	],
	component: Stack,
};
