// The chain's pieces: the novelty stage, the stage decisions, and Tier-2/3 over a series online
// (the batch size changes nothing; a series warms up on Tier-1).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGILE_DEFAULTS, agileGraph, seededRandom } from '../agile/index.js';
import { encodeOnnxModel } from '../onnx/index.js';
import { ROBUST_DEFAULTS, robustGraph } from '../robust/index.js';
import { cpuRuntime } from '../testing/onnx.js';
import { chainScores, CHAIN_DEFAULTS, fillGaps, NoveltyRecord, scoreTiersOnline } from './index.js';
import type { TierScores, TierSessions } from './index.js';

async function sessions(): Promise<TierSessions> {
  const rt = await cpuRuntime();
  return {
    agile: { params: AGILE_DEFAULTS, session: await rt.session(encodeOnnxModel(agileGraph(AGILE_DEFAULTS))) },
    robust: { params: ROBUST_DEFAULTS, session: await rt.session(encodeOnnxModel(robustGraph(ROBUST_DEFAULTS))) },
  };
}

describe('novelty record', () => {
  it('a jump as large as a recent one scores lower than the first; the record fades after its window', () => {
    const rec = new NoveltyRecord(100);
    for (let i = 0; i < 50; i++) rec.score(1, 5, 1);
    const first = rec.score(20, 5, 1);
    for (let i = 0; i < 10; i++) rec.score(1, 5, 1);
    const again = rec.score(20, 5, 1);
    assert.ok(first > 0.75 && again === 0.5, `first ${first}, again ${again}`);
    for (let i = 0; i < 120; i++) rec.score(1, 5, 1);
    assert.equal(rec.record(), 1, 'the jumps left the record once 1.1 windows passed');
    assert.equal(rec.score(20, 5, 1), 0.8);
    assert.equal(rec.score(NaN, 5, 1) , 0, 'a non-finite r scores 0');
  });
});

describe('chain decisions', () => {
  const tiers = (route: TierScores['route'][number], s2: number, s3: number): TierScores => ({ tier2: Float64Array.of(s2), tier3: Float64Array.of(s3), route: [route], period: Int32Array.of(0) });
  const one = (s1: number, t: TierScores, p = CHAIN_DEFAULTS) => {
    const r = chainScores(Float64Array.of(s1), t, p);
    return [r.score[0]!, r.decision[0]] as const;
  };
  it('records what each stage said by its own threshold', () => {
    assert.deepEqual(one(0.3, tiers('tier1', 0, 0)), [0.3, 'tier1-only']);
    assert.equal(one(0.05, tiers('agile', 0.9, 0.9))[1], 'not-flagged');
    assert.equal(one(0.3, tiers('agile', 0.4, 0.9))[1], 'not-confirmed');
    assert.equal(one(0.3, tiers('both', 0.6, 0.4))[1], 'not-validated');
    assert.equal(one(0.3, tiers('both', 0.6, 0.6))[1], 'validated');
    assert.equal(one(0.3, tiers('agile', 0.6, 0), { ...CHAIN_DEFAULTS, tier3ForAll: false })[1], 'confirmed');
  });
  it('scores the weighted evidence of the stages the route asks for', () => {
    assert.ok(Math.abs(one(0.7, tiers('both', 0.1, 0.4))[0] - (4 * 0.7 + 0.1 + 2 * 0.4) / 7) < 1e-12);
    assert.ok(Math.abs(one(0.7, tiers('agile', 0.1, 0.4), { ...CHAIN_DEFAULTS, tier3ForAll: false })[0] - (4 * 0.7 + 0.1) / 5) < 1e-12);
    assert.ok(one(0.2, tiers('both', 0.9, 0.9))[0] > one(0.2, tiers('both', 0.1, 0.1))[0], 'confirmation raises the score');
  });
});

describe('Tier-2 and Tier-3 over a series, online', () => {
  it('the batch size changes no score; the first rows warm up on Tier-1', async () => {
    const m = await sessions();
    const rnd = seededRandom(3);
    const x = Float64Array.from({ length: 1200 }, (_, i) => 10 + Math.sin((2 * Math.PI * i) / 48) + rnd() / 5 + (i === 900 ? 8 : 0));
    const big = await scoreTiersOnline(x, m, { batch: 1024 });
    const small = await scoreTiersOnline(x, m, { batch: 7 });
    assert.deepEqual(small.tier2, big.tier2);
    assert.deepEqual(small.tier3, big.tier3);
    assert.equal(big.route[50], 'tier1', 'warming up');
    assert.equal(big.route[1000], 'both', 'seasonal, once profiled');
    assert.equal(big.period[1000], 48);
    assert.ok(big.tier2[900]! > 0.5 && big.tier3[900]! > 0.5, `the spike: ${big.tier2[900]}, ${big.tier3[900]}`);
    assert.ok(big.tier2[850]! < 0.5 && big.tier3[850]! < 0.5, 'a normal row');
  });

  it('gaps carry the last value over', () => {
    assert.deepEqual(Array.from(fillGaps([NaN, 2, NaN, Infinity, 5])), [2, 2, 2, 2, 5]);
    assert.deepEqual(Array.from(fillGaps([NaN, NaN])), [0, 0]);
  });
});
