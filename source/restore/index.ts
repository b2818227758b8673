// The restore service's public surface, for the command and the TUI's Restore screen.
export {planRestore, parseTo, neededBytes, archiveName, type RestorePlan, type PlanItem} from './plan.js';
export {runRestore, claimSafetyDir} from './restore.js';
export {cleanupRestores, type RestoreCleanup} from './cleanup.js';
export {restoreReporter, restoreSummary} from './report.js';
export type * from './types.js';
