// The screen registry: the order here is the order of the tabs and of the number keys.
// A later screen (probe, databases, backup) is added here once, with available() saying when it has data to show.
import {findingsScreen} from './findings.js';
import {locationsScreen} from './locations.js';
import {matrixScreen} from './matrix.js';
import {overviewScreen} from './overview.js';
import type {ScreenData, ScreenDef} from './screen.js';

export const SCREENS: ScreenDef[] = [overviewScreen, locationsScreen, matrixScreen, findingsScreen];

export function availableScreens(data: ScreenData | null, screens: ScreenDef[] = SCREENS): ScreenDef[] {
	return data ? screens.filter(s => s.available(data)) : [];
}

export type {ScreenData, ScreenDef, ScreenProps} from './screen.js';
