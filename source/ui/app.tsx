import {Box, useApp} from 'ink';
import {Spinner} from '@inkjs/ui';
import {useCallback, useEffect, useRef, useState, type ReactElement} from 'react';
import {Bar, legendLine, tabsLine, titleLine} from './components/chrome.js';
import {helpLines} from './components/help.js';
import {Lines, seg, type Line} from './components/line.js';
import {detailLines, LocationDetails} from './components/location-details.js';
import {backupBusy, backupExitCode, useBackup, type BackupLaunch, type BackupState} from './hooks/use-backup.js';
import {exitCodeOf, useDoctor} from './hooks/use-doctor.js';
import {useKeys} from './hooks/use-keys.js';
import {probeBusy, useProbe, type ProbeLaunch, type ProbeState} from './hooks/use-probe.js';
import {useTerminalSize, type Size} from './hooks/use-terminal-size.js';
import {useTick} from './hooks/use-tick.js';
import {useView} from './hooks/use-view.js';
import {availableScreens, SCREENS, type ScreenData, type ScreenDef} from './screens/index.js';
import {filterCandidates, Picker} from './screens/picker.js';
import {cleanupSummary} from './screens/probe.js';
import type {DoctorServices} from './services.js';
import {ThemeContext} from './theme.js';
import {wrapLines} from './text.js';

/** How the app was opened: `occ-doctor probe` and `occ-doctor backup` open on their screen with their flags. */
export interface Launch {
	screen?: string;
	/** autoStart: prepare the probe at once (`occ-doctor probe`); the plan is still confirmed unless yes. */
	probe?: ProbeLaunch & {autoStart?: boolean};
	backup?: BackupLaunch;
}

export interface AppProps {
	services: DoctorServices;
	/** --container: skip the picker. */
	container?: string;
	/** Fixed size (tests); else the terminal's, following resizes. */
	size?: Size;
	/** False under NO_COLOR. */
	color?: boolean;
	screens?: ScreenDef[];
	launch?: Launch;
	/** SIGINT/SIGTERM from outside: handled as Ctrl+C (a running probe or backup cleans up before the app leaves). */
	signal?: AbortSignal;
}

/** What the app resolves waitUntilExit() with: the exit code, and a line for the shell once the screen is gone. */
export interface AppResult {
	code: number;
	message?: string;
}

const NO_LAUNCH: Launch = {};
const NO_PROBE: ProbeLaunch = {};
const NO_BACKUP: BackupLaunch = {};

/** The line left in the shell after a cancelled probe or backup: what was cleaned up. */
function leavingMessage(probe: ProbeState, backup: BackupState): string | undefined {
	if (probe.phase === 'cancelled' && !probe.declined) {
		const summary = cleanupSummary(probe);
		return summary[0]?.startsWith('nothing') ? `occ-doctor: probe cancelled: ${summary[0]}` : `occ-doctor: probe interrupted; cleaned up: ${summary.join(' · ')}`;
	}

	if (backup.phase === 'cancelled') {
		return `occ-doctor: backup cancelled: no archive was left under a final name in ${backup.dir} (the .partial files were removed)${backup.container ? `; container ${backup.container}` : ''}`;
	}

	return undefined;
}

export function App({services, container, size, color = true, screens = SCREENS, launch = NO_LAUNCH, signal}: AppProps) {
	const {exit} = useApp();
	const {columns, rows} = useTerminalSize(size);
	const {state, check, reinspect, pickAgain, probed} = useDoctor(services, container);
	const firstScreen = launch.screen ?? screens[0]?.id ?? 'overview';
	const [view, dispatch] = useView(firstScreen);
	const probe = useProbe(services, launch.probe ?? NO_PROBE, probed);
	const backup = useBackup(services, launch.backup ?? NO_BACKUP);
	const busy = probeBusy(probe.state) || backupBusy(backup.state);
	const tick = useTick(busy || backup.state.phase === 'planning');
	const [leaving, setLeaving] = useState(false);

	// One line short of the terminal: Ink clears the whole screen on every frame once output reaches its height.
	const width = Math.max(20, columns);
	const bodyHeight = Math.max(3, rows - 1 - 3);
	const ref = state.ref;
	const data: ScreenData | null = state.inspection ? {
		inspection: state.inspection,
		engineLabel: services.engineLabel,
		tick,
		...(services.probe ? {probe: {state: probe.state, noRestart: Boolean(launch.probe?.noRestart), start: () => ref && probe.start(ref), respond: probe.respond}} : {}),
		...(services.backup && services.backupChoices ? {backup: {state: backup.state, dispatch: backup.dispatch, load: () => ref && backup.load(ref), start: () => ref && backup.start(ref, backup.state)}} : {}),
	} : null;
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

	// Another container: the last one's probe and backup no longer apply.
	useEffect(() => {
		probe.reset();
		backup.dispatch({type: 'reset'});
	}, [ref]); // eslint-disable-line react-hooks/exhaustive-deps

	// `occ-doctor probe`: prepare the probe as soon as the container is known (the plan is confirmed on screen).
	const autoStarted = useRef(false);
	useEffect(() => {
		if (launch.probe?.autoStart && !autoStarted.current && state.phase === 'ready' && ref && data?.probe) {
			autoStarted.current = true;
			probe.start(ref);
		}
	}, [state.phase, ref]); // eslint-disable-line react-hooks/exhaustive-deps

	// The Backup screen measures the mounts when first shown (reads only).
	useEffect(() => {
		if (screen?.id === 'backup' && state.phase === 'ready' && ref && backup.state.phase === 'idle') {
			backup.load(ref);
		}
	}, [screen?.id, state.phase, ref, backup.state.phase]); // eslint-disable-line react-hooks/exhaustive-deps

	// Ctrl+C or a signal while a probe or backup runs: cancel, let the service clean up, then leave.
	useEffect(() => {
		if (leaving && !busy) {
			exit({code: 130, message: leavingMessage(probe.state, backup.state)} satisfies AppResult);
		}
	}, [leaving, busy]); // eslint-disable-line react-hooks/exhaustive-deps

	const interrupt = useCallback(() => {
		if (busy) {
			probe.cancel();
			backup.cancel();
			setLeaving(true);
		} else {
			exit({code: 130} satisfies AppResult);
		}
	}, [busy, probe.cancel, backup.cancel, exit]); // eslint-disable-line react-hooks/exhaustive-deps

	const interruptRef = useRef(interrupt);
	interruptRef.current = interrupt;
	useEffect(() => {
		if (!signal) {
			return;
		}

		const onAbort = () => interruptRef.current();
		if (signal.aborted) {
			onAbort();
		}

		signal.addEventListener('abort', onAbort, {once: true});
		return () => signal.removeEventListener('abort', onAbort);
	}, [signal]);

	const screenKeys = screen && data ? (typeof screen.keys === 'function' ? screen.keys(data) : screen.keys ?? []) : [];
	const capturing = Boolean(screen?.capturing && data && screen.capturing(data));
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
		busy,
		capturing,
		screenKey: screen?.onKey && data && !leaving ? (input, key) => screen.onKey!(input, key, data, screenRows[cursor]) : undefined,
		enter() {
			if (picking) {
				const picked = pickerRows[cursor];
				if (picked) {
					dispatch({type: 'filter-clear'});
					dispatch({type: 'screen', id: firstScreen});
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
			// q while the container is held: the same careful way out as Ctrl+C.
			if (busy) {
				interrupt();
			} else {
				// Opened as `occ-doctor backup`: the backup's code, as in plain mode, not the check's.
				exit({code: launch.screen === 'backup' && state.inspection ? backupExitCode(backup.state) : exitCodeOf(state)} satisfies AppResult);
			}
		},
		interrupt,
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
		tabLine = tabsLine(tabs, active, width);
		if (detail) {
			tabLine.push(seg(`› ${view.detail!.path}`, {bold: true}));
		}
	}

	const legend = footer({view, phase: state.phase, inDetail: Boolean(detail), hasRows: Boolean(screen?.rows) && screenRows.length > 0, opens: Boolean(screen?.opens), screenKeys: state.phase === 'ready' ? screenKeys : [], capturing, busy, tabCount: tabs.length, width});
	return (
		<ThemeContext.Provider value={{color}}>
			<Box flexDirection="column" width={width} height={rows - 1} overflow="hidden">
				<Bar line={titleLine(report, services.engineLabel, state.busy, width)} width={width}/>
				<Bar line={tabLine} width={width}/>
				<Box flexDirection="column" height={bodyHeight} overflow="hidden">{body}</Box>
				<Bar line={legend} width={width}/>
			</Box>
		</ThemeContext.Provider>
	);
}

interface FooterState {
	view: ReturnType<typeof useView>[0];
	phase: string;
	inDetail: boolean;
	hasRows: boolean;
	opens: boolean;
	screenKeys: Array<[string, string]>;
	capturing: boolean;
	busy: boolean;
	tabCount: number;
	width: number;
}

function footer({view, phase, inDetail, hasRows, opens, screenKeys, capturing, busy, tabCount, width}: FooterState): Line {
	if (view.filtering) {
		return [seg('/', {bold: true}), seg(` ${view.filter}`), seg('▏'), seg('   enter keep · esc clear', {dim: true})];
	}

	if (view.help) {
		return legendLine([['any key', 'close'], ['q', 'quit']], width);
	}

	if (capturing) {
		return legendLine(screenKeys, width);
	}

	const note: Line | undefined = view.filter ? [seg(`filter: ${view.filter}`, {bold: true}), seg(' (esc clears)', {dim: true})] : undefined;
	const keys: Array<[string, string]> = [];
	if (!inDetail) {
		keys.push(...screenKeys);
	}

	if (phase === 'ready' && !inDetail) {
		keys.push([`tab/1-${tabCount}`, 'screens']);
	}

	if (inDetail) {
		keys.push(['↑↓', 'scroll'], ['esc', 'back']);
	} else if (hasRows || phase === 'picking') {
		keys.push(['↑↓', 'move'], ...(opens || phase === 'picking' ? [['⏎', phase === 'picking' ? 'pick' : 'details'] as [string, string]] : []), ['/', 'filter']);
	}

	if (!busy) {
		keys.push(['r', 're-inspect']);
	}

	return legendLine(keys, width, note, [['?', 'help'], ['q', 'quit']]);
}
