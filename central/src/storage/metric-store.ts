// MetricStore on SQLite (the embedded default; decision 015).
//
// Write path: one IMMEDIATE transaction per batch. Each sample is validated on its own; a
// refused sample is reported with its index and reason and the rest of the batch is stored.
// The batch identity (writeSamples' / writeSeries' batchId, or (agentId, sequence) of a
// feature frame) is recorded in the same transaction as the data, so a redelivered batch is
// either entirely stored before or not at all, and the second delivery returns
// { duplicate: true }. A (series, time) written twice keeps the last value (within a batch:
// the later sample). The number of series is bounded (maxSeriesTotal): samples of a new
// series beyond it are refused like any bad sample.
//
// Raw samples are stored as compressed chunks, one row per run of up to 120 samples of a
// series (sample-chunks.ts, chunk-codec.ts; decision 019): a write's samples are grouped by
// series, sorted, and each series' run becomes one chunk row (or is appended to the small
// chunk just before it). writeSeries takes the samples as columns per series (what a
// remote-write body holds) so that no object per sample is made. Rows of the pre-chunk
// `samples` table (databases from before migration 6) are read alongside the chunks and moved
// into chunks by compaction, in bounded transactions.
//
// Series: identified by the canonical label key; ids are cached per connection (bounded cache)
// and never reused (AUTOINCREMENT). Another connection's garbage collection can delete a
// series this connection still caches: the foreign key makes the insert fail, the cache is
// dropped and the batch retried once.
//
// Rollups: compact(now) folds raw samples and feature rows into 1m buckets and 1m buckets into
// 5m buckets (sum, min, max, count, last), for buckets closed `graceMs` before now, in bounded
// transactions (a time chunk x a page of series), yielding to the event loop in between. A
// late write below the rolled-up horizon marks the range dirty and the next compaction
// recomputes it (as long as its raw data is retained). Queries at 1m/5m read the stored
// buckets and aggregate the not-yet-rolled-up tail from raw data on the fly, so the most
// recent minutes are never missing.
import type { Labels } from '../../../shared-schemas/src/index.js';
import { compareCodePoints } from '../../../shared-schemas/src/index.js';
import type Database from 'better-sqlite3';
import { openDatabase } from './database.js';
import type { OpenDatabaseOptions, SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { isPlainObject, labelsFromKey, normalizeSeriesLabels, show } from './labels.js';
import type { LabelLimits, NormalizedSeries } from './labels.js';
import { compileSelector, matchesLabels, positiveMatchers } from './selector.js';
import type { CompiledSelector, SelectorLimits } from './selector.js';
import { mergeSorted, SampleChunks } from './sample-chunks.js';
import { F, FeatureLog, LogReadCache, MAX_FRAME_ROWS, ROW_WIDTH } from './feature-log.js';
import type { FeatureRowView } from './feature-log.js';
import type { SampleColumns } from './sample-chunks.js';
import type {
  FeatureQuery,
  BusPartitionRef,
  FeatureRecordsResult,
  FeatureRecordWrite,
  FeatureSample,
  FeatureSeries,
  MetricSample,
  MetricStore,
  RangeQuery,
  Resolution,
  RetentionPolicy,
  SeriesColumns,
  SeriesPoints,
  SeriesSelector,
  WriteResult,
} from './types.js';

export interface MetricStoreLimits extends LabelLimits, SelectorLimits {
  /** Samples (or feature rows) per write call; a larger batch is refused whole (BATCH_TOO_LARGE). */
  maxBatchSize: number;
  /** Upper bound of a query's maxSeries (a query may ask for less, not more). */
  maxQuerySeries: number;
  /** Upper bound of a query's maxPoints (and of queryFeatures' maxRows). */
  maxQueryPoints: number;
  /**
   * Series in the store (cardinality). A sample of a new series beyond it is refused with a
   * reason; existing series keep being written. Counted per connection: approximate when
   * several connections create series at once, re-read at every compaction.
   */
  maxSeriesTotal: number;
}

export const DEFAULT_METRIC_LIMITS: Readonly<MetricStoreLimits> = Object.freeze({
  maxLabels: 64,
  maxLabelNameLength: 128,
  maxLabelValueLength: 2048,
  maxMatchers: 32,
  maxRegexLength: 1024,
  maxBatchSize: 100_000,
  maxQuerySeries: 10_000,
  maxQueryPoints: 2_000_000,
  maxSeriesTotal: 1_000_000,
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Raw 2 days, 1m buckets 30 days, 5m buckets 1 year. */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({ rawMs: 2 * DAY, oneMinuteMs: 30 * DAY, fiveMinuteMs: 365 * DAY });

export interface SqliteMetricStoreOptions {
  /** Clock: write-time checks (retention, future samples) and query 'auto' resolution. */
  now: () => number;
  retention?: Partial<RetentionPolicy>;
  /** How long batch identities are remembered for duplicate detection. Default 24 h. */
  batchIdRetentionMs?: number;
  /** A bucket is rolled up once its end is this far in the past (late samples). Default 60 s. */
  graceMs?: number;
  /** Samples further than this in the future are refused. Default 10 min. */
  maxFutureMs?: number;
  limits?: Partial<MetricStoreLimits>;
  /** Series ids cached per connection. Default 100,000. */
  seriesCacheSize?: number;
  /** Time span of raw data rolled up per transaction (5m: five times this). Default 1 h. */
  compactionChunkMs?: number;
  /** Series per compaction / retention transaction. Default 50 (each is one synchronous stretch of the event loop: smaller keeps ingest latency even). */
  compactionSeriesPerTransaction?: number;
  /** compact() applies retention when this long has passed since it last did. Default 5 min. */
  expireIntervalMs?: number;
}

const RES_MS = { '1m': MINUTE, '5m': 5 * MINUTE } as const;
type Rollup = keyof typeof RES_MS;

interface RollupState {
  done_until: number;
  pending_from: number | null;
  dirty_from: number | null;
}

/** A foldable row: [t, sum, min, max, count, last]. */
type FoldRow = [number, number, number, number, number, number];

interface Bucket {
  bucket: number;
  sum: number;
  min: number;
  max: number;
  count: number;
  last: number;
}

function alignDown(t: number, r: number): number {
  return Math.floor(t / r) * r;
}
function alignUp(t: number, r: number): number {
  return Math.ceil(t / r) * r;
}
function num(v: unknown): number {
  return typeof v === 'number' ? v : Number.NaN;
}

/** Folds rows sorted by t into buckets of `r` ms. */
export function foldBuckets(rows: readonly FoldRow[], r: number, emit: (b: Bucket) => void): void {
  let cur: Bucket | undefined;
  for (const [t, sum, min, max, count, last] of rows) {
    const b = alignDown(t, r);
    if (cur === undefined || cur.bucket !== b) {
      if (cur !== undefined) emit(cur);
      cur = { bucket: b, sum, min, max, count, last };
    } else {
      cur.sum += sum;
      if (min < cur.min) cur.min = min;
      if (max > cur.max) cur.max = max;
      cur.count += count;
      cur.last = last;
    }
  }
  if (cur !== undefined) emit(cur);
}

/** Merges two row lists sorted by their first element (a stable merge: `a` first on ties). */
function mergeByTime<T extends readonly unknown[]>(a: T[], b: T[]): T[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && (a[i]![0] as number) <= (b[j]![0] as number))) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

function checkAgentId(agentId: unknown, path: string): void {
  if (typeof agentId !== 'string' || agentId === '' || agentId.length > 256) {
    throw new StorageError('INVALID_ARGUMENT', `${path} must be a non-empty string of at most 256 characters (got ${show(agentId)})`);
  }
}

function positiveInt(value: unknown, path: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new StorageError('INVALID_ARGUMENT', `${path} must be an integer ${allowZero ? '>= 0' : '> 0'} (got ${show(value)})`);
  }
  return value;
}

const MAX_TS = 8_640_000_000_000_000;
const FEATURE_NUMBERS = ['min', 'max', 'mean', 'std', 'last', 'p50', 'p95', 'tier1MaxScore', 'bandLower', 'bandUpper'] as const;

/**
 * The valid samples of one series in one write call, sorted by time, a repeated timestamp
 * resolved to the later sample of the call.
 */
interface SeriesGroup {
  series: NormalizedSeries;
  /** Indices (in the call) of the valid samples; null = `base` .. `base + accepted - 1`. */
  valid: number[] | null;
  base: number;
  /** Valid samples, repeated timestamps included (what `accepted` counts). */
  accepted: number;
  ts: ArrayLike<number>;
  vs: ArrayLike<number>;
  /** Samples to store (`ts`/`vs` may be longer). */
  n: number;
}

/** Legacy `samples` rows moved into chunks per compaction transaction. */
const LEGACY_ROWS_PER_TRANSACTION = 20_000;
/**
 * A normalised series object carrying this connection's cached id and feature source (the
 * dictionary decoder hands one frozen label set per series and connection, and frozenSeries
 * maps it to one normalised object): a row then costs no map lookup for either. Valid while
 * the epoch matches (SqliteMetricStore.epoch).
 */
interface CachedSeries extends NormalizedSeries {
  storeId?: number;
  storeEpoch?: number;
  sourceAgent?: string;
  sourceEpoch?: number;
}

interface PreparedFeature {
  index: number;
  series: NormalizedSeries;
  start: number;
  end: number;
  row: FeatureSample['row'];
}

/**
 * Bounded cache approximating least-recently-used with two generations: entries live in `hot`;
 * when it is full it becomes `cold` (the previous cold is dropped) and a hit in `cold` moves
 * the entry back. A hit costs one or two Map lookups, no reordering; at most `cap` entries.
 */
class TwoGenerationCache<K, V> {
  private hot = new Map<K, V>();
  private cold = new Map<K, V>();
  private readonly half: number;
  constructor(cap: number) {
    this.half = Math.max(1, Math.floor(cap / 2));
  }
  get(k: K): V | undefined {
    const v = this.hot.get(k);
    if (v !== undefined) return v;
    const c = this.cold.get(k);
    if (c !== undefined) this.set(k, c);
    return c;
  }
  set(k: K, v: V): void {
    if (this.hot.size >= this.half) {
      this.cold = this.hot;
      this.hot = new Map();
    }
    this.hot.set(k, v);
  }
  clear(): void {
    this.hot = new Map();
    this.cold = new Map();
  }
}


const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export class SqliteMetricStore implements MetricStore {
  /** Opens (or creates) the database at `path` and a store that closes it on close(). */
  static open(path: string, opts: SqliteMetricStoreOptions & { database?: Omit<OpenDatabaseOptions, 'now'> }): SqliteMetricStore {
    const db = openDatabase(path, { ...opts.database, now: opts.now });
    try {
      return new SqliteMetricStore(db, opts, true);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private readonly h: Database.Database;
  private readonly now: () => number;
  private readonly retention: RetentionPolicy;
  private readonly limits: MetricStoreLimits;
  private readonly batchIdRetentionMs: number;
  private readonly graceMs: number;
  private readonly maxFutureMs: number;
  private readonly chunkMs: number;
  private readonly pageSize: number;
  private readonly cache: TwoGenerationCache<string, number>;
  /**
   * Frozen label objects (the series dictionary decoder freezes its label sets and hands the
   * same object for every row of a series) are validated once: their contents cannot change.
   */
  private readonly frozenSeries = new WeakMap<object, NormalizedSeries | string>();
  private closed = false;
  private readonly expireIntervalMs: number;
  private lastExpireMs = -Infinity;
  /** Series in the database as this connection knows it (see maxSeriesTotal). */
  private seriesCount: number;
  private compacting: Promise<unknown> = Promise.resolve();
  private readonly st: ReturnType<SqliteMetricStore['prepare']>;
  private readonly chunks: SampleChunks;
  /** Feature rows: the frame log and the per-series chunks it is folded into (feature-log.ts). */
  private readonly features: FeatureLog;
  /**
   * Bumped whenever cached series ids may be stale (series garbage-collected): the id and
   * source cached on a normalised series object (CachedSeries) count only for this epoch.
   */
  private epoch = 0;
  /** store_meta.series_gc_generation as last seen by this connection. */
  private gcGeneration: number;
  /**
   * The legacy `samples` table (before migration 6) may still hold rows: read them with the
   * chunks. Cleared once compaction has moved them all (nothing writes that table any more).
   */
  private legacy: boolean;

  /**
   * A store on an open database (migrated by openDatabase). `ownsDatabase`: close() also
   * closes the database (several stores may share one database; its opener closes it).
   */
  constructor(
    private readonly db: SqliteDatabase,
    opts: SqliteMetricStoreOptions,
    private readonly ownsDatabase = false,
  ) {
    if (typeof opts.now !== 'function') throw new StorageError('INVALID_ARGUMENT', 'options.now (the clock) is required');
    this.h = db.handle;
    this.now = opts.now;
    const r = { ...DEFAULT_RETENTION, ...opts.retention };
    for (const k of ['rawMs', 'oneMinuteMs', 'fiveMinuteMs'] as const) positiveInt(r[k], `retention.${k}`);
    this.graceMs = positiveInt(opts.graceMs ?? MINUTE, 'graceMs', true);
    if (r.rawMs < this.graceMs + 10 * MINUTE) {
      throw new StorageError('INVALID_ARGUMENT', `retention.rawMs must be at least graceMs + 10 min = ${this.graceMs + 10 * MINUTE} ms, so raw data is rolled up before it expires (got ${r.rawMs})`);
    }
    if (r.oneMinuteMs < r.rawMs) throw new StorageError('INVALID_ARGUMENT', `retention.oneMinuteMs must be >= retention.rawMs (got ${r.oneMinuteMs} < ${r.rawMs})`);
    if (r.fiveMinuteMs < r.oneMinuteMs) throw new StorageError('INVALID_ARGUMENT', `retention.fiveMinuteMs must be >= retention.oneMinuteMs (got ${r.fiveMinuteMs} < ${r.oneMinuteMs})`);
    this.retention = r;
    this.batchIdRetentionMs = positiveInt(opts.batchIdRetentionMs ?? DAY, 'batchIdRetentionMs');
    this.maxFutureMs = positiveInt(opts.maxFutureMs ?? 10 * MINUTE, 'maxFutureMs', true);
    this.chunkMs = positiveInt(opts.compactionChunkMs ?? HOUR, 'compactionChunkMs');
    if (this.chunkMs % (5 * MINUTE) !== 0) throw new StorageError('INVALID_ARGUMENT', `compactionChunkMs must be a multiple of 5 min (got ${this.chunkMs})`);
    this.pageSize = positiveInt(opts.compactionSeriesPerTransaction ?? 50, 'compactionSeriesPerTransaction');
    this.expireIntervalMs = positiveInt(opts.expireIntervalMs ?? 5 * MINUTE, 'expireIntervalMs', true);
    const limits = { ...DEFAULT_METRIC_LIMITS, ...opts.limits };
    for (const [k, v] of Object.entries(limits)) positiveInt(v, `limits.${k}`);
    if (limits.maxBatchSize > MAX_FRAME_ROWS) throw new StorageError('INVALID_ARGUMENT', `limits.maxBatchSize must be at most ${MAX_FRAME_ROWS} (got ${limits.maxBatchSize})`);
    this.limits = limits;
    this.cache = new TwoGenerationCache(positiveInt(opts.seriesCacheSize ?? 100_000, 'seriesCacheSize'));
    try {
      this.st = this.prepare();
      this.chunks = new SampleChunks(this.h);
      this.features = new FeatureLog(this.h);
      this.gcGeneration = this.st.gcGeneration.get() as number;
      this.seriesCount = this.st.countSeries.get() as number;
      this.legacy = this.st.legacyExists.get() === 1;
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the metric store (is the database migrated?)');
    }
  }

  private prepare() {
    const h = this.h;
    const rollupUpsert = (t: string) =>
      h.prepare(`INSERT INTO ${t} (series_id, bucket, sum, min, max, count, last) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (series_id, bucket) DO UPDATE SET sum = excluded.sum, min = excluded.min, max = excluded.max, count = excluded.count, last = excluded.last`);
    const rollupRange = (t: string) => h.prepare(`SELECT bucket, sum, min, max, count, last FROM ${t} WHERE series_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`).raw();
    return {
      seriesByKey: h.prepare('SELECT id FROM series WHERE key = ?').pluck(),
      insertSeries: h.prepare('INSERT INTO series (key, name, created_ms) VALUES (?, ?, ?)'),
      insertSeriesLabel: h.prepare('INSERT INTO series_labels (name, value, series_id) VALUES (?, ?, ?)'),
      gcGeneration: h.prepare("SELECT value FROM store_meta WHERE name = 'series_gc_generation'").pluck(),
      bumpGcGeneration: h.prepare("UPDATE store_meta SET value = value + 1 WHERE name = 'series_gc_generation'"),
      batchSeen: h.prepare('SELECT 1 FROM write_batches WHERE kind = ? AND id = ?').pluck(),
      batchRecord: h.prepare('INSERT INTO write_batches (kind, id, accepted, created_ms) VALUES (?, ?, ?, ?)'),
      busOffset: h.prepare('SELECT next_offset FROM bus_offsets WHERE consumer_group = ? AND topic = ? AND partition = ?').pluck(),
      busOffsetSet: h.prepare(`INSERT INTO bus_offsets (consumer_group, topic, partition, next_offset, updated_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = excluded.next_offset, updated_ms = excluded.updated_ms`),
      markLate: h.prepare("UPDATE rollup_state SET dirty_from = MIN(COALESCE(dirty_from, @t), @t) WHERE resolution = '1m' AND @t < done_until"),
      readState: h.prepare('SELECT done_until, pending_from, dirty_from FROM rollup_state WHERE resolution = ?'),
      claimState: h.prepare('UPDATE rollup_state SET done_until = MAX(done_until, ?), pending_from = ?, dirty_from = NULL WHERE resolution = ?'),
      finishState: h.prepare('UPDATE rollup_state SET pending_from = NULL WHERE resolution = ?'),
      expiredSource: h.prepare('SELECT source_expired_until FROM rollup_state WHERE resolution = ?').pluck(),
      setExpiredSource: h.prepare('UPDATE rollup_state SET source_expired_until = MAX(source_expired_until, ?) WHERE resolution = ?'),
      markDirty: h.prepare('UPDATE rollup_state SET dirty_from = MIN(COALESCE(dirty_from, @t), @t) WHERE resolution = @res AND @t < done_until'),
      allSeries: h.prepare('SELECT id, key FROM series').raw(),
      seriesByLabel: h.prepare('SELECT s.id, s.key FROM series_labels l JOIN series s ON s.id = l.series_id WHERE l.name = ? AND l.value = ?').raw(),
      postingsCount: h.prepare('SELECT COUNT(*) FROM series_labels WHERE name = ? AND value = ?').pluck(),
      labelValues: h.prepare('SELECT DISTINCT value FROM series_labels WHERE name = ?').pluck(),
      seriesByLabelValues: h.prepare('SELECT s.id, s.key FROM series_labels l JOIN series s ON s.id = l.series_id WHERE l.name = ? AND l.value IN (SELECT value FROM json_each(?))').raw(),
      rawSamples: h.prepare('SELECT ts, value FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts').raw(),
      rollupRange: { '1m': rollupRange('rollup_1m'), '5m': rollupRange('rollup_5m') },
      rollupUpsert: { '1m': rollupUpsert('rollup_1m'), '5m': rollupUpsert('rollup_5m') },
      countSeries: h.prepare('SELECT COUNT(*) FROM series').pluck(),
      seriesPage: h.prepare('SELECT id FROM series WHERE id > ? ORDER BY id LIMIT ?').pluck(),
      seriesKeyPage: h.prepare('SELECT id, key FROM series WHERE id > ? ORDER BY id LIMIT ?').raw(),
      earliest: {
        samples: h.prepare('SELECT MIN((SELECT ts FROM samples WHERE series_id = s.id ORDER BY ts LIMIT 1)) FROM series s').pluck(),
        '1m': h.prepare('SELECT MIN((SELECT bucket FROM rollup_1m WHERE series_id = s.id ORDER BY bucket LIMIT 1)) FROM series s').pluck(),
      },
      deleteSamples: h.prepare('DELETE FROM samples WHERE series_id = ? AND ts < ?'),
      delete1m: h.prepare('DELETE FROM rollup_1m WHERE series_id = ? AND bucket < ?'),
      delete5m: h.prepare('DELETE FROM rollup_5m WHERE series_id = ? AND bucket < ?'),
      gcSeries: h.prepare(`DELETE FROM series WHERE id = @id
        AND NOT EXISTS (SELECT 1 FROM sample_chunks WHERE series_id = @id)
        AND NOT EXISTS (SELECT 1 FROM samples WHERE series_id = @id) AND NOT EXISTS (SELECT 1 FROM feature_rows WHERE series_id = @id)
        AND NOT EXISTS (SELECT 1 FROM feature_chunks WHERE series_id = @id)
        AND NOT EXISTS (SELECT 1 FROM feature_sources fs JOIN feature_log fl ON fl.agent = fs.agent WHERE fs.series_id = @id)
        AND NOT EXISTS (SELECT 1 FROM rollup_1m WHERE series_id = @id) AND NOT EXISTS (SELECT 1 FROM rollup_5m WHERE series_id = @id)`),
      legacyExists: h.prepare('SELECT EXISTS (SELECT 1 FROM samples)').pluck(),
      legacyHead: h.prepare('SELECT series_id, ts, value FROM samples ORDER BY series_id, ts LIMIT ?').raw(),
      legacyDeleteBelow: h.prepare('DELETE FROM samples WHERE series_id < ?'),
      legacyDeleteUpTo: h.prepare('DELETE FROM samples WHERE series_id = ? AND ts <= ?'),
      expireBatches: h.prepare('DELETE FROM write_batches WHERE (kind, id) IN (SELECT kind, id FROM write_batches WHERE created_ms < ? LIMIT 10000)'),
    };
  }

  // ------------------------------------------------------------------ writes

  async writeSamples(samples: readonly MetricSample[], batchId?: string): Promise<WriteResult> {
    this.ensureOpen();
    if (batchId !== undefined) this.checkBatchId(batchId, 'batchId');
    const items = this.checkBatch(samples, 'samples');
    const now = this.now();
    const rejected: WriteResult['rejected'] = [];
    const bySeries = new Map<string, { series: NormalizedSeries; idx: number[]; ts: number[]; vs: number[] }>();
    const seen = new Map<unknown, NormalizedSeries | string>();
    for (let i = 0; i < items.length; i++) {
      const s: unknown = items[i];
      if (!isPlainObject(s)) {
        rejected.push({ index: i, reason: `sample must be an object {labels, tsMs, value} (got ${show(s)})` });
        continue;
      }
      const series = this.seriesOf(s['labels'], seen);
      if (typeof series === 'string') {
        rejected.push({ index: i, reason: series });
        continue;
      }
      const reason = this.checkTs(s['tsMs'], 'tsMs', now) ?? checkValue(s['value']);
      if (reason !== undefined) {
        rejected.push({ index: i, reason });
        continue;
      }
      let g = bySeries.get(series.key);
      if (g === undefined) bySeries.set(series.key, (g = { series, idx: [], ts: [], vs: [] }));
      g.idx.push(i);
      g.ts.push(s['tsMs'] as number);
      g.vs.push(s['value'] as number);
    }
    const groups: SeriesGroup[] = [];
    for (const g of bySeries.values()) groups.push(sortedGroup(g.series, g.idx, 0, g.ts, g.vs));
    return this.commit('s', batchId, rejected, (created, refused) => this.storeGroups(groups, now, created, refused));
  }

  /**
   * Columnar writeSamples (MetricStore.writeSeries): one group per element, no object per
   * sample; a series whose samples are all valid and in time order is stored from its own
   * arrays without a copy.
   */
  async writeSeries(series: readonly SeriesColumns[], batchId?: string): Promise<WriteResult> {
    this.ensureOpen();
    if (batchId !== undefined) this.checkBatchId(batchId, 'batchId');
    if (!Array.isArray(series)) throw new StorageError('INVALID_ARGUMENT', `series must be an array (got ${show(series)})`);
    let total = 0;
    for (let k = 0; k < series.length; k++) {
      const s: unknown = series[k];
      if (!isPlainObject(s)) throw new StorageError('INVALID_ARGUMENT', `series[${k}] must be an object {labels, timestamps, values} (got ${show(s)})`);
      const { timestamps: ts, values: vs } = s as Partial<SeriesColumns>;
      if (!isColumn(ts)) throw new StorageError('INVALID_ARGUMENT', `series[${k}].timestamps must be an array or a typed array (got ${show(ts)})`);
      if (!isColumn(vs)) throw new StorageError('INVALID_ARGUMENT', `series[${k}].values must be an array or a typed array (got ${show(vs)})`);
      if (ts.length !== vs.length) throw new StorageError('INVALID_ARGUMENT', `series[${k}]: ${ts.length} timestamps but ${vs.length} values`);
      total += ts.length;
    }
    if (total > this.limits.maxBatchSize) {
      throw new StorageError('BATCH_TOO_LARGE', `series: ${total} samples in one write, more than ${this.limits.maxBatchSize}; split the batch`);
    }
    const now = this.now();
    const lo = Math.max(0, now - this.retention.rawMs);
    const hi = Math.min(MAX_TS, now + this.maxFutureMs);
    const rejected: WriteResult['rejected'] = [];
    const groups: SeriesGroup[] = [];
    const seen = new Map<unknown, NormalizedSeries | string>();
    let base = 0;
    for (const s of series) {
      const ts = s.timestamps;
      const vs = s.values;
      const len = ts.length;
      const labels = this.seriesOf(s.labels, seen);
      if (typeof labels === 'string') {
        for (let j = 0; j < len; j++) rejected.push({ index: base + j, reason: labels });
        base += len;
        continue;
      }
      // Fast path: every sample valid and timestamps strictly increasing.
      let clean = true;
      let prev = -1;
      for (let j = 0; j < len; j++) {
        const t = ts[j]!;
        const v = vs[j]!;
        if (typeof t === 'number' && t >= lo && t <= hi && Math.floor(t) === t && t > prev && typeof v === 'number' && v - v === 0) prev = t;
        else {
          clean = false;
          break;
        }
      }
      if (clean) {
        if (len > 0) groups.push({ series: labels, valid: null, base, accepted: len, ts, vs, n: len });
      } else {
        const idx: number[] = [];
        const gts: number[] = [];
        const gvs: number[] = [];
        for (let j = 0; j < len; j++) {
          const reason = this.checkTs(ts[j], 'tsMs', now) ?? checkValue(vs[j]);
          if (reason !== undefined) rejected.push({ index: base + j, reason });
          else {
            idx.push(base + j);
            gts.push(ts[j]!);
            gvs.push(vs[j]!);
          }
        }
        if (idx.length > 0) groups.push(sortedGroup(labels, idx, base, gts, gvs));
      }
      base += len;
    }
    return this.commit('s', batchId, rejected, (created, refused) => this.storeGroups(groups, now, created, refused));
  }

  /** Inside the write transaction: each group's series id, then its samples as chunks. */
  private storeGroups(groups: readonly SeriesGroup[], now: number, created: Map<string, number>, refused: WriteResult['rejected']): number {
    let minTs = Infinity;
    let n = 0;
    for (const g of groups) {
      const id = this.seriesId(g.series, now, created);
      if (id === undefined) {
        const reason = this.cardinalityReason();
        if (g.valid !== null) for (const index of g.valid) refused.push({ index, reason });
        else for (let j = 0; j < g.accepted; j++) refused.push({ index: g.base + j, reason });
        continue;
      }
      this.chunks.write(id, g.ts, g.vs, g.n);
      if (g.ts[0]! < minTs) minTs = g.ts[0]!;
      n += g.accepted;
    }
    if (n > 0) this.st.markLate.run({ t: minTs });
    return n;
  }

  async writeFeatureFrame(agentId: string, sequence: number, rows: readonly FeatureSample[]): Promise<WriteResult> {
    this.ensureOpen();
    checkAgentId(agentId, 'agentId');
    positiveInt(sequence, 'sequence', true);
    const items = this.checkBatch(rows, 'rows');
    const now = this.now();
    const rejected: WriteResult['rejected'] = [];
    const ok = this.prepareFeatures(items, 0, now, rejected);
    return this.commit('f', JSON.stringify([agentId, sequence]), rejected, (created, refused) => this.appendFeatures(agentId, ok, now, created, refused));
  }

  async writeFeatureRecords(from: BusPartitionRef, records: readonly FeatureRecordWrite[]): Promise<FeatureRecordsResult> {
    this.ensureOpen();
    if (!isPlainObject(from)) throw new StorageError('INVALID_ARGUMENT', `from must be an object {group, topic, partition} (got ${show(from)})`);
    for (const k of ['group', 'topic'] as const) {
      const v = from[k];
      if (typeof v !== 'string' || v === '' || v.length > 256) throw new StorageError('INVALID_ARGUMENT', `from.${k} must be a non-empty string of at most 256 characters (got ${show(v)})`);
    }
    if (!Number.isSafeInteger(from.partition) || from.partition < 0) throw new StorageError('INVALID_ARGUMENT', `from.partition must be an integer >= 0 (got ${show(from.partition)})`);
    this.checkBatch(records, 'records');
    const now = this.now();
    const rejected: WriteResult['rejected'] = [];
    const prepared: Array<{ offset: number; agentId: string; ok: PreparedFeature[] }> = [];
    let base = 0;
    let total = 0;
    let last = -1;
    for (let i = 0; i < records.length; i++) {
      const r: unknown = records[i];
      if (!isPlainObject(r)) throw new StorageError('INVALID_ARGUMENT', `records[${i}] must be an object {offset, agentId, rows} (got ${show(r)})`);
      const offset = typeof r['offset'] === 'string' && /^(0|[1-9][0-9]{0,15})$/.test(r['offset']) ? Number(r['offset']) : NaN;
      if (!Number.isSafeInteger(offset)) throw new StorageError('INVALID_ARGUMENT', `records[${i}].offset must be a decimal string of a safe integer >= 0 (got ${show(r['offset'])})`);
      if (offset <= last) throw new StorageError('INVALID_ARGUMENT', `records[${i}].offset ${offset} is not after the previous record's (${last}): records of one partition, in offset order`);
      last = offset;
      checkAgentId(r['agentId'], `records[${i}].agentId`);
      const rows = r['rows'];
      if (!Array.isArray(rows)) throw new StorageError('INVALID_ARGUMENT', `records[${i}].rows must be an array (got ${show(rows)})`);
      total += rows.length;
      if (total > this.limits.maxBatchSize) throw new StorageError('BATCH_TOO_LARGE', `records: more than ${this.limits.maxBatchSize} rows in one write; split the batch`);
      prepared.push({ offset, agentId: r['agentId'] as string, ok: this.prepareFeatures(rows as readonly FeatureSample[], base, now, rejected) });
      base += rows.length;
    }
    let skipped = 0;
    const result = this.commit('f', undefined, rejected, (created, refused) => {
      const next = this.st.busOffset.get(from.group, from.topic, from.partition) as number | undefined;
      let n = 0;
      skipped = 0;
      for (const p of prepared) {
        if (next !== undefined && p.offset < next) skipped++;
        else n += this.appendFeatures(p.agentId, p.ok, now, created, refused);
      }
      if (prepared.length > 0 && (next === undefined || last + 1 > next)) this.st.busOffsetSet.run(from.group, from.topic, from.partition, last + 1, now);
      return n;
    });
    return { ...result, duplicate: prepared.length > 0 && skipped === prepared.length, skippedRecords: skipped };
  }

  async busOffset(from: BusPartitionRef): Promise<string | undefined> {
    this.ensureOpen();
    const v = this.st.busOffset.get(from.group, from.topic, from.partition) as number | undefined;
    return v === undefined ? undefined : String(v);
  }

  /** Validates feature rows; `base` is the index of rows[0] in the caller's numbering. */
  private prepareFeatures(rows: readonly FeatureSample[], base: number, now: number, rejected: WriteResult['rejected']): PreparedFeature[] {
    const ok: PreparedFeature[] = [];
    const seen = new Map<unknown, NormalizedSeries | string>();
    for (let i = 0; i < rows.length; i++) {
      const f: unknown = rows[i];
      const index = base + i;
      if (!isPlainObject(f)) {
        rejected.push({ index, reason: `row must be an object {labels, windowStartMs, windowEndMs, row} (got ${show(f)})` });
        continue;
      }
      const series = this.seriesOf(f['labels'], seen);
      if (typeof series === 'string') {
        rejected.push({ index, reason: series });
        continue;
      }
      const reason = this.checkTs(f['windowStartMs'], 'windowStartMs', now) ?? checkWindowEnd(f['windowStartMs'] as number, f['windowEndMs']) ?? checkFeatureRow(f['row']);
      if (reason !== undefined) rejected.push({ index, reason });
      else ok.push({ index, series, start: f['windowStartMs'] as number, end: f['windowEndMs'] as number, row: f['row'] as FeatureSample['row'] });
    }
    return ok;
  }

  /** Inside a write transaction: appends one agent's prepared rows to the feature log. */
  private appendFeatures(agentId: string, ok: readonly PreparedFeature[], now: number, created: Map<string, number>, refused: WriteResult['rejected']): number {
    const rows = new Float64Array(ok.length * ROW_WIDTH);
    let minTs = Infinity;
    let maxTs = -Infinity;
    let n = 0;
    for (const p of ok) {
      const id = this.seriesId(p.series, now, created);
      if (id === undefined) {
        refused.push({ index: p.index, reason: this.cardinalityReason() });
        continue;
      }
      const c = p.series as CachedSeries;
      if (c.sourceAgent !== agentId || c.sourceEpoch !== this.epoch) {
        this.features.noteSource(id, agentId);
        c.sourceAgent = agentId;
        c.sourceEpoch = this.epoch;
      }
      const r = p.row;
      const o = n * ROW_WIDTH;
      rows[o + F.start] = p.start;
      rows[o + F.end] = p.end;
      rows[o + F.count] = r.count;
      rows[o + F.min] = r.min;
      rows[o + F.max] = r.max;
      rows[o + F.mean] = r.mean;
      rows[o + F.std] = r.std;
      rows[o + F.last] = r.last;
      rows[o + F.p50] = r.p50;
      rows[o + F.p95] = r.p95;
      rows[o + F.score] = r.tier1MaxScore;
      rows[o + F.flags] = r.flags;
      rows[o + F.bandLower] = r.bandLower;
      rows[o + F.bandUpper] = r.bandUpper;
      rows[o + F.x] = id;
      if (p.start < minTs) minTs = p.start;
      if (p.start > maxTs) maxTs = p.start;
      n++;
    }
    if (n > 0) {
      this.features.append(agentId, rows, n, minTs, maxTs);
      this.st.markLate.run({ t: minTs });
    }
    return n;
  }

  /**
   * Runs `write` in an IMMEDIATE transaction guarded by the batch identity. Series created by
   * the transaction enter the id cache only after it commits.
   */
  private commit(
    kind: 's' | 'f',
    batchId: string | undefined,
    rejected: WriteResult['rejected'],
    write: (created: Map<string, number>, refused: WriteResult['rejected']) => number,
  ): WriteResult {
    for (let attempt = 0; ; attempt++) {
      const created = new Map<string, number>();
      const refused: WriteResult['rejected'] = [];
      try {
        const accepted = this.h
          .transaction((): number | undefined => {
            if (batchId !== undefined && this.st.batchSeen.get(kind, batchId) !== undefined) return undefined;
            this.checkGcGeneration();
            const n = write(created, refused);
            if (batchId !== undefined) this.st.batchRecord.run(kind, batchId, n, this.now());
            return n;
          })
          .immediate();
        for (const [k, id] of created) this.cache.set(k, id);
        this.seriesCount += created.size;
        if (accepted === undefined) return { accepted: 0, duplicate: true, rejected: [] };
        const all = refused.length === 0 ? rejected : [...rejected, ...refused].sort((a, b) => a.index - b.index);
        return { accepted, duplicate: false, rejected: all };
      } catch (err) {
        // A cached series id deleted by another connection's garbage collection.
        if (attempt === 0 && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
          this.dropSeriesCaches();
          continue;
        }
        // Rolled back: ids and sources cached during the attempt may name rows that were
        // never committed.
        this.dropSeriesCaches();
        throw toStorageError(err, 'metric write failed (nothing of the batch was stored)');
      }
    }
  }

  /** The series' id, created if needed; undefined when creating it would exceed maxSeriesTotal. */
  private seriesId(s: NormalizedSeries, now: number, created: Map<string, number>): number | undefined {
    const c = s as CachedSeries;
    if (c.storeEpoch === this.epoch) return c.storeId;
    const hit = created.get(s.key) ?? this.cache.get(s.key);
    if (hit !== undefined) {
      if (!created.has(s.key)) {
        c.storeId = hit;
        c.storeEpoch = this.epoch;
      }
      return hit;
    }
    const found = this.st.seriesByKey.get(s.key) as number | undefined;
    if (found !== undefined) {
      this.cache.set(s.key, found);
      c.storeId = found;
      c.storeEpoch = this.epoch;
      return found;
    }
    if (this.seriesCount + created.size >= this.limits.maxSeriesTotal) return undefined;
    const id = Number(this.st.insertSeries.run(s.key, s.name, now).lastInsertRowid);
    for (const name of Object.keys(s.labels)) this.st.insertSeriesLabel.run(name, s.labels[name], id);
    created.set(s.key, id);
    return id;
  }

  /** Drops every cached series id (series may have been garbage-collected). */
  private dropSeriesCaches(): void {
    this.cache.clear();
    this.epoch++;
  }

  /** Inside a write transaction: drops the caches if another connection collected series. */
  private checkGcGeneration(): void {
    const g = this.st.gcGeneration.get() as number;
    if (g !== this.gcGeneration) {
      this.dropSeriesCaches();
      this.gcGeneration = g;
    }
  }

  private seriesOf(labels: unknown, seen: Map<unknown, NormalizedSeries | string>): NormalizedSeries | string {
    if (typeof labels !== 'object' || labels === null) return normalizeSeriesLabels(labels, this.limits);
    const frozen = Object.isFrozen(labels);
    let r = frozen ? this.frozenSeries.get(labels) : seen.get(labels);
    if (r === undefined) {
      r = normalizeSeriesLabels(labels, this.limits);
      if (frozen) this.frozenSeries.set(labels, r);
      else seen.set(labels, r);
    }
    return r;
  }

  private cardinalityReason(): string {
    return `series limit reached: the store holds ${this.limits.maxSeriesTotal} series (maxSeriesTotal); a new series is refused until retention frees some`;
  }

  private checkBatchId(id: unknown, path: string): void {
    if (typeof id !== 'string' || id === '' || id.length > 512) throw new StorageError('INVALID_ARGUMENT', `${path} must be a non-empty string of at most 512 characters (got ${show(id)})`);
  }

  private checkBatch<T>(items: readonly T[], what: string): readonly T[] {
    if (!Array.isArray(items)) throw new StorageError('INVALID_ARGUMENT', `${what} must be an array (got ${show(items)})`);
    if (items.length > this.limits.maxBatchSize) {
      throw new StorageError('BATCH_TOO_LARGE', `${what}: ${items.length} items in one write, more than ${this.limits.maxBatchSize}; split the batch`);
    }
    return items;
  }

  private checkTs(ts: unknown, path: string, now: number): string | undefined {
    if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0 || ts > MAX_TS) return `${path} must be an integer number of ms since the epoch (got ${show(ts)})`;
    const cutoff = now - this.retention.rawMs;
    if (ts < cutoff) return `${path} ${ts} is older than the raw retention (${this.retention.rawMs} ms, cutoff ${cutoff})`;
    if (ts > now + this.maxFutureMs) return `${path} ${ts} is more than ${this.maxFutureMs} ms in the future (now ${now})`;
    return undefined;
  }

  // ------------------------------------------------------------------ reads

  async series(selector: SeriesSelector, limit: number): Promise<Labels[]> {
    this.ensureOpen();
    positiveInt(limit, 'limit');
    const sel = compileSelector(selector, this.limits);
    try {
      return this.matchSeries(sel)
        .slice(0, limit)
        .map((s) => s.labels);
    } catch (err) {
      throw toStorageError(err, 'series lookup failed');
    }
  }

  async query(q: RangeQuery): Promise<SeriesPoints[]> {
    this.ensureOpen();
    const { sel, startMs, endMs, maxSeries, maxPoints } = this.checkRange(q, q?.maxPoints, 'maxPoints');
    const res = q.resolution ?? 'auto';
    if (res !== 'auto' && res !== 'raw' && res !== '1m' && res !== '5m') {
      throw new StorageError('INVALID_QUERY', `resolution must be "auto", "raw", "1m" or "5m" (got ${show(res)})`);
    }
    try {
      const now = this.now();
      const resolution: Resolution = res !== 'auto' ? res : startMs >= now - this.retention.rawMs ? 'raw' : startMs >= now - this.retention.oneMinuteMs ? '1m' : '5m';
      const boundary = resolution === 'raw' ? 0 : this.rollupBoundary(resolution);
      const out: SeriesPoints[] = [];
      let points = 0;
      const cache = new LogReadCache();
      for (const s of this.matchSeries(sel)) {
        const p = resolution === 'raw' ? this.rawPoints(s.id, s.labels, startMs, endMs, cache) : this.bucketPoints(s.id, s.labels, resolution, startMs, endMs, boundary, cache);
        if (p.timestamps.length === 0) continue;
        points += p.timestamps.length;
        if (out.length + 1 > maxSeries) {
          throw new StorageError('QUERY_LIMIT', `query matches more than ${maxSeries} series with data in the range (maxSeries); narrow the selector`);
        }
        if (points > maxPoints) {
          throw new StorageError('QUERY_LIMIT', `query returns more than ${maxPoints} points (maxPoints) at resolution ${resolution}; shorten the range, use a coarser resolution or narrow the selector`);
        }
        out.push(p);
      }
      return out;
    } catch (err) {
      throw toStorageError(err, 'metric query failed');
    }
  }

  async queryFeatures(q: FeatureQuery): Promise<FeatureSeries[]> {
    this.ensureOpen();
    const { sel, startMs, endMs, maxSeries, maxPoints: maxRows } = this.checkRange(q, q?.maxRows, 'maxRows');
    try {
      // One read transaction: a fold by another connection cannot move rows from the log into
      // chunks between the two reads of a series.
      return this.h.transaction((): FeatureSeries[] => {
        const out: FeatureSeries[] = [];
        const head = this.features.headOverlaps(startMs, endMs);
        const cache = new LogReadCache();
        let rows = 0;
        for (const s of this.matchSeries(sel)) {
          const raw = this.features.read(s.id, startMs, endMs, head, cache);
          if (raw.length === 0) continue;
          rows += raw.length;
          if (out.length + 1 > maxSeries) throw new StorageError('QUERY_LIMIT', `feature query matches more than ${maxSeries} series with rows in the range (maxSeries); narrow the selector`);
          if (rows > maxRows) throw new StorageError('QUERY_LIMIT', `feature query returns more than ${maxRows} rows (maxRows); shorten the range or narrow the selector`);
          out.push({ labels: s.labels, windows: raw.map(featureWindow) });
        }
        return out;
      })();
    } catch (err) {
      throw toStorageError(err, 'feature query failed');
    }
  }

  async *scanFeatures(q: { startMs: number; endMs: number; pageSize?: number }): AsyncIterable<FeatureSeries[]> {
    this.ensureOpen();
    if (!isPlainObject(q)) throw new StorageError('INVALID_QUERY', `scan must be an object (got ${show(q)})`);
    checkTimeRange(q.startMs, q.endMs);
    const pageSize = positiveInt(q.pageSize ?? 1000, 'pageSize');
    const { startMs, endMs } = q;
    for (let after = 0; ; ) {
      this.ensureOpen();
      let ids: unknown[][] = [];
      let page: FeatureSeries[];
      try {
        page = this.h.transaction((): FeatureSeries[] => {
          const out: FeatureSeries[] = [];
          const head = this.features.headOverlaps(startMs, endMs);
          const cache = new LogReadCache();
          // Pages of the series table until `pageSize` series with rows are found.
          while (out.length < pageSize) {
            ids = this.st.seriesKeyPage.all(after, pageSize) as unknown[][];
            if (ids.length === 0) break;
            for (const [id, key] of ids as Array<[number, string]>) {
              after = id;
              const raw = this.features.read(id, startMs, endMs, head, cache);
              if (raw.length > 0) out.push({ labels: labelsFromKey(key), windows: raw.map(featureWindow) });
              if (out.length >= pageSize) break;
            }
          }
          return out;
        })();
      } catch (err) {
        throw toStorageError(err, 'feature scan failed');
      }
      if (page.length > 0) yield page;
      if (ids.length === 0 || page.length < pageSize) return;
      await yieldToLoop();
    }
  }

  private checkRange(q: RangeQuery | FeatureQuery, maxPointsIn: unknown, pointsName: string) {
    if (!isPlainObject(q)) throw new StorageError('INVALID_QUERY', `query must be an object (got ${show(q)})`);
    const sel = compileSelector(q.selector, this.limits);
    const { startMs, endMs } = q;
    checkTimeRange(startMs, endMs);
    const limit = (v: unknown, name: string, cap: number): number => {
      if (v === undefined) return cap;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new StorageError('INVALID_QUERY', `${name} must be a positive integer (got ${show(v)})`);
      return Math.min(v, cap);
    };
    return { sel, startMs, endMs, maxSeries: limit(q.maxSeries, 'maxSeries', this.limits.maxQuerySeries), maxPoints: limit(maxPointsIn, pointsName, this.limits.maxQueryPoints) };
  }

  /**
   * Series matching a selector, ordered by canonical label key. Candidates come from the most
   * selective index lookup available (an `=` matcher's postings, else an `=~` matcher's values,
   * else every series); every matcher is then applied to the candidates' labels.
   */
  private matchSeries(sel: CompiledSelector): Array<{ id: number; key: string; labels: Labels }> {
    const pos = positiveMatchers(sel);
    let candidates: Iterable<unknown[]>;
    const eq = pos.filter((m) => m.op === '=');
    const re = pos.find((m) => m.op === '=~');
    if (eq.length > 0) {
      let best = eq[0]!;
      if (eq.length > 1) {
        let bestCount = Infinity;
        for (const m of eq) {
          const n = this.st.postingsCount.get(m.name, m.value) as number;
          if (n < bestCount) [best, bestCount] = [m, n];
        }
      }
      candidates = this.st.seriesByLabel.iterate(best.name, best.value) as Iterable<unknown[]>;
    } else if (re !== undefined) {
      const values = (this.st.labelValues.all(re.name) as string[]).filter((v) => re.test(v));
      candidates = values.length === 0 ? [] : (this.st.seriesByLabelValues.iterate(re.name, JSON.stringify(values)) as Iterable<unknown[]>);
    } else {
      candidates = this.st.allSeries.iterate() as Iterable<unknown[]>;
    }
    const out: Array<{ id: number; key: string; labels: Labels }> = [];
    for (const row of candidates) {
      const key = row[1] as string;
      const labels = labelsFromKey(key);
      if (matchesLabels(sel, labels)) out.push({ id: row[0] as number, key, labels });
    }
    out.sort((a, b) => compareCodePoints(a.key, b.key));
    return out;
  }

  /** Raw samples of one series in [from, to): its chunks, and legacy rows while there are any. */
  private rawSamples(id: number, from: number, to: number): SampleColumns {
    const c = this.chunks.read(id, from, to);
    if (!this.legacy) return c;
    const rows = this.st.rawSamples.all(id, from, to) as Array<[number, number]>;
    if (rows.length === 0) return c;
    // A legacy row was written before every chunk: on the same timestamp the chunk is newer.
    return mergeSorted(
      rows.map((r) => r[0]),
      rows.map((r) => r[1]),
      rows.length,
      c.ts,
      c.vs,
      c.ts.length,
      true,
    );
  }

  private rawPoints(id: number, labels: Labels, startMs: number, endMs: number, cache?: LogReadCache): SeriesPoints {
    const raw = this.rawSamples(id, startMs, endMs);
    const features = this.features.read(id, startMs, endMs, true, cache)
      .filter((r) => r[F.count]! > 0 && Number.isFinite(r[F.mean]!))
      .map((r): [number, number] => [r[F.start]!, r[F.mean]!]);
    if (features.length === 0) return { labels, resolution: 'raw', timestamps: raw.ts, values: raw.vs };
    const timestamps: number[] = [];
    const values: number[] = [];
    let i = 0;
    let j = 0;
    while (i < raw.ts.length || j < features.length) {
      // Samples before feature points of the same time (a stable merge, samples first).
      if (j >= features.length || (i < raw.ts.length && raw.ts[i]! <= features[j]![0])) {
        timestamps.push(raw.ts[i]!);
        values.push(raw.vs[i++]!);
      } else {
        timestamps.push(features[j]![0]);
        values.push(features[j++]![1]);
      }
    }
    return { labels, resolution: 'raw', timestamps, values };
  }

  /**
   * Raw samples and feature rows of one series as foldable rows, sorted by time. `head`: false
   * when no frame still in the feature log overlaps [from, to).
   */
  private rawFoldRows(id: number, from: number, to: number, head = true, cache?: LogReadCache): FoldRow[] {
    const raw = this.rawSamples(id, from, to);
    const samples = new Array<FoldRow>(raw.ts.length);
    for (let i = 0; i < samples.length; i++) {
      const v = raw.vs[i]!;
      samples[i] = [raw.ts[i]!, v, v, v, 1, v];
    }
    const features: FoldRow[] = [];
    for (const r of this.features.read(id, from, to, head, cache)) {
      const count = r[F.count]!;
      const mean = r[F.mean]!;
      const min = r[F.min]!;
      const max = r[F.max]!;
      const last = r[F.last]!;
      if (count > 0 && Number.isFinite(mean) && Number.isFinite(min) && Number.isFinite(max) && Number.isFinite(last)) features.push([r[F.start]!, mean * count, min, max, count, last]);
    }
    return mergeByTime(samples, features);
  }

  /**
   * Where stored buckets of `res` stop being complete and current: below it they are read from
   * the rollup table, from it on they are aggregated from raw data at query time.
   */
  private rollupBoundary(res: Rollup): number {
    const r = RES_MS[res];
    const horizon = (s: RollupState) => Math.min(s.done_until, s.pending_from ?? Infinity, s.dirty_from ?? Infinity);
    const b = alignDown(horizon(this.state(res)), r);
    // A compaction rolls everything up to its horizon before it deletes raw data, so raw data
    // from the horizon on is still there.
    return res === '5m' ? Math.min(b, alignDown(horizon(this.state('1m')), r)) : b;
  }

  private bucketPoints(id: number, labels: Labels, res: Rollup, startMs: number, endMs: number, boundary: number, cache?: LogReadCache): SeriesPoints {
    const r = RES_MS[res];
    const lo = alignUp(startMs, r);
    const p: Required<SeriesPoints> = { labels, resolution: res, timestamps: [], values: [], min: [], max: [], count: [], last: [] };
    const push = (bucket: number, sum: number, min: number, max: number, count: number, last: number) => {
      p.timestamps.push(bucket);
      p.values.push(sum / count);
      p.min.push(min);
      p.max.push(max);
      p.count.push(count);
      p.last.push(last);
    };
    const storedTo = Math.min(endMs, boundary);
    if (storedTo > lo) {
      for (const row of this.st.rollupRange[res].all(id, lo, storedTo) as unknown[][]) {
        push(row[0] as number, num(row[1]), num(row[2]), num(row[3]), row[4] as number, num(row[5]));
      }
    }
    const tailFrom = Math.max(lo, boundary);
    if (endMs > tailFrom) {
      foldBuckets(this.rawFoldRows(id, tailFrom, alignUp(endMs, r), true, cache), r, (b) => push(b.bucket, b.sum, b.min, b.max, b.count, b.last));
    }
    return p;
  }

  private state(res: Rollup): RollupState {
    return this.st.readState.get(res) as RollupState;
  }

  // ------------------------------------------------------------------ compaction

  async compact(nowMs: number): Promise<{ downsampled: number; deleted: number }> {
    this.ensureOpen();
    if (typeof nowMs !== 'number' || !Number.isSafeInteger(nowMs) || nowMs < 0) throw new StorageError('INVALID_ARGUMENT', `nowMs must be an integer number of ms (got ${show(nowMs)})`);
    const run = this.compacting.then(async () => {
      try {
        await this.moveLegacySamples();
        await this.foldFeatures();
        const downsampled = (await this.rollup('1m', nowMs)) + (await this.rollup('5m', nowMs));
        // Retention walks every series: at most once per expireIntervalMs (retention is counted
        // in hours and days; rollups and folds above run at every call).
        let deleted = 0;
        if (!(nowMs - this.lastExpireMs < this.expireIntervalMs && nowMs >= this.lastExpireMs)) {
          deleted = await this.expire(nowMs);
          this.lastExpireMs = nowMs;
        }
        return { downsampled, deleted };
      } catch (err) {
        throw toStorageError(err, 'compaction failed (it resumes where it stopped at the next call)');
      }
    });
    this.compacting = run.catch(() => undefined);
    return run;
  }

  private async rollup(res: Rollup, nowMs: number): Promise<number> {
    const r = RES_MS[res];
    const claim = this.h
      .transaction((): { start: number; closed: number } | undefined => {
        const st = this.state(res);
        let closed: number;
        if (res === '1m') closed = alignDown(nowMs - this.graceMs, r);
        else {
          const s1 = this.state('1m');
          closed = alignDown(Math.min(s1.done_until, s1.pending_from ?? Infinity, s1.dirty_from ?? Infinity), r);
        }
        // Buckets whose source data may be partly deleted by retention are never recomputed.
        const floor = alignUp(this.st.expiredSource.get(res) as number, r);
        let start = Math.min(st.done_until, st.pending_from ?? Infinity, st.dirty_from ?? Infinity);
        if (st.done_until === 0 && st.pending_from === null) {
          const first =
            res === '1m' ? minOf(this.chunks.earliest(), this.legacy ? this.st.earliest.samples.get() : undefined, this.features.earliest()) : minOf(this.st.earliest['1m'].get());
          start = first ?? closed;
        }
        start = Math.max(alignDown(start, r), floor);
        if (start >= closed) {
          this.st.claimState.run(closed, null, res);
          return undefined;
        }
        this.st.claimState.run(closed, start, res);
        if (res === '1m') this.st.markDirty.run({ t: start, res: '5m' });
        return { start, closed };
      })
      .immediate();
    if (claim === undefined) return 0;
    let written = 0;
    const span = res === '1m' ? this.chunkMs : this.chunkMs * 5;
    const upsert = this.st.rollupUpsert[res];
    for (let a = claim.start; a < claim.closed; a += span) {
      const b = Math.min(a + span, claim.closed);
      // Whether the feature log holds rows of this span: otherwise the rollup reads chunks only.
      // Frames appended after this point below the claimed horizon marked the range dirty, so
      // the next compaction recomputes it; the cache shares one decode of each agent's frames
      // between the span's series.
      // A backlog written during the fold that compact() began with may hold windows of the
      // span: fold again first, so the log the span reads (and the cache holds) stays small.
      if (res === '1m' && this.features.headOverlaps(a, b)) await this.foldFeatures();
      const head = res === '1m' && this.features.headOverlaps(a, b);
      const cache = new LogReadCache();
      for (let after = 0; ; ) {
        this.ensureOpen();
        const ids = this.st.seriesPage.all(after, this.pageSize) as number[];
        if (ids.length === 0) break;
        written += this.h
          .transaction(() => {
            let n = 0;
            for (const id of ids) {
              const rows = res === '1m' ? this.rawFoldRows(id, a, b, head, cache) : (this.st.rollupRange['1m'].all(id, a, b) as unknown[][]).map((x): FoldRow => [x[0] as number, num(x[1]), num(x[2]), num(x[3]), x[4] as number, num(x[5])]);
              foldBuckets(rows, r, (k) => {
                upsert.run(id, k.bucket, k.sum, k.min, k.max, k.count, k.last);
                n++;
              });
            }
            return n;
          })
          .immediate();
        after = ids[ids.length - 1]!;
        await yieldToLoop();
      }
    }
    this.ensureOpen();
    this.st.finishState.run(res);
    return written;
  }

  private async expire(nowMs: number): Promise<number> {
    const raw = nowMs - this.retention.rawMs;
    const m1 = nowMs - this.retention.oneMinuteMs;
    const m5 = nowMs - this.retention.fiveMinuteMs;
    let deleted = 0;
    let collected = 0;
    // Recorded before deleting: a crash half-way must not let a rollup use a partial source.
    this.h
      .transaction(() => {
        this.st.setExpiredSource.run(raw, '1m');
        this.st.setExpiredSource.run(m1, '5m');
      })
      .immediate();
    for (let after = 0; ; ) {
      this.ensureOpen();
      const ids = this.st.seriesPage.all(after, this.pageSize) as number[];
      if (ids.length === 0) break;
      const [d, c] = this.h
        .transaction((): [number, number] => {
          let dn = 0;
          let cn = 0;
          for (const id of ids) {
            const n =
              this.chunks.expire(id, raw) +
              (this.legacy ? this.st.deleteSamples.run(id, raw).changes : 0) +
              this.features.expire(id, raw) +
              this.st.delete1m.run(id, m1).changes +
              this.st.delete5m.run(id, m5).changes;
            dn += n;
            if (n > 0 && this.st.gcSeries.run({ id }).changes > 0) {
              this.features.forget(id);
              cn++;
            }
          }
          if (cn > 0) this.st.bumpGcGeneration.run();
          return [dn, cn];
        })
        .immediate();
      deleted += d;
      collected += c;
      after = ids[ids.length - 1]!;
      await yieldToLoop();
    }
    if (collected > 0) {
      this.dropSeriesCaches();
      this.gcGeneration = this.st.gcGeneration.get() as number;
    }
    this.seriesCount = this.st.countSeries.get() as number;
    this.ensureOpen();
    while (this.st.expireBatches.run(nowMs - this.batchIdRetentionMs).changes > 0) await yieldToLoop();
    return deleted;
  }

  /**
   * Folds every frame now in the feature log into per-series chunks (FeatureLog.foldBatch: one
   * agent's frames per transaction, yielding in between; frames written meanwhile wait for the
   * next compaction), and moves the legacy `feature_rows` into chunks. Returns frames folded.
   */
  private async foldFeatures(): Promise<number> {
    let folded = 0;
    while (this.features.legacy) {
      this.ensureOpen();
      this.h.transaction(() => this.features.moveLegacy(LEGACY_ROWS_PER_TRANSACTION)).immediate();
      await yieldToLoop();
    }
    const upTo = this.features.headMax();
    if (upTo === undefined) return 0;
    for (;;) {
      this.ensureOpen();
      const n = this.h.transaction(() => this.features.foldBatch(upTo)).immediate();
      if (n === 0) break;
      folded += n;
      await yieldToLoop();
    }
    return folded;
  }

  /**
   * Moves the rows of the legacy `samples` table (databases from before migration 6) into
   * chunks, LEGACY_ROWS_PER_TRANSACTION rows per transaction in key order, yielding in
   * between; a crash between two transactions leaves every row in exactly one of the tables.
   * On a timestamp present in both, the chunk (written later) wins. Returns rows moved.
   */
  private async moveLegacySamples(): Promise<number> {
    let moved = 0;
    while (this.legacy) {
      this.ensureOpen();
      const n = this.h
        .transaction((): number => {
          const rows = this.st.legacyHead.all(LEGACY_ROWS_PER_TRANSACTION) as Array<[number, number, number]>;
          for (let i = 0; i < rows.length; ) {
            const id = rows[i]![0];
            const ts: number[] = [];
            const vs: number[] = [];
            for (; i < rows.length && rows[i]![0] === id; i++) {
              ts.push(rows[i]![1]);
              vs.push(rows[i]![2]);
            }
            this.chunks.write(id, ts, vs, ts.length, false);
          }
          const last = rows.at(-1);
          if (last !== undefined) {
            this.st.legacyDeleteBelow.run(last[0]);
            this.st.legacyDeleteUpTo.run(last[0], last[1]);
          }
          return rows.length;
        })
        .immediate();
      if (n === 0) this.legacy = false;
      moved += n;
      await yieldToLoop();
    }
    return moved;
  }

  // ------------------------------------------------------------------ lifecycle

  private ensureOpen(): void {
    if (this.closed || this.db.closed) throw new StorageError('CLOSED', 'the metric store is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compacting;
    this.cache.clear();
    if (this.ownsDatabase) {
      this.db.close();
      await this.db.released();
    }
  }
}

/** A query's [startMs, endMs): integer ms since the epoch, end after start (INVALID_QUERY). */
function checkTimeRange(startMs: unknown, endMs: unknown): asserts startMs is number {
  for (const [k, v] of [['startMs', startMs], ['endMs', endMs]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new StorageError('INVALID_QUERY', `${k} must be an integer number of ms since the epoch (got ${show(v)})`);
  }
  if ((endMs as number) <= (startMs as number)) throw new StorageError('INVALID_QUERY', `endMs must be after startMs (got ${startMs} .. ${endMs})`);
}

/** A feature row as the API shape (ROW_WIDTH numbers, see feature-log.ts). */
function featureWindow(r: FeatureRowView): Omit<FeatureSample, 'labels'> {
  return {
    windowStartMs: r[F.start]!,
    windowEndMs: r[F.end]!,
    row: {
      count: r[F.count]!,
      min: r[F.min]!,
      max: r[F.max]!,
      mean: r[F.mean]!,
      std: r[F.std]!,
      last: r[F.last]!,
      p50: r[F.p50]!,
      p95: r[F.p95]!,
      tier1MaxScore: r[F.score]!,
      flags: r[F.flags]!,
      bandLower: r[F.bandLower]!,
      bandUpper: r[F.bandUpper]!,
    },
  };
}

function minOf(...xs: unknown[]): number | undefined {
  let m: number | undefined;
  for (const x of xs) if (typeof x === 'number' && (m === undefined || x < m)) m = x;
  return m;
}

function isColumn(x: unknown): x is ArrayLike<number> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

/**
 * A group of one series' valid samples (in call order) sorted by time; of samples with the
 * same timestamp the last in call order is kept (last write wins).
 */
function sortedGroup(series: NormalizedSeries, idx: number[], base: number, ts: number[], vs: number[]): SeriesGroup {
  const n = ts.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (!(ts[i - 1]! < ts[i]!)) sorted = false;
  const valid = idx.length === n && (n === 0 || idx[n - 1]! - idx[0]! === n - 1) && idx[0] === base ? null : idx;
  if (sorted) return { series, valid, base, accepted: n, ts, vs, n };
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => ts[a]! - ts[b]! || a - b);
  const sts: number[] = [];
  const svs: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (k + 1 < n && ts[order[k + 1]!] === ts[i]) continue;
    sts.push(ts[i]!);
    svs.push(vs[i]!);
  }
  return { series, valid, base, accepted: n, ts: sts, vs: svs, n: sts.length };
}

function checkValue(v: unknown): string | undefined {
  if (typeof v !== 'number') return `value must be a number (got ${show(v)})`;
  if (Number.isNaN(v)) return 'value is NaN';
  if (v === Infinity) return 'value is +Inf';
  if (v === -Infinity) return 'value is -Inf';
  return undefined;
}

function checkWindowEnd(start: number, end: unknown): string | undefined {
  if (typeof end !== 'number' || !Number.isSafeInteger(end) || end < start) return `windowEndMs must be an integer >= windowStartMs ${start} (got ${show(end)})`;
  return undefined;
}

function checkFeatureRow(row: unknown): string | undefined {
  if (!isPlainObject(row)) return `row must be an object of features (got ${show(row)})`;
  for (const k of ['count', 'flags'] as const) {
    const v = row[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) return `row.${k} must be an integer in 0..2^32-1 (got ${show(v)})`;
  }
  for (const k of FEATURE_NUMBERS) {
    if (typeof row[k] !== 'number') return `row.${k} must be a number, NaN when not available (got ${show(row[k])})`;
  }
  return undefined;
}
