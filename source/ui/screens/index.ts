// The screen registry. A screen's number is fixed: its tab and number key stay the same whether or not it has
// something to show (an empty screen says why), so the tab bar, the help and docs/tui.md always agree.
// Adding a screen: write screens/<id>.tsx exporting a ScreenDef with the next free number, list it here, and add its
// row to the table in docs/tui.md (test/unit/screens-registry.test.ts checks both).
import {backupScreen} from './backup.js';
import {databasesScreen} from './databases.js';
import {findingsScreen} from './findings.js';
import {locationsScreen} from './locations.js';
import {matrixScreen} from './matrix.js';
import {overviewScreen} from './overview.js';
import {probeScreen} from './probe.js';
import {restoreScreen} from './restore.js';
import {stackScreen} from './stack.js';
import type {ScreenDef} from './screen.js';

/** Numbers promised to screens still to come: the number keys only reach 9. */
export const RESERVED_NUMBERS: Record<string, number> = {restore: 8, stack: 9};

export const SCREENS: ScreenDef[] = [overviewScreen, locationsScreen, matrixScreen, findingsScreen, databasesScreen, probeScreen, backupScreen, restoreScreen, stackScreen]
	.sort((a, b) => a.number - b.number);

export type {BackupSlice, ProbeSlice, RestoreSlice, ScreenData, ScreenDef, ScreenProps} from './screen.js';
