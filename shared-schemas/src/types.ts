// TypeScript forms of the aiops.v1 messages. Hand-written to mirror
// proto/aiops/v1/aiops.proto (camelCase field names, as protobufjs maps them); kept honest by
// the round-trip tests. Conventions: timestamps are integer ms since the Unix epoch (0 =
// "not set" where documented), 64-bit counters are JS numbers limited to
// Number.MAX_SAFE_INTEGER, enums are lower-case string unions.

/**
 * A label set. Names are unique by construction; order is not significant (encoders sort by
 * name). Decoders create own properties even for names like `__proto__`, so iterate with
 * Object.keys / Object.entries.
 */
export type Labels = Record<string, string>;

export interface MetricPoint {
  /** Normalized metric name (not repeated as `__name__` in labels). */
  name: string;
  labels: Labels;
  timestampMs: number;
  /** NaN / +-Inf are carried bit-exactly. */
  value: number;
}

export interface MetricBatch {
  agentId: string;
  tenant: string;
  sequence: number;
  points: MetricPoint[];
}

/** How a frame's seriesDefs relate to the stream dictionary (see DictionaryScope in the proto). */
export type DictionaryScope = 'continue' | 'reset' | 'standalone';

export interface SeriesDef {
  /** >= 1, unique within a dictionary epoch. */
  id: number;
  labels: Labels;
}

/** Bits of FeatureRow.flags (FeatureFlag in the proto). */
export const FeatureFlags = Object.freeze({
  NONE: 0,
  ANOMALY: 1,
  BAND_BREACH: 2,
  ZSCORE: 4,
  LEVEL_SHIFT: 8,
  WARMING_UP: 16,
  GAP: 32,
  COUNTER_RESET: 64,
} as const);

/**
 * Features of one series over one window, in the metric's base unit. min, max and last are
 * float64 and round-trip bit-exactly; the derived statistics (mean, std, p50, p95,
 * tier1MaxScore, bandLower, bandUpper) travel as float32: decoders return Math.fround(value)
 * (NaN stays NaN, its payload is not kept; beyond float32 range becomes +-Infinity).
 * NaN means "not available".
 */
export interface FeatureRow {
  /** Series id from the connection's dictionary (>= 1, unique within a frame). */
  seriesId: number;
  /** Samples in the window (uint32). */
  count: number;
  /** float64. */
  min: number;
  /** float64. */
  max: number;
  /** float32. */
  mean: number;
  /** Population standard deviation, float32 (NaN when count < 2). */
  std: number;
  /** float64. */
  last: number;
  /** float32. */
  p50: number;
  /** float32. */
  p95: number;
  /** Highest Tier-1 score in the window, float32. */
  tier1MaxScore: number;
  /** OR of FeatureFlags bits (uint32). */
  flags: number;
  /** Tier-1 expected band at window end, float32 (NaN while warming up). */
  bandLower: number;
  bandUpper: number;
}

export interface FeatureFrame {
  agentId: string;
  /** Empty string = default tenant. */
  tenant: string;
  /** Per-agent monotonically increasing frame number. */
  sequence: number;
  /** Inclusive start, ms. */
  windowStartMs: number;
  /** Exclusive end, ms; >= windowStartMs. */
  windowEndMs: number;
  dictionaryScope: DictionaryScope;
  dictionaryEpoch: number;
  /** Dictionary entries first sent in this frame (all row ids for 'reset' and 'standalone'). */
  seriesDefs: SeriesDef[];
  rows: FeatureRow[];
}

export interface FeatureFrameEnvelope {
  sequence: number;
  /** Frame envelope bytes (encodeFrame output). */
  frame: Uint8Array;
}

export type AckStatus = 'ok' | 'retry' | 'rejected' | 'resync_dictionary';

export interface Ack {
  sequence: number;
  status: AckStatus;
  /** Reason for non-ok statuses; may be empty. */
  message: string;
  /** For 'retry': minimum delay before resending (0 = sender's own backoff). */
  retryAfterMs: number;
}

export type AlertStatus = 'firing' | 'resolved';

/** Alertmanager-compatible alert. */
export interface Alert {
  status: AlertStatus;
  labels: Labels;
  annotations: Labels;
  startsAtMs: number;
  /** 0 = not set. */
  endsAtMs: number;
  generatorUrl: string;
  /** 16 lowercase hex digits, see alertFingerprint(); may be empty when the source did not set it. */
  fingerprint: string;
  tenant: string;
  source: string;
}

export interface AlertBatch {
  agentId: string;
  tenant: string;
  sequence: number;
  alerts: Alert[];
}

export type DetectionTier = 1 | 2 | 3;

export interface Anomaly {
  id: string;
  tenant: string;
  agentId: string;
  labels: Labels;
  tier: DetectionTier;
  detector: string;
  /** Empty for Tier 1. */
  modelVersion: string;
  score: number;
  threshold: number;
  /** NaN when not applicable (also for expected and the band). */
  value: number;
  expected: number;
  bandLower: number;
  bandUpper: number;
  windowStartMs: number;
  windowEndMs: number;
  detectedAtMs: number;
}

export type Severity = 'info' | 'warning' | 'critical';
export type IncidentStatus = 'open' | 'acknowledged' | 'mitigated' | 'resolved';

export interface RootCause {
  service: string;
  component: string;
  metric: string;
  /** Posterior probability 0..1. */
  probability: number;
  /** 1-based rank. */
  rank: number;
  method: string;
  evidence: string[];
  /** When the metric that moved started to deviate, ms; 0 = unknown. */
  onsetMs: number;
}

export interface Incident {
  id: string;
  tenant: string;
  title: string;
  status: IncidentStatus;
  severity: Severity;
  openedAtMs: number;
  updatedAtMs: number;
  /** 0 = not resolved. */
  resolvedAtMs: number;
  representativeFingerprint: string;
  alertFingerprints: string[];
  services: string[];
  commonLabels: Labels;
  rootCauses: RootCause[];
}

export type ExecutionState =
  | 'pending_approval'
  | 'approved'
  | 'running'
  | 'validating'
  | 'succeeded'
  | 'failed'
  | 'rolled_back'
  | 'escalated'
  | 'rejected';

export type StepState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'rolled_back';

export interface RunbookStepResult {
  name: string;
  state: StepState;
  /** 0 = not started / not finished. */
  startedAtMs: number;
  finishedAtMs: number;
  output: string;
  error: string;
}

export interface RunbookExecution {
  id: string;
  tenant: string;
  incidentId: string;
  runbookId: string;
  runbookVersion: string;
  state: ExecutionState;
  target: string;
  blastRadius: number;
  approvalRequired: boolean;
  approvedBy: string;
  dryRun: boolean;
  /** 0 = not started / not finished. */
  startedAtMs: number;
  finishedAtMs: number;
  steps: RunbookStepResult[];
}

export type AgentState = 'ok' | 'degraded' | 'stopping';

export interface Heartbeat {
  agentId: string;
  tenant: string;
  timestampMs: number;
  state: AgentState;
  version: string;
  hostname: string;
  uptimeMs: number;
  activeSeries: number;
  framesSent: number;
  framesDropped: number;
  bufferBytes: number;
  hostLabels: Labels;
}

export interface HeartbeatAck {
  serverTimeMs: number;
  configVersion: string;
  resyncDictionary: boolean;
}
