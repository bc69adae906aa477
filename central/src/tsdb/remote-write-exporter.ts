// Remote-write exporter: copies the samples central stores to a Prometheus-compatible TSDB
// (Prometheus with --web.enable-remote-write-receiver, VictoriaMetrics...) with the Prometheus
// remote-write 1.0 protocol (protobuf WriteRequest, snappy block, POST).
//
// Contract:
// - consumeSamples() only enqueues (never waits for the network). The queue holds at most
//   `queue.capacity` samples; beyond it the OLDEST are dropped, counted and logged once per
//   burst with the count (CONVENTIONS 11): fresh data matters more to RCA than old data.
// - One request in flight: a series' samples leave in the order they arrived, which is what a
//   TSDB without an out-of-order window needs (Prometheus refuses a sample older than the
//   series' newest). Within a request each series' samples are sorted by time and a repeated
//   (series, time) keeps the last value, as the SQLite store does.
// - Outcomes (remote-write 1.0 spec, "Retries & Backoff"): 2xx sent; 5xx, 429, network errors
//   and timeouts retried with jittered exponential backoff, Retry-After honoured (capped);
//   any other 4xx (400 out-of-order or bad samples, 401, 413...) is permanent: the batch is
//   dropped, counted as rejected and logged once per burst with the count. Note that
//   Prometheus stores the valid part of a request it answers 400: "rejected" counts the whole
//   request.
// - Samples a TSDB would refuse whole-request are dropped before sending (counted `invalid`):
//   no `__name__`, label names outside Prometheus' classic charset, bad timestamps or values.
// - shutdown() stops intake, keeps sending what is queued (retries included) for at most
//   `shutdown_grace`, then aborts and counts the rest as dropped (`shutdown`). Idempotent, safe
//   without start().
// Secrets (bearer token, basic auth, header values) are never logged; neither is the URL's
// query string.
import snappy from 'snappy';
import { compareCodePoints } from '../../../shared-schemas/src/index.js';
import type { BoundCounter, BoundGauge, BoundHistogram, Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings, Component } from '../component.js';
import type { MetricSample, MetricStore } from '../storage/index.js';
import { authHeaders } from './config.js';
import type { RemoteWriteConfig } from './config.js';

export type TsdbSettings = Pick<CentralSettings, 'id' | 'logger' | 'metrics' | 'clock'>;

/** What hands samples to the exporter (the metric write path, after the SQLite store). */
export interface SampleConsumer {
  /** Enqueues; resolves at once (delivery is asynchronous, see flush()). */
  consumeSamples(samples: readonly MetricSample[]): Promise<void>;
}

export interface RemoteWriteExporterOptions {
  /** Random source of the backoff jitter (tests). */
  random?: () => number;
  /** User-Agent of the requests. */
  userAgent?: string;
}

export type DropReason = 'queue_full' | 'invalid' | 'shutdown';

/** Outcome of one HTTP request, as a value (CONVENTIONS 8). */
export type SendOutcome =
  | { kind: 'success'; status: number }
  | { kind: 'retryable'; status: number; message: string; retryAfterMs?: number }
  | { kind: 'failure'; status: number; message: string };

const REMOTE_WRITE_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
} as const;

/** How often dropped-sample counts are logged (one line per reason per period at most). */
const DROP_REPORT_MS = 10_000;
const BACKOFF_JITTER = 0.2;

// ------------------------------------------------------------------------------------------
// WriteRequest encoding: protobuf by hand into one exactly-sized buffer (no per-sample
// objects). Field numbers from prometheus/prompb (types.proto, remote.proto):
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Largest timestamp encoded (ms): beyond 2^53 a double is not an exact integer. */
const MAX_TS = Number.MAX_SAFE_INTEGER;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** A series' label set, checked, sorted by name, encoded as its TimeSeries.labels fields. */
export interface PreparedSeries {
  key: string;
  labelBytes: Buffer;
}

/** The repeated `Label labels = 1` fields of a TimeSeries, labels sorted by name (the spec's MUST). */
function encodeLabels(pairs: Array<[string, string]>): Buffer {
  let size = 0;
  const lens: number[] = [];
  for (const [n, v] of pairs) {
    const nb = Buffer.byteLength(n, 'utf8');
    const vb = Buffer.byteLength(v, 'utf8');
    const inner = 1 + varintLength(nb) + nb + 1 + varintLength(vb) + vb;
    lens.push(nb, vb, inner);
    size += 1 + varintLength(inner) + inner;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = 0; i < pairs.length; i++) {
    const [n, v] = pairs[i]!;
    const nb = lens[3 * i]!;
    const vb = lens[3 * i + 1]!;
    const inner = lens[3 * i + 2]!;
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, inner);
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, nb);
    pos += buf.write(n, pos, 'utf8');
    buf[pos++] = 0x12;
    pos = writeVarint(buf, pos, vb);
    pos += buf.write(v, pos, 'utf8');
  }
  return buf;
}

/** Checks and prepares a label set; a string is the reason it cannot be sent. */
export function prepareSeries(labels: unknown): PreparedSeries | string {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return 'labels must be an object of strings';
  const pairs: Array<[string, string]> = [];
  for (const name of Object.keys(labels)) {
    const value = (labels as Record<string, unknown>)[name];
    if (typeof value !== 'string') return `label ${JSON.stringify(name)} must be a string`;
    if (value === '') continue; // an empty label is an absent label (Prometheus semantics)
    if (!LABEL_NAME_RE.test(name)) return `label name ${JSON.stringify(name.slice(0, 64))} is not a valid Prometheus label name`;
    pairs.push([name, value]);
  }
  const metric = pairs.find(([n]) => n === '__name__');
  if (metric === undefined) return 'labels: __name__ (the metric name) is missing or empty';
  if (!METRIC_NAME_RE.test(metric[1])) return `metric name ${JSON.stringify(metric[1].slice(0, 64))} is not a valid Prometheus metric name`;
  pairs.sort((a, b) => compareCodePoints(a[0], b[0]));
  return { key: JSON.stringify(pairs), labelBytes: encodeLabels(pairs) };
}

interface SeriesSamples {
  labelBytes: Buffer;
  ts: number[];
  values: number[];
}

/** Sorts one series' samples by time (stable) and keeps the last value of a repeated time. */
function sortAndDedupe(s: SeriesSamples): void {
  const { ts, values } = s;
  let sorted = true;
  let dup = false;
  for (let i = 1; i < ts.length; i++) {
    if (ts[i]! < ts[i - 1]!) {
      sorted = false;
      break;
    }
    if (ts[i] === ts[i - 1]) dup = true;
  }
  if (sorted && !dup) return;
  if (!sorted) {
    const idx = ts.map((_, i) => i);
    idx.sort((a, b) => ts[a]! - ts[b]! || a - b);
    const t2 = idx.map((i) => ts[i]!);
    const v2 = idx.map((i) => values[i]!);
    s.ts = t2;
    s.values = v2;
  }
  // Keep the last of each run of equal timestamps.
  const t = s.ts;
  const v = s.values;
  let w = 0;
  for (let i = 0; i < t.length; i++) {
    if (w > 0 && t[w - 1] === t[i]) v[w - 1] = v[i]!;
    else {
      t[w] = t[i]!;
      v[w] = v[i]!;
      w++;
    }
  }
  t.length = w;
  v.length = w;
}

/** Encodes series as a WriteRequest (uncompressed protobuf). */
export function encodeWriteRequest(series: ReadonlyArray<{ labelBytes: Uint8Array; ts: readonly number[]; values: readonly number[] }>): Buffer {
  let total = 0;
  const tsLens = new Array<number>(series.length);
  for (let k = 0; k < series.length; k++) {
    const s = series[k]!;
    let len = s.labelBytes.length;
    // Sample: 0x09 + 8-byte double + 0x10 + varint timestamp; always < 128 bytes, so its length is one byte.
    for (let i = 0; i < s.ts.length; i++) len += 2 + 10 + varintLength(s.ts[i]!);
    tsLens[k] = len;
    total += 1 + varintLength(len) + len;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let k = 0; k < series.length; k++) {
    const s = series[k]!;
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, tsLens[k]!);
    buf.set(s.labelBytes, pos);
    pos += s.labelBytes.length;
    for (let i = 0; i < s.ts.length; i++) {
      const t = s.ts[i]!;
      buf[pos++] = 0x12;
      buf[pos++] = 10 + varintLength(t);
      buf[pos++] = 0x09;
      buf.writeDoubleLE(s.values[i]!, pos);
      pos += 8;
      buf[pos++] = 0x10;
      pos = writeVarint(buf, pos, t);
    }
  }
  return buf;
}

/**
 * Bounded cache approximating LRU with two generations (as the SQLite store's series cache):
 * at most `cap` entries, a hit costs one or two Map lookups.
 */
class TwoGenerationCache<V> {
  private hot = new Map<string, V>();
  private cold = new Map<string, V>();
  private readonly half: number;
  constructor(cap: number) {
    this.half = Math.max(1, Math.floor(cap / 2));
  }
  get(k: string): V | undefined {
    const v = this.hot.get(k);
    if (v !== undefined) return v;
    const c = this.cold.get(k);
    if (c !== undefined) this.set(k, c);
    return c;
  }
  set(k: string, v: V): void {
    if (this.hot.size >= this.half) {
      this.cold = this.hot;
      this.hot = new Map();
    }
    this.hot.set(k, v);
  }
}

export interface EncodedBatch {
  /** Snappy-compressed WriteRequest; empty when nothing was valid. */
  body: Buffer;
  /** Samples in the body (after deduplication of repeated (series, time)). */
  samples: number;
  series: number;
  /** Samples refused before sending, and the first reason. */
  invalid: number;
  firstInvalid: string | undefined;
}

/**
 * Groups samples by series, checks them, sorts each series by time and encodes + compresses
 * the WriteRequest. Frozen label objects (the series dictionary's) are prepared once.
 */
export class WriteRequestEncoder {
  private readonly frozen = new WeakMap<object, PreparedSeries | string>();
  private readonly byKey = new TwoGenerationCache<PreparedSeries>(100_000);

  encode(samples: readonly MetricSample[]): EncodedBatch {
    const byObject = new Map<unknown, SeriesSamples | string>();
    const byKey = new Map<string, SeriesSamples>();
    let invalid = 0;
    let firstInvalid: string | undefined;
    const refuse = (reason: string) => {
      invalid++;
      firstInvalid ??= reason;
    };
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as MetricSample | undefined;
      if (typeof s !== 'object' || s === null) {
        refuse('sample must be an object {labels, tsMs, value}');
        continue;
      }
      let group = byObject.get(s.labels);
      if (group === undefined) {
        const p = this.prepare(s.labels);
        if (typeof p === 'string') group = p;
        else {
          group = byKey.get(p.key);
          if (group === undefined) {
            group = { labelBytes: p.labelBytes, ts: [], values: [] };
            byKey.set(p.key, group);
          }
        }
        byObject.set(s.labels, group);
      }
      if (typeof group === 'string') {
        refuse(group);
        continue;
      }
      const t = s.tsMs;
      if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || t > MAX_TS) {
        refuse(`tsMs must be an integer number of ms since the epoch (got ${String(t).slice(0, 32)})`);
        continue;
      }
      if (typeof s.value !== 'number') {
        refuse('value must be a number');
        continue;
      }
      group.ts.push(t);
      group.values.push(s.value);
    }
    const series = [...byKey.values()];
    let n = 0;
    for (const g of series) {
      sortAndDedupe(g);
      n += g.ts.length;
    }
    const body = n === 0 ? Buffer.alloc(0) : snappy.compressSync(encodeWriteRequest(series));
    return { body, samples: n, series: series.length, invalid, firstInvalid };
  }

  private prepare(labels: unknown): PreparedSeries | string {
    const isFrozen = typeof labels === 'object' && labels !== null && Object.isFrozen(labels);
    if (isFrozen) {
      const hit = this.frozen.get(labels as object);
      if (hit !== undefined) return hit;
    }
    const p = prepareSeries(labels);
    let out: PreparedSeries | string = p;
    if (typeof p !== 'string') {
      // Share the encoded labels of equal label sets across batches.
      const cached = this.byKey.get(p.key);
      if (cached !== undefined) out = cached;
      else this.byKey.set(p.key, p);
    }
    if (isFrozen) this.frozen.set(labels as object, out);
    return out;
  }
}

// ------------------------------------------------------------------------------------------
// The queue: chunks as they arrived, oldest first; drops from the head.

interface Chunk {
  items: readonly MetricSample[];
  /** Index of the first item still queued. */
  off: number;
  /** When it was enqueued (clock ms). */
  at: number;
}

class SampleQueue {
  private chunks: Chunk[] = [];
  size = 0;

  constructor(private readonly capacity: number) {}

  /** Appends; returns how many samples (oldest first) were dropped to stay within capacity. */
  push(items: readonly MetricSample[], at: number): number {
    let dropped = 0;
    let keep = items;
    if (items.length >= this.capacity) {
      dropped = this.size + items.length - this.capacity;
      this.chunks = [];
      this.size = 0;
      keep = items.slice(items.length - this.capacity);
    } else {
      keep = items.slice();
      let over = this.size + keep.length - this.capacity;
      while (over > 0) {
        const head = this.chunks[0]!;
        const left = head.items.length - head.off;
        const d = Math.min(left, over);
        head.off += d;
        if (head.off === head.items.length) this.chunks.shift();
        this.size -= d;
        dropped += d;
        over -= d;
      }
    }
    if (keep.length > 0) {
      this.chunks.push({ items: keep, off: 0, at });
      this.size += keep.length;
    }
    return dropped;
  }

  /** Removes and returns up to `n` samples, oldest first. */
  take(n: number): MetricSample[] {
    const out: MetricSample[] = [];
    while (out.length < n && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      const want = Math.min(n - out.length, head.items.length - head.off);
      for (let i = 0; i < want; i++) out.push(head.items[head.off + i]!);
      head.off += want;
      if (head.off === head.items.length) this.chunks.shift();
    }
    this.size -= out.length;
    return out;
  }

  oldestAt(): number | undefined {
    return this.chunks[0]?.at;
  }

  clear(): number {
    const n = this.size;
    this.chunks = [];
    this.size = 0;
    return n;
  }
}

/** Drops are counted per sample and logged at most once per period and reason, with the count. */
class DropLog {
  private pending = new Map<string, { n: number; batches: number; example: string | undefined }>();
  constructor(private readonly logger: Logger) {}
  add(reason: string, n: number, example?: string): void {
    const p = this.pending.get(reason);
    if (p) {
      p.n += n;
      p.batches++;
      p.example ??= example;
    } else this.pending.set(reason, { n, batches: 1, example });
  }
  report(): void {
    for (const [reason, { n, batches, example }] of this.pending) {
      this.logger.warn({ reason, samples: n, batches, ...(example !== undefined ? { example } : {}) }, `tsdb remote write: ${n} samples not delivered (${reason})`);
    }
    this.pending = new Map();
  }
}

/** Milliseconds from a Retry-After header (delta-seconds or an HTTP date), undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

/** Classifies an HTTP answer per the remote-write spec: 2xx ok, 5xx and 429 retried, other 4xx permanent. */
export function classifyStatus(status: number, message: string, retryAfterMs: number | undefined): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'success', status };
  if (status === 429 || status >= 500) return { kind: 'retryable', status, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  return { kind: 'failure', status, message: status >= 300 && status < 400 ? `redirect (HTTP ${status}) not followed: point url at the write endpoint itself` : message };
}

/** A URL for logs: scheme, host and path; never the query string (it may carry a key). */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export class RemoteWriteExporter implements Component, SampleConsumer {
  private readonly queue: SampleQueue;
  private readonly encoder = new WriteRequestEncoder();
  private readonly headers: Record<string, string>;
  private readonly target: string;
  private readonly random: () => number;
  private readonly drops: DropLog;

  private loopDone: Promise<void> | undefined;
  private shutdownDone: Promise<void> | undefined;
  private stopping = false;
  /** The shutdown grace is over: abort and drop. */
  private expired = false;
  private reportTimer: unknown;
  private wakeUp: (() => void) | undefined;
  private endSleep: (() => void) | undefined;
  private inFlight: AbortController | undefined;
  /** Samples ever enqueued / finished (sent, rejected or dropped), for flush(). */
  private enqueued = 0;
  private settled = 0;
  private flushWaiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** A failure streak is logged when it starts and when it ends, not per attempt. */
  private failingSince: number | undefined;
  private failedAttempts = 0;

  private readonly mSent: BoundCounter;
  private readonly mRejected: BoundCounter;
  private readonly mDropped: BoundCounter;
  private readonly mRequests: BoundCounter;
  private readonly mRetries: BoundCounter;
  private readonly mBytes: BoundCounter;
  private readonly mDuration: BoundHistogram;
  private readonly mQueue: BoundGauge;

  constructor(
    private readonly settings: TsdbSettings,
    private readonly config: RemoteWriteConfig,
    opts: RemoteWriteExporterOptions = {},
  ) {
    this.queue = new SampleQueue(config.queue.capacity);
    this.headers = { ...authHeaders(config), ...REMOTE_WRITE_HEADERS, 'user-agent': opts.userAgent ?? 'aiops-central/0.1.0' };
    this.target = describeUrl(config.url);
    this.random = opts.random ?? Math.random;
    this.drops = new DropLog(settings.logger);
    const m = settings.metrics;
    this.mSent = m.counter('aiops_central_tsdb_write_samples_sent_total', 'Samples the TSDB accepted (2xx).');
    this.mRejected = m.counter('aiops_central_tsdb_write_samples_rejected_total', 'Samples in requests the TSDB refused with a non-retryable 4xx (dropped, not retried), by status.', ['status']);
    this.mDropped = m.counter('aiops_central_tsdb_write_samples_dropped_total', 'Samples never sent: queue full (oldest dropped), invalid for a TSDB, or left at shutdown.', ['reason']);
    this.mRequests = m.counter('aiops_central_tsdb_write_requests_total', 'Remote-write requests by outcome (success, rejected, retryable).', ['outcome']);
    this.mRetries = m.counter('aiops_central_tsdb_write_retries_total', 'Requests repeated after a retryable failure (5xx, 429, network, timeout).');
    this.mBytes = m.counter('aiops_central_tsdb_write_bytes_total', 'Compressed request bytes the TSDB accepted.');
    this.mDuration = m.histogram('aiops_central_tsdb_write_request_seconds', 'Remote-write request duration, whatever the outcome.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.mQueue = m.gauge('aiops_central_tsdb_write_queue_samples', 'Samples waiting to be sent.');
  }

  async start(): Promise<void> {
    if (this.loopDone !== undefined || this.stopping) return;
    this.reportTimer = this.settings.clock.setInterval(() => this.drops.report(), DROP_REPORT_MS);
    (this.reportTimer as { unref?: () => void }).unref?.();
    this.settings.logger.info({ target: this.target, batch: this.config.batch.max_samples, capacity: this.config.queue.capacity }, 'tsdb remote write started');
    this.loopDone = this.loop().catch((err: unknown) => {
      // A bug, not a network problem (those are values): make it visible, drop what is queued.
      this.settings.logger.error({ err: (err as Error).message }, 'tsdb remote write loop failed');
      this.drop('shutdown', this.queue.clear());
    });
  }

  async consumeSamples(samples: readonly MetricSample[]): Promise<void> {
    if (samples.length === 0) return;
    if (this.stopping) {
      this.enqueued += samples.length;
      this.drop('shutdown', samples.length);
      return;
    }
    const wasEmpty = this.queue.size === 0;
    this.enqueued += samples.length;
    const dropped = this.queue.push(samples, this.settings.clock.now());
    if (dropped > 0) this.drop('queue_full', dropped);
    this.mQueue.set(this.queue.size);
    if (wasEmpty || this.queue.size >= this.config.batch.max_samples) this.wake();
  }

  /**
   * Resolves once every sample enqueued before the call has left the exporter (sent, refused or
   * dropped); partial batches go at once instead of after max_delay. Never resolves while the
   * TSDB keeps failing and the grace has not expired: callers bound it with their own timeout.
   */
  flush(): Promise<void> {
    if (this.settled >= this.enqueued) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushWaiters.push({ upTo: this.enqueued, resolve });
      this.wake();
    });
  }

  /** Samples waiting in the queue (not counting the request in flight). */
  get queued(): number {
    return this.queue.size;
  }

  shutdown(): Promise<void> {
    this.shutdownDone ??= this.stop();
    return this.shutdownDone;
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    const clock = this.settings.clock;
    if (this.loopDone === undefined) {
      this.drop('shutdown', this.queue.clear());
    } else {
      const grace = clock.setTimeout(() => {
        this.expired = true;
        this.inFlight?.abort(new Error('shutdown grace expired'));
        this.endSleep?.();
        this.wake();
      }, this.config.shutdown_grace);
      this.wake();
      await this.loopDone;
      clock.clearTimeout(grace);
    }
    if (this.reportTimer !== undefined) clock.clearInterval(this.reportTimer);
    this.mQueue.set(0);
    this.drops.report();
    this.settleWaiters(true);
    if (this.loopDone !== undefined) this.settings.logger.info({ target: this.target }, 'tsdb remote write stopped');
  }

  // ----------------------------------------------------------------------------------------

  private drop(reason: DropReason, n: number, example?: string): void {
    if (n <= 0) return;
    this.mDropped.inc(n, { reason });
    this.drops.add(reason, n, example);
    this.settle(n);
  }

  private settle(n: number): void {
    this.settled += n;
    this.settleWaiters(false);
  }

  private settleWaiters(all: boolean): void {
    if (this.flushWaiters.length === 0) return;
    const keep: typeof this.flushWaiters = [];
    for (const w of this.flushWaiters) {
      if (all || this.settled >= w.upTo) w.resolve();
      else keep.push(w);
    }
    this.flushWaiters = keep;
  }

  /** The backoff pause: ended early only by the end of the shutdown grace (not by new samples). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.settings.clock.setTimeout(() => {
        this.endSleep = undefined;
        resolve();
      }, ms);
      this.endSleep = () => {
        this.settings.clock.clearTimeout(timer);
        this.endSleep = undefined;
        resolve();
      };
    });
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Waits for wake() or `ms` (undefined = no timeout). */
  private waitForWake(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: unknown;
      this.wakeUp = () => {
        if (timer !== undefined) this.settings.clock.clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) {
        timer = this.settings.clock.setTimeout(() => {
          if (this.wakeUp !== undefined) this.wakeUp = undefined;
          resolve();
        }, ms);
      }
    });
  }

  private async loop(): Promise<void> {
    const { max_samples: maxSamples, max_delay: maxDelay } = this.config.batch;
    for (;;) {
      if (this.expired) {
        this.drop('shutdown', this.queue.clear());
        return;
      }
      if (this.queue.size === 0) {
        if (this.stopping) return;
        await this.waitForWake();
        continue;
      }
      if (!this.stopping && this.flushWaiters.length === 0 && this.queue.size < maxSamples) {
        const due = this.queue.oldestAt()! + maxDelay - this.settings.clock.now();
        if (due > 0) {
          await this.waitForWake(due);
          continue;
        }
      }
      const batch = this.queue.take(maxSamples);
      this.mQueue.set(this.queue.size);
      await this.sendBatch(batch);
    }
  }

  private async sendBatch(batch: MetricSample[]): Promise<void> {
    const enc = this.encoder.encode(batch);
    // Deduplicated (series, time) pairs left with the batch too.
    const merged = batch.length - enc.invalid - enc.samples;
    if (enc.invalid > 0) this.drop('invalid', enc.invalid, enc.firstInvalid);
    if (enc.samples === 0) {
      this.settle(merged);
      return;
    }
    let attempt = 0;
    for (;;) {
      const started = performance.now();
      const r = await this.post(enc.body);
      this.mDuration.observe((performance.now() - started) / 1000);
      if (r.kind === 'success') {
        this.mRequests.inc(1, { outcome: 'success' });
        this.mSent.inc(enc.samples);
        this.mBytes.inc(enc.body.length);
        this.endFailureStreak();
        this.settle(enc.samples + merged);
        return;
      }
      if (r.kind === 'failure') {
        this.mRequests.inc(1, { outcome: 'rejected' });
        this.mRejected.inc(enc.samples, { status: String(r.status) });
        this.drops.add(`refused by the TSDB: HTTP ${r.status}`, enc.samples, r.message);
        this.endFailureStreak();
        this.settle(enc.samples + merged);
        return;
      }
      this.mRequests.inc(1, { outcome: 'retryable' });
      if (this.expired) {
        this.drop('shutdown', enc.samples);
        this.settle(merged);
        return;
      }
      this.mRetries.inc();
      const delay = this.backoff(attempt++, r.retryAfterMs);
      this.startFailureStreak(r, delay);
      await this.sleep(delay);
    }
  }

  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const { initial, max_backoff: max, max_retry_after: maxRetryAfter } = this.config.retry;
    const base = Math.min(max, initial * 2 ** Math.min(attempt, 52));
    const jittered = Math.min(max, Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * this.random())));
    return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, maxRetryAfter));
  }

  private startFailureStreak(r: Extract<SendOutcome, { kind: 'retryable' }>, delay: number): void {
    this.failedAttempts++;
    if (this.failingSince !== undefined) return;
    this.failingSince = this.settings.clock.now();
    this.settings.logger.warn({ target: this.target, status: r.status, error: r.message, retryInMs: delay }, 'tsdb remote write failing; retrying with backoff');
  }

  private endFailureStreak(): void {
    if (this.failingSince === undefined) return;
    this.settings.logger.info({ target: this.target, failedAttempts: this.failedAttempts, forMs: this.settings.clock.now() - this.failingSince }, 'tsdb remote write recovered');
    this.failingSince = undefined;
    this.failedAttempts = 0;
  }

  /** One POST; never throws (CONVENTIONS 8). Status 0 = no HTTP answer (network, timeout, abort). */
  private async post(body: Buffer): Promise<SendOutcome> {
    if (this.expired) return { kind: 'retryable', status: 0, message: 'shutdown grace expired' };
    const ac = new AbortController();
    this.inFlight = ac;
    const clock = this.settings.clock;
    const timer = clock.setTimeout(() => ac.abort(new Error(`no answer within ${this.config.timeout} ms`)), this.config.timeout);
    try {
      const res = await fetch(this.config.url, { method: 'POST', headers: this.headers, body, signal: ac.signal, redirect: 'manual' });
      const text = await res.text();
      return classifyStatus(res.status, text.trim().slice(0, 512), parseRetryAfter(res.headers.get('retry-after'), clock.now()));
    } catch (err) {
      const reason = ac.signal.aborted ? (ac.signal.reason as Error | undefined)?.message ?? 'aborted' : describeFetchError(err);
      return { kind: 'retryable', status: 0, message: reason };
    } finally {
      clock.clearTimeout(timer);
      this.inFlight = undefined;
    }
  }
}

/** undici's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ECONNRESET...). */
function describeFetchError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause !== undefined ? `${e.message ?? 'fetch failed'}: ${cause}` : (e.message ?? String(err));
}

/**
 * The wiring of the exporter into central's write path, by wrapping (CONVENTIONS 9): a
 * MetricStore that writes to `store` and then hands the exporter exactly what `store` accepted
 * (refused samples left out, nothing for a duplicate batch), so the TSDB receives a copy of
 * what central stored. Feature frames and reads go to `store` only.
 */
export function exportingMetricStore(store: MetricStore, exporter: SampleConsumer): MetricStore {
  return {
    async writeSamples(samples, batchId) {
      const r = await store.writeSamples(samples, batchId);
      if (!r.duplicate && r.accepted > 0) {
        if (r.rejected.length === 0) await exporter.consumeSamples(samples);
        else {
          const refused = new Set(r.rejected.map((x) => x.index));
          await exporter.consumeSamples(samples.filter((_, i) => !refused.has(i)));
        }
      }
      return r;
    },
    writeFeatureFrame: (agentId, sequence, rows) => store.writeFeatureFrame(agentId, sequence, rows),
    writeFeatureRecords: (from, records) => store.writeFeatureRecords(from, records),
    busOffset: (from) => store.busOffset(from),
    query: (q) => store.query(q),
    queryFeatures: (q) => store.queryFeatures(q),
    scanFeatures: (q) => store.scanFeatures(q),
    series: (selector, limit) => store.series(selector, limit),
    compact: (nowMs) => store.compact(nowMs),
    close: () => store.close(),
  };
}
