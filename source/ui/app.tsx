import {Box, useApp} from 'ink';
import {Spinner} from '@inkjs/ui';
import {useMemo, type ReactElement} from 'react';
import {Bar, legendLine, tabsLine, titleLine} from './components/chrome.js';
import {helpLines} from './components/help.js';
import {Lines, seg, type Line} from './components/line.js';
import {detailLines, LocationDetails} from './components/location-details.js';
import {exitCodeOf, useDoctor} from './hooks/use-doctor.js';
import {useKeys} from './hooks/use-keys.js';
import {useTerminalSize, type Size} from './hooks/use-terminal-size.js';
import {useView} from './hooks/use-view.js';
import {availableScreens, SCREENS, type ScreenData, type ScreenDef} from './screens/index.js';
import {filterCandidates, Picker} from './screens/picker.js';
import type {DoctorServices} from './services.js';
import {ThemeContext} from './theme.js';
import {wrapLines} from './text.js';

export interface AppProps {
	services: DoctorServices;
	/** --container: skip the picker. */
	container?: string;
	/** Fixed size (tests); else the terminal's, following resizes. */
	size?: Size;
	/** False under NO_COLOR. */
	color?: boolean;
	screens?: ScreenDef[];
}

/** What the app resolves waitUntilExit() with when the user quits; Ctrl+C resolves it with nothing. */
export interface AppResult {
	code: number;
}

export function App({services, container, size, color = true, screens = SCREENS}: AppProps) {
	const {exit} = useApp();
	const {columns, rows} = useTerminalSize(size);
	const {state, check, reinspect, pickAgain} = useDoctor(services, container);
	const [view, dispatch] = useView(screens[0]?.id ?? 'overview');

	// One line short of the terminal: Ink clears the whole screen on every frame once output reaches its height.
	const width = Math.max(20, columns);
	const bodyHeight = Math.max(3, rows - 1 - 3);
	const data: ScreenData | null = useMemo(() => (state.inspection ? {inspection: state.inspection, engineLabel: services.engineLabel} : null), [state.inspection, services]);
	const tabs = availableScreens(data, screens);
	const screen = tabs.find(s => s.id === view.screen) ?? tabs[0];
	const picking = state.phase === 'picking';
	const pickerRows = filterCandidates(state.candidates, view.filter);
	const screenRows = screen?.rows && data ? screen.rows(data, view.filter) : [];
	const cursorKey = picking ? 'picker' : screen?.id ?? 'overview';
	const rowCount = picking ? pickerRows.length : state.phase === 'ready' ? screenRows.length : 0;
	const cursor = Math.max(0, Math.min(view.cursor[cursorKey] ?? 0, rowCount - 1));
	const report = state.inspection?.report ?? null;
	const detail = view.detail && report ? detailLines(report, state.inspection!.facts, view.detail.path, width) : null;

	useKeys({
		view,
		dispatch,
		phase: state.phase,
		tabs: tabs.map(t => t.id),
		rowCount,
		cursorKey,
		columnCount: screen?.columns && data ? screen.columns(data) : 0,
		pageSize: Math.max(1, bodyHeight - 4),
		detailMax: detail ? detail.length - bodyHeight : 0,
		canPickAgain: state.candidates.length > 1 && (state.phase === 'ready' || state.phase === 'failed'),
		enter() {
			if (picking) {
				const picked = pickerRows[cursor];
				if (picked) {
					dispatch({type: 'filter-clear'});
					dispatch({type: 'screen', id: screens[0]!.id});
					check(picked.id);
				}

				return;
			}

			const row = screenRows[cursor];
			const path = row !== undefined ? screen?.opens?.(row) : null;
			if (path && report?.locations.some(l => l.path === path)) {
				dispatch({type: 'open', path});
			}
		},
		reinspect,
		pickAgain() {
			dispatch({type: 'filter-clear'});
			pickAgain();
		},
		quit() {
			exit({code: exitCodeOf(state)} satisfies AppResult);
		},
	});

	let body: ReactElement;
	let tabLine: Line = [];
	if (view.help) {
		body = <Lines lines={helpLines(tabs.length > 0 ? tabs : screens)} width={width} height={bodyHeight}/>;
		tabLine = [seg(' Help ', {inverse: true, bold: true})];
	} else if (state.phase === 'finding' || state.phase === 'checking') {
		const what = state.phase === 'finding' ? `Looking for coding-agent containers on ${services.engineLabel}…` : `Inspecting ${state.candidates.find(c => c.id === state.ref)?.name ?? state.ref}…`;
		body = <Box height={bodyHeight}><Spinner label={what}/></Box>;
	} else if (state.phase === 'failed') {
		const lines: Line[] = wrapLines(state.error ?? 'failed', width - 2).map((text, i) => [seg(i === 0 ? '✗ ' : '  ', {color: 'red', bold: true}), seg(text)]);
		lines.push([], [seg(`r retry${state.candidates.length > 1 ? ' · esc back to the containers' : ''} · q quit`, {dim: true})]);
		body = <Lines lines={lines} width={width} height={bodyHeight}/>;
	} else if (picking) {
		tabLine = [seg(' Pick a container ', {inverse: true, bold: true})];
		body = <Picker candidates={state.candidates} rows={pickerRows} cursor={cursor} engineLabel={services.engineLabel} width={width} height={bodyHeight}/>;
	} else if (detail && report) {
		body = <LocationDetails report={report} facts={state.inspection!.facts} path={view.detail!.path} scroll={view.detail!.scroll} width={width} height={bodyHeight}/>;
	} else if (screen && data) {
		const Screen = screen.component;
		body = <Screen data={data} rows={screenRows} cursor={cursor} view={view} width={width} height={bodyHeight}/>;
	} else {
		body = <Box height={bodyHeight}/>;
	}

	if (state.phase === 'ready' && !view.help) {
		const active = Math.max(0, tabs.indexOf(screen!));
		tabLine = tabsLine(tabs, active);
		if (detail) {
			tabLine.push(seg(`› ${view.detail!.path}`, {bold: true}));
		}
	}

	return (
		<ThemeContext.Provider value={{color}}>
			<Box flexDirection="column" width={width} height={rows - 1} overflow="hidden">
				<Bar line={titleLine(report, services.engineLabel, state.busy, width)} width={width}/>
				<Bar line={tabLine} width={width}/>
				<Box flexDirection="column" height={bodyHeight} overflow="hidden">{body}</Box>
				<Bar line={footer(view, state.phase, Boolean(detail), Boolean(screen?.rows), screen?.keys ?? [], tabs.length, width)} width={width}/>
			</Box>
		</ThemeContext.Provider>
	);
}

function footer(view: ReturnType<typeof useView>[0], phase: string, inDetail: boolean, hasRows: boolean, extra: Array<[string, string]>, tabCount: number, width: number): Line {
	if (view.filtering) {
		return [seg('/', {bold: true}), seg(` ${view.filter}`), seg('▏'), seg('   enter keep · esc clear', {dim: true})];
	}

	if (view.help) {
		return legendLine([['any key', 'close'], ['q', 'quit']], width);
	}

	const note: Line | undefined = view.filter ? [seg(`filter: ${view.filter}`, {bold: true}), seg(' (esc clears)', {dim: true})] : undefined;
	const keys: Array<[string, string]> = [];
	if (phase === 'ready' && !inDetail) {
		keys.push([`tab/1-${tabCount}`, 'screens']);
	}

	if (inDetail) {
		keys.push(['↑↓', 'scroll'], ['esc', 'back']);
	} else if (hasRows || phase === 'picking') {
		keys.push(['↑↓', 'move'], ...extra, ['⏎', phase === 'picking' ? 'pick' : 'details'], ['/', 'filter']);
	}

	keys.push(['r', 're-inspect'], ['?', 'help'], ['q', 'quit']);
	return legendLine(keys, width, note);
}
