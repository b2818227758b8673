// The backup service's public surface, for commands and the TUI's Backup screen.
export {runBackup, planBackup, type BackupPlan, CREDENTIALS_NOTICE, DEFAULT_GZIP_LEVEL, type BackupResult} from './backup.js';
export {planUnits, selectUnits, defaultBackupDir, sanitise} from './plan.js';
export {volumeSizesFromDf, estimateSizes} from './sizes.js';
export {verifyArchive, verifyBackup, readManifest, MANIFEST} from './verify.js';
export {readerFromEnv} from './host-read.js';
export {RateMeter, formatDuration, progressText, plainReporter, verifyLine, phaseTimer, type BackupTimings} from './progress.js';
export type * from './types.js';
