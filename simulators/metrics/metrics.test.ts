import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOST_METRICS, SERVICE_METRICS } from '../model/index.js';
import type { SimMetrics } from '../model/index.js';
import { buildTopologyGraph, generateTopology } from '../topology/index.js';
import { MetricsError, createMetricModel, generateMetrics, renderMetrics, seasonalFactor, simulateCore } from './index.js';
import type { Effect, MetricModel } from './index.js';

const START = Date.UTC(2024, 2, 4); // a Monday
const HOUR = 3_600_000;
const ob = generateTopology({ preset: 'online-boutique' }, 7);

function series(m: SimMetrics, entity: string, metric: string): Float64Array {
  const s = m.series.find((x) => x.entity === entity && x.metric === metric);
  assert.ok(s, `series ${entity}/${metric}`);
  return s.values;
}

function idx(model: MetricModel, name: string): number {
  const i = model.graph.workloads.findIndex((n) => n.name === name);
  assert.ok(i >= 0, `no workload ${name}`);
  return i;
}

/** First index where two arrays differ (-1 when equal); cheap even when they differ. */
function firstDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function mean(a: Float64Array, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s / (to - from);
}

describe('metric generator', () => {
  it('produces every service and host metric on the grid, in range', () => {
    const model = createMetricModel(ob, { startMs: START, stepMs: 10_000, durationMs: 6 * HOUR }, 7);
    const m = generateMetrics(model);
    const g = buildTopologyGraph(ob);
    assert.equal(m.startMs, START);
    assert.equal(m.stepMs, 10_000);
    assert.equal(m.length, 2160);
    assert.equal(m.series.length, g.workloads.length * SERVICE_METRICS.length + g.hosts.length * HOST_METRICS.length);
    for (const s of m.series) {
      assert.equal(s.values.length, 2160);
      for (const v of s.values) assert.ok(Number.isFinite(v) && v >= 0, `${s.entity}/${s.metric} = ${v}`);
      if (['error_rate', 'gc_pause', 'saturation'].includes(s.metric) || (s.nodeId.startsWith('host:') && ['cpu', 'memory', 'disk'].includes(s.metric))) {
        for (const v of s.values) assert.ok(v <= 1, `${s.entity}/${s.metric} = ${v} > 1`);
      }
    }
    // Healthy baseline: low error rates, latencies ordered p50 <= p95 <= p99 (before noise).
    const core = simulateCore(model);
    for (const w of core.workloads) {
      assert.ok(mean(w.err) < 0.05, `baseline error rate ${mean(w.err)}`);
      for (let t = 0; t < core.length; t++) assert.ok(w.p50[t]! <= w.p95[t]! && w.p95[t]! <= w.p99[t]!, `quantiles ordered at ${t}`);
    }
  });

  it('is byte-identical for a seed and different across seeds', () => {
    const opts = { startMs: START, stepMs: 10_000, durationMs: 2 * HOUR };
    const a = generateMetrics(createMetricModel(ob, opts, 3));
    const b = generateMetrics(createMetricModel(ob, opts, 3));
    const c = generateMetrics(createMetricModel(ob, opts, 4));
    assert.equal(a.series.length, b.series.length);
    a.series.forEach((s, k) => {
      assert.equal(s.nodeId, b.series[k]!.nodeId);
      assert.equal(s.metric, b.series[k]!.metric);
      assert.equal(firstDiff(s.values, b.series[k]!.values), -1, `${s.entity}/${s.metric}`);
    });
    assert.notEqual(firstDiff(a.series[0]!.values, c.series[0]!.values), -1);
  });

  it('follows daily and weekly seasonality at the entry point', () => {
    const model = createMetricModel(ob, { startMs: START, stepMs: 300_000, durationMs: 7 * 24 * HOUR, benign: { deploysPerDay: 0, levelShiftsPerDay: 0 } }, 7);
    const rate = series(generateMetrics(model), 'frontend-external', 'request_rate');
    const perDay = 288;
    const peakStep = Math.round((model.season.peakHourUtc * 60) / 5);
    const troughStep = (peakStep + 144) % perDay;
    // Average over the week's days at the peak hour versus 12 hours later.
    let peak = 0;
    let trough = 0;
    for (let d = 0; d < 7; d++) {
      peak += mean(rate, d * perDay + Math.max(0, peakStep - 3), d * perDay + Math.min(perDay, peakStep + 3));
      trough += mean(rate, d * perDay + Math.max(0, troughStep - 3), d * perDay + Math.min(perDay, troughStep + 3));
    }
    assert.ok(peak / trough > 1.4, `daily peak/trough ${peak / trough}`);
    // Midweek busier than the weekend (Wednesday vs Sunday, same hours).
    assert.ok(mean(rate, 2 * perDay, 3 * perDay) > mean(rate, 6 * perDay, 7 * perDay), 'Wednesday busier than Sunday');
    assert.ok(seasonalFactor(model.season, START + 2.5 * 24 * HOUR, START) > seasonalFactor(model.season, START + 6.5 * 24 * HOUR, START), 'weekly factor');
  });

  it('flows request rate from the entry to callees (x calls_per_request) with one step per hop', () => {
    const model = createMetricModel(ob, { startMs: START, stepMs: 10_000, durationMs: HOUR, noise: 0, benign: { deploysPerDay: 0, levelShiftsPerDay: 0 } }, 7);
    const core = simulateCore(model);
    const lb = core.workloads[idx(model, 'frontend-external')]!;
    const fe = core.workloads[idx(model, 'frontend')]!;
    const rec = core.workloads[idx(model, 'recommendation')]!;
    const pc = core.workloads[idx(model, 'productcatalog')]!;
    const co = core.workloads[idx(model, 'checkout')]!;
    for (let t = 5; t < core.length; t++) {
      assert.ok(Math.abs(fe.rate[t]! - lb.rate[t - 1]! * 1) < 1e-9, `frontend rate at ${t}`);
      // productcatalog: frontend x2.5 + checkout x2 + recommendation x1, each one hop later.
      const want = fe.rate[t - 1]! * 2.5 + co.rate[t - 1]! * 2 + rec.rate[t - 1]! * 1;
      assert.ok(Math.abs(pc.rate[t]! - want) < 1e-9 * want, `productcatalog rate at ${t}: ${pc.rate[t]} vs ${want}`);
    }
  });

  it('adds callee latency into callers a hop later and attenuates errors upward', () => {
    const opts = { startMs: START, stepMs: 10_000, durationMs: HOUR, noise: 0, benign: { deploysPerDay: 0, levelShiftsPerDay: 0 } };
    const model = createMetricModel(ob, opts, 7);
    const cur = idx(model, 'currency');
    const at = 100;
    const effects: Effect[] = [
      { target: 'workload', index: cur, channel: 'lat_add', fromStep: at, toStep: 200, value: 0.2 },
      { target: 'workload', index: cur, channel: 'err_add', fromStep: at, toStep: 200, value: 0.3 },
    ];
    const base = simulateCore(model);
    const run = simulateCore(model, effects);
    const fe = idx(model, 'frontend');
    const co = idx(model, 'checkout');
    // currency changes at `at`; its callers one step later, never earlier.
    assert.equal(base.workloads[cur]!.p50[at - 1], run.workloads[cur]!.p50[at - 1]);
    assert.ok(Math.abs(run.workloads[cur]!.p50[at]! - base.workloads[cur]!.p50[at]! - 0.2) < 1e-9, 'root p50 + 0.2 s at onset');
    for (const caller of [fe, co]) {
      assert.equal(base.workloads[caller]!.p50[at], run.workloads[caller]!.p50[at]);
      assert.equal(base.workloads[caller]!.err[at], run.workloads[caller]!.err[at]);
      assert.ok(run.workloads[caller]!.p50[at + 1]! > base.workloads[caller]!.p50[at + 1]!, `caller ${caller} slower one hop later`);
    }
    // checkout calls currency 3x per request: at least 3 x 0.2 s more at p50.
    assert.ok(run.workloads[co]!.p50[at + 1]! - base.workloads[co]!.p50[at + 1]! >= 0.6 - 1e-9, 'checkout +3 x 0.2 s');
    // errors reach callers attenuated by criticality, and less again further up.
    const dErr = (i: number, t: number): number => run.workloads[i]!.err[t]! - base.workloads[i]!.err[t]!;
    const lb = idx(model, 'frontend-external');
    assert.ok(dErr(cur, at) > 0.29, `root errors +${dErr(cur, at)}`);
    // frontend calls currency 1.8x per request with criticality 0.8: more than one call's worth
    // of errors, less than if every failed call failed the request.
    assert.ok(dErr(fe, at + 1) > dErr(cur, at) * 0.8 && dErr(fe, at + 1) < 1 - (1 - dErr(cur, at)) ** 1.8, `frontend errors +${dErr(fe, at + 1)}`);
    assert.ok(dErr(lb, at + 2) > 0 && dErr(lb, at + 2) <= dErr(fe, at + 1) + 1e-12, `load balancer errors +${dErr(lb, at + 2)}`);
    // Nothing outside the callers' chain moves.
    for (const other of ['ad', 'cart', 'redis-cart', 'productcatalog', 'payment', 'email']) {
      assert.equal(firstDiff(run.workloads[idx(model, other)]!.p95, base.workloads[idx(model, other)]!.p95), -1, other);
    }
  });

  it('honours hopLagSteps: zero lag propagates within the step, three lags three steps', () => {
    for (const lag of [0, 3]) {
      const model = createMetricModel(ob, { startMs: START, stepMs: 10_000, durationMs: HOUR, hopLagSteps: lag, benign: { deploysPerDay: 0, levelShiftsPerDay: 0 } }, 7);
      const cur = idx(model, 'currency');
      const fe = idx(model, 'frontend');
      const base = simulateCore(model);
      const run = simulateCore(model, [{ target: 'workload', index: cur, channel: 'lat_add', fromStep: 50, toStep: 100, value: 0.1 }]);
      const first = run.workloads[fe]!.p95.findIndex((v, t) => v !== base.workloads[fe]!.p95[t]);
      assert.equal(first, 50 + lag);
    }
  });

  it('makes CPU and saturation follow load', () => {
    const model = createMetricModel(ob, { startMs: START, stepMs: 60_000, durationMs: 24 * HOUR, benign: { deploysPerDay: 0, levelShiftsPerDay: 0 } }, 7);
    const m = generateMetrics(model);
    const rate = series(m, 'productcatalog', 'request_rate');
    for (const metric of ['cpu', 'saturation', 'network_rx']) {
      const other = metric === 'network_rx' ? series(m, m.series.find((s) => s.entity !== 'x' && s.nodeId.startsWith('host:') && s.metric === 'network_rx')!.entity, 'network_rx') : series(m, 'productcatalog', metric);
      const ma = mean(rate);
      const mb = mean(other);
      let cov = 0;
      let va = 0;
      let vb = 0;
      for (let t = 0; t < rate.length; t++) {
        cov += (rate[t]! - ma) * (other[t]! - mb);
        va += (rate[t]! - ma) ** 2;
        vb += (other[t]! - mb) ** 2;
      }
      assert.ok(cov / Math.sqrt(va * vb) > 0.6, `${metric} correlates with load: ${cov / Math.sqrt(va * vb)}`);
    }
  });

  it('records benign deploys and level shifts that show in the metrics', () => {
    const model = createMetricModel(ob, { startMs: START, stepMs: 10_000, durationMs: 24 * HOUR, noise: 0, benign: { deploysPerDay: 6, levelShiftsPerDay: 3 } }, 22);
    assert.ok(model.benign.some((b) => b.kind === 'deploy'), 'a deploy');
    assert.ok(model.benign.some((b) => b.kind === 'level_shift' && b.metric !== undefined), 'a level shift');
    for (let k = 1; k < model.benign.length; k++) assert.ok(model.benign[k]!.atMs >= model.benign[k - 1]!.atMs, 'sorted by time');
    assert.equal(model.changes.length, model.benign.filter((b) => b.kind === 'deploy').length);
    const m = generateMetrics(model);
    const d = model.benign.find((b) => b.kind === 'deploy')!;
    const step = (d.atMs - START) / 10_000;
    const mem = series(m, d.entity, 'memory');
    assert.ok(mem[step]! < mem[step - 1]! * 0.9, `a deploy restarts ${d.entity}: memory dips (${mem[step - 1]} -> ${mem[step]})`);
  });

  it('renders noise multiplicatively: zero noise gives the core values', () => {
    const model = createMetricModel(ob, { startMs: START, stepMs: 10_000, durationMs: HOUR, noise: 0 }, 7);
    const core = simulateCore(model);
    const m = renderMetrics(model, core);
    assert.equal(firstDiff(series(m, 'cart', 'latency_p95'), core.workloads[idx(model, 'cart')]!.p95), -1);
  });

  it('handles a 60-service random topology for a day at 10 s', (t) => {
    const topo = generateTopology({ random: { services: 60, fanOut: 3, queues: 1 } }, 2);
    const began = performance.now();
    const model = createMetricModel(topo, { startMs: START, stepMs: 10_000, durationMs: 24 * HOUR }, 2);
    const m = generateMetrics(model);
    t.diagnostic(`${model.graph.workloads.length} workloads, ${m.series.length} series x ${m.length} steps in ${(performance.now() - began).toFixed(0)} ms`);
    assert.equal(m.length, 8640);
  });

  it('rejects bad options naming the field and the value', () => {
    assert.throws(() => createMetricModel(ob, { startMs: START, stepMs: 10_000, durationMs: 15_000 }, 1), (e: unknown) => e instanceof MetricsError && e.code === 'BAD_OPTION' && /durationMs must be a multiple of stepMs 10000 \(got 15000\)/.test(e.message));
    assert.throws(() => createMetricModel(ob, { startMs: START, stepMs: 10, durationMs: 1000 }, 1), /stepMs .*\(got 10\)/);
    assert.throws(() => createMetricModel(ob, { startMs: START, stepMs: 1000, durationMs: 30 * 24 * HOUR }, 1), (e: unknown) => e instanceof MetricsError && e.code === 'TOO_LARGE');
    assert.throws(() => createMetricModel(ob, { startMs: START, stepMs: 1000, durationMs: 10_000 }, -1), /seed must be an integer/);
  });
});
