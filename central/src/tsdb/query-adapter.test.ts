// The query adapter without a real TSDB: selectors rendered to PromQL (escaping, the non-empty
// matcher rule, `.` and newlines), validation as the SQLite store does it, the requests it makes
// (raw range vector, query_range windows and steps per range-window kind, splitting, names),
// how answers are read and errors mapped. The real TSDBs are in prometheus.test.ts and
// victoria-metrics.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StorageError } from '../storage/index.js';
import { QueryConfigSchema } from './config.js';
import type { QueryConfigInput } from './config.js';
import { apiError, apiTime, checkSelector, parseApiValue, PrometheusQueryAdapter, renderSelector } from './query-adapter.js';
import { FakeTsdb, freePort, testSettings } from './testdata/helpers.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 1); // aligned to 5 minutes
const isStorageError = (code: string, message?: RegExp) => (e: unknown) => e instanceof StorageError && e.code === code && (message === undefined || message.test(e.message));
const ok = (data: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'success', data }) });
const matrix = (result: unknown[]) => ok({ resultType: 'matrix', result });

describe('PromQL rendering of selectors', () => {
  const r = (sel: unknown) => renderSelector(checkSelector(sel));
  it('renders names and matchers as quoted literals, escaping quotes, backslashes and control characters', () => {
    assert.equal(r({ name: 'cpu', matchers: [] }), '{__name__="cpu"}');
    assert.equal(r({ name: 'cpu', matchers: [{ name: 'path', op: '=', value: 'a"b\\c\nd\te\u0001' }] }), '{__name__="cpu",path="a\\"b\\\\c\\nd\\te\\u0001"}');
    assert.equal(r({ matchers: [{ name: 'job', op: '!=', value: 'x' }, { name: 'job', op: '=', value: 'ü→✓' }] }), '{job!="x",job="ü→✓"}');
  });
  it('adds __name__=~".+" when every matcher matches the empty string (PromQL refuses such selectors)', () => {
    assert.equal(r({ matchers: [] }), '{__name__=~".+"}');
    assert.equal(r({ matchers: [{ name: 'path', op: '!=', value: '/a' }] }), '{__name__=~".+",path!="/a"}');
    assert.equal(r({ matchers: [{ name: 'path', op: '=', value: '' }] }), '{__name__=~".+",path=""}');
    assert.equal(r({ matchers: [{ name: 'path', op: '=~', value: '/a|' }] }), '{__name__=~".+",path=~"/a|"}');
    assert.equal(r({ matchers: [{ name: 'host', op: '!=', value: '' }] }), '{host!=""}');
    assert.equal(r({ matchers: [{ name: 'code', op: '=~', value: '5\\d\\d' }] }), '{code=~"5\\\\d\\\\d"}');
  });
  it('makes "." match newlines in regexes, as the SQLite store and Prometheus 3 do', () => {
    assert.equal(r({ matchers: [{ name: 'host', op: '=~', value: 'h2.*' }] }), '{host=~"(?s:h2.*)"}');
    assert.equal(r({ name: 'm', matchers: [{ name: 'host', op: '!~', value: 'a.b' }] }), '{__name__="m",host!~"(?s:a.b)"}');
  });
  it('refuses what the SQLite store refuses, and label names PromQL cannot express, with INVALID_QUERY', () => {
    const bad: unknown[] = [
      { matchers: [{ name: 'a', op: '==', value: 'x' }] },
      { matchers: [{ name: '', op: '=', value: 'x' }] },
      { matchers: [{ name: 'a', op: '=', value: 1 }] },
      { matchers: 'job=api' },
      { name: '', matchers: [] },
      null,
      { matchers: [{ name: 'dotted.name', op: '=', value: 'x' }] },
      { matchers: Array.from({ length: 33 }, () => ({ name: 'a', op: '=', value: 'x' })) },
    ];
    for (const s of bad) assert.throws(() => checkSelector(s), isStorageError('INVALID_QUERY'), JSON.stringify(s));
    assert.throws(() => checkSelector({ matchers: [{ name: 'dotted.name', op: '=', value: 'x' }] }), /not a Prometheus label name/);
  });
  it('writes times as exact API seconds and reads API values', () => {
    assert.equal(apiTime(1_700_000_000_000), '1700000000');
    assert.equal(apiTime(1_700_000_000_001), '1700000000.001');
    assert.equal(apiTime(1_700_000_059_999), '1700000059.999');
    assert.deepEqual(['1.5', '-0', 'NaN', '+Inf', '-Inf', '1e300'].map(parseApiValue), [1.5, -0, NaN, Infinity, -Infinity, 1e300]);
  });
});

describe('error mapping', () => {
  it('maps the TSDB answers to StorageError codes', () => {
    const e400 = apiError(400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error: unexpected character' }), 'q');
    assert.ok(isStorageError('INVALID_QUERY', /HTTP 400 \(bad_data\): parse error/)(e400));
    assert.equal(e400.retryable, false);
    assert.ok(isStorageError('INVALID_QUERY')(apiError(422, JSON.stringify({ status: 'error', errorType: '422', error: 'cannot expand WITH expressions: invalid regexp' }), 'q')));
    for (const msg of [
      'query processing would load too many samples into memory in query execution',
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      'cannot select more than -search.maxUniqueTimeseries=300000 time series',
      'too many points for the given step=1s, start=0 and end=100000000: 100000001; cannot exceed -search.maxPointsPerTimeseries=30000',
    ]) {
      const e = apiError(422, JSON.stringify({ status: 'error', errorType: 'execution', error: msg }), 'q');
      assert.ok(isStorageError('QUERY_LIMIT')(e), msg);
      assert.equal(e.retryable, false);
    }
    const e503 = apiError(503, JSON.stringify({ status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' }), 'q');
    assert.ok(isStorageError('IO', /timed out/)(e503));
    assert.equal(e503.retryable, true);
    assert.equal(apiError(429, 'slow down', 'q').retryable, true);
    const e401 = apiError(401, 'Unauthorized', 'q');
    assert.ok(isStorageError('IO', /credentials/)(e401));
    assert.equal(e401.retryable, false);
  });
});

describe('query adapter over a scripted TSDB', () => {
  let fake: FakeTsdb;
  before(async () => {
    fake = await new FakeTsdb().start();
  });
  after(async () => {
    await fake.close();
  });
  const make = (over: Partial<QueryConfigInput> = {}, now = T0 + 60 * MIN) => {
    const s = testSettings('tsdb/query');
    const clock = { ...s.clock, now: () => now, setTimeout: s.clock.setTimeout.bind(s.clock), clearTimeout: s.clock.clearTimeout.bind(s.clock) };
    return new PrometheusQueryAdapter({ ...s, clock }, QueryConfigSchema.parse({ url: `${fake.url}/`, timeout: '2s', ...over }));
  };
  const forms = () => fake.requests.map((r) => ({ path: r.url, form: Object.fromEntries(new URLSearchParams(r.body.toString())) }));
  const reset = (...script: Parameters<FakeTsdb['reply']>) => {
    fake.requests.length = 0;
    fake.reply(...script);
  };

  it('raw: one range-vector query at end-1 ms, samples filtered to [start, end), values parsed, series ordered by label key', async () => {
    reset(
      matrix([
        { metric: { __name__: 'cpu', host: 'b' }, values: [[(T0 - 1) / 1000, '9'], [T0 / 1000, '1'], [(T0 + 1500) / 1000, 'NaN']] },
        { metric: { __name__: 'cpu', host: 'a' }, values: [[(T0 + 59_999) / 1000, '+Inf'], [(T0 + MIN) / 1000, '7']] },
        { metric: { __name__: 'cpu', host: 'c' }, values: [[(T0 - 1) / 1000, '3']] },
      ]),
    );
    const a = make();
    const out = await a.query({ selector: { name: 'cpu', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: 'raw' });
    assert.deepEqual(out, [
      { labels: { __name__: 'cpu', host: 'a' }, resolution: 'raw', timestamps: [T0 + 59_999], values: [Infinity] },
      { labels: { __name__: 'cpu', host: 'b' }, resolution: 'raw', timestamps: [T0, T0 + 1500], values: [1, NaN] },
    ]);
    assert.deepEqual(forms(), [{ path: '/api/v1/query', form: { query: '{__name__="cpu"}[60001ms]', time: apiTime(T0 + MIN - 1), nocache: '1' } }]);
    assert.equal(fake.requests[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
    await a.close();
  });

  it('1m: probes the window kind once, then one query_range per name with five aggregates at bucket ends', async () => {
    const series = (agg: string, pts: Array<[number, string]>) => ({ metric: { __aiops_agg__: agg, job: 'api' }, values: pts.map(([b, v]) => [(b + MIN - 1) / 1000, v]) });
    reset(
      ok({ resultType: 'vector', result: [{ metric: {}, value: [1700000000, '7'] }] }),
      ok([{ __name__: 'req', job: 'api' }, { __name__: 'err', job: 'api' }]),
      matrix([series('avg', [[T0, '2'], [T0 + MIN, '10']]), series('min', [[T0, '1'], [T0 + MIN, '10']]), series('max', [[T0, '3'], [T0 + MIN, '10']]), series('count', [[T0, '3'], [T0 + MIN, '1']]), { ...series('last', [[T0, '2'], [T0 + MIN, '10']]), metric: { __aiops_agg__: 'last', __name__: 'err', job: 'api' } }]),
      matrix([series('avg', [[T0 + MIN, '5']]), series('count', [[T0 + MIN, '2']]), series('min', [[T0 + MIN, '4']]), series('max', [[T0 + MIN, '6']]), series('last', [[T0 + MIN, '6']])]),
    );
    const a = make();
    const out = await a.query({ selector: { matchers: [{ name: 'job', op: '=', value: 'api' }] }, startMs: T0 - 1, endMs: T0 + 2 * MIN, resolution: '1m' });
    const f = forms();
    assert.equal(f[0]!.form['query'], 'count_over_time(vector(1)[60s:10s])');
    assert.deepEqual(f[1], { path: '/api/v1/series', form: { 'match[]': '{job="api"}', start: apiTime(T0), end: apiTime(T0 + 2 * MIN - 1), nocache: '1' } });
    const q = f[2]!.form;
    assert.equal(q['start'], apiTime(T0 + MIN - 1), 'the first bucket at or after startMs, evaluated at its last millisecond');
    assert.equal(q['end'], apiTime(T0 + 2 * MIN - 1));
    assert.equal(q['step'], '60');
    assert.match(q['query']!, /^label_replace\(avg_over_time\(\{job="api",__name__="err"\}\[59999ms\]\),"__aiops_agg__","avg","",""\) or label_replace\(min_over_time/, 'closed windows: step - 1 ms');
    assert.match(f[3]!.form['query']!, /__name__="req"/);
    assert.deepEqual(out, [
      { labels: { __name__: 'err', job: 'api' }, resolution: '1m', timestamps: [T0, T0 + MIN], values: [2, 10], min: [1, 10], max: [3, 10], count: [3, 1], last: [2, 10] },
      { labels: { __name__: 'req', job: 'api' }, resolution: '1m', timestamps: [T0 + MIN], values: [5], min: [4], max: [6], count: [2], last: [6] },
    ]);
    // The probe is not repeated; a fixed name needs no names lookup.
    reset(matrix([]));
    assert.deepEqual(await a.query({ selector: { name: 'req', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: '5m' }), []);
    assert.deepEqual(forms().map((x) => x.path), ['/api/v1/query_range']);
    assert.match(forms()[0]!.form['query']!, /\[299999ms\]/);
    assert.equal(forms()[0]!.form['step'], '300');
    await a.close();
  });

  it('uses step-wide windows on left-open TSDBs, and splits ranges beyond 10,000 steps', async () => {
    reset(ok({ resultType: 'vector', result: [{ metric: {}, value: [1700000000, '6'] }] }), matrix([]));
    const a = make({}, T0);
    await a.query({ selector: { name: 'm', matchers: [] }, startMs: T0 - 40 * 24 * 60 * MIN, endMs: T0, resolution: '5m' });
    const f = forms().slice(1);
    assert.equal(f.length, 2, '11,520 buckets: two requests');
    assert.match(f[0]!.form['query']!, /\[300000ms\]/);
    const steps = f.map((x) => (Number(x.form['end']) - Number(x.form['start'])) / 300 + 1);
    assert.deepEqual(steps, [10_000, 1520]);
    assert.equal(Number(f[1]!.form['start']), Number(f[0]!.form['end']) + 300);
    await a.close();
    reset(matrix([]));
    const fixed = make({ range_window: 'closed' });
    await fixed.query({ selector: { name: 'm', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: '1m' });
    assert.deepEqual(forms().map((x) => x.path), ['/api/v1/query_range'], 'no probe when configured');
    await fixed.close();
  });

  it('picks the resolution for auto like the SQLite store: raw, then 1m, then 5m by how old the start is', async () => {
    const a = make({ auto: { raw_within: '1h', one_minute_within: '1d' }, range_window: 'closed' }, T0 + 24 * 60 * MIN);
    const res = async (startMs: number) => {
      reset(matrix([{ metric: { __name__: 'm' }, values: [[startMs / 1000, '1']] }]));
      const [p] = await a.query({ selector: { name: 'm', matchers: [] }, startMs, endMs: startMs + 10 * MIN });
      return p?.resolution;
    };
    assert.equal(await res(T0 + 23 * 60 * MIN), 'raw');
    reset(matrix([]));
    await a.query({ selector: { name: 'm', matchers: [] }, startMs: T0 + 60 * MIN, endMs: T0 + 70 * MIN });
    assert.equal(forms()[0]!.form['step'], '60');
    reset(matrix([]));
    await a.query({ selector: { name: 'm', matchers: [] }, startMs: T0 - MIN, endMs: T0 + 10 * MIN });
    assert.equal(forms()[0]!.form['step'], '300');
    await a.close();
  });

  it('refuses beyond maxSeries / maxPoints (QUERY_LIMIT, not truncated) and caps them at the configured limits', async () => {
    const answer = matrix(Array.from({ length: 3 }, (_, i) => ({ metric: { __name__: 'w', i: String(i) }, values: [[T0 / 1000, '1'], [(T0 + 1000) / 1000, '2']] })));
    const a = make({ max_series: 2 });
    fake.reply(answer);
    await assert.rejects(a.query({ selector: { name: 'w', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: 'raw' }), isStorageError('QUERY_LIMIT', /more than 2 series/));
    await assert.rejects(a.query({ selector: { name: 'w', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: 'raw', maxSeries: 100 }), isStorageError('QUERY_LIMIT', /more than 2 series/));
    const b = make();
    await assert.rejects(b.query({ selector: { name: 'w', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: 'raw', maxPoints: 5 }), isStorageError('QUERY_LIMIT', /more than 5 points/));
    assert.equal((await b.query({ selector: { name: 'w', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: 'raw', maxPoints: 6, maxSeries: 3 })).length, 3);
    await a.close();
    await b.close();
  });

  it('refuses malformed queries before asking the TSDB', async () => {
    reset(matrix([]));
    const a = make();
    const selector = { matchers: [] };
    await assert.rejects(a.query({ selector, startMs: T0, endMs: T0 }), isStorageError('INVALID_QUERY', /endMs must be after startMs/));
    await assert.rejects(a.query({ selector, startMs: 1.5, endMs: T0 }), isStorageError('INVALID_QUERY', /startMs/));
    await assert.rejects(a.query({ selector, startMs: 0, endMs: T0, resolution: '1h' as never }), isStorageError('INVALID_QUERY', /resolution/));
    await assert.rejects(a.query({ selector, startMs: 0, endMs: T0, maxSeries: 0 }), isStorageError('INVALID_QUERY', /maxSeries/));
    await assert.rejects(a.query({ selector, startMs: 0, endMs: T0, maxPoints: -1 }), isStorageError('INVALID_QUERY', /maxPoints/));
    await assert.rejects(a.query(null as never), isStorageError('INVALID_QUERY'));
    await assert.rejects(a.series(selector, 0), isStorageError('INVALID_ARGUMENT', /limit/));
    assert.equal(fake.requests.length, 0);
    await a.close();
  });

  it('series: all time and the last 30 days merged, ordered by canonical label key, cut at the limit', async () => {
    reset(ok([{ __name__: 'b', x: '1' }, { __name__: 'a', z: '1' }, { __name__: 'a', y: '1' }]));
    const a = make();
    assert.deepEqual(await a.series({ matchers: [{ name: 'x', op: '!=', value: '2' }] }, 2), [{ __name__: 'a', y: '1' }, { __name__: 'a', z: '1' }]);
    assert.equal(forms()[0]!.path, '/api/v1/series');
    assert.equal(forms()[0]!.form['start'], '0');
    assert.equal(forms()[1]!.path, '/api/v1/series', 'asked again within 40 days (VictoriaMetrics per-day indexes)');
    assert.ok(Number(forms()[1]!.form['start']) > 0);
    assert.equal(forms()[0]!.form['match[]'], '{__name__=~".+",x!="2"}');
    await a.close();
  });

  it('maps failures: 400 INVALID_QUERY, 503 IO retryable, refused connection IO retryable, timeout, not an API, closed', async () => {
    const a = make({ timeout: '300ms' });
    const q = { selector: { name: 'm', matchers: [] }, startMs: T0, endMs: T0 + MIN, resolution: 'raw' as const };
    reset({ status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": bad' }) });
    await assert.rejects(a.query(q), isStorageError('INVALID_QUERY', /invalid parameter/));
    reset({ status: 503, body: 'overloaded' });
    await assert.rejects(a.query(q), (e) => isStorageError('IO', /HTTP 503/)(e) && (e as StorageError).retryable);
    reset('hang');
    await assert.rejects(a.query(q), (e) => isStorageError('IO', /no answer within 300 ms/)(e) && (e as StorageError).retryable);
    reset({ status: 200, body: '<html>login</html>' });
    await assert.rejects(a.query(q), isStorageError('IO', /did not answer like a Prometheus HTTP API/));
    reset({ status: 302, headers: { location: '/login' } });
    await assert.rejects(a.query(q), isStorageError('IO', /HTTP 302/));
    const closedPort = make({ url: `http://127.0.0.1:${await freePort()}` });
    await assert.rejects(closedPort.query(q), (e) => isStorageError('IO', /ECONNREFUSED/)(e) && (e as StorageError).retryable);
    await closedPort.close();
    await a.close();
    await a.close();
    await assert.rejects(a.query(q), isStorageError('CLOSED'));
    await assert.rejects(a.series({ matchers: [] }, 1), isStorageError('CLOSED'));
  });

  it('sends the configured credentials, never in logs', async () => {
    reset(ok([]));
    const s = testSettings('tsdb/query');
    const a = new PrometheusQueryAdapter(s, QueryConfigSchema.parse({ url: fake.url, basic_auth: { username: 'reader', password: 'pw-SECRET' }, headers: { 'X-Scope-OrgID': 't1' } }));
    await a.series({ name: 'm', matchers: [] }, 1);
    assert.equal(fake.requests[0]!.headers['authorization'], `Basic ${Buffer.from('reader:pw-SECRET').toString('base64')}`);
    assert.equal(fake.requests[0]!.headers['x-scope-orgid'], 't1');
    assert.doesNotMatch(s.logs.lines.join('\n'), /SECRET/);
    await a.close();
  });
});
