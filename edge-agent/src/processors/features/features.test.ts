import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeatureFlags } from '../../../../shared-schemas/src/index.js';
import { FLAG_ANOMALY, FLAG_WARMUP } from '../../../../wasm-detectors/src/index.js';
import { ManualClock, RecordingWindows, metricValue, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { MetricSample } from '../../pdata.js';
import { WindowAggregator, quantileSorted, seriesKey } from './index.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const sample = (name: string, ts: number, value: number, extra: Partial<MetricSample> = {}): MetricSample => ({
  name,
  labels: { host: 'a' },
  ts,
  value,
  kind: 'gauge',
  ...extra,
});

function setup(maxSeries = 100, precisionBits?: number) {
  const clock = new ManualClock(T0);
  const settings = testSettings('features', { clock });
  const sink = new RecordingWindows();
  const agg = new WindowAggregator(settings, { windowMs: 10_000, graceMs: 2_000, maxSeries, ...(precisionBits === undefined ? {} : { precisionBits }) }, sink);
  return { clock, settings, sink, agg };
}

describe('window aggregator', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => setup().agg);
  });

  it('computes count, min, max, mean, std, last, p50, p95 per series and aligned window', async () => {
    const { clock, sink, agg } = setup();
    await agg.start();
    const vals = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10];
    await agg.consumeMetrics({ source: 't', samples: vals.map((v, i) => sample('cpu', T0 + i * 1000, v)) });
    await agg.consumeMetrics({ source: 't', samples: [sample('cpu', T0 + 10_000, 100)] });
    clock.advance(11_000); // window [T0, T0+10s) closes at +12 s
    assert.equal(sink.windows.length, 0, 'not before the grace period');
    clock.advance(1_500);
    await new Promise((r) => setImmediate(r));
    assert.equal(sink.windows.length, 1);
    const w = sink.windows[0]!;
    assert.equal(w.windowStartMs, T0);
    assert.equal(w.windowEndMs, T0 + 10_000);
    assert.equal(w.series.length, 1);
    const r = w.series[0]!.row;
    assert.equal(r.count, 10);
    assert.equal(r.min, 1);
    assert.equal(r.max, 10);
    assert.equal(r.mean, 5.5);
    assert.ok(Math.abs(r.std - Math.sqrt(8.25)) < 1e-12);
    assert.equal(r.last, 10);
    assert.equal(r.p50, 5.5);
    assert.ok(Math.abs(r.p95 - 9.55) < 1e-12);
    assert.ok(Number.isNaN(r.tier1MaxScore), 'no Tier-1 ran');
    assert.deepEqual(w.series[0]!.labels, { __name__: 'cpu', host: 'a' });
    await agg.shutdown();
    assert.equal(sink.windows.length, 2, 'shutdown flushes the open window');
    assert.equal(sink.windows[1]!.series[0]!.row.count, 1);
  });

  it('carries the Tier-1 maximum score, flags and the band at window end', async () => {
    const { sink, agg } = setup();
    await agg.consumeMetrics({
      source: 't',
      samples: [
        sample('x', T0, 1, { tier1: { score: 0.1, flags: FLAG_WARMUP, lower: NaN, upper: NaN } }),
        sample('x', T0 + 1000, 50, { tier1: { score: 0.9, flags: FLAG_ANOMALY, lower: 0, upper: 2 } }),
        sample('x', T0 + 2000, 1, { tier1: { score: 0.2, flags: 0, lower: 0.5, upper: 1.5 }, featureFlags: FeatureFlags.COUNTER_RESET }),
      ],
    });
    await agg.shutdown();
    const r = sink.windows[0]!.series[0]!.row;
    assert.equal(r.tier1MaxScore, 0.9);
    assert.equal(r.flags, FeatureFlags.ANOMALY | FeatureFlags.BAND_BREACH | FeatureFlags.COUNTER_RESET);
    assert.equal(r.bandLower, 0.5);
    assert.equal(r.bandUpper, 1.5);
  });

  it('rounds the derived statistics to the configured precision and keeps min, max and last exact', async () => {
    const { sink, agg } = setup(100, 12);
    const values = [71.712, 70.535, 72.846, 71.1];
    await agg.consumeMetrics({
      source: 't',
      samples: values.map((v, i) => sample('x', T0 + i * 1000, v, { tier1: { score: 0.123456, flags: 0, lower: 53.5057487, upper: 83.2317504 } })),
    });
    await agg.shutdown();
    const r = sink.windows[0]!.series[0]!.row;
    assert.deepEqual([r.min, r.max, r.last], [70.535, 72.846, 71.1]);
    const mean = values.reduce((a, b) => a + b) / values.length;
    for (const [got, exact] of [[r.mean, mean], [r.tier1MaxScore, 0.123456], [r.bandLower, 53.5057487], [r.bandUpper, 83.2317504]] as const) {
      assert.ok(Math.abs(got - exact) <= Math.abs(exact) * 2 ** -12, `${got} vs ${exact}`);
      // 12 significant bits: the low 12 bits of the float32 mantissa are zero
      assert.equal(new Uint32Array(new Float32Array([got]).buffer)[0]! & 0xfff, 0);
    }
    assert.throws(() => setup(100, 30), /8\.\.24/);
  });

  it('drops late samples and series beyond the limit, counted', async () => {
    const { clock, settings, sink, agg } = setup(2);
    await agg.start();
    await agg.consumeMetrics({ source: 't', samples: [sample('a', T0, 1), sample('b', T0, 1), sample('c', T0, 1)] });
    assert.equal(await metricValue(settings, 'aiops_agent_features_dropped_samples_total', { reason: 'series_limit' }), 1);
    clock.advance(13_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(sink.windows.length, 1);
    await agg.consumeMetrics({ source: 't', samples: [sample('a', T0 + 5000, 1), sample('c', T0 + 15_000, Infinity)] });
    assert.equal(await metricValue(settings, 'aiops_agent_features_dropped_samples_total', { reason: 'late' }), 1);
    assert.equal(await metricValue(settings, 'aiops_agent_features_dropped_samples_total', { reason: 'non_finite' }), 1);
    await agg.shutdown();
  });

  it('an exporter that throws does not stop the aggregator', async () => {
    const clock = new ManualClock(T0);
    const settings = testSettings('features', { clock });
    let calls = 0;
    const agg = new WindowAggregator(settings, { windowMs: 10_000, graceMs: 0, maxSeries: 10 }, {
      consumeWindow: async () => {
        calls++;
        throw new Error('down');
      },
    });
    await agg.consumeMetrics({ source: 't', samples: [sample('a', T0, 1)] });
    await agg.shutdown();
    assert.equal(calls, 1);
    assert.equal(await metricValue(settings, 'aiops_agent_features_export_errors_total'), 1);
  });

  it('keys and quantiles', () => {
    assert.equal(seriesKey('m', { b: '2', a: '1' }), 'm{a="1",b="2"}');
    assert.equal(seriesKey('m', { a: 'x"y' }), 'm{a="x\\"y"}');
    assert.ok(Number.isNaN(quantileSorted([], 0.5)));
    assert.equal(quantileSorted([3], 0.95), 3);
  });

  it('closes a backlog once and in order while a slow exporter holds the previous pass', async () => {
    const clock = new ManualClock(T0 + 3_600_000);
    const settings = testSettings('features', { clock });
    const got: number[] = [];
    let release: () => void = () => {};
    const slow = {
      consumeWindow: async (w: { windowStartMs: number }) => {
        got.push(w.windowStartMs);
        if (got.length === 1) await new Promise<void>((r) => (release = r));
      },
    };
    const agg = new WindowAggregator(settings, { windowMs: 10_000, graceMs: 2_000, maxSeries: 10 }, slow as never);
    await agg.start();
    // An hour of history at once (a backfill, or a buffer replay after an outage): 360 windows due.
    await agg.consumeMetrics({ source: 't', samples: Array.from({ length: 360 }, (_, i) => sample('cpu', T0 + i * 10_000, i)) });
    clock.advance(1000); // first pass starts and blocks in the exporter
    clock.advance(1000); // later ticks arrive while it waits
    clock.advance(1000);
    release();
    for (let i = 0; i < 50 && got.length < 360; i++) await new Promise((r) => setImmediate(r));
    assert.equal(got.length, 360, 'every window exactly once');
    assert.deepEqual(got, [...got].sort((a, b) => a - b), 'in window order');
    assert.equal(new Set(got).size, 360);
    await agg.shutdown();
  });
});
