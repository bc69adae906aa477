// Tier-3 Robust: the ONNX graph computes what its TypeScript reference does, a long anomaly
// does not drag its expectation (where Agile follows it), the season comes from the earlier
// cycles, and calibration is deterministic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../agile/index.js';
import { runGraph } from '../testing/onnx.js';
import { checkRobustParams, fitRobust, ROBUST_DEFAULTS, robustGraph, robustReference } from './index.js';

const p = { ...ROBUST_DEFAULTS, k: 5 };
const L = p.window;
const C = p.cycles;

/** The model's input for row t of a series with period P. */
function cyclesAt(x: ArrayLike<number>, t: number, P: number): Float64Array {
  const out = new Float64Array((C + 1) * L);
  for (let c = 0; c <= C; c++) for (let j = 0; j < L; j++) out[c * L + j] = x[t - c * P - L + 1 + j]!;
  return out;
}

describe('Tier-3 Robust model', () => {
  it('the ONNX graph gives the reference output for every row of a batch (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 24 }), async (seed, B) => {
        const rnd = seededRandom(seed);
        const R = (C + 1) * L;
        const cy = new Float32Array(B * R);
        const f = new Float32Array(B);
        for (let b = 0; b < B; b++) {
          const level = (rnd() - 0.5) * 1000;
          const noise = rnd() < 0.1 ? 0 : rnd() * 10;
          const slope = (rnd() - 0.5) * 0.2;
          for (let i = 0; i < R; i++) cy[b * R + i] = level + slope * (i % L) + 5 * Math.sin(((i % L) / L) * 6.28) + noise * (rnd() - 0.5) + (rnd() < 0.02 ? 40 : 0);
          f[b] = rnd() < 0.5 ? 1 : 0;
        }
        const out = await runGraph(robustGraph(p), { cycles: { data: cy, dims: [B, C + 1, L] }, seasonal: { data: f, dims: [B, 1] } });
        for (let b = 0; b < B; b++) {
          const ref = robustReference(p, cy.subarray(b * R, (b + 1) * R), f[b] === 1);
          for (const k of ['expected', 'lower', 'upper', 'score', 'r'] as const) {
            assert.ok(Math.abs(out[k]![b]! - ref[k]) <= 1e-3 * Math.max(1, Math.abs(ref[k])), `row ${b} ${k}: graph ${out[k]![b]}, reference ${ref[k]}`);
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it('a 40-step anomaly does not drag the expectation; the season comes from earlier cycles', () => {
    const P = 100;
    const rnd = seededRandom(11);
    const x = Array.from({ length: 900 }, (_, t) => 50 + 10 * Math.sin((2 * Math.PI * t) / P) + (rnd() - 0.5) + (t >= 800 && t < 840 ? 30 : 0));
    for (const t of [805, 820, 839]) {
      const row = robustReference(p, cyclesAt(x, t, P), true);
      const normal = 50 + 10 * Math.sin((2 * Math.PI * t) / P);
      // Moved by less than 15% of the anomaly's size (30) even 39 steps in.
      assert.ok(Math.abs(row.expected - normal) < 4.5, `step ${t - 800} of the anomaly: expected ${row.expected.toFixed(2)}, the normal value ${normal.toFixed(2)}`);
      assert.ok(row.score > 0.5, `still anomalous at step ${t - 800} (${row.score.toFixed(3)})`);
    }
    const quiet = robustReference(p, cyclesAt(x, 700, P), true);
    assert.ok(quiet.score < 0.3, `a normal row scores low (${quiet.score.toFixed(3)})`);
    const flatSeason = robustReference(p, cyclesAt(x, 700, P), false);
    assert.ok(flatSeason.r > quiet.r, 'without the season the same row is further from its expectation');
  });

  it('refuses bad parameters with the field and the value', () => {
    assert.throws(() => checkRobustParams({ ...p, window: 128 }), /robust window must be an integer 17..4097 with window - 1 a multiple of 4 \(got 128\)/);
    assert.throws(() => checkRobustParams({ ...p, cycles: 0 }), /robust cycles must be an integer 1..16 \(got 0\)/);
    assert.throws(() => checkRobustParams({ ...p, k: -1 }), /must be > 0/);
  });

  it('calibration is deterministic and puts k at the chosen quantile of the training rows', () => {
    const rnd = seededRandom(5);
    const series = [{ values: Float64Array.from({ length: 2000 }, (_, t) => 20 + 3 * Math.sin(t / 8) + rnd()), period: 50 }];
    const a = fitRobust(series, { maxRows: 800, seed: 9 });
    assert.deepEqual(fitRobust(series, { maxRows: 800, seed: 9 }), a);
    assert.equal(a.metrics.rows, 800);
    assert.ok(a.params.k >= a.metrics.rQuantiles['0.5']! && a.params.k <= a.metrics.rQuantiles['0.9']!, 'k between the median and the 90th percentile of r');
    assert.throws(() => fitRobust([{ values: new Float64Array(100), period: 0 }]), /too little training data/);
  });
});
