// OTLP metrics -> MetricSample. Works on both decoded forms: protobufjs messages (64-bit
// integers as Long or number) and OTLP/JSON objects (64-bit integers as strings, enums as
// numbers or names), reading every field defensively: a malformed data point is rejected and
// counted, it never throws past the converter. Only a malformed request skeleton (the
// resourceMetrics / scopeMetrics / metrics lists) refuses the whole request.
//
// Mapping (docs/decisions/008-otlp-and-remote-write-decoding.md):
//   Gauge                      -> gauge
//   Sum monotonic cumulative   -> counter;  non-monotonic cumulative -> gauge
//   Sum delta                  -> running total per series (bounded), counter / gauge
//   Histogram                  -> <name>_bucket{le} (cumulative), <name>_sum, <name>_count counters
//   ExponentialHistogram       -> <name>_count, <name>_sum counters (buckets are not converted)
//   Summary                    -> <name>{quantile} gauges, <name>_sum, <name>_count counters
import type { Labels, MetricKind, MetricSample } from '../../pdata.js';
import { malformed, tooLarge } from './decode.js';

export type RejectReason = 'invalid' | 'label_limit' | 'delta_duplicate';

export interface ConvertOptions {
  maxDataPoints: number;
  maxLabelsPerSeries: number;
  maxLabelNameBytes: number;
  maxLabelValueBytes: number;
  /** Resource attribute key -> label name. */
  resourceLabels: ReadonlyMap<string, string>;
}

export interface ConvertResult {
  samples: MetricSample[];
  /** Data points seen. */
  points: number;
  /** Data points refused (reported to the client as rejected_data_points). */
  rejected: number;
  /** Data points flagged "no recorded value" (skipped, not an error). */
  noValue: number;
  /** Delta points already applied (a retried request), skipped. */
  duplicates: number;
  /** Refusals by reason, with the first message of each. */
  reasons: Map<RejectReason, { count: number; message: string }>;
}

/** The fixed resource attribute -> label mapping. */
export const FIXED_RESOURCE_LABELS: ReadonlyArray<readonly [string, string]> = [
  ['service.name', 'service'],
  ['service.namespace', 'service_namespace'],
  ['service.instance.id', 'instance'],
  ['host.name', 'host'],
];

export function resourceLabelMap(allowList: readonly string[]): Map<string, string> {
  const m = new Map<string, string>(FIXED_RESOURCE_LABELS);
  for (const key of allowList) if (!m.has(key)) m.set(key, sanitizeLabelName(key));
  return m;
}

/** A data point (or a metric's points) refused; caught by the converter. */
class PointError extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

const own = Object.prototype.hasOwnProperty;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field is present when it is an own property that is not null/undefined (proto3 JSON: null = default). */
function field(o: Record<string, unknown>, k: string): unknown {
  if (!own.call(o, k)) return undefined;
  const v = o[k];
  return v === null ? undefined : v;
}

/** Repeated fields: absent -> [], else must be an array. */
function list(o: Record<string, unknown>, k: string): unknown[] | undefined {
  const v = o[k];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : undefined;
}

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function isLong(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

const INT_RE = /^-?\d{1,20}$/;

/** A 64-bit integer (number, decimal string, Long) as a JS number (lossy above 2^53); NaN when invalid. */
export function int64ToNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : NaN;
  if (typeof v === 'string') return INT_RE.test(v) ? Number(v) : NaN;
  if (isLong(v)) {
    const high = v.unsigned ? v.high >>> 0 : v.high | 0;
    return high * 4294967296 + (v.low >>> 0);
  }
  return NaN;
}

/** Unsigned nanoseconds since the epoch -> whole milliseconds, exactly; NaN when invalid. */
export function nanosToMs(v: unknown): number {
  if (typeof v === 'string') {
    if (!/^\d{1,20}$/.test(v)) return NaN;
    return v.length <= 6 ? 0 : Number(v.slice(0, v.length - 6));
  }
  if (isLong(v)) {
    // ns = high * 2^32 + low, and 2^32 = 4294 * 1e6 + 967296: every term stays below 2^53.
    const high = v.high >>> 0;
    const a = high * 967296 + (v.low >>> 0);
    return high * 4294 + (a - (a % 1e6)) / 1e6;
  }
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v / 1e6) : NaN;
  return NaN;
}

/** A double (number, or the proto3 JSON strings "NaN", "Infinity", "-Infinity", or a numeric string); undefined when invalid. */
function doubleOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    return v.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function temporalityOf(v: unknown): 'delta' | 'cumulative' | undefined {
  if (v === 1 || v === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (v === 2 || v === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return undefined;
}

const NAME_BAD = /[^a-zA-Z0-9_:]/g;
const LABEL_BAD = /[^a-zA-Z0-9_]/g;

/** Metric names: every character outside [a-zA-Z0-9_:] becomes "_"; a leading digit gets "_". */
export function sanitizeMetricName(name: string): string {
  let s = name.replace(NAME_BAD, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  return s;
}

/**
 * Label names: characters outside [a-zA-Z0-9_] become "_"; a leading digit gets "key_", and a
 * leading "__" (reserved by Prometheus, e.g. __name__) gets "key" (the Collector's rules).
 */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(LABEL_BAD, '_');
  if (/^[0-9]/.test(s)) s = `key_${s}`;
  else if (s.startsWith('__')) s = `key${s}`;
  return s;
}

/** Renders an AnyValue as a label value; arrays and maps become JSON, bytes base64, within `max` characters. */
export function anyValueToString(v: unknown, max: number): string {
  if (!isObj(v)) throw new PointError('invalid', 'attribute value must be an AnyValue object');
  const s = field(v, 'stringValue');
  if (s !== undefined) {
    if (typeof s !== 'string') throw new PointError('invalid', 'stringValue must be a string');
    return s;
  }
  const out: string[] = [];
  const budget = { left: max };
  renderAny(v, out, budget, 0, true);
  return out.join('');
}

const MAX_VALUE_DEPTH = 8;

function push(out: string[], budget: { left: number }, s: string): void {
  budget.left -= s.length;
  if (budget.left < 0) throw new PointError('label_limit', 'attribute value longer than max_label_value_bytes after stringification');
  out.push(s);
}

function int64ToString(v: unknown): string | undefined {
  if (typeof v === 'string') return INT_RE.test(v) ? v : undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.trunc(v)) : undefined;
  if (isLong(v)) {
    const big = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return String(v.unsigned ? big : BigInt.asIntN(64, big));
  }
  return undefined;
}

function bytesToBase64(v: unknown): string | undefined {
  if (typeof v === 'string') return v; // OTLP/JSON already carries base64
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return undefined;
}

/** Top-level values render bare (string, number); nested ones as JSON values. */
function renderAny(v: unknown, out: string[], budget: { left: number }, depth: number, top: boolean): void {
  if (depth > MAX_VALUE_DEPTH) throw new PointError('invalid', `attribute value nested deeper than ${MAX_VALUE_DEPTH}`);
  if (!isObj(v)) throw new PointError('invalid', 'attribute value must be an AnyValue object');
  let x: unknown;
  if ((x = field(v, 'stringValue')) !== undefined) {
    if (typeof x !== 'string') throw new PointError('invalid', 'stringValue must be a string');
    if (x.length > budget.left) throw new PointError('label_limit', 'attribute value longer than max_label_value_bytes');
    push(out, budget, top ? x : JSON.stringify(x));
  } else if ((x = field(v, 'boolValue')) !== undefined) {
    if (typeof x !== 'boolean') throw new PointError('invalid', 'boolValue must be a boolean');
    push(out, budget, x ? 'true' : 'false');
  } else if ((x = field(v, 'intValue')) !== undefined) {
    const s = int64ToString(x);
    if (s === undefined) throw new PointError('invalid', 'intValue must be a 64-bit integer');
    push(out, budget, s);
  } else if ((x = field(v, 'doubleValue')) !== undefined) {
    const d = doubleOf(x);
    if (d === undefined) throw new PointError('invalid', 'doubleValue must be a number');
    push(out, budget, Number.isFinite(d) || top ? String(d) : JSON.stringify(String(d)));
  } else if ((x = field(v, 'bytesValue')) !== undefined) {
    const b = bytesToBase64(x);
    if (b === undefined) throw new PointError('invalid', 'bytesValue must be bytes (base64 in JSON)');
    if (b.length > budget.left) throw new PointError('label_limit', 'attribute value longer than max_label_value_bytes');
    push(out, budget, top ? b : JSON.stringify(b));
  } else if ((x = field(v, 'arrayValue')) !== undefined) {
    if (!isObj(x)) throw new PointError('invalid', 'arrayValue must be an object');
    const values = list(x, 'values');
    if (values === undefined) throw new PointError('invalid', 'arrayValue.values must be an array');
    push(out, budget, '[');
    for (let i = 0; i < values.length; i++) {
      if (i > 0) push(out, budget, ',');
      renderAny(values[i], out, budget, depth + 1, false);
    }
    push(out, budget, ']');
  } else if ((x = field(v, 'kvlistValue')) !== undefined) {
    if (!isObj(x)) throw new PointError('invalid', 'kvlistValue must be an object');
    const values = list(x, 'values');
    if (values === undefined) throw new PointError('invalid', 'kvlistValue.values must be an array');
    push(out, budget, '{');
    for (let i = 0; i < values.length; i++) {
      const kv = values[i];
      if (!isObj(kv) || typeof kv.key !== 'string') throw new PointError('invalid', 'kvlistValue entries must be {key, value}');
      if (kv.key.length > budget.left) throw new PointError('label_limit', 'attribute value longer than max_label_value_bytes');
      if (i > 0) push(out, budget, ',');
      push(out, budget, `${JSON.stringify(kv.key)}:`);
      const inner = field(kv, 'value');
      if (inner === undefined) push(out, budget, 'null');
      else renderAny(inner, out, budget, depth + 1, false);
    }
    push(out, budget, '}');
  } else if (!top) {
    push(out, budget, 'null');
  }
}

/** Keeps the running totals of delta series (least recently updated evicted beyond `max`). */
export class DeltaTotals {
  private readonly totals = new Map<string, { total: number; lastMs: number }>();
  evictions = 0;
  constructor(private readonly max: number) {}

  get size(): number {
    return this.totals.size;
  }

  /**
   * Adds a delta observed at `tsMs`; returns the running total, or undefined when a point at
   * this time or earlier was already applied (a retried request must not count twice).
   */
  add(key: string, delta: number, tsMs: number): number | undefined {
    const prev = this.totals.get(key);
    if (prev !== undefined) {
      if (tsMs <= prev.lastMs) return undefined;
      this.totals.delete(key); // re-insert: Map order is the LRU order
      prev.total += delta;
      prev.lastMs = tsMs;
      this.totals.set(key, prev);
      return prev.total;
    }
    if (this.totals.size >= this.max) {
      const oldest = this.totals.keys().next();
      if (!oldest.done) this.totals.delete(oldest.value);
      this.evictions++;
    }
    this.totals.set(key, { total: delta, lastMs: tsMs });
    return delta;
  }
}

function seriesKey(name: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  let k = name;
  for (const n of keys) k += `\u0000${n}\u0001${labels[n]}`;
  return k;
}

interface Ctx {
  opts: ConvertOptions;
  deltas: DeltaTotals;
  res: ConvertResult;
}

function reject(res: ConvertResult, reason: RejectReason, count: number, message: string): void {
  if (count <= 0) return;
  if (reason !== 'delta_duplicate') res.rejected += count;
  else res.duplicates += count;
  const r = res.reasons.get(reason);
  if (r) r.count += count;
  else res.reasons.set(reason, { count, message });
}

function checkValueLength(value: string, max: number, what: string): void {
  if (value.length > max || (value.length * 3 > max && Buffer.byteLength(value) > max)) {
    throw new PointError('label_limit', `${what}: value longer than max_label_value_bytes (${max})`);
  }
}

function resourceLabels(resource: unknown, opts: ConvertOptions): Labels {
  const labels: Labels = {};
  if (resource === undefined || resource === null) return labels;
  if (!isObj(resource)) throw new PointError('invalid', 'resource must be an object');
  const attrs = list(resource, 'attributes');
  if (attrs === undefined) throw new PointError('invalid', 'resource.attributes must be an array');
  for (const kv of attrs) {
    if (!isObj(kv) || typeof kv.key !== 'string') throw new PointError('invalid', 'resource attributes must be {key, value}');
    const name = opts.resourceLabels.get(kv.key);
    if (name === undefined) continue;
    const value = field(kv, 'value');
    const s = value === undefined ? '' : anyValueToString(value, opts.maxLabelValueBytes);
    checkValueLength(s, opts.maxLabelValueBytes, `resource attribute ${JSON.stringify(kv.key.slice(0, 64))}`);
    if (s !== '') labels[name] = s;
  }
  return labels;
}

function pointLabels(base: Labels, baseCount: number, attrs: unknown, opts: ConvertOptions, extra: number): Labels {
  const labels: Labels = { ...base };
  const list_ = attrs === undefined || attrs === null ? [] : attrs;
  if (!Array.isArray(list_)) throw new PointError('invalid', 'attributes must be an array');
  let count = baseCount;
  let fromPoint: Set<string> | undefined;
  for (const kv of list_) {
    if (!isObj(kv) || typeof kv.key !== 'string' || kv.key === '') throw new PointError('invalid', 'attributes must be {key, value} with a non-empty key');
    if (kv.key.length > opts.maxLabelNameBytes) throw new PointError('label_limit', `attribute key longer than max_label_name_bytes (${opts.maxLabelNameBytes})`);
    const name = sanitizeLabelName(kv.key);
    if (Buffer.byteLength(name) > opts.maxLabelNameBytes) throw new PointError('label_limit', `attribute key longer than max_label_name_bytes (${opts.maxLabelNameBytes})`);
    const value = field(kv, 'value');
    const s = value === undefined ? '' : anyValueToString(value, opts.maxLabelValueBytes);
    checkValueLength(s, opts.maxLabelValueBytes, `attribute ${JSON.stringify(kv.key.slice(0, 64))}`);
    fromPoint ??= new Set();
    if (fromPoint.has(name)) {
      // Two keys that sanitize to one name ("a.b", "a_b"): values joined, as the Collector does.
      const joined = `${labels[name] ?? ''};${s}`;
      checkValueLength(joined, opts.maxLabelValueBytes, `attribute ${JSON.stringify(kv.key.slice(0, 64))}`);
      labels[name] = joined;
      continue;
    }
    fromPoint.add(name);
    if (!own.call(base, name)) count++;
    if (count + extra > opts.maxLabelsPerSeries) throw new PointError('label_limit', `more than max_labels_per_series (${opts.maxLabelsPerSeries}) labels`);
    labels[name] = s;
  }
  if (count + extra > opts.maxLabelsPerSeries) throw new PointError('label_limit', `more than max_labels_per_series (${opts.maxLabelsPerSeries}) labels`);
  return labels;
}

function timestampOf(p: Record<string, unknown>): number {
  const ts = nanosToMs(field(p, 'timeUnixNano'));
  if (!(ts > 0)) throw new PointError('invalid', 'time_unix_nano is missing, zero or not an unsigned 64-bit integer');
  return ts;
}

function countOf(p: Record<string, unknown>, what: string): number {
  const v = field(p, 'count');
  const n = v === undefined ? 0 : int64ToNumber(v);
  if (!(n >= 0)) throw new PointError('invalid', `${what}.count must be an unsigned 64-bit integer`);
  return n;
}

function optionalDouble(p: Record<string, unknown>, k: string, what: string): number | undefined {
  const v = field(p, k);
  if (v === undefined) return undefined;
  const d = doubleOf(v);
  if (d === undefined) throw new PointError('invalid', `${what}.${k} must be a number`);
  return d;
}

function formatBound(b: number): string {
  return b === Infinity ? '+Inf' : b === -Infinity ? '-Inf' : String(b);
}

type Emit = (name: string, labels: Labels, value: number, kind: MetricKind) => void;

/** Emits one data point's samples; throws PointError when the point is malformed. */
function convertPoint(
  kind: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary',
  p: Record<string, unknown>,
  name: string,
  labels: Labels,
  monotonic: boolean,
  emit: Emit,
): void {
  switch (kind) {
    case 'gauge':
    case 'sum': {
      let value: number | undefined;
      const d = field(p, 'asDouble');
      const i = field(p, 'asInt');
      if (d !== undefined) {
        value = doubleOf(d);
        if (value === undefined) throw new PointError('invalid', 'asDouble must be a number');
      } else if (i !== undefined) {
        value = int64ToNumber(i);
        if (Number.isNaN(value)) throw new PointError('invalid', 'asInt must be a 64-bit integer');
      } else throw new PointError('invalid', 'data point has neither asDouble nor asInt');
      emit(name, labels, value, kind === 'sum' && monotonic ? 'counter' : 'gauge');
      return;
    }
    case 'histogram': {
      const count = countOf(p, 'histogram');
      const sum = optionalDouble(p, 'sum', 'histogram');
      const counts = list(p, 'bucketCounts');
      const bounds = list(p, 'explicitBounds');
      if (counts === undefined || bounds === undefined) throw new PointError('invalid', 'bucketCounts and explicitBounds must be arrays');
      if (counts.length > 0 && counts.length !== bounds.length + 1) {
        throw new PointError('invalid', `histogram has ${counts.length} bucket counts for ${bounds.length} bounds (want bounds + 1)`);
      }
      let cumulative = 0;
      let prev = -Infinity;
      const buckets: Array<[string, number]> = [];
      for (let b = 0; b < bounds.length && counts.length > 0; b++) {
        const bound = doubleOf(bounds[b]);
        if (bound === undefined || Number.isNaN(bound) || bound <= prev) throw new PointError('invalid', 'explicitBounds must be increasing numbers');
        prev = bound;
        const c = int64ToNumber(counts[b]);
        if (!(c >= 0)) throw new PointError('invalid', 'bucketCounts must be unsigned 64-bit integers');
        cumulative += c;
        buckets.push([formatBound(bound), cumulative]);
      }
      if (counts.length > 0 && !(int64ToNumber(counts[counts.length - 1]) >= 0)) {
        throw new PointError('invalid', 'bucketCounts must be unsigned 64-bit integers');
      }
      for (const [le, c] of buckets) emit(`${name}_bucket`, { ...labels, le }, c, 'counter');
      emit(`${name}_bucket`, { ...labels, le: '+Inf' }, count, 'counter');
      if (sum !== undefined) emit(`${name}_sum`, labels, sum, 'counter');
      emit(`${name}_count`, labels, count, 'counter');
      return;
    }
    case 'exponentialHistogram': {
      const count = countOf(p, 'exponentialHistogram');
      const sum = optionalDouble(p, 'sum', 'exponentialHistogram');
      if (sum !== undefined) emit(`${name}_sum`, labels, sum, 'counter');
      emit(`${name}_count`, labels, count, 'counter');
      return;
    }
    case 'summary': {
      const count = countOf(p, 'summary');
      const sum = optionalDouble(p, 'sum', 'summary') ?? 0;
      const qs = list(p, 'quantileValues');
      if (qs === undefined) throw new PointError('invalid', 'quantileValues must be an array');
      const quantiles: Array<[string, number]> = [];
      for (const q of qs) {
        if (!isObj(q)) throw new PointError('invalid', 'quantileValues entries must be objects');
        const quantile = optionalDouble(q, 'quantile', 'quantileValues') ?? 0;
        const value = optionalDouble(q, 'value', 'quantileValues') ?? 0;
        if (!(quantile >= 0 && quantile <= 1)) throw new PointError('invalid', 'quantile must be within [0, 1]');
        quantiles.push([String(quantile), value]);
      }
      for (const [quantile, value] of quantiles) emit(name, { ...labels, quantile }, value, 'gauge');
      emit(`${name}_sum`, labels, sum, 'counter');
      emit(`${name}_count`, labels, count, 'counter');
      return;
    }
  }
}

const DATA_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** Labels the point kind adds itself (histogram `le`, summary `quantile`). */
const EXTRA_LABELS: Record<(typeof DATA_KINDS)[number], number> = { gauge: 0, sum: 0, histogram: 1, exponentialHistogram: 0, summary: 1 };

function convertMetric(m: Record<string, unknown>, base: Labels | PointError, ctx: Ctx): void {
  const { res, opts } = ctx;
  // Find the data arm first, so a refusal can count the metric's points.
  let kind: (typeof DATA_KINDS)[number] | undefined;
  let arms = 0;
  for (const k of DATA_KINDS) {
    if (field(m, k) !== undefined) {
      kind ??= k;
      arms++;
    }
  }
  if (kind === undefined) return; // a metric without data carries no points
  const data = field(m, kind);
  const points = isObj(data) ? list(data, 'dataPoints') : undefined;
  const pointCount = points?.length ?? 1;
  res.points += pointCount;
  if (res.points > opts.maxDataPoints) throw tooLarge(`more than max_data_points (${opts.maxDataPoints}) data points in one request`);
  try {
    if (base instanceof PointError) throw base;
    if (arms > 1) throw new PointError('invalid', 'metric has more than one data field');
    if (!isObj(data) || points === undefined) throw new PointError('invalid', `${kind} must be an object with a dataPoints array`);
    const rawName = field(m, 'name');
    if (typeof rawName !== 'string' || rawName === '') throw new PointError('invalid', 'metric name must be a non-empty string');
    const rawUnit = field(m, 'unit');
    if (rawUnit !== undefined && typeof rawUnit !== 'string') throw new PointError('invalid', 'metric unit must be a string');
    const unit = rawUnit === undefined || rawUnit === '' ? undefined : rawUnit;
    const name = sanitizeMetricName(rawName);
    let delta = false;
    let monotonic = false;
    if (kind === 'sum' || kind === 'histogram' || kind === 'exponentialHistogram') {
      const t = temporalityOf(field(data, 'aggregationTemporality'));
      if (t === undefined) throw new PointError('invalid', `${kind}.aggregationTemporality must be DELTA (1) or CUMULATIVE (2)`);
      delta = t === 'delta';
    }
    if (kind === 'sum') {
      const mono = field(data, 'isMonotonic');
      if (mono !== undefined && typeof mono !== 'boolean') throw new PointError('invalid', 'sum.isMonotonic must be a boolean');
      monotonic = mono === true;
    }
    const baseCount = Object.keys(base).length;
    for (const p of points) {
      try {
        if (!isObj(p)) throw new PointError('invalid', 'data points must be objects');
        const flags = field(p, 'flags');
        if (flags !== undefined && typeof flags !== 'number') throw new PointError('invalid', 'flags must be a number');
        if (typeof flags === 'number' && (flags & 1) === 1) {
          res.noValue++; // FLAG_NO_RECORDED_VALUE: the series went away; nothing to emit
          continue;
        }
        const ts = timestampOf(p);
        const labels = pointLabels(base, baseCount, field(p, 'attributes'), opts, EXTRA_LABELS[kind]);
        // Collect first, so a point that fails half-way emits nothing.
        const out: MetricSample[] = [];
        let duplicate = false;
        convertPoint(kind, p, name, labels, monotonic, (n, l, value, k) => {
          let v: number | undefined = value;
          if (delta && (k === 'counter' || kind === 'sum')) {
            v = ctx.deltas.add(seriesKey(n, l), value, ts);
            if (v === undefined) {
              duplicate = true;
              return;
            }
          }
          const s: MetricSample = { name: n, labels: l, ts, value: v, kind: k };
          if (unit !== undefined) s.unit = unit;
          out.push(s);
        });
        if (duplicate && out.length === 0) {
          reject(res, 'delta_duplicate', 1, 'delta point at or before the last applied time of its series (retried request?)');
          continue;
        }
        for (const s of out) res.samples.push(s);
      } catch (err) {
        if (!(err instanceof PointError)) throw err;
        reject(res, err.reason, 1, `${rawName.slice(0, 128)}: ${err.message}`);
      }
    }
  } catch (err) {
    if (!(err instanceof PointError)) throw err;
    const raw = field(m, 'name');
    reject(res, err.reason, pointCount, `${typeof raw === 'string' ? raw.slice(0, 128) : '(unnamed metric)'}: ${err.message}`);
  }
}

/**
 * Converts one decoded ExportMetricsServiceRequest. Throws BadInputError only when the request
 * skeleton is malformed (400) or carries more than maxDataPoints points (413).
 */
export function convertRequest(req: unknown, opts: ConvertOptions, deltas: DeltaTotals): ConvertResult {
  const res: ConvertResult = { samples: [], points: 0, rejected: 0, noValue: 0, duplicates: 0, reasons: new Map() };
  const ctx: Ctx = { opts, deltas, res };
  if (!isObj(req)) throw malformed('request must be an ExportMetricsServiceRequest object');
  const rms = list(req, 'resourceMetrics');
  if (rms === undefined) throw malformed('resourceMetrics must be an array');
  for (const rm of rms) {
    if (!isObj(rm)) throw malformed('resourceMetrics entries must be objects');
    const sms = list(rm, 'scopeMetrics');
    if (sms === undefined) throw malformed('resourceMetrics[].scopeMetrics must be an array');
    let base: Labels | PointError;
    try {
      base = resourceLabels(field(rm, 'resource'), opts);
    } catch (err) {
      if (!(err instanceof PointError)) throw err;
      base = err;
    }
    for (const sm of sms) {
      if (!isObj(sm)) throw malformed('scopeMetrics entries must be objects');
      const metrics = list(sm, 'metrics');
      if (metrics === undefined) throw malformed('scopeMetrics[].metrics must be an array');
      for (const m of metrics) {
        if (!isObj(m)) throw malformed('metrics entries must be objects');
        convertMetric(m, base, ctx);
      }
    }
  }
  return res;
}
