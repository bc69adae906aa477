import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeatureFlags } from '../../../../shared-schemas/src/index.js';
import { ManualClock, RecordingMetrics, metricValue, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { MetricSample } from '../../pdata.js';
import { Normalizer, counterRate, nameWithUnit, normalizeConfigSchema, sanitizeLabelName, sanitizeMetricName, unitRule } from './index.js';

const T0 = Date.UTC(2026, 0, 1);
const g = (name: string, ts: number, value: number, labels: Record<string, string> = {}, extra: Partial<MetricSample> = {}): MetricSample => ({
  name,
  labels,
  ts,
  value,
  kind: 'gauge',
  ...extra,
});

function setup(cfg: Record<string, unknown> = {}) {
  const clock = new ManualClock(T0 + 60_000);
  const settings = testSettings('normalize', { clock });
  const sink = new RecordingMetrics();
  const n = new Normalizer(settings, normalizeConfigSchema.parse(cfg), sink);
  return { clock, settings, sink, n };
}

describe('normalize rules', () => {
  it('sanitizes metric and label names', () => {
    assert.equal(sanitizeMetricName('http.server.duration'), 'http_server_duration');
    assert.equal(sanitizeMetricName('9lives'), '_9lives');
    assert.equal(sanitizeMetricName('ok:name_1'), 'ok:name_1');
    assert.equal(sanitizeLabelName('service.name'), 'service_name');
    assert.equal(sanitizeLabelName('1a'), '_1a');
    assert.equal(sanitizeLabelName('ünïcode'), '_n_code');
  });

  it('maps units to base units and suffixes', () => {
    assert.deepEqual(unitRule('ms'), { factor: 1e-3, suffix: '_seconds' });
    assert.equal(unitRule('{requests}'), undefined);
    assert.equal(unitRule('furlongs'), undefined);
    assert.equal(nameWithUnit('http_server_duration', unitRule('ms')), 'http_server_duration_seconds');
    assert.equal(nameWithUnit('rpc_latency_seconds', unitRule('s')), 'rpc_latency_seconds');
    assert.equal(nameWithUnit('net_io_total', unitRule('By')), 'net_io_bytes_total');
    assert.equal(nameWithUnit('cpu_utilization', unitRule('1')), 'cpu_utilization');
  });

  it('counter rates: first point primes, resets restart from zero, 32-bit wraps are unwrapped', () => {
    assert.equal(counterRate(undefined, 5, 1000).rate, undefined);
    assert.deepEqual(counterRate({ prevValue: 100, prevTs: 0 }, 160, 10_000), { rate: 6, reset: false, wrapped: false });
    assert.deepEqual(counterRate({ prevValue: 1000, prevTs: 0 }, 40, 10_000), { rate: 4, reset: true, wrapped: false });
    const wrap = counterRate({ prevValue: 4294967000, prevTs: 0 }, 704, 1000);
    assert.deepEqual(wrap, { rate: 1000, reset: false, wrapped: true });
    assert.equal(counterRate({ prevValue: 1, prevTs: 5000 }, 2, 5000).rate, undefined, 'no rate over zero time');
  });
});

describe('normalize processor', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => setup().n);
  });

  it('drops non-finite, out-of-order, duplicate, future and too-old samples, counted by reason', async () => {
    const { settings, sink, n } = setup({ max_future: '1m', max_age: '10m' });
    await n.consumeMetrics({
      source: 't',
      samples: [
        g('m', T0, 1),
        g('m', T0 + 1000, NaN),
        g('m', T0 + 1000, Infinity),
        g('m', T0 + 2000, 2),
        g('m', T0 + 1500, 3),
        g('m', T0 + 2000, 4),
        g('m', T0 + 60_000 + 120_000, 5),
        g('m', T0 + 60_000 - 11 * 60_000, 6),
      ],
    });
    assert.deepEqual(sink.samples.map((s) => s.value), [1, 2]);
    const c = (reason: string) => metricValue(settings, 'aiops_agent_normalize_dropped_samples_total', { reason });
    assert.equal(await c('non_finite'), 2);
    assert.equal(await c('out_of_order'), 1);
    assert.equal(await c('duplicate'), 1);
    assert.equal(await c('future'), 1);
    assert.equal(await c('too_old'), 1);
  });

  it('turns counters into per-second rates, flags resets, converts units and names', async () => {
    const { sink, n } = setup();
    const c = (ts: number, v: number): MetricSample => ({ name: 'net.rx', labels: { dev: 'eth0' }, ts, value: v, kind: 'counter', unit: 'By' });
    await n.consumeMetrics({ source: 't', samples: [c(T0, 1000), c(T0 + 10_000, 2000), c(T0 + 20_000, 500)] });
    const out = sink.samples;
    assert.equal(out.length, 2);
    assert.equal(out[0]!.name, 'net_rx_bytes_total:rate');
    assert.equal(out[0]!.value, 100);
    assert.equal(out[0]!.kind, 'gauge');
    assert.equal(out[1]!.value, 50);
    assert.equal(out[1]!.featureFlags, FeatureFlags.COUNTER_RESET);
    await n.consumeMetrics({ source: 't', samples: [g('lat', T0, 250, {}, { unit: 'ms' })] });
    assert.equal(sink.samples[2]!.name, 'lat_seconds');
    assert.equal(sink.samples[2]!.value, 0.25);
    assert.equal(sink.samples[2]!.key, 'lat_seconds{}');
  });

  it('sanitizes labels: invalid names, reserved names, too many labels, huge values', async () => {
    const { settings, sink, n } = setup({ max_labels: 3, max_label_value_length: 16 });
    const labels: Record<string, string> = { 'a.b': '1', __reserved: 'x', z: 'y'.repeat(5_000_000), c: '', d: '2', e: '3' };
    await n.consumeMetrics({ source: 't', samples: [g('m', T0, 1, labels)] });
    const out = sink.samples[0]!;
    assert.deepEqual(Object.keys(out.labels).sort(), ['a_b', 'd', 'e']);
    assert.equal(await metricValue(settings, 'aiops_agent_normalize_fixed_total', { what: 'label_over_limit' }), 1);
    const { sink: s2, n: n2 } = setup({ max_label_value_length: 16 });
    await n2.consumeMetrics({ source: 't', samples: [g('m', T0, 1, { z: 'y'.repeat(5_000_000) })] });
    assert.equal(s2.samples[0]!.labels.z, 'y'.repeat(16), 'a megabyte label value is truncated');
  });

  it('a burst of one million new series stays within the series limits, counted', async () => {
    const { settings, sink, n } = setup({ max_series: 5000, max_series_per_metric: 3000 });
    for (let b = 0; b < 100; b++) {
      const samples: MetricSample[] = [];
      for (let i = 0; i < 10_000; i++) samples.push(g(i % 2 ? 'burst_a' : 'burst_b', T0, 1, { id: String(b * 10_000 + i) }));
      await n.consumeMetrics({ source: 't', samples });
    }
    assert.equal(n.trackedSeries, 5000);
    assert.equal(sink.samples.length, 5000);
    const byMetric = (name: string) => sink.samples.filter((s) => s.name === name).length;
    assert.ok(byMetric('burst_a') <= 3000 && byMetric('burst_b') <= 3000);
    const limited =
      (await metricValue(settings, 'aiops_agent_normalize_dropped_samples_total', { reason: 'series_limit' })) +
      (await metricValue(settings, 'aiops_agent_normalize_dropped_samples_total', { reason: 'metric_series_limit' }));
    assert.equal(limited, 1_000_000 - 5000);
  });

  it('forgets stale series, which frees their slots', async () => {
    const { clock, sink, n } = setup({ max_series: 1, stale_after: '5m' });
    await n.consumeMetrics({ source: 't', samples: [g('a', T0, 1)] });
    await n.consumeMetrics({ source: 't', samples: [g('b', T0, 1)] });
    assert.equal(sink.samples.length, 1);
    clock.advance(6 * 60_000);
    assert.equal(n.evictStale(), 1);
    await n.consumeMetrics({ source: 't', samples: [g('b', T0 + 6 * 60_000, 1)] });
    assert.equal(sink.samples.length, 2);
  });

  it('refuses hostile names without crashing', async () => {
    const { settings, sink, n } = setup();
    await n.consumeMetrics({ source: 't', samples: [g('', T0, 1), g('x'.repeat(100_000), T0, 1), g('ok', T0, 1)] });
    assert.equal(sink.samples.length, 1);
    assert.equal(await metricValue(settings, 'aiops_agent_normalize_dropped_samples_total', { reason: 'bad_name' }), 2);
  });
});
