import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GroundTruthFault } from '../model/index.js';
import { close, throwsEval } from './eval-assert.js';
import { RCA_MAX_K, rcaTruthFromFault, scoreRca, splitCandidate, type RcaCase } from './index.js';

// Five cases. Service ranks after first-occurrence dedup, metric ranks after exact dedup:
//   C1 carts/mem, memory:  carts_cpu carts_mem orders_cpu orders_latency-90
//        services carts, orders -> 1;    candidates -> carts_mem is 2nd
//   C2 payment/delay, delay: orders_cpu orders_cpu carts_cpu user_cpu payment_delay
//        services orders, carts, user, payment -> 4;  deduped candidates -> payment_delay 4th
//   C3 catalogue/cpu, cpu: a b c d e catalogue -> service 6; catalogue_cpu absent -> null
//   C4 carts (no metric), memory: empty ranking -> null; not scored at metric level
//   C5 carts (no metric), no type: front-end_latency carts_cpu -> 2
const CASES: RcaCase[] = [
  { id: 'C1', faultType: 'memory', root: { service: 'carts', metric: 'mem' }, ranking: ['carts_cpu', 'carts_mem', 'orders_cpu', 'orders_latency-90'] },
  { id: 'C2', faultType: 'delay', root: { service: 'payment', metric: 'delay' }, ranking: ['orders_cpu', 'orders_cpu', 'carts_cpu', 'user_cpu', 'payment_delay'] },
  { id: 'C3', faultType: 'cpu', root: { service: 'catalogue', metric: 'cpu' }, ranking: ['a', 'b', 'c', 'd', 'e', 'catalogue'] },
  { id: 'C4', faultType: 'memory', root: { service: 'carts' }, ranking: [] },
  { id: 'C5', root: { service: 'carts' }, ranking: ['front-end_latency', 'carts_cpu'] },
];

function closeAll(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((x, i) => close(x, expected[i]!, `${what}[${i}]`));
}

describe('RCA ranking scoring (RCAEval AC@k, Avg@5)', () => {
  test('ranks per case, with duplicates kept at their first occurrence', () => {
    const s = scoreRca(CASES);
    assert.equal(s.cases, 5);
    assert.deepEqual(
      s.perCase.map((c) => [c.id, c.serviceRank, c.metricRank, c.metricScored]),
      [
        ['C1', 1, 2, true],
        ['C2', 4, 4, true],
        ['C3', 6, null, true],
        ['C4', null, null, false],
        ['C5', 2, null, false],
      ],
    );
    // Per case Avg@5 = (6 - rank) / 5 when rank <= 5.
    closeAll(s.perCase.map((c) => c.serviceAvg5), [1, 0.4, 0, 0, 0.8], 'service Avg@5');
    const metricAvg5 = s.perCase.map((c) => c.metricAvg5);
    closeAll(metricAvg5.slice(0, 3), [0.8, 0.4, 0], 'metric Avg@5');
    assert.ok(Number.isNaN(metricAvg5[3]!) && Number.isNaN(metricAvg5[4]!));
  });

  test('aggregates at service level: AC@1 0.2, AC@3 0.4, AC@5 0.6, Avg@5 0.44', () => {
    // Ranks 1, 4, 6, -, 2: AC@1..5 = 1/5, 2/5, 2/5, 3/5, 3/5; Avg@5 = 2.2 / 5 = 0.44
    // (equal to the mean of the per-case values 1 + 0.4 + 0 + 0 + 0.8 = 2.2 over 5).
    const { service } = scoreRca(CASES);
    assert.equal(service.cases, 5);
    closeAll(service.acAtK, [0.2, 0.4, 0.4, 0.6, 0.6], 'AC@k');
    close(service.ac1, 0.2, 'AC@1');
    close(service.ac3, 0.4, 'AC@3');
    close(service.ac5, 0.6, 'AC@5');
    close(service.avg5, 0.44, 'Avg@5');
  });

  test('aggregates at metric level over the cases with a root metric', () => {
    // C1..C3, ranks 2, 4, -: AC@1..5 = 0, 1/3, 1/3, 2/3, 2/3; Avg@5 = 2/5.
    const { metric } = scoreRca(CASES);
    assert.equal(metric.cases, 3);
    closeAll(metric.acAtK, [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3], 'AC@k');
    close(metric.avg5, 0.4, 'Avg@5');
  });

  test('per fault type; cases without a type count only overall', () => {
    const s = scoreRca(CASES);
    assert.deepEqual(Object.keys(s.byFaultType), ['cpu', 'delay', 'memory']);
    const memory = s.byFaultType['memory']!;
    // C1 (rank 1) and C4 (absent): AC@k = 0.5 for every k.
    assert.equal(memory.service.cases, 2);
    closeAll(memory.service.acAtK, [0.5, 0.5, 0.5, 0.5, 0.5], 'memory service');
    // Metric level: C1 alone at rank 2 -> AC@1 0, AC@2..5 1, Avg@5 0.8.
    assert.equal(memory.metric.cases, 1);
    closeAll(memory.metric.acAtK, [0, 1, 1, 1, 1], 'memory metric');
    close(memory.metric.avg5, 0.8, 'memory metric Avg@5');
    const delay = s.byFaultType['delay']!;
    closeAll(delay.service.acAtK, [0, 0, 0, 1, 1], 'delay service'); // rank 4
    close(delay.service.avg5, 0.4, 'delay Avg@5');
    const cpu = s.byFaultType['cpu']!;
    assert.equal(cpu.service.avg5, 0); // rank 6 is outside the top 5
    assert.equal(cpu.metric.ac5, 0);
  });

  test('candidate splitting: first "_" by default, longest known service otherwise', () => {
    assert.deepEqual(splitCandidate('orders_latency-90'), { service: 'orders', metric: 'latency-90' });
    assert.deepEqual(splitCandidate('carts'), { service: 'carts', metric: null });
    assert.deepEqual(splitCandidate('cart_latency_p95'), { service: 'cart', metric: 'latency_p95' });
    assert.deepEqual(splitCandidate('node-3_cpu'), { service: 'node-3', metric: 'cpu' });
    assert.deepEqual(splitCandidate('my_svc_cpu', ['my', 'my_svc']), { service: 'my_svc', metric: 'cpu' });
    assert.deepEqual(splitCandidate('my_svc', ['my_svc']), { service: 'my_svc', metric: null });
  });

  test('service names with "_": the root service is known; others need options.services', () => {
    const c: RcaCase = { root: { service: 'root_svc', metric: 'cpu' }, ranking: ['a_b_cpu', 'a_c_cpu', 'root_svc_cpu'] };
    // Without services a_b and a_c both read as service "a": a, root_svc -> rank 2 (too good).
    assert.equal(scoreRca([c]).perCase[0]!.serviceRank, 2);
    // Told the real names: a_b, a_c, root_svc -> rank 3.
    assert.equal(scoreRca([c], { services: ['a_b', 'a_c'] }).perCase[0]!.serviceRank, 3);
    assert.equal(scoreRca([c]).perCase[0]!.metricRank, 3);
  });

  test('a service-only ranking scores at service level and never at metric level', () => {
    const s = scoreRca([{ root: { service: 'db', metric: 'cpu' }, ranking: ['db', 'web'] }]);
    assert.equal(s.service.ac1, 1);
    assert.equal(s.metric.cases, 1);
    assert.equal(s.metric.ac5, 0);
  });

  test('edge cases: no cases, all cases without a metric', () => {
    const empty = scoreRca([]);
    assert.equal(empty.cases, 0);
    assert.equal(RCA_MAX_K, 5);
    assert.ok([...empty.service.acAtK, empty.service.avg5, empty.metric.avg5].every(Number.isNaN));
    assert.deepEqual(empty.byFaultType, {});
    const noMetric = scoreRca([{ root: { service: 'x' }, ranking: ['x_cpu'] }]);
    assert.equal(noMetric.service.avg5, 1);
    assert.equal(noMetric.metric.cases, 0);
    assert.ok(Number.isNaN(noMetric.metric.avg5));
  });

  test('the truth of a simulated fault', () => {
    const fault: GroundTruthFault = {
      id: 'f2',
      type: 'memory_leak',
      rootEntity: 'cart',
      rootNodeId: 'service:cart',
      rootMetric: 'memory',
      onsetMs: 0,
      endMs: 1,
      severity: 1,
      affected: [],
    };
    const truth = rcaTruthFromFault(fault);
    assert.deepEqual(truth, { id: 'f2', root: { service: 'cart', metric: 'memory' }, faultType: 'memory_leak' });
    const s = scoreRca([{ ...truth, ranking: ['web_latency_p95', 'cart_memory'] }]);
    assert.deepEqual([s.perCase[0]!.serviceRank, s.perCase[0]!.metricRank], [2, 2]);
    close(s.byFaultType['memory_leak']!.metric.avg5, 0.8, 'Avg@5');
  });

  test('bad input fails with the field named', () => {
    throwsEval(() => scoreRca([{ root: { service: 'a' }, ranking: ['a', ''] }]), 'BAD_INPUT', 'cases[0].ranking[1]');
    throwsEval(() => scoreRca([{ ranking: ['a'] } as never]), 'BAD_INPUT', 'cases[0].root', 'must be an object');
    throwsEval(() => scoreRca([{ root: { metric: 'cpu' }, ranking: [] } as never]), 'BAD_INPUT', 'cases[0].root.service');
    throwsEval(() => scoreRca([{ root: { service: 'a' }, ranking: 'a' } as never]), 'BAD_INPUT', 'cases[0].ranking', 'must be an array');
    throwsEval(
      () => scoreRca([{ id: 'x', root: { service: 'a' }, ranking: [] }, { id: 'x', root: { service: 'b' }, ranking: [] }]),
      'DUPLICATE_ID',
      'cases[1].id',
    );
    throwsEval(() => scoreRca([], { services: ['ok', 3 as never] }), 'BAD_OPTIONS', 'options.services[1]');
  });
});
