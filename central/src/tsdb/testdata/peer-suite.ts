// The round trip every real TSDB must pass (the read half of the MetricStore contract, adapted
// to a server that keeps its own clock and data): samples written by RemoteWriteExporter are
// read back by PrometheusQueryAdapter exactly as the SQLite store returns the same samples
// (labels, timestamps to the millisecond, values; 1m/5m buckets with avg, min, max, count,
// last), selectors behave the same, and refusals map to the same StorageError codes.
//
// Every run writes series labelled `aiops_test_run=<random>` at times within the last hour
// (Prometheus accepts nothing older than an hour before its newest sample), so runs against a
// long-lived dev server never collide.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Labels } from '../../../../shared-schemas/src/index.js';
import { SqliteMetricStore, StorageError } from '../../storage/index.js';
import type { MetricSample, RangeQuery, SeriesPoints, SeriesSelector } from '../../storage/index.js';
import { QueryConfigSchema, RemoteWriteConfigSchema } from '../config.js';
import type { RemoteWriteConfigInput } from '../config.js';
import { PrometheusQueryAdapter } from '../query-adapter.js';
import { RemoteWriteExporter } from '../remote-write-exporter.js';
import { metricValue, testSettings, waitFor } from './helpers.js';
import type { TestSettings } from './helpers.js';
import { peerReady } from './peers.js';
import type { TsdbPeer } from './peers.js';

const MIN = 60_000;
/** How long a written sample may take to become visible (VictoriaMetrics flushes every second). */
const VISIBLE_WITHIN_MS = 30_000;

export interface SuiteOptions {
  /** Does the TSDB refuse a sample older than the series' newest (Prometheus without an out-of-order window)? */
  refusesOutOfOrder: boolean;
  /** float64 stored as is (Prometheus), or decimals of 12 significant digits without NaN (VictoriaMetrics)? */
  exactFloats: boolean;
  /**
   * Makes what was written searchable at once (test speed only: VictoriaMetrics 1.79 finds a new
   * series by a multi-label selector ~8-10 s after ingestion unless flushed).
   */
  afterWrite?: () => Promise<void>;
  /** Stop and start the server mid-run (the exporter retries, then delivers). */
  restart?: { stop(): void; start(): void };
}

export function runTsdbSuite(title: string, getPeer: () => TsdbPeer, opts: SuiteOptions): void {
  describe(title, () => {
    const run = randomBytes(6).toString('hex');
    const R = { aiops_test_run: run };
    const now = Date.now();
    /** 5-minute aligned, 40 minutes ago: inside Prometheus' appendable window for the whole run. */
    const B = Math.floor((now - 40 * MIN) / (5 * MIN)) * 5 * MIN;
    let reader: PrometheusQueryAdapter;
    let reference: SqliteMetricStore;
    const exporters: RemoteWriteExporter[] = [];

    before(() => {
      const peer = getPeer();
      if (peer.failure !== undefined) return; // every test skips (or fails under CI) on its own
      reader = new PrometheusQueryAdapter(testSettings('tsdb/query'), QueryConfigSchema.parse({ url: peer.base, timeout: '20s' }));
      reference = SqliteMetricStore.open(':memory:', { now: () => Date.now() });
    });
    after(async () => {
      for (const e of exporters) await e.shutdown();
      await reader?.close();
      await reference?.close();
    });

    const exporter = async (over: Partial<RemoteWriteConfigInput> = {}, settings: TestSettings = testSettings()) => {
      const e = new RemoteWriteExporter(settings, RemoteWriteConfigSchema.parse({ url: getPeer().writeUrl, batch: { max_samples: 500, max_delay: '20ms' }, retry: { initial: '50ms', max_backoff: '500ms' }, timeout: '10s', ...over }));
      exporters.push(e);
      await e.start();
      return e;
    };
    const flushed = async (e: RemoteWriteExporter, ms = 60_000) => {
      await Promise.race([e.flush(), new Promise((_, rej) => setTimeout(() => rej(new Error(`exporter not flushed within ${ms} ms`)), ms).unref())]);
      await opts.afterWrite?.();
    };
    /** Writes through the exporter (all delivered) and into the SQLite reference store. */
    const write = async (samples: MetricSample[]) => {
      const settings = testSettings();
      const e = await exporter({}, settings);
      await e.consumeSamples(samples);
      await flushed(e);
      assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), new Set(samples.map((s) => `${JSON.stringify(Object.entries(s.labels).sort())}@${s.tsMs}`)).size, 'every sample accepted');
      const finite = samples.filter((s) => Number.isFinite(s.value));
      if (finite.length > 0) assert.equal((await reference.writeSamples(finite)).rejected.length, 0);
    };
    /** A new exporter sends `aiops_ooo` samples one request each (flushed in between), in this order. */
    const writeOneByOne = async (points: Array<[tsMs: number, value: number]>) => {
      const labels = { __name__: 'aiops_ooo', ...R };
      const settings = testSettings();
      const e = await exporter({}, settings);
      for (const [tsMs, value] of points) {
        await e.consumeSamples([{ labels, tsMs, value }]);
        await flushed(e);
      }
      return { e, settings };
    };
    const scoped = (sel: SeriesSelector): SeriesSelector => ({ ...sel, matchers: [...sel.matchers, { name: 'aiops_test_run', op: '=', value: run }] });
    /** The adapter's answer once it has `n` series (data becomes visible asynchronously on some TSDBs). */
    const readBack = async (q: RangeQuery, n: number): Promise<SeriesPoints[]> => {
      let last: SeriesPoints[] = [];
      await waitFor(async () => {
        last = await reader.query(q);
        return last.length >= n && last.reduce((a, p) => a + p.timestamps.length, 0) > 0;
      }, VISIBLE_WITHIN_MS, `${n} series of ${JSON.stringify(q.selector)}`).catch(() => undefined);
      return last;
    };
    /** Downsampled answers equal, avg to the last bits (an incremental mean vs sum/count). */
    const assertSamePoints = (got: SeriesPoints[], want: SeriesPoints[]) => {
      assert.deepEqual(got.map((p) => ({ ...p, values: [] })), want.map((p) => ({ ...p, values: [] })));
      got.forEach((p, i) => p.values.forEach((v, k) => assert.ok(Math.abs(v - want[i]!.values[k]!) <= 1e-12 * Math.max(1, Math.abs(v)), `avg ${v} vs ${want[i]!.values[k]}`)));
    };

    it('round-trips raw samples written out of order, to the millisecond, with awkward label values', async (t) => {
      if (!peerReady(t, getPeer())) return;
      const a = { __name__: 'aiops_rt_cpu', host: 'a', ...R };
      const b = { ...R, host: 'b "quoted" \\ back\nslash ü→✓', __name__: 'aiops_rt_cpu' };
      await write([
        { labels: a, tsMs: B + 20_000, value: 2.5 },
        { labels: a, tsMs: B + 10_001, value: -1 },
        { labels: b, tsMs: B + 10_000, value: 1e300 },
        { labels: a, tsMs: B + 30_000, value: 0 },
        { labels: { ...a }, tsMs: B + 20_000, value: 7 },
        { labels: b, tsMs: B + 59_999, value: 1e299 },
      ]);
      const q: RangeQuery = { selector: scoped({ name: 'aiops_rt_cpu', matchers: [] }), startMs: B, endMs: B + MIN, resolution: 'raw' };
      const got = await readBack(q, 2);
      assert.deepEqual(got, [
        { labels: a, resolution: 'raw', timestamps: [B + 10_001, B + 20_000, B + 30_000], values: [-1, 7, 0] },
        { labels: b, resolution: 'raw', timestamps: [B + 10_000, B + 59_999], values: [1e300, 1e299] },
      ]);
      assert.deepEqual(got, await reference.query(q), 'the same answer as the SQLite store');
      // [start, end): start inclusive, end exclusive.
      const edge = await reader.query({ ...q, startMs: B + 10_001, endMs: B + 30_000 });
      assert.deepEqual(edge.map((p) => [p.labels['host'], p.timestamps]), [['a', [B + 10_001, B + 20_000]]], 'b has no sample in the range');
      // The awkward value selects by equality and by regex.
      const byValue = await reader.query({ ...q, selector: scoped({ name: 'aiops_rt_cpu', matchers: [{ name: 'host', op: '=', value: b.host }] }) });
      assert.deepEqual(byValue.map((p) => p.labels), [b]);
      const byRegex = await reader.series(scoped({ matchers: [{ name: 'host', op: '=~', value: 'b "quoted" \\\\ back.slash .*' }] }), 10);
      assert.deepEqual(byRegex, [b], '. matches the newline; \\\\ is a literal backslash');
    });

    it(opts.exactFloats ? 'stores float64 values exactly, NaN and infinities included (which the SQLite store refuses)' : 'keeps 12 significant digits, infinities; drops NaN samples (VictoriaMetrics stores decimals)', async (t) => {
      if (!peerReady(t, getPeer())) return;
      // Its own run label: the SQLite reference store cannot hold these values, and the selector
      // cases below compare whole runs with it. One series per value: VictoriaMetrics scales a
      // block of values to one decimal exponent, so magnitudes far apart in a series lose digits.
      const values = [NaN, Infinity, -Infinity, 0.1 + 0.2, 1 / 3, 5e-324, -0];
      const special = `${run}-special`;
      await write(values.map((value, i) => ({ labels: { __name__: 'aiops_rt_special', i: String(i), aiops_test_run: special }, tsMs: B + 1000, value })));
      const q: RangeQuery = { selector: { name: 'aiops_rt_special', matchers: [{ name: 'aiops_test_run', op: '=', value: special }] }, startMs: B, endMs: B + MIN, resolution: 'raw' };
      const got = await readBack(q, opts.exactFloats ? values.length : values.length - 1);
      const byIndex = new Map(got.map((p) => [Number(p.labels['i']), p.values]));
      if (opts.exactFloats) {
        assert.deepEqual(values.map((_, i) => byIndex.get(i)), values.map((v) => [v]));
      } else {
        assert.equal(byIndex.has(0), false, 'NaN is not stored');
        assert.deepEqual([1, 2, 3, 4, 5, 6].map((i) => byIndex.get(i)), [[Infinity], [-Infinity], [0.3], [0.333333333333], [0], [0]]);
      }
    });

    describe('selectors (the contract cases, scoped to this run)', () => {
      const sets: Labels[] = [
        { __name__: 'aiops_sel_http_requests', job: 'api', path: '/a', code: '200', ...R },
        { __name__: 'aiops_sel_http_requests', job: 'api', path: '/b', code: '500', ...R },
        { __name__: 'aiops_sel_http_requests', job: 'web', code: '200', ...R },
        { __name__: 'aiops_sel_cpu', job: 'api', host: 'h1', ...R },
        { __name__: 'aiops_sel_cpu', job: 'web', host: 'h2\nx', ...R },
      ];
      const cases: Array<[string, SeriesSelector]> = [
        ['metric name', { name: 'aiops_sel_http_requests', matchers: [] }],
        ['name-less equality', { matchers: [{ name: 'job', op: '=', value: 'api' }] }],
        ['name-less inequality (series without the label match)', { matchers: [{ name: 'path', op: '!=', value: '/a' }] }],
        ['= "" selects series without the label', { name: 'aiops_sel_http_requests', matchers: [{ name: 'path', op: '=', value: '' }] }],
        ['=~ is anchored: 2.. matches 200', { matchers: [{ name: 'code', op: '=~', value: '2..' }] }],
        ['=~ is anchored: 2 does not match 200', { matchers: [{ name: 'code', op: '=~', value: '2' }] }],
        ['!~ is anchored', { name: 'aiops_sel_http_requests', matchers: [{ name: 'code', op: '!~', value: '5.*' }] }],
        ['alternation on __name__', { matchers: [{ name: '__name__', op: '=~', value: 'aiops_sel_http_.*|aiops_sel_cpu' }] }],
        ['. matches a newline', { matchers: [{ name: 'host', op: '=~', value: 'h2.*' }] }],
        ['several matchers are ANDed', { matchers: [{ name: 'job', op: '=~', value: 'api|web' }, { name: 'host', op: '!=', value: '' }] }],
        ['a name and a conflicting __name__ matcher select nothing', { name: 'aiops_sel_cpu', matchers: [{ name: '__name__', op: '=', value: 'aiops_sel_http_requests' }] }],
        ['regex that matches the empty string', { name: 'aiops_sel_cpu', matchers: [{ name: 'path', op: '=~', value: '/a|' }] }],
        ['unknown label value', { matchers: [{ name: 'job', op: '=', value: 'db' }] }],
      ];
      let written = false;
      const ensureWritten = async () => {
        if (written) return;
        await write(sets.map((labels, i) => ({ labels, tsMs: B + 5 * MIN + i, value: i })));
        await readBack({ selector: { matchers: [{ name: 'aiops_test_run', op: '=', value: run }, { name: '__name__', op: '=~', value: 'aiops_sel_.*' }] }, startMs: B, endMs: B + 10 * MIN, resolution: 'raw' }, sets.length);
        written = true;
      };
      for (const [title, selector] of cases) {
        it(title, async (t) => {
          if (!peerReady(t, getPeer())) return;
          await ensureWritten();
          const sel = scoped(selector);
          const want = await reference.series(sel, 100);
          assert.deepEqual(await reader.series(sel, 100), want, 'series()');
          const q = { selector: sel, startMs: B, endMs: B + 10 * MIN, resolution: 'raw' as const };
          assert.deepEqual((await reader.query(q)).map((p) => p.labels), (await reference.query(q)).map((p) => p.labels), 'query() returns the same series in the same order');
        });
      }

      it('a selector of matchers that all match "" is still answered (PromQL would refuse it as written)', async (t) => {
        if (!peerReady(t, getPeer())) return;
        await ensureWritten();
        const any = await reader.series({ matchers: [{ name: 'aiops_no_such_label', op: '!=', value: 'x' }] }, 3);
        assert.equal(any.length, 3);
        assert.equal((await reader.series({ matchers: [] }, 1)).length, 1);
      });

      it('series() honours its limit and orders by canonical label key', async (t) => {
        if (!peerReady(t, getPeer())) return;
        await ensureWritten();
        const sel = scoped({ matchers: [{ name: '__name__', op: '=~', value: 'aiops_sel_.*' }] });
        assert.deepEqual(await reader.series(sel, 2), await reference.series(sel, 2));
      });
    });

    it('downsamples to 1m and 5m buckets exactly as the SQLite store (a sample 1 ms before a bucket stays out of it)', async (t) => {
      if (!peerReady(t, getPeer())) return;
      const A = { __name__: 'aiops_ds_req', job: 'api', ...R };
      // The contract's hand-computed set.
      await write([
        { labels: A, tsMs: B + 150_000, value: 4 },
        { labels: A, tsMs: B + 15_000, value: 3 },
        { labels: A, tsMs: B, value: 1 },
        { labels: A, tsMs: B + 59_999, value: 2 },
        { labels: A, tsMs: B + 300_001, value: 7 },
        { labels: A, tsMs: B + 60_000, value: 10 },
        { labels: A, tsMs: B + 170_000, value: -2 },
      ]);
      const q = (resolution: '1m' | '5m', startMs = B, endMs = B + 10 * MIN): RangeQuery => ({ selector: scoped({ name: 'aiops_ds_req', matchers: [] }), startMs, endMs, resolution });
      await readBack({ ...q('1m'), resolution: 'raw' }, 1);
      const m1 = await reader.query(q('1m'));
      const rows = (p: SeriesPoints | undefined) => p!.timestamps.map((ts, i) => [ts, p!.values[i], p!.min![i], p!.max![i], p!.count![i], p!.last![i]]);
      assert.deepEqual(rows(m1[0]), [
        [B, 2, 1, 3, 3, 2],
        [B + MIN, 10, 10, 10, 1, 10],
        [B + 2 * MIN, 1, -2, 4, 2, -2],
        [B + 5 * MIN, 7, 7, 7, 1, 7],
      ]);
      assert.deepEqual(rows((await reader.query(q('5m')))[0]), [
        [B, 3, -2, 10, 6, -2],
        [B + 5 * MIN, 7, 7, 7, 1, 7],
      ]);
      for (const [res, s, e] of [['1m', B, B + 10 * MIN], ['5m', B, B + 10 * MIN], ['1m', B + 1, B + 2 * MIN + 1], ['5m', B - 1, B + 5 * MIN]] as const) {
        assertSamePoints(await reader.query(q(res, s, e)), await reference.query(q(res, s, e)));
      }
      assert.deepEqual((await reader.query(q('1m', B + 1, B + 2 * MIN + 1)))[0]?.timestamps, [B + MIN, B + 2 * MIN], 'buckets selected by their start');
    });

    it('splits a range of more than 10,000 buckets and answers it', async (t) => {
      if (!peerReady(t, getPeer())) return;
      const sel = scoped({ name: 'aiops_ds_req', matchers: [] });
      const out = await reader.query({ selector: sel, startMs: B + 10 * MIN - 40 * 24 * 60 * MIN, endMs: B + 10 * MIN, resolution: '5m' });
      assert.ok(out.length <= 1);
    });

    it('maps refusals: a bad regex is INVALID_QUERY, limits are QUERY_LIMIT', async (t) => {
      if (!peerReady(t, getPeer())) return;
      await assert.rejects(reader.series({ matchers: [{ name: 'a', op: '=~', value: '(' }] }, 10), (e) => e instanceof StorageError && e.code === 'INVALID_QUERY' && /HTTP 4\d\d/.test(e.message));
      await assert.rejects(reader.query({ selector: { matchers: [{ name: 'a', op: '=~', value: '(' }] }, startMs: B, endMs: B + MIN }), (e) => e instanceof StorageError && e.code === 'INVALID_QUERY');
      const sel = scoped({ name: 'aiops_rt_cpu', matchers: [] });
      await readBack({ selector: sel, startMs: B, endMs: B + MIN, resolution: 'raw' }, 2);
      await assert.rejects(reader.query({ selector: sel, startMs: B, endMs: B + MIN, resolution: 'raw', maxSeries: 1 }), (e) => e instanceof StorageError && e.code === 'QUERY_LIMIT' && !e.retryable);
    });

    if (opts.refusesOutOfOrder) {
      it('a batch refused with 400 (out of order, duplicate timestamp) is counted and dropped, not retried', async (t) => {
        if (!peerReady(t, getPeer())) return;
        const { e, settings } = await writeOneByOne([[B + 2 * MIN, 1], [B + MIN, 2], [B + 2 * MIN, 3], [B + 3 * MIN, 4]]);
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_rejected_total', { status: '400' }), 2);
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_requests_total', { outcome: 'rejected' }), 2);
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_retries_total'), 0, 'never retried');
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), 2);
        const got = await reader.query({ selector: scoped({ name: 'aiops_ooo', matchers: [] }), startMs: B, endMs: B + 5 * MIN, resolution: 'raw' });
        assert.deepEqual(got[0]?.timestamps, [B + 2 * MIN, B + 3 * MIN]);
        assert.deepEqual(got[0]?.values, [1, 4], 'the refused samples were not stored');
        await e.shutdown();
        const line = settings.logs.records().find((r) => String(r['reason']).includes('HTTP 400'));
        assert.equal(line?.['samples'], 2, 'logged once with the count');
        assert.match(String(line?.['example']), /out of order|duplicate/);
      });
    } else {
      it('accepts samples older than the series newest (no out-of-order refusal on this TSDB)', async (t) => {
        if (!peerReady(t, getPeer())) return;
        const { settings } = await writeOneByOne([[B + 2 * MIN, 1], [B + MIN, 2]]);
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), 2);
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_requests_total', { outcome: 'rejected' }), 0);
        const got = await readBack({ selector: scoped({ name: 'aiops_ooo', matchers: [] }), startMs: B, endMs: B + 5 * MIN, resolution: 'raw' }, 1);
        assert.deepEqual(got[0]?.timestamps, [B + MIN, B + 2 * MIN]);
      });
    }

    if (opts.restart) {
      const restart = opts.restart;
      it('keeps retrying while the server is down and delivers everything once it is back', async (t) => {
        if (!peerReady(t, getPeer())) return;
        const L = { __name__: 'aiops_restart', ...R };
        const settings = testSettings();
        const e = await exporter({ batch: { max_samples: 50, max_delay: '10ms' }, retry: { initial: '100ms', max_backoff: '1s' } }, settings);
        await e.consumeSamples(Array.from({ length: 50 }, (_, i) => ({ labels: L, tsMs: B + 7 * MIN + i * 100, value: i })));
        await flushed(e);
        restart.stop();
        try {
          await e.consumeSamples(Array.from({ length: 150 }, (_, i) => ({ labels: L, tsMs: B + 8 * MIN + i * 100, value: 50 + i })));
          await waitFor(async () => (await metricValue(settings, 'aiops_central_tsdb_write_retries_total')) >= 3, 60_000, 'retries while the server is down');
          await assert.rejects(reader.series(scoped({ name: 'aiops_restart', matchers: [] }), 1), (err) => err instanceof StorageError && err.code === 'IO' && err.retryable, 'the adapter reports the outage as a retryable IO error');
        } finally {
          restart.start();
        }
        await flushed(e, 120_000);
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_sent_total'), 200);
        assert.equal(await metricValue(settings, 'aiops_central_tsdb_write_samples_dropped_total'), 0);
        const q: RangeQuery = { selector: scoped({ name: 'aiops_restart', matchers: [] }), startMs: B + 7 * MIN, endMs: B + 9 * MIN, resolution: 'raw' };
        let got: SeriesPoints[] = [];
        await waitFor(async () => {
          got = await reader.query(q).catch(() => []);
          return (got[0]?.timestamps.length ?? 0) >= 200;
        }, VISIBLE_WITHIN_MS, 'all 200 samples readable after the restart').catch(() => undefined);
        assert.deepEqual(got[0]?.values, Array.from({ length: 200 }, (_, i) => i));
        assert.deepEqual(got[0]?.timestamps, [...Array.from({ length: 50 }, (_, i) => B + 7 * MIN + i * 100), ...Array.from({ length: 150 }, (_, i) => B + 8 * MIN + i * 100)]);
        const logs = settings.logs.records().map((r) => r['msg']);
        assert.ok(logs.includes('tsdb remote write failing; retrying with backoff'));
        assert.ok(logs.includes('tsdb remote write recovered'));
      });
    }
  });
}
