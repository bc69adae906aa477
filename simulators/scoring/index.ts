/**
 * Public surface of the scorers. The NAB scorer: a reimplementation of the Numenta Anomaly Benchmark
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
  SCORE_TIE_EPSILON,
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

/**
 * Evaluation scorers of the simulators (issue #4): event-based detection, alert-to-incident
 * correlation, RCA ranking (RCAEval AC@k / Avg@5) and remediation times. Pure functions over
 * plain values; every input error is an `EvalScoringError` naming the bad field.
 */
export { EvalScoringError, isEvalScoringError } from './eval-errors.js';
export type { EvalErrorCode, EvalScoringErrorDetails } from './eval-errors.js';

export { quantileSorted, summarize } from './stats.js';
export type { SummaryStats } from './stats.js';

export { detectionEventsFromGroundTruth, scoreDetection } from './detection.js';
export type {
  Detection,
  DetectionEvent,
  DetectionEventOutcome,
  DetectionScore,
  DetectionScoringOptions,
  GroundTruthEventOptions,
  ResolvedDetectionScoringOptions,
} from './detection.js';

export { NOISE_LABEL, comparePartitions, correlatedAlertFromLabels, scoreCorrelation } from './correlation.js';
export type {
  CorrelatedAlert,
  CorrelationScore,
  CorrelationScoringOptions,
  FaultOutcome,
  IncidentOutcome,
  PartitionAgreement,
  ResolvedCorrelationScoringOptions,
} from './correlation.js';

export { RCA_MAX_K, rcaTruthFromFault, scoreRca, splitCandidate } from './rca.js';
export type { RcaAccuracy, RcaCase, RcaCaseOutcome, RcaLevels, RcaScore, RcaScoringOptions, RcaTruth } from './rca.js';

export { incidentFaultsFromAlerts, scoreRemediation } from './remediation.js';
export type {
  FaultDetectionEvent,
  FaultReference,
  FaultRemediationOutcome,
  RemediationEvent,
  RemediationFault,
  RemediationInput,
  RemediationScore,
  RemediationScoringOptions,
  ResolvedRemediationScoringOptions,
} from './remediation.js';
