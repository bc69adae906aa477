// Series profiling: periods found exactly on seasonal series (with noise, trend, gaps), none on
// noise and random walks, level shifts counted, too little history routed to Tier-1 with a
// visible warming-up reason, and hostile input (constants, infinities, empty) handled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { profileSeries } from './index.js';

/** Deterministic normal noise (Box-Muller over an LCG). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const seasonal = (n: number, period: number, amp: number, noise: number, seed = 1, slope = 0) => {
  const g = rng(seed);
  return Float64Array.from({ length: n }, (_, i) => 100 + amp * Math.sin((2 * Math.PI * i) / period) + slope * i + noise * g());
};

describe('series profiling', () => {
  it('finds the period of a noisy seasonal series and routes it to Agile and Robust, saying why', () => {
    const p = profileSeries(seasonal(24 * 14, 24, 10, 1));
    assert.equal(p.warmingUp, false);
    assert.equal(p.period, 24);
    assert.ok(p.seasonalStrength > 0.8, `strength ${p.seasonalStrength}`);
    assert.equal(p.route, 'both');
    assert.match(p.reasons[0]!, /seasonal: period 24 steps/);
    assert.equal(p.shiftRate, 0);
  });

  it('keeps the period under a strong trend and gaps, and reports both', () => {
    const xs = seasonal(24 * 14, 24, 10, 1, 2, 0.5);
    for (let i = 40; i < 60; i++) xs[i] = NaN;
    xs[100] = Infinity;
    const p = profileSeries(xs);
    assert.equal(p.period, 24);
    assert.equal(p.gaps, 21);
    assert.ok(p.trend > 1, `trend ${p.trend}`);
    assert.ok(p.reasons.some((r) => /trend/.test(r)));
    assert.ok(p.reasons.some((r) => /21 gap\(s\) skipped/.test(r)));
  });

  it('finds no season in white noise or a random walk: Agile only', () => {
    const g = rng(3);
    const noise = Float64Array.from({ length: 500 }, () => g());
    const p = profileSeries(noise);
    assert.equal(p.period, undefined);
    assert.equal(p.route, 'agile');
    assert.match(p.reasons[0]!, /no seasonality/);
    let w = 0;
    const walk = Float64Array.from({ length: 500 }, () => (w += g()));
    assert.equal(profileSeries(walk).route, 'agile');
  });

  it('counts level shifts', () => {
    const g = rng(4);
    const xs = Float64Array.from({ length: 1000 }, (_, i) => 50 + (Math.floor(i / 200) % 2) * 30 + g());
    const p = profileSeries(xs);
    assert.equal(p.period, undefined);
    assert.ok(p.shiftRate >= 3 && p.shiftRate <= 5, `4 shifts in 1,000 steps, got ${p.shiftRate}`);
    assert.ok(p.reasons.some((r) => /level shift/.test(r)));
  });

  it('too little history stays on Tier-1 with a visible warming-up state', () => {
    const p = profileSeries(seasonal(50, 10, 5, 0.1));
    assert.equal(p.warmingUp, true);
    assert.equal(p.route, 'tier1');
    assert.match(p.reasons[0]!, /warming up: 50 of 96 samples/);
    assert.equal(profileSeries([]).route, 'tier1');
    assert.equal(profileSeries(new Float64Array(200).fill(NaN)).route, 'tier1');
  });

  it('constant and hostile series do not crash or divide by zero', () => {
    const c = profileSeries(new Float64Array(300).fill(7));
    assert.equal(c.noise, 0);
    assert.equal(c.trend, 0);
    assert.equal(c.period, undefined);
    assert.equal(c.shiftRate, 0);
    const huge = profileSeries(Float64Array.from({ length: 300 }, (_, i) => (i % 2 ? 1e300 : -1e300)));
    assert.ok(['agile', 'both'].includes(huge.route));
  });

  it('finds any period from 4 to 60 exactly on clean enough data (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 60 }), fc.integer({ min: 1, max: 1000 }), (period, seed) => {
        const p = profileSeries(seasonal(Math.max(200, period * 8), period, 10, 0.5, seed));
        assert.equal(p.period, period);
      }),
      { numRuns: 60 },
    );
  });
});
