// Storage interfaces of central (ARCHITECTURE.md section 4). Every interface has the embedded
// SQLite implementation as its default (production code, not a mock) and a shared contract
// test suite that every implementation runs (runMetricStoreContract, ...). Methods are async
// so that network-backed implementations (a TSDB, PostgreSQL) fit the same interface.
//
// Idempotency (issue #6: at-least-once delivery with idempotent stores): every write that can
// be redelivered carries its record identity and a second write of the same identity is a
// no-op reported as a duplicate.
import type { Alert, FeatureRow, Incident, Labels } from '../../../shared-schemas/src/index.js';

// ---------------------------------------------------------------- metrics

/** One raw sample. `labels.__name__` holds the metric name. */
export interface MetricSample {
  labels: Labels;
  tsMs: number;
  value: number;
}

/**
 * The samples of one series as columns (a remote-write TimeSeries): no object per sample.
 * `timestamps[i]` and `values[i]` are one sample; both have the same length.
 */
export interface SeriesColumns {
  labels: Labels;
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** One feature row of an agent's frame, with its series' labels resolved (`__name__` included). */
export interface FeatureSample {
  labels: Labels;
  windowStartMs: number;
  windowEndMs: number;
  row: Omit<FeatureRow, 'seriesId'>;
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** PromQL-style series selector: `name{a="x",b=~"y.*"}` as data. */
export interface SeriesSelector {
  /** Metric name (`__name__`); undefined = any. */
  name?: string;
  matchers: LabelMatcher[];
}

/** raw = samples as written; 1m / 5m = downsampled (avg, min, max, count, last per bucket). */
export type Resolution = 'raw' | '1m' | '5m';

export interface RangeQuery {
  selector: SeriesSelector;
  /** Inclusive start, ms. */
  startMs: number;
  /** Exclusive end, ms. */
  endMs: number;
  /** 'auto' picks the finest resolution still retained for the range. Default 'auto'. */
  resolution?: Resolution | 'auto';
  /** At most this many series (the query is refused beyond it, not truncated silently). */
  maxSeries?: number;
  /** At most this many points over all series. */
  maxPoints?: number;
}

export interface SeriesPoints {
  labels: Labels;
  resolution: Resolution;
  /** Bucket start (or sample time for raw) in ms, ascending. */
  timestamps: number[];
  /** Raw: the sample; downsampled: the bucket's average. */
  values: number[];
  /** Downsampled only: per bucket min, max and sample count. */
  min?: number[];
  max?: number[];
  count?: number[];
  /** Downsampled only: per bucket the value of its latest sample. */
  last?: number[];
}

/** Feature rows of the series matching a selector whose window starts in [startMs, endMs). */
export interface FeatureQuery {
  selector: SeriesSelector;
  startMs: number;
  endMs: number;
  /** Refused (not truncated) beyond this many series with rows in the range. */
  maxSeries?: number;
  /** Refused beyond this many rows over all series. */
  maxRows?: number;
}

export interface FeatureSeries {
  labels: Labels;
  /** Ascending by windowStartMs. NaN = not available, as written. */
  windows: Array<Omit<FeatureSample, 'labels'>>;
}

export interface WriteResult {
  /** Samples (or rows) stored by this call. */
  accepted: number;
  /** True when the batch identity was seen before: nothing was written again. */
  duplicate: boolean;
  /** Samples refused, with the reason (e.g. "value is NaN", "labels: more than 64 labels"). */
  rejected: Array<{ index: number; reason: string }>;
}

/** A consumer group's view of one bus partition. */
export interface BusPartitionRef {
  group: string;
  topic: string;
  partition: number;
}

export interface FeatureRecordWrite {
  /** The record's offset in its partition (decimal string). */
  offset: string;
  agentId: string;
  rows: readonly FeatureSample[];
}

export interface FeatureRecordsResult extends WriteResult {
  /** Records already applied before (redelivered): nothing of them was written again. */
  skippedRecords: number;
}

export interface RetentionPolicy {
  /** How long each resolution is kept, ms. */
  rawMs: number;
  oneMinuteMs: number;
  fiveMinuteMs: number;
}

export interface MetricStore {
  /**
   * Stores samples. `batchId` (e.g. `<agent>/<sequence>` or a hash of a remote-write body)
   * makes the call idempotent: the same id again returns { duplicate: true } and writes
   * nothing.
   */
  writeSamples(samples: readonly MetricSample[], batchId?: string): Promise<WriteResult>;
  /**
   * Optional columnar form of writeSamples, same contract (validation, idempotency by
   * `batchId`, last write of a (series, time) wins): the samples are those of `series` in
   * order, series after series, and `rejected[].index` counts in that order. maxBatchSize
   * bounds the total number of samples. Callers fall back to writeSamples when a store (or a
   * wrapper) does not have it.
   */
  writeSeries?(series: readonly SeriesColumns[], batchId?: string): Promise<WriteResult>;
  /** Stores the rows of one feature frame, idempotent by (agentId, sequence). */
  writeFeatureFrame(agentId: string, sequence: number, rows: readonly FeatureSample[]): Promise<WriteResult>;
  /**
   * Stores the feature rows of bus records of one partition (in offset order) exactly once per
   * record: the group's position in the partition is stored in the same transaction, and
   * records before it (redelivered after a crash or a rebalance) are skipped and counted.
   * `rejected[].index` counts rows across the records, in order.
   */
  writeFeatureRecords(from: BusPartitionRef, records: readonly FeatureRecordWrite[]): Promise<FeatureRecordsResult>;
  /** The offset after the last record writeFeatureRecords applied for this group and partition. */
  busOffset(from: BusPartitionRef): Promise<string | undefined>;
  query(q: RangeQuery): Promise<SeriesPoints[]>;
  /**
   * The stored feature rows (scores, flags, bands: what `query` cannot carry), for Tier-2/3 and
   * the UI. Raw feature rows are kept as long as raw samples.
   */
  queryFeatures(q: FeatureQuery): Promise<FeatureSeries[]>;
  /**
   * Every series' feature rows in [startMs, endMs), in pages of at most `pageSize` series
   * (default 1,000) with rows in the range, without queryFeatures' series and row caps: for
   * rebuilding state from the whole store (the detector at start-up). Each page is read
   * consistently; writes between pages may or may not be seen.
   */
  scanFeatures(q: { startMs: number; endMs: number; pageSize?: number }): AsyncIterable<FeatureSeries[]>;
  /** Label sets of the series matching a selector (for discovery), at most `limit`. */
  series(selector: SeriesSelector, limit: number): Promise<Labels[]>;
  /** Rolls raw data into 1m and 5m buckets up to `nowMs` and deletes what retention expired. */
  compact(nowMs: number): Promise<{ downsampled: number; deleted: number }>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- alerts and incidents

export interface AlertFilter {
  status?: 'firing' | 'resolved';
  /** Label equality matchers. */
  labels?: Labels;
  sinceMs?: number;
  limit?: number;
}

export interface StoredAlert extends Alert {
  /** First time central saw this fingerprint firing (this episode), ms. */
  receivedAtMs: number;
  /** Last update, ms. */
  updatedAtMs: number;
  /** Times the same firing alert was received again (deduplicated). */
  duplicates: number;
  /** Incident it belongs to, when correlated. */
  incidentId?: string;
}

export interface AlertStore {
  /**
   * Inserts or updates by (tenant, fingerprint): a firing alert already firing is a duplicate
   * (counter up, annotations refreshed); a resolved one closes the episode.
   */
  upsert(alert: Alert, nowMs: number): Promise<{ alert: StoredAlert; change: 'new' | 'duplicate' | 'resolved' | 'refired' }>;
  get(tenant: string, fingerprint: string): Promise<StoredAlert | undefined>;
  list(tenant: string, filter: AlertFilter): Promise<StoredAlert[]>;
  setIncident(tenant: string, fingerprint: string, incidentId: string): Promise<void>;
  /** Optional batch form of upsert (one transaction); per-alert errors in their slots. */
  upsertMany?(alerts: readonly Alert[], nowMs: number): Promise<Array<{ alert: StoredAlert; change: 'new' | 'duplicate' | 'resolved' | 'refired' } | { error: Error }>>;
  /** Optional batch form of setIncident; unknown fingerprints are skipped. */
  setIncidentMany?(tenant: string, fingerprints: readonly string[], incidentId: string): Promise<number>;
}

export interface IncidentFilter {
  status?: Incident['status'];
  severity?: Incident['severity'];
  /** Incidents naming this service. */
  service?: string;
  sinceMs?: number;
  limit?: number;
  /** Skips this many (paging; at most 100,000). */
  offset?: number;
}

/** One entry of an incident's timeline. */
export interface IncidentEventRecord {
  atMs: number;
  /** opened, alert_added, alert_refired, alert_resolved, merged, representative_changed, acknowledged, resolved... */
  type: string;
  /** The alert concerned, or "". */
  fingerprint: string;
  /** merged: the incident merged in; merged_into: the incident it went into; else "". */
  related: string;
  /** Who: "correlation" for the engine, an API key id or "cli" for a person. */
  actor: string;
  text: string;
}

export interface IncidentStore {
  /** Creates or replaces by id (idempotent). */
  put(incident: Incident): Promise<void>;
  get(tenant: string, id: string): Promise<Incident | undefined>;
  list(tenant: string, filter: IncidentFilter): Promise<Incident[]>;
  /** Appends events to an incident's timeline, in order. */
  appendTimeline(tenant: string, id: string, events: readonly IncidentEventRecord[]): Promise<void>;
  /** The timeline, oldest first, at most `limit` entries (the newest kept when cut). */
  timeline(tenant: string, id: string, limit?: number): Promise<IncidentEventRecord[]>;
  /** Optional: puts and timeline appends of several incidents in one transaction. */
  putMany?(entries: ReadonlyArray<{ incident: Incident; events: readonly IncidentEventRecord[] }>): Promise<void>;
}

// ---------------------------------------------------------------- audit

export interface AuditEntry {
  atMs: number;
  /** Who: an API key id, an agent id, "cli", "system". Never a secret. */
  actor: string;
  /** What, dotted: "key.create", "agent.revoke", "silence.create"... */
  action: string;
  /** On what: an id or name. */
  target: string;
  /** Extra facts, JSON-serialisable, never secrets. */
  details?: Record<string, unknown>;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  list(filter: { sinceMs?: number; action?: string; limit?: number }): Promise<Array<AuditEntry & { seq: number }>>;
}

// ---------------------------------------------------------------- credentials

export const API_KEY_SCOPES = ['read', 'write', 'approve', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeyRecord {
  /** Public id, part of the token, e.g. "k_3f9a1c2e". */
  id: string;
  name: string;
  tenant: string;
  scopes: ApiKeyScope[];
  createdAtMs: number;
  /** 0 = never. */
  expiresAtMs: number;
  /** 0 = active. */
  revokedAtMs: number;
  lastUsedAtMs: number;
}

export interface ApiKeyStore {
  /** Creates a key; the plaintext token is returned once and only its hash is stored. */
  create(input: { name: string; tenant: string; scopes: ApiKeyScope[]; expiresAtMs?: number }, nowMs: number): Promise<{ record: ApiKeyRecord; token: string }>;
  /** The key a token belongs to when the token is valid, active and unexpired; constant-time compare. */
  verify(token: string, nowMs: number): Promise<ApiKeyRecord | undefined>;
  revoke(id: string, nowMs: number): Promise<boolean>;
  list(): Promise<ApiKeyRecord[]>;
}

export interface AgentRecord {
  agentId: string;
  tenant: string;
  enrolledAtMs: number;
  /** 0 = active. */
  revokedAtMs: number;
  lastSeenAtMs: number;
}

export interface AgentStore {
  /** A one-time enrollment token valid until `expiresAtMs` (plaintext returned once, stored hashed). */
  createEnrollmentToken(input: { tenant: string; expiresAtMs: number; createdBy: string }, nowMs: number): Promise<{ token: string; expiresAtMs: number }>;
  /**
   * Consumes an enrollment token (at most once) and registers the agent with a new secret
   * credential (plaintext returned once, stored hashed). Undefined when the token is unknown,
   * used or expired.
   */
  enroll(token: string, agentId: string, nowMs: number): Promise<{ record: AgentRecord; secret: string } | undefined>;
  /** True when the agent exists, is not revoked and the secret matches (constant-time). */
  verify(agentId: string, secret: string, nowMs: number): Promise<AgentRecord | undefined>;
  revoke(agentId: string, nowMs: number): Promise<boolean>;
  list(): Promise<AgentRecord[]>;
  /** One agent by id (revoked ones included), undefined when never enrolled. */
  get(agentId: string): Promise<AgentRecord | undefined>;
  touch(agentId: string, nowMs: number): Promise<void>;
}

// ---------------------------------------------------------------- configuration documents

/** A named configuration document of one tenant (detection settings, the topology...). */
export interface ConfigDocument {
  tenant: string;
  name: string;
  /** 1 for the first put, +1 per put: the optimistic-concurrency token (ETag / If-Match). */
  version: number;
  body: unknown;
  updatedAtMs: number;
  /** Key id or "cli"/"system"; never a secret. */
  updatedBy: string;
}

export interface ConfigStore {
  get(tenant: string, name: string): Promise<ConfigDocument | undefined>;
  /**
   * Stores a new version. With `expectedVersion` the put succeeds only when the stored version
   * is that one (0 = must not exist yet); otherwise StorageError CONFLICT.
   */
  put(input: { tenant: string; name: string; body: unknown; updatedBy: string; expectedVersion?: number }, nowMs: number): Promise<ConfigDocument>;
  /** Every (tenant, name) with its latest version, for start-up (e.g. detection settings). */
  list(name: string): Promise<ConfigDocument[]>;
}

// ---------------------------------------------------------------- logs

export interface LogRecord {
  /** Where it came from: service, host, job... (no `__name__`). */
  labels: Labels;
  tsMs: number;
  /** trace, debug, info, warn, error, fatal or unknown. */
  level: string;
  message: string;
}

export interface LogQuery {
  tenant: string;
  /** Label equality matchers. */
  labels?: Labels;
  startMs: number;
  endMs: number;
  /** Lines containing this text (case-sensitive). */
  contains?: string;
  level?: string;
  limit?: number;
}

export interface LogStore {
  /** Idempotent by batchId when given. Lines beyond the size limit are refused per record. */
  write(tenant: string, records: readonly LogRecord[], batchId?: string): Promise<WriteResult>;
  /** Newest first. */
  query(q: LogQuery): Promise<LogRecord[]>;
  /** Deletes lines older than `beforeMs`; returns how many. */
  prune(beforeMs: number): Promise<number>;
}
