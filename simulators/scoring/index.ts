/**
 * Public surface of the NAB scorer: a reimplementation of the Numenta Anomaly Benchmark
 * scoring (numenta/NAB sweeper, optimizer, scorer and runner normalisation). See
 * docs/decisions/005-nab-scorer.md.
 */
export {
  DEFAULT_SCORING_OPTIONS,
  NAB_NULL_DETECTOR_SCORE,
  NAB_PROBATION_PERCENT,
  NAB_PROBATION_REFERENCE_ROWS,
  NAB_PROFILE_NAMES,
  NAB_SWEEP_START_THRESHOLD,
  defaultNabRoot,
  resolveNabScorerConfig,
  resolveScoringOptions,
  sharedDataDir,
} from './config.js';
export type { NabScorerConfig, NabScorerConfigInput, NabScoringOptions } from './config.js';

export {
  constantDetectorResults,
  loadDetectorResults,
  loadNabCorpus,
  loadProfiles,
  parseProfiles,
  resultFilePath,
} from './corpus.js';
export type {
  CostMatrix,
  DetectorResults,
  LoadNabCorpusOptions,
  NabCorpus,
  NabDataFile,
  NabLoadProgress,
  NabProfiles,
  NabWindow,
} from './corpus.js';

export { formatTimestamp, parseTimestamp } from './csv.js';

export { NabScoringError, isNabScoringError } from './errors.js';
export type { NabErrorCode, NabScoringErrorDetails } from './errors.js';

export {
  MAX_TP,
  annotateRows,
  optimizeThreshold,
  prepareCorpus,
  probationaryLength,
  scaledSigmoid,
  scoreAtThreshold,
} from './sweep.js';
export type {
  CorpusScore,
  FileScore,
  NabCounts,
  PreparedCorpus,
  RowAnnotation,
  ThresholdScore,
} from './sweep.js';

export { createNabScorer, normalizeScore, scoreDetector } from './nab-scorer.js';
export type {
  DetectorScores,
  NabDetectorReport,
  NabProgressEvent,
  NabScorer,
  NabScorerSettings,
  ProfileScore,
  ScoreDetectorOptions,
} from './nab-scorer.js';
