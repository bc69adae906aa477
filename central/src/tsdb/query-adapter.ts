// The read side of MetricStore (query, series) over a TSDB's Prometheus HTTP API (Prometheus,
// VictoriaMetrics), answering in exactly the shape the SQLite store does, so RCA reads metrics
// the same way in both deployment modes (ARCHITECTURE section 4).
//
// Mapping:
// - Selectors are rendered to PromQL as `{__name__="x",a=~"..."}` with every value a
//   double-quoted string literal (JSON escaping: `"`, `\`, control characters). PromQL refuses
//   a selector whose matchers all match the empty string; the store's `{}` or `{a!="x"}` means
//   "every series (with...)", so `__name__=~".+"` is added then (always true). A regex holding
//   a `.` is wrapped in `(?s:...)`: `.` matches a newline, as in the SQLite store and
//   Prometheus 3 (Prometheus 2.x and VictoriaMetrics 1.x would not). Label names must be
//   Prometheus label names (a TSDB holds no others).
// - raw: ONE instant query of the range vector `selector[<end-start+1>ms]` at `end - 1 ms`,
//   which returns the stored samples themselves (no step, no lookback, no interpolation),
//   filtered to [start, end) here. Chosen over query_range with a small step, which returns
//   one point per step (resampled: duplicates the last sample into empty steps, drops samples
//   between steps) and so cannot give back what was written.
// - 1m / 5m: buckets [b, b+step) with b aligned to the step, as the SQLite store's rollups:
//   query_range at t = b + step - 1 ms with avg_over_time, min_over_time, max_over_time,
//   count_over_time and last_over_time over a window that is exactly the bucket. Range
//   selectors are closed [t-d, t] in Prometheus 2.x and left-open (t-d, t] in Prometheus 3 and
//   VictoriaMetrics, so the window is step-1ms or step accordingly (config `range_window`,
//   detected once by a data-free probe when `auto`). The five aggregates travel in one query
//   (`label_replace(...) or ...`); the *_over_time functions drop `__name__`, so one query is
//   made per metric name (names from /api/v1/series unless the selector fixes the name) and the
//   name is put back. Ranges beyond 10,000 steps are split (Prometheus refuses > 11,000 points).
//   avg is the TSDB's (an incremental mean: may differ from SQLite's sum/count in the last bits).
// - series: /api/v1/series over all time, ordered by canonical label key, cut at `limit`. Asked
//   twice and merged: over all time, and over the last 30 days. VictoriaMetrics answers a range
//   of more than 40 days from its global index, which misses a series first written today with
//   samples dated yesterday (seen with 1.79 after midnight: backfilled or late samples); a range
//   within 40 days goes through its per-day indexes, which have it. Prometheus answers both.
// - `nocache=1` is sent on every query: VictoriaMetrics then neither serves cached results
//   (which may miss late or backfilled samples) nor shifts the time range; Prometheus ignores it.
// Errors are StorageError: INVALID_QUERY (a malformed query, or the TSDB answered 400/422),
// QUERY_LIMIT (maxSeries/maxPoints here, or a limit of the TSDB), IO (network, timeout, 5xx,
// 429: retryable; authentication refused or not a Prometheus API: not retryable), CLOSED.
import { canonicalLabelKey, compareCodePoints } from '../../../shared-schemas/src/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';
import { DEFAULT_METRIC_LIMITS, StorageError } from '../storage/index.js';
import type { LabelMatcher, MetricStore, RangeQuery, Resolution, SeriesPoints, SeriesSelector } from '../storage/index.js';
import { authHeaders } from './config.js';
import type { QueryConfig } from './config.js';
import { describeUrl } from './remote-write-exporter.js';
import type { TsdbSettings } from './remote-write-exporter.js';

/** The read side of a MetricStore (what RCA needs), plus close(). */
export type MetricReader = Pick<MetricStore, 'query' | 'series' | 'close'>;

export type RangeWindow = 'closed' | 'left_open';

const MINUTE = 60_000;
const STEP_MS: Record<Exclude<Resolution, 'raw'>, number> = { '1m': MINUTE, '5m': 5 * MINUTE };
/** Steps per query_range request (Prometheus refuses more than 11,000 points per series). */
export const MAX_STEPS_PER_REQUEST = 10_000;
/** Concurrent requests of one query (one per metric name at 1m/5m). */
const QUERY_CONCURRENCY = 4;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OPS: readonly LabelMatcher['op'][] = ['=', '!=', '=~', '!~'];
const AGG_LABEL = '__aiops_agg__';
const AGGREGATES = ['avg', 'min', 'max', 'count', 'last'] as const;
type Aggregate = (typeof AGGREGATES)[number];
/** Messages of the TSDBs' own query limits (Prometheus 2.x, VictoriaMetrics 1.x). */
const LIMIT_RE = /too many samples|maximum resolution|too many points|search\.max[A-Za-z]+|cannot select more than|exceeds? (the )?(limit|maximum)/i;

function invalid(message: string): never {
  throw new StorageError('INVALID_QUERY', message);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 48 ? `${v.slice(0, 48)}...` : v);
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A PromQL double-quoted string literal (JSON's escaping is a subset of PromQL's). */
export function promqlString(s: string): string {
  return JSON.stringify(s);
}

/** Does the matcher select series without the label? (PromQL needs one matcher that does not.) */
function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    default: {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${m.value})$`, 's');
      } catch {
        return true; // unknown: keep the guard; the TSDB judges the regex
      }
      return m.op === '=~' ? re.test('') : !re.test('');
    }
  }
}

/** Validates a selector the way the SQLite store does; returns its matchers, `name` as `__name__=`. */
export function checkSelector(sel: unknown, path = 'selector'): LabelMatcher[] {
  if (!isPlainObject(sel)) invalid(`${path} must be an object {name?, matchers} (got ${show(sel)})`);
  const s = sel as unknown as SeriesSelector;
  const out: LabelMatcher[] = [];
  if (s.name !== undefined) {
    if (typeof s.name !== 'string' || s.name === '') invalid(`${path}.name must be a non-empty string when set (got ${show(s.name)})`);
    out.push({ name: '__name__', op: '=', value: s.name });
  }
  const list: unknown = s.matchers ?? [];
  if (!Array.isArray(list)) invalid(`${path}.matchers must be an array (got ${show(list)})`);
  if (list.length > DEFAULT_METRIC_LIMITS.maxMatchers) invalid(`${path}.matchers: more than ${DEFAULT_METRIC_LIMITS.maxMatchers} matchers (got ${list.length})`);
  list.forEach((m: unknown, i) => {
    const p = `${path}.matchers[${i}]`;
    if (!isPlainObject(m)) invalid(`${p} must be an object {name, op, value} (got ${show(m)})`);
    const { name, op, value } = m;
    if (typeof name !== 'string' || name === '') invalid(`${p}.name must be a non-empty string (got ${show(name)})`);
    if (!LABEL_NAME_RE.test(name)) invalid(`${p}.name ${show(name)} is not a Prometheus label name: it cannot be queried in PromQL`);
    if (!OPS.includes(op as LabelMatcher['op'])) invalid(`${p}.op must be one of = != =~ !~ (got ${show(op)})`);
    if (typeof value !== 'string') invalid(`${p}.value must be a string (got ${show(value)})`);
    const limit = op === '=~' || op === '!~' ? DEFAULT_METRIC_LIMITS.maxRegexLength : DEFAULT_METRIC_LIMITS.maxLabelValueLength;
    if (value.length > limit) invalid(`${p}.value is longer than ${limit} characters`);
    out.push({ name, op: op as LabelMatcher['op'], value });
  });
  return out;
}

/** Renders checked matchers as a PromQL vector selector (see the header for the rules). */
export function renderSelector(matchers: readonly LabelMatcher[]): string {
  const parts = matchers.map((m) => {
    const regex = m.op === '=~' || m.op === '!~';
    const value = regex && m.value.includes('.') ? `(?s:${m.value})` : m.value;
    return `${m.name}${m.op}${promqlString(value)}`;
  });
  if (matchers.every(matchesEmpty)) parts.unshift('__name__=~".+"');
  return `{${parts.join(',')}}`;
}

/** Epoch ms as the API's seconds, exactly (no float rounding). */
export function apiTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const frac = ms - sec * 1000;
  return frac === 0 ? String(sec) : `${sec}.${String(frac).padStart(3, '0')}`;
}

/** A sample value as the API writes it ("NaN", "+Inf", "-Inf" or a decimal). */
export function parseApiValue(s: unknown): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return Number.NaN;
  return typeof s === 'string' ? Number(s) : Number.NaN;
}

/** An API timestamp (float seconds) as integer ms. */
function apiMs(t: unknown): number {
  return Math.round(Number(t) * 1000);
}

function alignUp(t: number, r: number): number {
  return Math.ceil(t / r) * r;
}
function alignDown(t: number, r: number): number {
  return Math.floor(t / r) * r;
}

interface ApiSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

interface Bucket {
  avg: number;
  min: number;
  max: number;
  count: number;
  last: number;
}

/** Maps an unsuccessful answer of the TSDB to a StorageError. */
export function apiError(status: number, body: string, what: string): StorageError {
  let errorType = '';
  let error = body.trim().slice(0, 300);
  try {
    const j = JSON.parse(body) as { errorType?: unknown; error?: unknown };
    if (typeof j.error === 'string') error = j.error.slice(0, 300);
    if (typeof j.errorType === 'string') errorType = j.errorType;
  } catch {
    // not JSON: keep the text
  }
  const message = `${what}: the TSDB answered HTTP ${status}${errorType !== '' ? ` (${errorType})` : ''}: ${error}`;
  if (LIMIT_RE.test(error)) return new StorageError('QUERY_LIMIT', `${message}; narrow the selector, shorten the range or use a coarser resolution`);
  if (status === 400 || status === 422) return new StorageError('INVALID_QUERY', message);
  if (status === 429 || status >= 500) return new StorageError('IO', message, true);
  if (status === 401 || status === 403) return new StorageError('IO', `${message} (check the query credentials)`, false);
  return new StorageError('IO', `${message} (is query.url the base of a Prometheus HTTP API?)`, false);
}

export class PrometheusQueryAdapter implements MetricReader {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly target: string;
  private closed = false;
  private readonly inFlight = new Set<AbortController>();
  private windowKind: Promise<RangeWindow> | undefined;

  constructor(
    private readonly settings: TsdbSettings,
    private readonly config: QueryConfig,
  ) {
    this.base = config.url.replace(/\/+$/, '');
    this.headers = { ...authHeaders(config), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'aiops-central/0.1.0' };
    this.target = describeUrl(this.base);
    if (config.range_window !== 'auto') this.windowKind = Promise.resolve(config.range_window);
  }

  async series(selector: SeriesSelector, limit: number): Promise<Labels[]> {
    this.ensureOpen();
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) throw new StorageError('INVALID_ARGUMENT', `limit must be an integer > 0 (got ${show(limit)})`);
    const expr = renderSelector(checkSelector(selector));
    const now = this.settings.clock.now();
    const end = apiTime(now + 10 * MINUTE);
    const seen = new Map<string, Labels>();
    for (const start of ['0', apiTime(Math.max(0, now - 30 * 24 * 60 * MINUTE))]) {
      const data = await this.call('/api/v1/series', { 'match[]': expr, start, end }, 'series lookup');
      if (!Array.isArray(data)) throw this.notApi('series lookup');
      for (const l of (data as unknown[]).filter(isPlainObject)) {
        const labels = labelsOf(l as Record<string, string>);
        seen.set(canonicalLabelKey(labels), labels);
      }
    }
    return sortByKey([...seen.values()]).slice(0, limit);
  }

  async query(q: RangeQuery): Promise<SeriesPoints[]> {
    this.ensureOpen();
    if (!isPlainObject(q)) invalid(`query must be an object (got ${show(q)})`);
    const matchers = checkSelector(q.selector);
    const { startMs, endMs } = q;
    for (const [k, v] of [['startMs', startMs], ['endMs', endMs]] as const) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) invalid(`${k} must be an integer number of ms since the epoch (got ${show(v)})`);
    }
    if (endMs <= startMs) invalid(`endMs must be after startMs (got ${startMs} .. ${endMs})`);
    const res = q.resolution ?? 'auto';
    if (res !== 'auto' && res !== 'raw' && res !== '1m' && res !== '5m') invalid(`resolution must be "auto", "raw", "1m" or "5m" (got ${show(res)})`);
    const cap = (v: unknown, name: string, max: number): number => {
      if (v === undefined) return max;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) invalid(`${name} must be a positive integer (got ${show(v)})`);
      return Math.min(v, max);
    };
    const maxSeries = cap(q.maxSeries, 'maxSeries', this.config.max_series);
    const maxPoints = cap(q.maxPoints, 'maxPoints', this.config.max_points);
    const now = this.settings.clock.now();
    const resolution: Resolution = res !== 'auto' ? res : startMs >= now - this.config.auto.raw_within ? 'raw' : startMs >= now - this.config.auto.one_minute_within ? '1m' : '5m';
    const out = resolution === 'raw' ? await this.raw(matchers, startMs, endMs) : await this.downsampled(matchers, resolution, startMs, endMs);
    const sorted = out.filter((p) => p.timestamps.length > 0).sort((a, b) => compareCodePoints(canonicalLabelKey(a.labels), canonicalLabelKey(b.labels)));
    if (sorted.length > maxSeries) throw new StorageError('QUERY_LIMIT', `query matches more than ${maxSeries} series with data in the range (maxSeries); narrow the selector`);
    let points = 0;
    for (const p of sorted) points += p.timestamps.length;
    if (points > maxPoints) {
      throw new StorageError('QUERY_LIMIT', `query returns more than ${maxPoints} points (maxPoints) at resolution ${resolution}; shorten the range, use a coarser resolution or narrow the selector`);
    }
    return sorted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ac of this.inFlight) ac.abort(new Error('the query adapter was closed'));
  }

  // ------------------------------------------------------------------------------------------

  private async raw(matchers: LabelMatcher[], startMs: number, endMs: number): Promise<SeriesPoints[]> {
    // Evaluated at end-1: a closed window [end-1-w, end-1] or a left-open one (end-1-w, end-1]
    // both cover [start, end) with w = end-start+1; the extra millisecond is filtered below.
    const w = endMs - startMs + 1;
    const data = await this.call('/api/v1/query', { query: `${renderSelector(matchers)}[${w}ms]`, time: apiTime(endMs - 1) }, 'metric query');
    const result = this.matrix(data, 'metric query');
    const out: SeriesPoints[] = [];
    for (const s of result) {
      const timestamps: number[] = [];
      const values: number[] = [];
      for (const [t, v] of s.values) {
        const ms = apiMs(t);
        if (ms < startMs || ms >= endMs) continue;
        timestamps.push(ms);
        values.push(parseApiValue(v));
      }
      if (timestamps.length > 0) out.push({ labels: labelsOf(s.metric), resolution: 'raw', timestamps, values });
    }
    return out;
  }

  private async downsampled(matchers: LabelMatcher[], res: '1m' | '5m', startMs: number, endMs: number): Promise<SeriesPoints[]> {
    const r = STEP_MS[res];
    const first = alignUp(startMs, r);
    const last = alignDown(endMs - 1, r);
    if (last < first) return [];
    const window = (await this.rangeWindow()) === 'closed' ? r - 1 : r;
    const fixed = matchers.find((m) => m.name === '__name__' && m.op === '=');
    let names: string[];
    if (fixed !== undefined) {
      // Another __name__ matcher may contradict it: the query then simply finds nothing.
      names = [fixed.value];
    } else {
      const data = await this.call('/api/v1/series', { 'match[]': renderSelector(matchers), start: apiTime(first), end: apiTime(last + r - 1) }, 'metric query (names)');
      if (!Array.isArray(data)) throw this.notApi('metric query (names)');
      names = [...new Set((data as unknown[]).filter(isPlainObject).map((l) => (l as Record<string, unknown>)['__name__']).filter((n): n is string => typeof n === 'string'))].sort(compareCodePoints);
    }
    const chunks: Array<[number, number]> = [];
    for (let a = first; a <= last; a += MAX_STEPS_PER_REQUEST * r) chunks.push([a, Math.min(last, a + (MAX_STEPS_PER_REQUEST - 1) * r)]);
    const byKey = new Map<string, { labels: Labels; buckets: Map<number, Partial<Bucket>> }>();
    const jobs: Array<() => Promise<void>> = [];
    for (const name of names) {
      const sel = renderSelector([...matchers.filter((m) => !(m.name === '__name__' && m.op === '=')), { name: '__name__', op: '=', value: name }]);
      const expr = AGGREGATES.map((a) => `label_replace(${a}_over_time(${sel}[${window}ms]),${promqlString(AGG_LABEL)},${promqlString(a)},"","")`).join(' or ');
      for (const [a, b] of chunks) {
        jobs.push(async () => {
          const data = await this.call('/api/v1/query_range', { query: expr, start: apiTime(a + r - 1), end: apiTime(b + r - 1), step: apiTime(r) }, 'metric query');
          for (const s of this.matrix(data, 'metric query')) {
            const agg = s.metric[AGG_LABEL] as Aggregate | undefined;
            if (agg === undefined || !AGGREGATES.includes(agg)) continue;
            const labels = labelsOf(s.metric, name);
            const key = canonicalLabelKey(labels);
            let entry = byKey.get(key);
            if (entry === undefined) {
              entry = { labels, buckets: new Map() };
              byKey.set(key, entry);
            }
            for (const [t, v] of s.values) {
              const bucket = apiMs(t) - r + 1;
              let bk = entry.buckets.get(bucket);
              if (bk === undefined) {
                bk = {};
                entry.buckets.set(bucket, bk);
              }
              bk[agg] = parseApiValue(v);
            }
          }
        });
      }
    }
    await runPool(jobs, QUERY_CONCURRENCY);
    const out: SeriesPoints[] = [];
    for (const { labels, buckets } of byKey.values()) {
      const p: Required<SeriesPoints> = { labels, resolution: res, timestamps: [], values: [], min: [], max: [], count: [], last: [] };
      for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
        const v = buckets.get(b)!;
        if (v.count === undefined || !(v.count > 0) || b < first || b > last) continue;
        p.timestamps.push(b);
        p.values.push(v.avg ?? Number.NaN);
        p.min.push(v.min ?? Number.NaN);
        p.max.push(v.max ?? Number.NaN);
        p.count.push(v.count);
        p.last.push(v.last ?? Number.NaN);
      }
      out.push(p);
    }
    return out;
  }

  /** How the TSDB bounds a range selector's window: asked once with a data-free subquery. */
  private rangeWindow(): Promise<RangeWindow> {
    this.windowKind ??= (async (): Promise<RangeWindow> => {
      // 60 s of a constant at a 10 s resolution, evaluated at an aligned instant: 7 points
      // when both ends are included, 6 when the start is excluded.
      const data = await this.call('/api/v1/query', { query: 'count_over_time(vector(1)[60s:10s])', time: '1700000000' }, 'range-window probe');
      const v = (data as { result?: Array<{ value?: [number, string] }> })?.result?.[0]?.value?.[1];
      if (v === '7') return 'closed';
      if (v === '6') return 'left_open';
      throw new StorageError('IO', `range-window probe: unexpected answer ${show(v)} from ${this.target}; set tsdb.query.range_window to closed or left_open`, false);
    })().catch((err: unknown) => {
      this.windowKind = undefined; // ask again next time
      throw err;
    });
    return this.windowKind;
  }

  private matrix(data: unknown, what: string): ApiSeries[] {
    const d = data as { resultType?: unknown; result?: unknown };
    if (!isPlainObject(d) || d.resultType !== 'matrix' || !Array.isArray(d.result)) throw this.notApi(what);
    return d.result as ApiSeries[];
  }

  private notApi(what: string): StorageError {
    return new StorageError('IO', `${what}: ${this.target} did not answer like a Prometheus HTTP API`, false);
  }

  private ensureOpen(): void {
    if (this.closed) throw new StorageError('CLOSED', 'the TSDB query adapter is closed');
  }

  /** POSTs a form to the API; returns `data` of a success answer, throws StorageError otherwise. */
  private async call(path: string, form: Record<string, string>, what: string): Promise<unknown> {
    this.ensureOpen();
    const ac = new AbortController();
    this.inFlight.add(ac);
    const clock = this.settings.clock;
    const timer = clock.setTimeout(() => ac.abort(new Error(`no answer within ${this.config.timeout} ms`)), this.config.timeout);
    let status: number;
    let text: string;
    try {
      const res = await fetch(`${this.base}${path}`, { method: 'POST', headers: this.headers, body: new URLSearchParams({ ...form, nocache: '1' }).toString(), signal: ac.signal, redirect: 'manual' });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (this.closed) throw new StorageError('CLOSED', 'the TSDB query adapter is closed', false, { cause: err });
      const reason = ac.signal.aborted ? ((ac.signal.reason as Error | undefined)?.message ?? 'aborted') : describeError(err);
      throw new StorageError('IO', `${what}: ${this.target}${path} failed: ${reason}`, true, { cause: err });
    } finally {
      clock.clearTimeout(timer);
      this.inFlight.delete(ac);
    }
    if (status < 200 || status >= 300) throw apiError(status, text, what);
    let body: { status?: unknown; data?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw this.notApi(what);
    }
    if (!isPlainObject(body) || body.status !== 'success') throw apiError(status, text, what);
    return body.data;
  }
}

/** Labels of an API answer: strings only, empty values dropped; `name` replaces __name__ when given. */
function labelsOf(metric: Record<string, unknown>, name?: string): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(metric)) {
    if (k === AGG_LABEL || typeof v !== 'string' || v === '') continue;
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  if (name !== undefined) out['__name__'] = name;
  return out;
}

function sortByKey(sets: Labels[]): Labels[] {
  return sets.map((l) => [canonicalLabelKey(l), l] as const).sort((a, b) => compareCodePoints(a[0], b[0])).map(([, l]) => l);
}

async function runPool(jobs: Array<() => Promise<void>>, n: number): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < jobs.length && failed === undefined) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  if (failed !== undefined) throw failed;
}

function describeError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause !== undefined ? `${e.message ?? 'fetch failed'}: ${cause}` : (e.message ?? String(err));
}
