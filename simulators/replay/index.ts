// Public surface of the offline replay tool.

export { runReplay, resultPath } from './replay.js';
export type { ReplayFileResult, ReplaySummary, ReplayHooks } from './replay.js';
export { validateReplayOptions } from './config.js';
export type { ReplayOptions } from './config.js';
export { productionModels, REPLAY_DETECTORS } from './detectors.js';
export type { ReplayDetector, ReplayDetectorOptions } from './detectors.js';
export { ReplayInputError, parseNabCsv, parseNabTimestamp, readNabSeries, listNabFiles, formatResultCsv } from './nab-csv.js';
export type { NabSeries } from './nab-csv.js';
export { makeSampleSeries, mulberry32 } from './sample-series.js';
export type { SampleSeries, SampleIncident } from './sample-series.js';
