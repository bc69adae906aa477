import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HIDDEN_FAULT_LABEL } from '../model/index.js';
import { close, throwsEval } from './eval-assert.js';
import { comparePartitions, correlatedAlertFromLabels, scoreCorrelation, type CorrelatedAlert } from './index.js';

// Reference values marked "sklearn" were computed with scikit-learn 1.9.1:
//   adjusted_rand_score(truth, pred), normalized_mutual_info_score(truth, pred)  (arithmetic).

// Manning, Raghavan & Schütze, Introduction to Information Retrieval, fig. 16.4 (section 16.3):
// 17 items, 3 clusters: {x x x x x o}, {x o o o o d}, {x x d d d}.
// The book gives purity 12/17 = 0.71 and NMI 0.36.
const MANNING_TRUTH = [...'xxxxxo', ...'xooood', ...'xxddd'];
const MANNING_PRED = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3];

// Ten alerts: the default population is the six fault alerts a1..a6.
//   a1 f1 I1 | a2 f1 I1 | a3 f1 I2 | a4 f2 I2 | a5 f2 I2 | a6 f2 unassigned
//   a7 none unassigned | a8 none I2 | a9 none I3 | a10 none unassigned
const ALERTS: CorrelatedAlert[] = [
  { incident: 'I1', truth: 'f1' },
  { incident: 'I1', truth: 'f1' },
  { incident: 'I2', truth: 'f1' },
  { incident: 'I2', truth: 'f2' },
  { incident: 'I2', truth: 'f2' },
  { incident: null, truth: 'f2' },
  { incident: null, truth: 'none' },
  { incident: 'I2', truth: 'none' },
  { incident: 'I3', truth: 'none' },
  { incident: null, truth: 'none' },
];

describe('partition agreement (purity, ARI, NMI)', () => {
  test('the IR-book example: purity 12/17, NMI 0.3646, ARI 0.2429', () => {
    const m = comparePartitions(MANNING_TRUTH, MANNING_PRED);
    close(m.purity, 12 / 17, 'purity'); // (5 + 4 + 3) / 17
    // Inverse purity: x -> 5 (cluster 1), o -> 4 (cluster 2), d -> 3 (cluster 3): 12/17.
    close(m.inversePurity, 12 / 17, 'inverse purity');
    // ARI by hand: sum C(n_ij,2) = 10+1+6+3 = 20; classes 8,5,4 -> 28+10+6 = 44; clusters
    // 6,6,5 -> 15+15+10 = 40; C(17,2) = 136; expected 44*40/136; (20 - e) / ((44+40)/2 - e).
    const e = (44 * 40) / 136;
    close(m.ari, (20 - e) / (42 - e), 'ARI by hand');
    close(m.ari, 0.242914979757085, 'ARI sklearn', 1e-12);
    close(m.nmi, 0.3645617718571899, 'NMI sklearn', 1e-12);
    assert.equal(m.n, 17);
    assert.equal(m.classes, 3);
    assert.equal(m.clusters, 3);
  });

  test('scikit-learn documentation examples and special cases', () => {
    // [0,0,1,1] vs [0,0,1,2]: ARI 4/7 by hand (sum C(n_ij,2) = 1, classes 2, clusters 1,
    // C(4,2) = 6, expected 1/3: (1 - 1/3) / (3/2 - 1/3) = 4/7); NMI: I = ln 2, H(T) = ln 2,
    // H(C) = 1.5 ln 2, so NMI = ln 2 / (1.25 ln 2) = 0.8. sklearn: 0.5714285714285714, 0.8.
    const a = comparePartitions([0, 0, 1, 1], [0, 0, 1, 2]);
    close(a.ari, 4 / 7, 'ARI');
    close(a.nmi, 0.8, 'NMI');
    const b = comparePartitions([0, 0, 1, 2], [0, 0, 1, 1]); // symmetric
    close(b.ari, 4 / 7, 'ARI swapped');
    close(b.nmi, 0.8, 'NMI swapped');
    // Permuted labels are the same partition.
    const same = comparePartitions(['a', 'a', 'b', 'b'], [7, 7, 3, 3]);
    assert.deepEqual([same.ari, same.nmi, same.purity], [1, 1, 1]);
    // Crossed: sklearn ARI -0.5, NMI 0.
    const crossed = comparePartitions([0, 0, 1, 1], [0, 1, 0, 1]);
    close(crossed.ari, -0.5, 'ARI crossed');
    assert.equal(crossed.nmi, 0);
    // All in one class, split into singletons: sklearn ARI 0, NMI 0.
    const split = comparePartitions([0, 0, 0, 0], [0, 1, 2, 3]);
    assert.equal(split.ari, 0);
    assert.equal(split.nmi, 0);
    assert.equal(split.purity, 1);
    assert.equal(split.inversePurity, 0.25);
    // Everything merged into one cluster: sklearn ARI 0, NMI 0.
    const merged = comparePartitions([0, 0, 1, 1], [0, 0, 0, 0]);
    assert.equal(merged.ari, 0);
    assert.equal(merged.nmi, 0);
    assert.equal(merged.purity, 0.5);
    // sklearn's perfect-match special cases: one item, one block each, all singletons.
    assert.deepEqual([comparePartitions([0], [5]).ari, comparePartitions([0], [5]).nmi], [1, 1]);
    assert.deepEqual([comparePartitions([0, 0, 0], [1, 1, 1]).ari, comparePartitions([0, 0, 0], [1, 1, 1]).nmi], [1, 1]);
    assert.deepEqual([comparePartitions([0, 1, 2], [0, 1, 2]).ari, comparePartitions([0, 1, 2], [0, 1, 2]).nmi], [1, 1]);
  });

  test('a 40-item random labeling matches scikit-learn', () => {
    // Python: random.seed(4); t = [randrange(4)]*40; p = t kept with prob. 0.6 else randrange(6).
    const t = [1, 2, 0, 3, 3, 1, 0, 0, 0, 3, 2, 0, 1, 2, 2, 1, 0, 2, 1, 0, 2, 2, 1, 1, 2, 2, 2, 0, 2, 3, 1, 1, 1, 3, 2, 0, 2, 0, 2, 2];
    const p = [4, 2, 0, 3, 3, 1, 0, 0, 0, 2, 2, 5, 1, 1, 2, 5, 2, 2, 1, 0, 1, 0, 5, 1, 4, 0, 2, 0, 2, 3, 2, 2, 1, 3, 5, 0, 4, 0, 2, 2];
    const m = comparePartitions(t, p);
    close(m.ari, 0.2792944141117178, 'ARI sklearn', 1e-12);
    close(m.nmi, 0.4312947089644122, 'NMI sklearn', 1e-12);
  });

  test('no items: every metric is NaN; mismatched lengths fail', () => {
    const m = comparePartitions([], []);
    assert.equal(m.n, 0);
    assert.ok([m.purity, m.inversePurity, m.ari, m.nmi].every(Number.isNaN));
    throwsEval(() => comparePartitions([1, 2], [1]), 'BAD_INPUT', 'predicted');
  });

  test('property: ARI and NMI are symmetric, in range, and 1 on relabelled copies', () => {
    const labels = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(labels, fc.integer({ min: 1, max: 1000 }), (t, seed) => {
        const p = t.map((x, i) => (x * 7 + ((i * seed) % 3)) % 5);
        const tp = comparePartitions(t, p);
        const pt = comparePartitions(p, t);
        close(tp.ari, pt.ari, 'ARI symmetric', 1e-12);
        close(tp.nmi, pt.nmi, 'NMI symmetric', 1e-12);
        assert.ok(tp.ari <= 1 + 1e-12 && tp.ari >= -1);
        assert.ok(tp.nmi >= 0 && tp.nmi <= 1 + 1e-12);
        const relabelled = comparePartitions(t, t.map((x) => `c${x}`));
        assert.equal(relabelled.ari, 1);
        close(relabelled.nmi, 1, 'NMI of a copy', 1e-12);
      }),
      { numRuns: 200 },
    );
  });
});

describe('alert-to-incident correlation scoring', () => {
  test('fault alerts only, unassigned as singletons (default)', () => {
    const s = scoreCorrelation(ALERTS);
    assert.equal(s.alerts, 10);
    assert.equal(s.faultAlerts, 6);
    assert.equal(s.noiseAlerts, 4);
    assert.equal(s.incidents, 3);
    assert.equal(s.faults, 2);
    close(s.compressionRatio, 10 / 3, 'compression');
    // P = a1..a6, truth f1 f1 f1 f2 f2 f2, clusters I1 I1 I2 I2 I2 {a6}.
    assert.equal(s.scoredAlerts, 6);
    close(s.purity, 5 / 6, 'purity'); // I1: 2, I2: 2 (f2), {a6}: 1
    close(s.inversePurity, 4 / 6, 'inverse purity'); // f1: 2 (I1), f2: 2 (I2)
    // ARI by hand: sum C(n_ij,2) = 1 + 1 = 2; classes 3,3 -> 6; clusters 2,3,1 -> 4; C(6,2) = 15;
    // expected 6*4/15 = 1.6; (2 - 1.6) / (5 - 1.6) = 2/17. sklearn: 0.11764705882352941.
    close(s.ari, 2 / 17, 'ARI');
    // NMI by hand: I = (1/3)ln2 + (1/6)ln(2/3) + (1/3)ln(4/3) + (1/6)ln2 = 0.374890;
    // H(T) = ln 2; H(C) = (1/3)ln3 + (1/2)ln2 + (1/6)ln6 = 1.011404. sklearn: 0.4398695005110285.
    close(s.nmi, 0.4398695005110285, 'NMI', 1e-12);
    assert.equal(s.faultAlertsUnassigned, 1);
    assert.equal(s.noiseSuppressed, 2);
    assert.equal(s.noiseSuppressionRate, 0.5);
    assert.equal(s.noiseInFaultIncidents, 1); // a8 in I2
    assert.equal(s.noiseOnlyIncidents, 1); // I3
    assert.deepEqual(
      s.perIncident.map((i) => [i.incident, i.alerts, i.faultAlerts, i.noiseAlerts, i.faults, i.majorityFault, i.majorityAlerts]),
      [
        ['I1', 2, 2, 0, 1, 'f1', 2],
        ['I2', 4, 3, 1, 2, 'f2', 2],
        ['I3', 1, 0, 1, 0, null, 0],
      ],
    );
    assert.deepEqual(
      s.perFault.map((f) => [f.fault, f.alerts, f.incidents, f.unassigned, f.largestIncidentAlerts]),
      [
        ['f1', 3, 2, 0, 2],
        ['f2', 3, 1, 1, 2],
      ],
    );
  });

  test('includeNoise: each noise alert is its own true class', () => {
    // P = all ten; truth f1 f1 f1 f2 f2 f2 n7 n8 n9 n10; clusters I1 I1 I2 I2 I2 {a6} {a7} I2 I3 {a10}.
    const s = scoreCorrelation(ALERTS, { includeNoise: true });
    assert.equal(s.scoredAlerts, 10);
    close(s.purity, 8 / 10, 'purity'); // I1 2, I2 2, {a6} 1, {a7} 1, I3 1, {a10} 1
    // ARI by hand: sum C(n_ij,2) = 2; classes 3,3 + singletons -> 6; clusters I1 2, I2 4 -> 1 + 6 = 7;
    // C(10,2) = 45; expected 42/45; (2 - 42/45) / (6.5 - 42/45). sklearn: 0.19161676646706588.
    close(s.ari, (2 - 42 / 45) / (6.5 - 42 / 45), 'ARI by hand');
    close(s.ari, 0.19161676646706588, 'ARI sklearn', 1e-12);
    close(s.nmi, 0.7547395582488267, 'NMI sklearn', 1e-12);
    // Counts do not depend on the option.
    assert.equal(s.noiseSuppressionRate, 0.5);
    assert.equal(s.compressionRatio, 10 / 3);
  });

  test('unassigned: exclude leaves unassigned fault alerts out', () => {
    // P = a1..a5: truth f1 f1 f1 f2 f2, clusters I1 I1 I2 I2 I2.
    // ARI by hand: sum C(n_ij,2) = 2; classes 3,2 -> 4; clusters 2,3 -> 4; C(5,2) = 10;
    // expected 1.6; (2 - 1.6) / (4 - 1.6) = 1/6. sklearn NMI: 0.43253806776631243.
    const s = scoreCorrelation(ALERTS, { unassigned: 'exclude' });
    assert.equal(s.scoredAlerts, 5);
    close(s.ari, 1 / 6, 'ARI');
    close(s.nmi, 0.43253806776631243, 'NMI', 1e-12);
    close(s.purity, 4 / 5, 'purity');
    assert.equal(s.faultAlertsUnassigned, 1);
  });

  test('a perfect grouping scores 1 everywhere and suppressing all noise scores 1', () => {
    const s = scoreCorrelation([
      { incident: 'A', truth: 'f1' },
      { incident: 'A', truth: 'f1' },
      { incident: 'B', truth: 'f2' },
      { incident: null, truth: 'none' },
    ]);
    assert.deepEqual([s.purity, s.inversePurity, s.ari, s.nmi, s.noiseSuppressionRate], [1, 1, 1, 1, 1]);
    assert.equal(s.compressionRatio, 2);
  });

  test('majority ties go to the smallest fault id', () => {
    const s = scoreCorrelation([
      { incident: 'I', truth: 'fb' },
      { incident: 'I', truth: 'fa' },
    ]);
    assert.equal(s.perIncident[0]!.majorityFault, 'fa');
    assert.equal(s.purity, 0.5);
  });

  test('edge cases: no alerts, only noise, nothing assigned', () => {
    const empty = scoreCorrelation([]);
    assert.equal(empty.alerts, 0);
    assert.ok([empty.compressionRatio, empty.purity, empty.ari, empty.nmi, empty.noiseSuppressionRate].every(Number.isNaN));

    // Only noise: no ground truth to cluster against -> NaN metrics; suppression still scored.
    const noise = scoreCorrelation([
      { incident: null, truth: 'none' },
      { incident: 'X', truth: 'none' },
    ]);
    assert.equal(noise.scoredAlerts, 0);
    assert.ok(Number.isNaN(noise.ari) && Number.isNaN(noise.nmi) && Number.isNaN(noise.purity));
    assert.equal(noise.noiseSuppressionRate, 0.5);
    assert.equal(noise.noiseOnlyIncidents, 1);

    // Every alert suppressed: no incidents -> compression undefined; each fault alert a singleton.
    const none = scoreCorrelation([
      { incident: null, truth: 'f1' },
      { incident: null, truth: 'f1' },
    ]);
    assert.equal(none.incidents, 0);
    assert.ok(Number.isNaN(none.compressionRatio));
    assert.equal(none.ari, 0); // sklearn: adjusted_rand_score([0, 0], [0, 1]) = 0
    assert.equal(none.nmi, 0);
    assert.equal(none.inversePurity, 0.5);
  });

  test('the truth is read from the hidden sim_fault label', () => {
    assert.equal(HIDDEN_FAULT_LABEL, 'sim_fault');
    assert.deepEqual(correlatedAlertFromLabels({ alertname: 'HighLatency', sim_fault: 'f3' }, 'I9'), {
      incident: 'I9',
      truth: 'f3',
    });
    throwsEval(() => correlatedAlertFromLabels({ alertname: 'x' }, null, 'alerts[4]'), 'BAD_INPUT', 'alerts[4].labels.sim_fault');
  });

  test('bad input fails with the field named', () => {
    throwsEval(() => scoreCorrelation([{ truth: 'f1' } as never]), 'BAD_INPUT', 'alerts[0].incident', 'incident id or null');
    throwsEval(() => scoreCorrelation([{ incident: 3, truth: 'f1' } as never]), 'BAD_INPUT', 'alerts[0].incident');
    throwsEval(() => scoreCorrelation([{ incident: 'I', truth: '' }]), 'BAD_INPUT', 'alerts[0].truth');
    throwsEval(() => scoreCorrelation('x' as never), 'BAD_INPUT', 'alerts', 'must be an array');
    throwsEval(() => scoreCorrelation([], { unassigned: 'drop' as never }), 'BAD_OPTIONS', 'options.unassigned', '"drop"');
    throwsEval(() => scoreCorrelation([], { includeNoise: 1 as never }), 'BAD_OPTIONS', 'options.includeNoise');
  });
});
