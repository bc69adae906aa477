// Tier-3 multivariate: a window whose metrics are each ordinary but whose relation is broken
// scores high where the per-metric robust scores see nothing; the ONNX graph matches its
// reference; training is deterministic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../agile/index.js';
import { runGraph } from '../testing/onnx.js';
import { checkMultivariateParams, fitMultivariate, multivariateGraph, multivariateReference } from './index.js';

const METRICS = ['requests_per_s', 'cpu_ratio', 'latency_ms', 'errors_per_s'];

/** A service's windows: CPU and latency follow the load; errors are noise. */
function windows(n: number, seed: number): number[][] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const load = 100 + 80 * rnd();
    return [load, 0.002 * load + 0.02 * rnd(), 20 + 0.3 * load + 3 * rnd(), 2 * rnd()];
  });
}

describe('Tier-3 multivariate model', () => {
  const { params, metrics } = fitMultivariate(METRICS, windows(2000, 1), { seed: 7 });

  it('scores a broken relation high although each metric is in its usual range', () => {
    assert.ok(params.k >= 1 && params.k <= 3, `k ${params.k}`);
    assert.ok(metrics.explained[0]! > 0.6, 'one direction carries the load');
    const normal = multivariateReference(params, [150, 0.3, 65, 1]);
    // Latency of a high load while the load is low: every value seen before, not together.
    const broken = multivariateReference(params, [105, 0.21, 72, 1]);
    assert.ok(normal.score < 0.5, `normal ${normal.score}`);
    assert.ok(broken.score > 0.6, `broken ${broken.score}`);
    const worst = broken.contribution.indexOf(Math.max(...broken.contribution));
    assert.ok(['cpu_ratio', 'latency_ms', 'requests_per_s'].includes(METRICS[worst]!), `the evidence points at the related metrics (${METRICS[worst]})`);
    // Per metric, robust z of the broken window: all ordinary.
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(([105, 0.21, 72, 1][i]! - params.center[i]!) / params.scale[i]!) < 2.5, `${METRICS[i]} alone looks normal`);
  });

  it('the ONNX graph gives the reference output for a batch', async () => {
    const rows = windows(50, 3);
    rows[7] = [105, 0.21, 72, 1];
    const x = Float32Array.from(rows.flat());
    const out = await runGraph(multivariateGraph(params), { x: { data: x, dims: [rows.length, 4] } });
    rows.forEach((row, b) => {
      const ref = multivariateReference(params, Float32Array.from(row));
      assert.ok(Math.abs(out['score']![b]! - ref.score) < 1e-4 && Math.abs(out['r']![b]! - ref.r) < 1e-3 * Math.max(1, ref.r), `row ${b}`);
      for (let i = 0; i < 4; i++) assert.ok(Math.abs(out['contribution']![b * 4 + i]! - ref.contribution[i]!) < 1e-3 * Math.max(1, ref.contribution[i]!));
    });
  });

  it('training is deterministic and refuses too little data or bad parameters', () => {
    assert.deepEqual(fitMultivariate(METRICS, windows(2000, 1), { seed: 7 }), fitMultivariate(METRICS, windows(2000, 1), { seed: 7 }));
    assert.throws(() => fitMultivariate(METRICS, windows(10, 1)), /too little training data: 10 complete windows/);
    assert.throws(() => checkMultivariateParams({ ...params, k: 4 }), /k must be an integer 1..metrics-1/);
    assert.throws(() => checkMultivariateParams({ ...params, scale: [1, 0, 1, 1] }), /must be > 0/);
  });
});
