// The screen registry: the order here is the order of the tabs and of the number keys.
// A screen is added here once, with available() saying when it has something to show (no placeholder tabs).
import {backupScreen} from './backup.js';
import {databasesScreen} from './databases.js';
import {findingsScreen} from './findings.js';
import {locationsScreen} from './locations.js';
import {matrixScreen} from './matrix.js';
import {overviewScreen} from './overview.js';
import {probeScreen} from './probe.js';
import type {ScreenData, ScreenDef} from './screen.js';

export const SCREENS: ScreenDef[] = [overviewScreen, locationsScreen, matrixScreen, findingsScreen, databasesScreen, probeScreen, backupScreen];

export function availableScreens(data: ScreenData | null, screens: ScreenDef[] = SCREENS): ScreenDef[] {
	return data ? screens.filter(s => s.available(data)) : [];
}

export type {BackupSlice, ProbeSlice, ScreenData, ScreenDef, ScreenProps} from './screen.js';
