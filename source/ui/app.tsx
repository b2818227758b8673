import {Box, useApp} from 'ink';
import {Spinner} from '@inkjs/ui';
import {useCallback, useEffect, useRef, useState, type ReactElement} from 'react';
import {Bar, legendLines, tabsLine, titleLine} from './components/chrome.js';
import {helpLines} from './components/help.js';
import {fieldSegments} from './components/text-field.js';
import {lineText, Lines, seg, type Line} from './components/line.js';
import {detailLines, LocationDetails} from './components/location-details.js';
import {restoreBusy, restoreExitCode, useRestore, type RestoreState} from './hooks/use-restore.js';
import {backupBusy, backupExitCode, useBackup, type BackupLaunch, type BackupState} from './hooks/use-backup.js';
import {exitCodeOf, useDoctor} from './hooks/use-doctor.js';
import {useKeys} from './hooks/use-keys.js';
import {APP_BINDINGS} from './keys/bindings.js';
import {keyTable, legendEntries, type Binding, type FieldSlice, type KeyContext} from './keys/table.js';
import {probeBusy, useProbe, type ProbeLaunch, type ProbeState} from './hooks/use-probe.js';
import {useTerminalSize, type Size} from './hooks/use-terminal-size.js';
import {useTick} from './hooks/use-tick.js';
import {useView} from './hooks/use-view.js';
import {SCREENS, type ScreenData, type ScreenDef} from './screens/index.js';
import {filterCandidates, Picker} from './screens/picker.js';
import {cleanupSummary} from './screens/probe.js';
import type {DoctorServices} from './services.js';
import {ThemeContext} from './theme.js';
import {cells, wrapLines} from './text.js';

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
	/** The app's own key bindings (the screens add theirs); tests add one to see it in the legend and the help. */
	bindings?: Binding[];
	launch?: Launch;
	/** SIGINT/SIGTERM from outside: handled as Ctrl+C (a running probe or backup cleans up before the app leaves). */
	signal?: AbortSignal;
	/** Ctrl+L: paint the whole screen again (runTui's frame writer); absent in screen tests. */
	redraw?: () => void;
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
function leavingMessage(probe: ProbeState, backup: BackupState, restore: RestoreState): string | undefined {
	if (restore.phase === 'cancelled' && restore.error) {
		return `occ-doctor: ${restore.error}`;
	}

	if (probe.phase === 'cancelled' && !probe.declined) {
		const summary = cleanupSummary(probe);
		return summary[0]?.startsWith('nothing') ? `occ-doctor: probe cancelled: ${summary[0]}` : `occ-doctor: probe interrupted; cleaned up: ${summary.join(' · ')}`;
	}

	if (backup.phase === 'cancelled') {
		return `occ-doctor: backup cancelled: no archive was left under a final name in ${backup.dir} (the .partial files were removed)${backup.container ? `; container ${backup.container}` : ''}`;
	}

	return undefined;
}

export function App({services, container, size, color = true, screens = SCREENS, bindings = APP_BINDINGS, launch = NO_LAUNCH, signal, redraw = () => {}}: AppProps) {
	const {exit} = useApp();
	const {columns, rows} = useTerminalSize(size);
	const {state, check, reinspect, pickAgain, probed} = useDoctor(services, container);
	const firstScreen = launch.screen ?? screens[0]?.id ?? 'overview';
	const [view, dispatch] = useView(firstScreen);
	const probe = useProbe(services, launch.probe ?? NO_PROBE, probed);
	const backup = useBackup(services, launch.backup ?? NO_BACKUP);
	const restore = useRestore(services, state.ref);
	const busy = probeBusy(probe.state) || backupBusy(backup.state) || restoreBusy(restore.state);
	const tick = useTick(busy || backup.state.phase === 'planning');
	const containerName = state.inspection?.report.container.name ?? '';
	const [leaving, setLeaving] = useState(false);

	// One line short of the terminal: Ink clears the whole screen on every frame once output reaches its height.
	const width = Math.max(20, columns);
	const ref = state.ref;
	const data: ScreenData | null = state.inspection ? {
		inspection: state.inspection,
		engineLabel: services.engineLabel,
		tick,
		open: check,
		...(services.probe ? {probe: {state: probe.state, noRestart: Boolean(launch.probe?.noRestart), start: () => ref && probe.start(ref), respond: probe.respond}} : {}),
		...(services.backup && services.backupChoices ? {backup: {state: backup.state, dispatch: backup.dispatch, load: () => ref && backup.load(ref), start: () => ref && backup.start(ref, backup.state)}} : {}),
		...(services.restore && services.restoreBackups && services.restoreArchives && services.restorePreview ? {restore: {
			state: restore.state,
			dispatch: restore.dispatch,
			load: () => ref && restore.load(ref),
			choose: restore.choose,
			preview: () => ref && restore.preview(ref, restore.state),
			confirm: () => restore.confirm(containerName),
			rollback: () => ref && restore.rollback(ref, restore.state),
		}} : {}),
	} : null;
	const screen = screens.find(s => s.id === view.screen) ?? screens[0];
	const empty = screen && data ? screen.empty(data) : null;
	const picking = state.phase === 'picking';
	const pickerRows = filterCandidates(state.candidates, view.filter);
	const screenRows = screen?.rows && data && empty === null ? screen.rows(data, view.filter) : [];
	const cursorKey = picking ? 'picker' : screen?.id ?? 'overview';
	const rowCount = picking ? pickerRows.length : state.phase === 'ready' ? screenRows.length : 0;
	const cursor = Math.max(0, Math.min(view.cursor[cursorKey] ?? 0, rowCount - 1));
	const report = state.inspection?.report ?? null;

	// Another container: the last one's probe and backup no longer apply.
	useEffect(() => {
		probe.reset();
		backup.dispatch({type: 'reset'});
		restore.dispatch({type: 'reset'});
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

	// The Restore screen lists the backups when first shown (reads only).
	useEffect(() => {
		if (screen?.id === 'restore' && state.phase === 'ready' && ref && restore.state.phase === 'idle') {
			restore.load(ref);
		}
	}, [screen?.id, state.phase, ref, restore.state.phase]); // eslint-disable-line react-hooks/exhaustive-deps

	// Ctrl+C or a signal while a probe or backup runs: cancel, let the service clean up, then leave.
	useEffect(() => {
		if (leaving && !busy) {
			exit({code: 130, message: leavingMessage(probe.state, backup.state, restore.state)} satisfies AppResult);
		}
	}, [leaving, busy]); // eslint-disable-line react-hooks/exhaustive-deps

	const interrupt = useCallback(() => {
		if (busy) {
			probe.cancel();
			backup.cancel();
			restore.cancel();
			setLeaving(true);
		} else {
			exit({code: 130} satisfies AppResult);
		}
	}, [busy, probe.cancel, backup.cancel, restore.cancel, exit]); // eslint-disable-line react-hooks/exhaustive-deps

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

	const filterField: FieldSlice = {
		field: {value: view.filter, cursor: view.filterCursor},
		edit: edit => dispatch({type: 'filter-edit', edit}),
		done: keep => dispatch({type: keep ? 'filter-done' : 'filter-clear'}),
		escape: 'clear',
	};
	const ready = state.phase === 'ready' && !view.detail && !view.help;
	const table = keyTable(screens, bindings);
	const keys: KeyContext = {
		view,
		dispatch,
		phase: state.phase,
		screens,
		screen,
		data,
		row: picking ? pickerRows[cursor] : screenRows[cursor],
		rowCount,
		cursorKey,
		columnCount: screen?.columns && data && empty === null ? screen.columns(data) : 0,
		pageSize: 1,
		detailMax: 0,
		helpMax: 0,
		canPickAgain: state.candidates.length > 1 && (state.phase === 'ready' || state.phase === 'failed'),
		busy,
		running: probe.state.phase === 'running' || backup.state.phase === 'running' || restore.state.phase === 'running',
		field: view.filtering ? filterField : ready && screen?.field && data && empty === null ? screen.field(data) : null,
		leaving,
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
		redraw,
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
				exit({code: launch.screen === 'backup' && state.inspection ? backupExitCode(backup.state) : launch.screen === 'restore' && state.inspection ? restoreExitCode(restore.state) : exitCodeOf(state)} satisfies AppResult);
			}
		},
		interrupt,
	};

	// The legend wraps (at most 3 lines); the body gets what is left.
	const legend = footer(keys, table, width);
	const bodyHeight = Math.max(3, rows - 1 - 2 - legend.length);
	const detail = view.detail && report ? detailLines(report, state.inspection!.facts, view.detail.path, width) : null;
	const help = view.help ? helpLines(table, screens, width) : null;
	keys.pageSize = Math.max(1, bodyHeight - 4);
	keys.detailMax = detail ? detail.length - bodyHeight : 0;
	keys.helpMax = help ? help.length - bodyHeight : 0;
	useKeys(table, keys);

	let body: ReactElement;
	let tabLine: Line = [];
	if (help) {
		const shown = help.slice(view.helpScroll, view.helpScroll + bodyHeight);
		body = <Lines lines={shown} width={width} height={bodyHeight}/>;
		const more = help.length > bodyHeight ? ` lines ${view.helpScroll + 1}–${view.helpScroll + shown.length} of ${help.length}` : '';
		tabLine = [seg(' Help ', {inverse: true, bold: true}), seg(more, {dim: true})];
	} else if (state.phase === 'finding' || state.phase === 'checking') {
		const what = state.phase === 'finding' ? `Looking for coding-agent containers on ${services.engineLabel}…` : `Inspecting ${state.candidates.find(c => c.id === state.ref)?.name ?? state.ref}…`;
		body = <Box height={bodyHeight}><Spinner label={what}/></Box>;
	} else if (state.phase === 'failed') {
		const lines: Line[] = wrapLines(state.error ?? 'failed', width - 2).map((text, i) => [seg(i === 0 ? '✗ ' : '  ', {color: 'red', bold: true}), seg(text)]);
		body = <Lines lines={lines} width={width} height={bodyHeight}/>;
	} else if (picking) {
		tabLine = [seg(' Pick a container ', {inverse: true, bold: true})];
		body = <Picker candidates={state.candidates} rows={pickerRows} cursor={cursor} engineLabel={services.engineLabel} width={width} height={bodyHeight}/>;
	} else if (detail && report) {
		body = <LocationDetails report={report} facts={state.inspection!.facts} path={view.detail!.path} scroll={view.detail!.scroll} width={width} height={bodyHeight}/>;
	} else if (screen && data && empty !== null) {
		body = <Lines lines={wrapLines(`Nothing to show: ${empty}.`, width).map(t => [seg(t, {dim: true})])} width={width} height={bodyHeight}/>;
	} else if (screen && data) {
		const Screen = screen.component;
		body = <Screen data={data} rows={screenRows} cursor={cursor} view={view} width={width} height={bodyHeight}/>;
	} else {
		body = <Box height={bodyHeight}/>;
	}

	if (state.phase === 'ready' && !view.help) {
		const active = Math.max(0, screens.indexOf(screen!));
		tabLine = tabsLine(screens, active, width, data ? screens.map(s => s.empty(data) !== null) : []);
		// The open location's path after the tabs when it fits whole (the details' first line always has it).
		if (detail && cells(lineText(tabLine)) + cells(view.detail!.path) + 2 <= width) {
			tabLine.push(seg(`› ${view.detail!.path}`, {bold: true}));
		}
	}

	return (
		<ThemeContext.Provider value={{color}}>
			<Box flexDirection="column" width={width} height={rows - 1} overflow="hidden">
				<Bar line={titleLine(report, services.engineLabel, state.busy, width)} width={width}/>
				<Bar line={tabLine} width={width}/>
				<Box flexDirection="column" height={bodyHeight} overflow="hidden">{body}</Box>
				{legend.map((line, i) => <Bar key={i} line={line} width={width}/>)}
			</Box>
		</ThemeContext.Provider>
	);
}

/** The bottom lines: the keys that apply now, from the key table; the filter being typed, or the one kept, first. */
function footer(c: KeyContext, table: Binding[], width: number): Line[] {
	const {keys, tail} = legendEntries(table, c);
	const note: Line | undefined = c.view.filtering
		? [seg('/ ', {bold: true}), ...fieldSegments(c.field!.field, Math.max(10, Math.floor(width / 2))), seg('  ')]
		: c.view.filter && !c.view.help ? [seg(`filter: ${c.view.filter}`, {bold: true}), seg(' (esc clears)  ', {dim: true})] : undefined;
	return legendLines(keys, width, note, tail).slice(-3);
}
