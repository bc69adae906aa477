// The remote-write exporter against a scripted loopback server: the wire (WriteRequest, snappy,
// headers), batching, the outcome of each kind of answer (2xx, 4xx dropped, 5xx/429/network/
// timeout retried with backoff and Retry-After), the bounded queue, shutdown within its grace,
// and secrets kept out of the logs. The real TSDBs are in prometheus.test.ts and
// victoria-metrics.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareCodePoints } from '../../../shared-schemas/src/index.js';
import { SqliteMetricStore } from '../storage/index.js';
import type { MetricSample } from '../storage/index.js';
import { RemoteWriteConfigSchema } from './config.js';
import type { RemoteWriteConfigInput } from './config.js';
import { classifyStatus, exportingMetricStore, parseRetryAfter, RemoteWriteExporter, WriteRequestEncoder } from './remote-write-exporter.js';
import { decodeBody, FakeTsdb, metricValue, RecordingClock, testSettings, waitFor } from './testdata/helpers.js';
import type { TestSettings } from './testdata/helpers.js';

const T = 1_790_000_000_000;
const S = (name: string, tsMs: number, value: number, extra: Record<string, string> = {}): MetricSample => ({ labels: { __name__: name, ...extra }, tsMs, value });

function make(fake: FakeTsdb, over: Partial<RemoteWriteConfigInput> = {}, settings: TestSettings = testSettings()) {
  const config = RemoteWriteConfigSchema.parse({ url: `${fake.url}/api/v1/write`, batch: { max_samples: 1000, max_delay: '20ms' }, retry: { initial: '5ms', max_backoff: '20ms' }, timeout: '2s', ...over });
  return { ex: new RemoteWriteExporter(settings, config, { random: () => 0.5 }), settings };
}

const flushWithin = (ex: RemoteWriteExporter, ms = 20_000) => Promise.race([ex.flush(), new Promise((_, rej) => setTimeout(() => rej(new Error('flush timed out')), ms).unref())]);

describe('remote-write exporter', () => {
  let fake: FakeTsdb;
  before(async () => {
    fake = await new FakeTsdb().start();
  });
  after(async () => {
    await fake.close();
  });
  const reset = (...script: Parameters<FakeTsdb['reply']>) => {
    fake.requests.length = 0;
    fake.reply(...(script.length > 0 ? script : [{ status: 204 }]));
  };

  it('passes the lifecycle contract: shutdown without start, start/shutdown, both idempotent', async () => {
    reset();
    const a = make(fake).ex;
    await a.shutdown();
    await a.shutdown();
    const b = make(fake).ex;
    await b.start();
    await b.start();
    await b.shutdown();
    await b.shutdown();
    assert.equal(fake.requests.length, 0, 'nothing to send, nothing sent');
  });

  it('sends remote-write 1.0: snappy protobuf, the three protocol headers, auth, sorted labels and samples', async () => {
    reset();
    const { ex, settings } = make(fake, { bearer_token: 'sekrit-token-1', headers: { 'X-Scope-OrgID': 'tenant-a' } });
    await ex.start();
    await ex.consumeSamples([
      S('cpu', T + 2000, 2, { zone: 'b', host: 'h1' }),
      S('cpu', T + 1000, 1, { host: 'h1', zone: 'b' }),
      S('cpu', T + 3000, 3.5, { zone: 'b', host: 'h1', empty: '' }),
      S('mem', T + 1000, -0, { host: 'h1' }),
      S('cpu', T + 2000, 2.25, { host: 'h1', zone: 'b' }),
    ]);
    await flushWithin(ex);
    await ex.shutdown();
    assert.equal(fake.requests.length, 1);
    const req = fake.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/api/v1/write');
    assert.equal(req.headers['content-encoding'], 'snappy');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
    assert.equal(req.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(req.headers['authorization'], 'Bearer sekrit-token-1');
    assert.equal(req.headers['x-scope-orgid'], 'tenant-a');
    const series = decodeBody(req.body);
    assert.deepEqual(series, [
      // One series (label order and the empty label do not make another), sorted by time, the last value of a repeated time kept.
      { labels: [['__name__', 'cpu'], ['host', 'h1'], ['zone', 'b']], samples: [[T + 1000, 1], [T + 2000, 2.25], [T + 3000, 3.5]] },
      { labels: [['__name__', 'mem'], ['host', 'h1']], samples: [[T + 1000, -0]] },
    ]);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), 4);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_requests_total', { outcome: 'success' }), 1);
    assert.ok((await metricValue(settings, 'aiops_central_tsdb_write_bytes_total')) > 0);
  });

  it('encodes what protobufjs decodes: names sorted by code point, UTF-8, NaN/Inf, large timestamps', () => {
    const enc = new WriteRequestEncoder();
    const labels = { __name__: 'x_total', 'b': 'ü→✓ "q" \\ \n', a: 'x'.repeat(300), A: '1' };
    const r = enc.encode([
      { labels, tsMs: 8_000_000_000_000, value: NaN },
      { labels, tsMs: 0, value: Infinity },
      { labels, tsMs: 127, value: -Infinity },
      { labels, tsMs: 128, value: 5e-324 },
    ]);
    assert.deepEqual([r.samples, r.series, r.invalid], [4, 1, 0]);
    const [s] = decodeBody(r.body);
    assert.deepEqual(s!.labels.map(([n]) => n), ['A', '__name__', 'a', 'b'].sort(compareCodePoints));
    assert.equal(s!.labels.find(([n]) => n === 'b')![1], 'ü→✓ "q" \\ \n');
    assert.equal(s!.labels.find(([n]) => n === 'a')![1].length, 300);
    assert.deepEqual(s!.samples.map(([t]) => t), [0, 127, 128, 8_000_000_000_000]);
    assert.ok(Number.isNaN(s!.samples[3]![1]));
    assert.deepEqual(s!.samples.slice(0, 3).map(([, v]) => v), [Infinity, -Infinity, 5e-324]);
  });

  it('drops samples a TSDB would refuse whole-request before sending, counted with the first reason', async () => {
    reset();
    const { ex, settings } = make(fake);
    await ex.start();
    const bad: unknown[] = [
      { labels: { job: 'no-name' }, tsMs: T, value: 1 },
      { labels: { __name__: 'dotted.name' }, tsMs: T, value: 1 },
      { labels: { __name__: 'ok', 'bad-label': 'x' }, tsMs: T, value: 1 },
      { labels: { __name__: 'ok' }, tsMs: 1.5, value: 1 },
      { labels: { __name__: 'ok' }, tsMs: -1, value: 1 },
      { labels: { __name__: 'ok' }, tsMs: T, value: '1' },
      { labels: { __name__: 'ok', n: 5 }, tsMs: T, value: 1 },
      null,
      { labels: { __name__: 'ok' }, tsMs: T, value: 1 },
    ];
    await ex.consumeSamples(bad as MetricSample[]);
    await flushWithin(ex);
    await ex.shutdown();
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_dropped_total', { reason: 'invalid' }), 8);
    assert.deepEqual(fake.written(), [{ labels: [['__name__', 'ok']], samples: [[T, 1]] }]);
    const line = settings.logs.records().find((r) => r['reason'] === 'invalid');
    assert.equal(line?.['samples'], 8, 'logged once with the count');
    assert.match(String(line?.['example']), /__name__/);
  });

  it('cuts batches at max_samples and sends a partial batch after max_delay', async () => {
    reset();
    const { ex } = make(fake, { batch: { max_samples: 4, max_delay: '50ms' } });
    await ex.start();
    await ex.consumeSamples(Array.from({ length: 10 }, (_, i) => S('m', T + i * 1000, i)));
    await waitFor(() => fake.requests.length === 3, 10_000, 'two full batches and the partial one after max_delay');
    assert.deepEqual(fake.requests.map((r) => decodeBody(r.body)[0]!.samples.length), [4, 4, 2]);
    assert.deepEqual(fake.written().flatMap((s) => s.samples.map(([, v]) => v)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'in arrival order');
    await ex.shutdown();
  });

  it('drops a batch refused with 400 (counted, logged once with the count, not retried) and goes on', async () => {
    reset({ status: 400, body: 'out of order sample' }, { status: 400, body: 'out of order sample' }, { status: 204 });
    const { ex, settings } = make(fake, { batch: { max_samples: 2, max_delay: '10ms' } });
    await ex.start();
    await ex.consumeSamples([S('m', T, 1), S('m', T + 1, 2), S('m', T + 2, 3), S('m', T + 3, 4), S('m', T + 4, 5)]);
    await flushWithin(ex);
    await ex.shutdown();
    assert.equal(fake.requests.length, 3, 'two refused requests, not repeated, then the last batch');
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_rejected_total', { status: '400' }), 4);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), 1);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_retries_total'), 0);
    const lines = settings.logs.records().filter((r) => String(r['reason']).includes('HTTP 400'));
    assert.equal(lines.length, 1, 'one line for the burst');
    assert.equal(lines[0]!['samples'], 4);
    assert.equal(lines[0]!['batches'], 2);
    assert.equal(lines[0]!['example'], 'out of order sample');
  });

  it('retries 5xx, resets and timeouts with growing jittered backoff, then delivers once', async () => {
    reset({ status: 503, body: 'busy' }, { status: 500 }, 'reset', 'hang', { status: 204 });
    const clock = new RecordingClock();
    const { ex, settings } = make(fake, { timeout: '300ms', batch: { max_samples: 1000, max_delay: '5ms' }, retry: { initial: '10ms', max_backoff: '25ms' } }, testSettings('tsdb/remote_write', clock));
    await ex.start();
    await ex.consumeSamples([S('m', T, 1)]);
    await flushWithin(ex);
    await ex.shutdown();
    assert.equal(fake.requests.length, 5);
    assert.ok(fake.requests.every((r) => r.body.equals(fake.requests[0]!.body)), 'the same body each time');
    assert.equal(fake.written().length, 5);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_retries_total'), 4);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_requests_total', { outcome: 'retryable' }), 4);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), 1);
    // random() = 0.5 -> no jitter: 10, 20, then capped at 25.
    // (The other delays asked: the 300 ms request timeouts, the <= 5 ms batch delay, the grace.)
    assert.deepEqual(clock.delays.filter((d) => d >= 10 && d <= 25), [10, 20, 25, 25]);
    const logs = settings.logs.records();
    assert.equal(logs.filter((r) => r['msg'] === 'tsdb remote write failing; retrying with backoff').length, 1, 'a failure streak is logged once');
    assert.equal(logs.filter((r) => r['msg'] === 'tsdb remote write recovered').length, 1);
  });

  it('honours Retry-After on 429 and 503, capped at max_retry_after', async () => {
    reset({ status: 429, headers: { 'retry-after': '3' } }, { status: 503, headers: { 'retry-after': '120' } }, { status: 204 });
    const clock = new RecordingClock([3000, 30_000]);
    const { ex } = make(fake, { retry: { initial: '5ms', max_backoff: '20ms', max_retry_after: '30s' } }, testSettings('tsdb/remote_write', clock));
    await ex.start();
    await ex.consumeSamples([S('m', T, 1)]);
    await flushWithin(ex);
    await ex.shutdown();
    assert.equal(fake.requests.length, 3);
    assert.ok(clock.delays.includes(3000), `Retry-After: 3 waited 3 s (asked ${clock.delays.join(', ')})`);
    assert.ok(clock.delays.includes(30_000), 'Retry-After: 120 capped at 30 s');
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27, 0)), 60_000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(null, 0), undefined);
  });

  it('classifies answers per the spec: 2xx sent, 429 and 5xx retried, other 4xx and redirects dropped', () => {
    assert.equal(classifyStatus(200, '', undefined).kind, 'success');
    assert.equal(classifyStatus(204, '', undefined).kind, 'success');
    for (const s of [429, 500, 502, 503, 504]) assert.equal(classifyStatus(s, '', undefined).kind, 'retryable', String(s));
    for (const s of [400, 401, 403, 404, 409, 413, 415]) assert.equal(classifyStatus(s, '', undefined).kind, 'failure', String(s));
    const redirect = classifyStatus(307, '', undefined);
    assert.equal(redirect.kind, 'failure');
    assert.match((redirect as { message: string }).message, /redirect/);
  });

  it('bounds the queue: beyond capacity the oldest samples are dropped and counted', async () => {
    reset();
    const { ex, settings } = make(fake, { queue: { capacity: 10 } });
    await ex.consumeSamples(Array.from({ length: 7 }, (_, i) => S('q', T + i, i)));
    await ex.consumeSamples(Array.from({ length: 8 }, (_, i) => S('q', T + 7 + i, 7 + i)));
    assert.equal(ex.queued, 10);
    await ex.consumeSamples(Array.from({ length: 12 }, (_, i) => S('q', T + 15 + i, 15 + i)));
    assert.equal(ex.queued, 10);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_dropped_total', { reason: 'queue_full' }), 17);
    await ex.start();
    await flushWithin(ex);
    await ex.shutdown();
    assert.deepEqual(fake.written().flatMap((s) => s.samples.map(([, v]) => v)), [17, 18, 19, 20, 21, 22, 23, 24, 25, 26], 'the newest 10 were kept');
    assert.equal(settings.logs.records().filter((r) => r['reason'] === 'queue_full').length, 1, 'logged once with the count');
  });

  it('shutdown sends what is queued at once (no max_delay wait)', async () => {
    reset();
    const { ex, settings } = make(fake, { batch: { max_samples: 1000, max_delay: '10m' } });
    await ex.start();
    await ex.consumeSamples([S('s', T, 1), S('s', T + 1, 2)]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fake.requests.length, 0, 'waiting for more samples or max_delay');
    await ex.shutdown();
    assert.equal(fake.written()[0]?.samples.length, 2);
    await ex.consumeSamples([S('s', T + 2, 3)]);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_dropped_total', { reason: 'shutdown' }), 1, 'after shutdown: dropped, counted');
  });

  it('gives up at the end of the shutdown grace while the TSDB fails, counting what was left', async () => {
    reset({ status: 503 });
    const { ex, settings } = make(fake, { shutdown_grace: '200ms', batch: { max_samples: 2, max_delay: '10m' } });
    await ex.start();
    await ex.consumeSamples([S('g', T, 1), S('g', T + 1, 2), S('g', T + 2, 3)]);
    await waitFor(() => fake.requests.length >= 2, 10_000, 'retries of the first batch');
    const flushed = ex.flush();
    await ex.shutdown();
    await flushed; // settled by shutdown
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_dropped_total', { reason: 'shutdown' }), 3);
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), 0);
  });

  it('aborts a hanging request at the end of the grace', async () => {
    reset('hang');
    const { ex, settings } = make(fake, { shutdown_grace: '100ms', timeout: '60s' });
    await ex.start();
    await ex.consumeSamples([S('h', T, 1)]);
    try {
      // By content: a request of the previous test aborted at its grace may still reach the fake.
      await waitFor(() => fake.written().some((s) => s.labels.some(([k, v]) => k === '__name__' && v === 'h')), 10_000, 'the request');
    } finally {
      // Also when the wait fails: a running exporter would keep the test process alive.
      await ex.shutdown();
    }
    assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_dropped_total', { reason: 'shutdown' }), 1);
  });

  it('never logs the bearer token, basic-auth password or header values', async () => {
    for (const auth of [{ bearer_token: 'tok-SECRET-1' }, { basic_auth: { username: 'u', password: 'pw-SECRET-2' } }, { headers: { 'X-Api-Key': 'hdr-SECRET-3' } }]) {
      reset({ status: 401, body: 'unauthorized' }, { status: 503 }, { status: 204 });
      const { ex, settings } = make(fake, { ...auth, url: `${fake.url}/api/v1/write?api_key=query-SECRET-4`, batch: { max_samples: 1, max_delay: '5ms' } });
      await ex.start();
      await ex.consumeSamples([S('a', T, 1), S('a', T + 1, 2)]);
      await flushWithin(ex);
      await ex.shutdown();
      assert.equal(fake.requests.length, 3);
      const text = settings.logs.lines.join('\n');
      assert.ok(text.length > 0);
      assert.doesNotMatch(text, /SECRET/);
    }
  });

  it('exportingMetricStore hands the exporter what the store accepted, once per batch', async () => {
    const got: MetricSample[][] = [];
    const now = Date.now();
    const inner = SqliteMetricStore.open(':memory:', { now: () => now });
    const store = exportingMetricStore(inner, { consumeSamples: async (s) => void got.push([...s]) });
    const ok = S('w', now - 1000, 1);
    const nan = S('w', now - 500, NaN);
    const r = await store.writeSamples([ok, nan, S('w', now - 200, 2)], 'b1');
    assert.equal(r.accepted, 2);
    assert.deepEqual(got, [[ok, S('w', now - 200, 2)]], 'the refused NaN is not exported');
    assert.equal((await store.writeSamples([ok], 'b1')).duplicate, true);
    await store.writeSamples([nan]);
    assert.equal(got.length, 1, 'nothing for a duplicate batch or a batch with nothing accepted');
    assert.equal((await store.query({ selector: { name: 'w', matchers: [] }, startMs: now - 2000, endMs: now })).length, 1, 'reads go to the store');
    await store.close();
  });
});
