import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SimMetrics } from '../model/index.js';
import { AlertStormError } from './errors.js';
import { evaluateRules } from './evaluate.js';
import { parseAlertRules } from './rules.js';
import { MIN, oneSeries, STEP, T0, TOPOLOGY } from './testdata/fixtures.js';

function run(expr: string, forText: string, metrics: SimMetrics, intervalMs = STEP, extra = '') {
  const rules = parseAlertRules(`groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '${expr}'\n        for: ${forText}\n${extra}`);
  return evaluateRules(rules, metrics, TOPOLOGY, intervalMs);
}

/** Steps as seconds after T0 for readable assertions. */
const s = (ms: number | undefined) => (ms === undefined ? undefined : (ms - T0) / 1000);

describe('alert rule evaluation (Prometheus for-semantics)', () => {
  it('goes pending, fires once the condition held for `for`, resolves when it stops holding', () => {
    //                                 0  30 60 90 120 150 180 210 240 270
    const m = oneSeries('latency_p95', [0, 0, 2, 2, 2, 2, 2, 2, 0, 0]);
    const r = run('latency_p95 > 1', '2m', m);
    assert.equal(r.episodes.length, 1);
    const e = r.episodes[0]!;
    assert.equal(s(e.activeAtMs), 60, 'pending from the first evaluation that returns the series');
    assert.equal(s(e.firedAtMs), 180, 'fires when t - activeAt >= for (60 + 120)');
    assert.equal(s(e.resolvedAtMs), 240, 'resolved at the first evaluation without the series');
    assert.equal(e.value, 2);
    assert.equal(r.pendingOnly, 0);
    assert.equal(r.evaluations, 10);
  });

  it('drops an alert that stops holding while pending, and restarts the clock', () => {
    const m = oneSeries('latency_p95', [2, 2, 2, 0, 2, 2, 2, 2, 2, 0]);
    const r = run('latency_p95 > 1', '2m', m);
    assert.equal(r.pendingOnly, 1, 'the first run (90 s) never reached 2m');
    assert.equal(r.episodes.length, 1);
    assert.equal(s(r.episodes[0]!.activeAtMs), 120);
    assert.equal(s(r.episodes[0]!.firedAtMs), 240);
    assert.equal(s(r.episodes[0]!.resolvedAtMs), 270);
  });

  it('with for 0 fires at the first evaluation that holds; flaps produce separate episodes', () => {
    const m = oneSeries('error_rate', [0, 1, 0, 1, 1, 0]);
    const r = run('error_rate >= 1', '0s', m);
    assert.deepEqual(
      r.episodes.map((e) => [s(e.activeAtMs), s(e.firedAtMs), s(e.resolvedAtMs)]),
      [
        [30, 30, 60],
        [90, 90, 150],
      ],
    );
  });

  it('keeps an alert firing at the end unresolved, and a still-pending one counts as pending only', () => {
    const firing = run('cpu > 1', '1m', oneSeries('cpu', [0, 2, 2, 2, 2]));
    assert.equal(firing.episodes.length, 1);
    assert.equal(s(firing.episodes[0]!.firedAtMs), 90);
    assert.equal(firing.episodes[0]!.resolvedAtMs, undefined);
    const pending = run('cpu > 1', '5m', oneSeries('cpu', [0, 2, 2, 2, 2]));
    assert.equal(pending.episodes.length, 0);
    assert.equal(pending.pendingOnly, 1);
  });

  it('treats a missing sample (NaN) as the series being absent: the alert resolves', () => {
    const r = run('cpu > 1', '30s', oneSeries('cpu', [2, 2, 2, NaN, 2, 2]));
    assert.deepEqual(
      r.episodes.map((e) => [s(e.activeAtMs), s(e.firedAtMs), s(e.resolvedAtMs)]),
      [
        [0, 30, 90],
        [120, 150, undefined],
      ],
    );
  });

  it('evaluates at its own interval, seeing the last step at or before each evaluation', () => {
    // 60 s evaluations over a 30 s grid see steps 0, 2, 4, 6, 8 only (the 0 at step 3 is missed).
    const m = oneSeries('cpu', [0, 2, 2, 0, 2, 2, 2, 0, 0, 0]);
    const r = run('cpu > 1', '1m', m, 60_000);
    assert.equal(r.evaluations, 5);
    assert.deepEqual(
      r.episodes.map((e) => [s(e.activeAtMs), s(e.firedAtMs), s(e.resolvedAtMs)]),
      [[60, 120, 240]],
    );
    // A group interval overrides the global one.
    const rules = parseAlertRules("groups:\n  - name: g\n    interval: 90s\n    rules:\n      - alert: A\n        expr: 'cpu > 1'\n");
    assert.equal(evaluateRules(rules, m, TOPOLOGY, 30_000).evaluations, 4);
  });

  it('absent() fires after `for` of missing samples, with the labels of its = matchers', () => {
    const v = [5, 5, NaN, NaN, NaN, NaN, NaN, 5, 5];
    const r = run('absent(request_rate{service="cart", kind=~"Serv.*"})', '1m', oneSeries('request_rate', v), STEP, '        labels: { severity: critical }\n');
    assert.equal(r.episodes.length, 1);
    const e = r.episodes[0]!;
    assert.deepEqual([s(e.activeAtMs), s(e.firedAtMs), s(e.resolvedAtMs)], [60, 120, 210]);
    assert.deepEqual(e.labels, { metric: 'request_rate', service: 'cart', severity: 'critical', alertname: 'A' });
    // A selector that matches no series at all is absent all the time (as in Prometheus).
    const none = run('absent(request_rate{service="nope"})', '0s', oneSeries('request_rate', [1, 1]));
    assert.deepEqual(
      none.episodes.map((x) => [s(x.firedAtMs), s(x.resolvedAtMs)]),
      [[0, undefined]],
    );
  });

  it('avg/max/min/absent_over_time use the samples in (t - range, t]', () => {
    const v = [0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0];
    // 2m window = 4 steps; avg > 2 while the spike (step 6) is inside: evaluations 6..9.
    const avg = run('avg_over_time(cpu[2m]) > 2', '0s', oneSeries('cpu', v));
    assert.deepEqual(
      avg.episodes.map((e) => [s(e.firedAtMs), s(e.resolvedAtMs), e.value]),
      [[180, 300, 2.5]],
    );
    const max = run('max_over_time(cpu[1m]) >= 10', '0s', oneSeries('cpu', v));
    assert.deepEqual(
      max.episodes.map((e) => [s(e.firedAtMs), s(e.resolvedAtMs)]),
      [[180, 240]],
    );
    const min = run('min_over_time(cpu[1m]) > 5', '0s', oneSeries('cpu', v));
    assert.equal(min.episodes.length, 0);
    const gaps = [1, NaN, NaN, NaN, NaN, 1];
    const aot = run('absent_over_time(cpu{service="cart"}[1m])', '0s', oneSeries('cpu', gaps));
    assert.deepEqual(
      aot.episodes.map((e) => [s(e.firedAtMs), s(e.resolvedAtMs)]),
      [[60, 150]],
    );
  });

  it('expands labels and annotations from the sample labels and the value at firing', () => {
    const m = oneSeries('latency_p95', [0.1, 0.7, 0.9, 0.8, 0.1]);
    const r = run(
      'latency_p95{service=~"ca.*"} > 0.5',
      '30s',
      m,
      STEP,
      '        labels: { severity: page, kind: overridden, team: "{{ $labels.service }}-team", empty: "" }\n        annotations: { summary: "{{ $labels.service }} p95 {{ $value }}s ({{ $labels.severity }})" }\n',
    );
    const e = r.episodes[0]!;
    assert.equal(e.value, 0.9);
    assert.deepEqual(e.labels, { metric: 'latency_p95', kind: 'overridden', service: 'cart', severity: 'page', team: 'cart-team', alertname: 'A' });
    // $labels are the sample's labels: rule labels (severity) are not among them.
    assert.deepEqual(e.annotations, { summary: 'cart p95 0.9s ()' });
  });

  it('labels series from the topology and rejects series of unknown nodes', () => {
    const m: SimMetrics = {
      startMs: T0,
      stepMs: STEP,
      length: 2,
      series: [
        { entity: 'node-1', nodeId: 'host:node-1', metric: 'disk', values: Float64Array.from([0.95, 0.95]) },
        { entity: 'cartdb', nodeId: 'database:cartdb', metric: 'cpu', values: Float64Array.from([3, 3]) },
      ],
    };
    const r = run('{metric=~"disk|cpu", kind=~"Host|Database"} > 0.9', '0s', m);
    assert.deepEqual(
      r.episodes.map((e) => e.labels).sort((a, b) => (a['metric']! < b['metric']! ? -1 : 1)),
      [
        { metric: 'cpu', kind: 'Database', service: 'cartdb', alertname: 'A' },
        { metric: 'disk', kind: 'Host', host: 'node-1', alertname: 'A' },
      ],
    );
    const bad: SimMetrics = { ...m, series: [{ entity: 'x', nodeId: 'service:x', metric: 'cpu', values: Float64Array.from([1, 1]) }] };
    assert.throws(
      () => run('cpu > 1', '0s', bad),
      (e: unknown) => e instanceof AlertStormError && e.code === 'BAD_INPUT' && /metrics\.series\[0\]\.nodeId "service:x" is not a node of topology "mini-shop"/.test(e.message),
    );
  });

  it('is fast enough on a day of 30 s steps', () => {
    const day = 2880;
    const v = Array.from({ length: day }, (_, i) => (Math.floor(i / 100) % 3 === 0 ? 2 : 0));
    const m = oneSeries('cpu', v);
    const r = run('avg_over_time(cpu[5m]) > 1', '2m', m);
    assert.ok(r.episodes.length > 5);
    assert.equal(r.evaluations, day);
    void MIN;
  });
});
