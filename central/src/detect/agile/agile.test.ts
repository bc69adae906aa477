// Tier-2 Agile: the ONNX graph computes what its TypeScript reference does (float32 against
// float64), it follows a level shift within a few steps, and training is deterministic and
// recovers the weights of a known process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { runGraph } from '../testing/onnx.js';
import { AGILE_DEFAULTS, agileGraph, agileReference, checkAgileParams, fitAgile, seededRandom } from './index.js';
import type { AgileParams } from './index.js';

const W = AGILE_DEFAULTS.window;
const trained: AgileParams = { ...AGILE_DEFAULTS, ar: [0.9, 0.05, 0.03, 0.006, 0, 0], sar: [1, -0.9, -0.05, -0.03, -0.006, 0, 0], bias: 0.01, k: 5 }; // about what training on NAB gives

function near(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b)), `${what}: graph ${a}, reference ${b}`);
}

describe('Tier-2 Agile model', () => {
  it('the ONNX graph gives the reference output for every row of a batch (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 40 }), async (seed, B) => {
        const rnd = seededRandom(seed);
        const x = new Float32Array(B * W);
        const xs = new Float32Array(B * W);
        const f = new Float32Array(B);
        for (let b = 0; b < B; b++) {
          const level = (rnd() - 0.5) * 1000;
          const noise = rnd() < 0.1 ? 0 : rnd() * 10; // some flat windows
          for (let j = 0; j < W; j++) {
            x[b * W + j] = level + noise * (rnd() - 0.5) + (rnd() < 0.03 ? 50 * noise : 0);
            xs[b * W + j] = level + noise * (rnd() - 0.5);
          }
          f[b] = rnd() < 0.5 ? 1 : 0;
        }
        const out = await runGraph(agileGraph(trained), { x: { data: x, dims: [B, W] }, xs: { data: xs, dims: [B, W] }, seasonal: { data: f, dims: [B, 1] } });
        for (let b = 0; b < B; b++) {
          const ref = agileReference(trained, x.subarray(b * W, (b + 1) * W), xs.subarray(b * W, (b + 1) * W), f[b] === 1);
          for (const k of ['expected', 'lower', 'upper', 'score', 'r'] as const) near(out[k]![b]!, ref[k], `row ${b} ${k}`);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('follows a level shift within a few steps: expected re-anchors, the score falls back', () => {
    const rnd = seededRandom(7);
    const series = Array.from({ length: 200 }, (_, t) => (t < 120 ? 100 : 140) + (rnd() - 0.5) * 2);
    const at = (t: number) => agileReference(trained, series.slice(t - W + 1, t + 1), series.slice(t - W + 1, t + 1), false);
    assert.ok(at(120).score > 0.5, `the shift itself scores high (${at(120).score})`);
    assert.ok(at(119).score < 0.5, 'the step before does not');
    const after = at(126);
    assert.ok(Math.abs(after.expected - 140) < 5, `six steps later the forecast is at the new level (${after.expected})`);
    assert.ok(after.score < 0.5, `and the new level is no longer anomalous (${after.score})`);
  });

  it('refuses bad parameters with the field and the value', () => {
    assert.throws(() => checkAgileParams({ ...trained, window: 8 }), /agile window must be an integer 16..4096 \(got 8\)/);
    assert.throws(() => checkAgileParams({ ...trained, ar: [1] }), /agile ar must have 6 weights \(got 1\)/);
    assert.throws(() => checkAgileParams({ ...trained, k: 0 }), /must be > 0/);
    assert.throws(() => checkAgileParams({ ...trained, bias: NaN }), /agile bias must be finite/);
    assert.throws(() => checkAgileParams({ ...trained, novelty: { window: 0, multiplier: 1 } }), /novelty.window/);
  });

  it('training is deterministic and recovers the weights of an AR(2) process', () => {
    const make = (seed: number) => {
      const rnd = seededRandom(seed);
      const gauss = () => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
      const v = new Float64Array(3000);
      for (let t = 2; t < v.length; t++) v[t] = 0.6 * v[t - 1]! + 0.25 * v[t - 2]! + gauss();
      return { values: v.map((x) => 50 + x), period: 0 };
    };
    const data = [make(1), make(2)];
    const a = fitAgile(data, { seed: 3, maxRows: 4000 });
    const b = fitAgile(data, { seed: 3, maxRows: 4000 });
    assert.deepEqual(a, b, 'same data and seed: the same model');
    assert.notDeepEqual(fitAgile(data, { seed: 4, maxRows: 4000 }).params.ar, a.params.ar, 'another seed: another subsample');
    assert.ok(Math.abs(a.params.ar[0]! - 0.6) < 0.1 && Math.abs(a.params.ar[1]! - 0.25) < 0.1, `ar ${a.params.ar.slice(0, 2).map((x) => x.toFixed(3))}`);
    assert.ok(a.params.k > 0.5 && a.params.k < 10, `k ${a.params.k}`);
    assert.equal(a.metrics.rows, 4000);
    assert.throws(() => fitAgile([{ values: new Float64Array(50), period: 0 }]), /too little training data/);
  });
});
