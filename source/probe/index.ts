// The probe service: no React, no stdout. Screens and commands consume its events and result.
export {prepareProbe, runProbe, newRunId, type PreparedProbe} from './probe.js';
export {runProbeCleanup, type CleanupResult} from './cleanup.js';
export {expectedObservation, probeFindings} from './findings.js';
export {progressLine, renderProbePlain} from './plain.js';
export * from './types.js';
