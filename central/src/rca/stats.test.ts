import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../../shared-schemas/src/runtime/index.js';
import { benjaminiHochberg, fSurvival, grangerTest, incompleteBeta, meanStd, olsRss, percentile, sortedFinite } from './stats.js';

function noise(seed: number, n: number): Float64Array {
  const r = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Box-Muller: standard normal draws.
    const u = Math.max(1e-12, r());
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

describe('rca statistics', () => {
  it('percentile interpolates linearly between closest ranks (numpy default)', () => {
    const s = Float64Array.from([1, 2, 3, 4]);
    assert.equal(percentile(s, 50), 2.5);
    assert.equal(percentile(s, 25), 1.75);
    assert.equal(percentile(s, 75), 3.25);
    assert.equal(percentile(s, 0), 1);
    assert.equal(percentile(s, 100), 4);
    assert.ok(Number.isNaN(percentile(new Float64Array(0), 50)));
  });

  it('sortedFinite drops NaN and infinities; meanStd is the population deviation', () => {
    assert.deepEqual([...sortedFinite([3, NaN, 1, Infinity, 2])], [1, 2, 3]);
    const { mean, std } = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    assert.equal(mean, 5);
    assert.equal(std, 2);
  });

  it('the F tail matches published table values', () => {
    // F(2, 10) upper 5% point 4.103; F(5, 20) upper 1% point 4.103; F(1, 30) upper 5% 4.171.
    assert.ok(Math.abs(fSurvival(4.103, 2, 10) - 0.05) < 5e-4);
    assert.ok(Math.abs(fSurvival(4.103, 5, 20) - 0.01) < 5e-4);
    assert.ok(Math.abs(fSurvival(4.171, 1, 30) - 0.05) < 5e-4);
    assert.equal(fSurvival(0, 3, 10), 1);
    assert.equal(incompleteBeta(0, 2, 3), 0);
    assert.equal(incompleteBeta(1, 2, 3), 1);
    // I_0.5(a, a) = 0.5 by symmetry.
    assert.ok(Math.abs(incompleteBeta(0.5, 7, 7) - 0.5) < 1e-9);
  });

  it('ordinary least squares recovers an exact linear relation (zero residual)', () => {
    const x = Float64Array.from({ length: 50 }, (_, i) => i);
    const y = Float64Array.from(x, (v) => 3 + 2 * v);
    assert.ok(olsRss(y, [x]) < 1e-6);
    assert.ok(olsRss(y, []) > 1000);
  });

  it('Granger: a lagged driver is found, independent noise is not', () => {
    const n = 400;
    const x = noise(1, n);
    const e = noise(2, n);
    const y = new Float64Array(n);
    for (let t = 2; t < n; t++) y[t] = 0.3 * y[t - 1]! + 0.8 * x[t - 2]! + 0.3 * e[t]!;
    const yes = grangerTest(x, y, 4)!;
    assert.ok(yes.pValue < 1e-6, `x -> y p=${yes.pValue}`);
    assert.ok(yes.lag >= 2, `lag ${yes.lag}`);
    const z = noise(3, n);
    const no = grangerTest(z, y, 4)!;
    assert.ok(no.pValue > 0.01, `independent p=${no.pValue}`);
    assert.equal(grangerTest(x.subarray(0, 10), y.subarray(0, 10), 4), null, 'too few rows');
  });

  it('Granger: a delayed copy does not cause its source (the restricted model keeps every own lag)', () => {
    // Differenced noise (what the engine tests): y is x one row later plus a little noise. With
    // only l own lags in the restricted model, y's lag l (= x's lag l + 1) would look like a cause.
    const n = 300;
    const level = noise(4, n + 1);
    const x = new Float64Array(n);
    for (let t = 0; t < n; t++) x[t] = level[t + 1]! - level[t]!;
    const e = noise(5, n);
    const y = new Float64Array(n);
    for (let t = 1; t < n; t++) y[t] = x[t - 1]! + 0.2 * e[t]!;
    assert.ok(grangerTest(x, y, 3)!.pValue < 1e-6, 'x -> y');
    const back = grangerTest(y, x, 3)!;
    assert.ok(back.pValue > 0.05, `y -> x p=${back.pValue}`);
  });

  it('Benjamini-Hochberg keeps the discoveries under the step-up line', () => {
    assert.deepEqual(benjaminiHochberg([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205], 0.05), [true, true, false, false, false, false, false, false]);
    assert.deepEqual(benjaminiHochberg([0.01, 0.02, 0.03], 0.05), [true, true, true]);
    assert.deepEqual(benjaminiHochberg([], 0.05), []);
  });
});
