import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BLOCK_SIZE,
  DEFAULT_TIER1_CONFIG,
  FLAG_ANOMALY,
  FLAG_GAP,
  FLAG_INVALID,
  FLAG_LEVEL_SHIFT,
  FLAG_STALE,
  FLAG_WARMUP,
  STATE_BYTES,
  SeriesSlots,
  Tier1ConfigError,
  Tier1Error,
  Tier1Reference,
  createWasmTier1,
  createWasmTier1Sync,
  resolveTier1Config,
} from './index.js';
import type { Tier1Config, Tier1Detector, Tier1Outputs, WasmTier1 } from './index.js';
import { S_END, STATE_SLOTS } from './layout.js';

// ---------- deterministic series generators (golden-vector inputs) ----------

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

type Gen = (n: number, seed: number) => number[];
const generators: Record<string, Gen> = {
  random: (n, seed) => {
    const r = lcg(seed);
    return Array.from({ length: n }, () => (r() - 0.5) * 1e3);
  },
  seasonal: (n, seed) => {
    const r = lcg(seed);
    return Array.from({ length: n }, (_, i) => 100 + 30 * Math.sin((2 * Math.PI * i) / 144) + 5 * Math.sin((2 * Math.PI * i) / 1008) + r() * 4);
  },
  spiky: (n, seed) => {
    const r = lcg(seed);
    return Array.from({ length: n }, (_, i) => 20 + r() * 2 + (r() < 0.01 ? 200 * r() : 0) + (i > n / 2 ? 15 : 0));
  },
  adversarial: (n, seed) => {
    // constant runs, huge and tiny magnitudes, sign flips, subnormals, exact ties
    const r = lcg(seed);
    return Array.from({ length: n }, (_, i) => {
      const k = i % 97;
      if (k < 30) return 5;
      if (k < 35) return r() < 0.5 ? 1e300 : -1e300;
      if (k < 40) return 5e-324 * (i % 3);
      if (k < 60) return (i % 2 === 0 ? 1 : -1) * 1e-9;
      if (k < 70) return Math.round(r() * 3);
      return r() * 1e6 - 5e5;
    });
  },
};

function runAll(det: Tier1Detector, values: number[], timestamps?: number[], id = 0): Tier1Outputs & { n: number } {
  const n = values.length;
  const scores = new Float64Array(n);
  const flags = new Uint32Array(n);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  const ids = new Uint32Array(det.batchCapacity).fill(id);
  for (let from = 0; from < n; from += det.batchCapacity) {
    const m = Math.min(det.batchCapacity, n - from);
    const v = Float64Array.from(values.slice(from, from + m));
    const t = Float64Array.from(timestamps ? timestamps.slice(from, from + m) : Array.from({ length: m }, (_, j) => (from + j) * 60_000));
    const out = det.process(ids, v, t, m);
    scores.set(out.scores.subarray(0, m), from);
    flags.set(out.flags.subarray(0, m), from);
    lower.set(out.lower.subarray(0, m), from);
    upper.set(out.upper.subarray(0, m), from);
  }
  return { scores, flags, lower, upper, n };
}

/** |a-b| <= 1e-9 * max(1, |a|, |b|); NaN equals NaN. */
function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function assertAgree(a: Tier1Outputs & { n: number }, b: Tier1Outputs & { n: number }, label: string): void {
  for (let i = 0; i < a.n; i++) {
    assert.equal(a.flags[i], b.flags[i], `${label}: flags differ at ${i}`);
    assert.ok(close(a.scores[i]!, b.scores[i]!), `${label}: score ${a.scores[i]} vs ${b.scores[i]} at ${i}`);
    assert.ok(close(a.lower[i]!, b.lower[i]!), `${label}: lower ${a.lower[i]} vs ${b.lower[i]} at ${i}`);
    assert.ok(close(a.upper[i]!, b.upper[i]!), `${label}: upper ${a.upper[i]} vs ${b.upper[i]} at ${i}`);
  }
}

const pair = (config: Partial<Tier1Config> = {}, maxSeries = 1, batchCapacity = 256): [WasmTier1, Tier1Reference] => [
  createWasmTier1Sync({ maxSeries, batchCapacity, config }),
  new Tier1Reference({ maxSeries, batchCapacity, config }),
];

// ---------- tests ----------

describe('Tier-1 golden vectors: WASM build vs TypeScript reference', () => {
  for (const [name, gen] of Object.entries(generators)) {
    it(`agrees on a ${name} series (5000 samples, 3 seeds, 2 configs)`, () => {
      for (const seed of [1, 2, 3]) {
        for (const config of [{}, { alpha: 0.2, lagBlocks: 2, bandWidth: 0.5, refractory: 5, gapResetMs: 90_000 }]) {
          const values = gen(5000, seed);
          const [w, r] = pair(config);
          const a = runAll(w, values);
          const b = runAll(r, values);
          assertAgree(a, b, `${name}/${seed}`);
          assert.deepEqual(w.snapshotSeries(0), r.snapshotSeries(0), `${name}/${seed}: final state differs`);
        }
      }
    });
  }

  it('agrees on many interleaved series in one batch', () => {
    const S = 64;
    const T = 400;
    const r = lcg(9);
    const ids: number[] = [];
    const values: number[] = [];
    const ts: number[] = [];
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < S; s++) {
        ids.push(s);
        values.push(s * 10 + Math.sin(t / 20) * (s + 1) + r() + (r() < 0.005 ? 50 : 0));
        ts.push(t * 10_000);
      }
    }
    const [w, ref] = pair({}, S, S * T);
    const a = w.process(ids, values, ts);
    const af = w.lastFlagged;
    const snapA = Array.from({ length: S }, (_, s) => w.snapshotSeries(s));
    const b = ref.process(ids, values, ts);
    assert.equal(af, ref.lastFlagged);
    assertAgree({ ...a, n: ids.length }, { ...b, n: ids.length }, 'interleaved');
    for (let s = 0; s < S; s++) assert.deepEqual(snapA[s], ref.snapshotSeries(s));
  });

  it('agrees on arbitrary inputs (property: fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double(), fc.double({ min: -100, max: 100, noNaN: true }), fc.constant(NaN), fc.constant(Infinity)), { minLength: 1, maxLength: 300 }),
        fc.array(fc.integer({ min: -5, max: 120_000 }), { minLength: 300, maxLength: 300 }),
        (values, steps) => {
          let t = 0;
          const ts = values.map((_, i) => (t += steps[i]!));
          const [w, r] = pair({ gapResetMs: 100_000, warmup: 8 });
          assertAgree(runAll(w, values, ts), runAll(r, values, ts), 'property');
          assert.deepEqual(w.snapshotSeries(0), r.snapshotSeries(0));
        },
      ),
      { numRuns: 150, seed: 20261126 },
    );
  });
});

describe('Tier-1 behaviour', () => {
  it('scores a spike high and flags it, and scores normal samples low', () => {
    const values = generators.seasonal!(2000, 4);
    values[1500] = values[1500]! + 400;
    const out = runAll(new Tier1Reference({ maxSeries: 1, batchCapacity: 512 }), values);
    assert.ok(out.flags[1500]! & FLAG_ANOMALY, 'spike flagged');
    assert.ok(out.scores[1500]! > 0.9, `spike score ${out.scores[1500]}`);
    let quiet = 0;
    for (let i = 200; i < 1400; i++) if (out.scores[i]! < 0.5) quiet++;
    assert.ok(quiet > 1100, `most normal samples score low (${quiet}/1200)`);
  });

  it('sees a level shift through the CUSUM and re-anchors instead of flagging forever', () => {
    const r = lcg(5);
    const values = Array.from({ length: 1200 }, (_, i) => (i < 600 ? 10 : 20) + r() * 0.5);
    const out = runAll(new Tier1Reference({ maxSeries: 1, batchCapacity: 512 }), values);
    const shifts = [...out.flags].map((f, i) => (f & FLAG_LEVEL_SHIFT ? i : -1)).filter((i) => i >= 0);
    assert.ok(shifts.some((i) => i >= 600 && i < 620), `level shift seen just after 600 (${shifts.join(',')})`);
    let late = 0;
    for (let i = 800; i < 1200; i++) if (out.flags[i]! & FLAG_ANOMALY) late++;
    assert.ok(late < 20, `few flags long after the shift (${late})`);
  });

  it('warms up: no score before `warmup` samples', () => {
    const out = runAll(new Tier1Reference({ maxSeries: 1, batchCapacity: 64, config: { warmup: 40 } }), generators.random!(100, 1));
    for (let i = 0; i < 40; i++) {
      assert.equal(out.scores[i], 0);
      assert.ok(out.flags[i]! & FLAG_WARMUP);
    }
    assert.equal(out.flags[40]! & FLAG_WARMUP, 0);
  });

  it('NaN and infinities: flagged invalid, score 0, not learned (state unchanged)', () => {
    for (const [w, r] of [pair()]) {
      for (const det of [w, r]) {
        runAll(det, generators.seasonal!(300, 1));
        const before = det.snapshotSeries(0);
        const out = runAll(det, [NaN, Infinity, -Infinity], [1e12, 1e12 + 1, 1e12 + 2]);
        assert.deepEqual([...out.flags], [FLAG_INVALID, FLAG_INVALID, FLAG_INVALID]);
        assert.deepEqual([...out.scores], [0, 0, 0]);
        assert.deepEqual(det.snapshotSeries(0), before, `${det.kind}: state unchanged`);
        const outTs = runAll(det, [1], [NaN]);
        assert.equal(outTs.flags[0], FLAG_INVALID, 'NaN timestamp is invalid too');
      }
    }
  });

  it('repeated and out-of-order timestamps: scored, flagged stale, not learned', () => {
    const det = new Tier1Reference({ maxSeries: 1, batchCapacity: 512 });
    const values = generators.seasonal!(300, 2);
    runAll(det, values);
    const lastTs = 299 * 60_000;
    const before = det.snapshotSeries(0);
    const out = runAll(det, [values[299]!, 10_000, 50], [lastTs, lastTs, lastTs - 5]);
    for (let i = 0; i < 3; i++) assert.ok(out.flags[i]! & FLAG_STALE, `stale at ${i}`);
    assert.ok(out.scores[1]! > 0.9, 'a wild repeated sample is still scored');
    const after = new Float64Array(det.snapshotSeries(0).buffer);
    const prev = new Float64Array(before.buffer);
    for (let s = 0; s < STATE_SLOTS; s++) {
      if (s === 13 || s === 14) continue; // refractory and last score follow scoring
      assert.ok(Object.is(after[s], prev[s]), `state slot ${s} unchanged`);
    }
  });

  it('a gap longer than gapResetMs resets the CUSUM and is flagged', () => {
    const det = new Tier1Reference({ maxSeries: 1, batchCapacity: 512, config: { gapResetMs: 3_600_000 } });
    const values = Array.from({ length: 200 }, (_, i) => 5 + (i % 7) * 0.1 + (i > 150 ? 0.4 : 0));
    runAll(det, values);
    const out = runAll(det, [5.3], [199 * 60_000 + 7_200_000]);
    assert.ok(out.flags[0]! & FLAG_GAP);
    const st = new Float64Array(det.snapshotSeries(0).buffer);
    const c = DEFAULT_TIER1_CONFIG;
    assert.ok(st[5]! <= c.zClamp - c.cusumDrift && st[6]! <= c.zClamp - c.cusumDrift, 'accumulators restarted: only this sample counts');
    const plain = new Tier1Reference({ maxSeries: 1, batchCapacity: 512 });
    runAll(plain, values);
    assert.equal(runAll(plain, [5.3], [199 * 60_000 + 7_200_000]).flags[0]! & FLAG_GAP, 0, 'no gap handling when disabled');
  });

  it('band: lower <= upper once ready, NaN before the first block completes', () => {
    for (const lagBlocks of [0, 2]) {
      const out = runAll(new Tier1Reference({ maxSeries: 1, batchCapacity: 512, config: { warmup: 1, lagBlocks } }), generators.spiky!(500, 3));
      const ready = BLOCK_SIZE * (lagBlocks + 1);
      for (let i = 0; i < ready; i++) assert.ok(Number.isNaN(out.upper[i]!), `no band at ${i} (lag ${lagBlocks})`);
      for (let i = ready; i < 500; i++) assert.ok(out.lower[i]! <= out.upper[i]!, `band ordered at ${i} (lag ${lagBlocks})`);
    }
  });

  it('scores stay in [0, 1) on hostile input', () => {
    const out = runAll(new Tier1Reference({ maxSeries: 1, batchCapacity: 512 }), generators.adversarial!(3000, 7));
    for (let i = 0; i < out.n; i++) assert.ok(out.scores[i]! >= 0 && out.scores[i]! < 1, `score ${out.scores[i]} at ${i}`);
  });
});

describe('Tier-1 state: fixed size, snapshot and restore, add and retire', () => {
  it('fits in 512 bytes per series', () => {
    assert.equal(STATE_BYTES, 512);
    assert.ok(S_END <= STATE_SLOTS);
  });

  it('snapshot/restore continues exactly as if never interrupted, across implementations', () => {
    const values = generators.seasonal!(3000, 11);
    const [w1, r1] = pair();
    const whole = runAll(r1, values);
    runAll(w1, values.slice(0, 1700));
    const snap = w1.snapshotSeries(0);
    // a restarted agent: new module, state restored from bytes (into the reference, even)
    const r2 = new Tier1Reference({ maxSeries: 4, batchCapacity: 256 });
    r2.restoreSeries(2, snap);
    const ts = values.map((_, i) => i * 60_000);
    const rest = runAll(r2, values.slice(1700), ts.slice(1700), 2);
    for (let i = 0; i < rest.n; i++) assert.ok(Object.is(rest.scores[i], whole.scores[1700 + i]), `score at ${1700 + i}`);
  });

  it('refuses snapshots of the wrong size or layout with a typed error', () => {
    const [w] = pair();
    assert.throws(() => w.restoreSeries(0, new Uint8Array(100)), (e: unknown) => e instanceof Tier1Error && e.code === 'BAD_SNAPSHOT' && /512 bytes/.test(e.message));
    assert.throws(() => w.restoreSeries(0, new Uint8Array(512)), (e: unknown) => e instanceof Tier1Error && e.code === 'BAD_SNAPSHOT' && /layout tag/.test(e.message));
  });

  it('SeriesSlots adds series on first sight, retires idle ones, resets reused slots, counts refusals', () => {
    const det = createWasmTier1Sync({ maxSeries: 2, batchCapacity: 16 });
    const slots = new SeriesSlots(det, { idleRetireMs: 1000 });
    const a = slots.slotFor('cpu{host="a"}', 0);
    const b = slots.slotFor('cpu{host="b"}', 0);
    assert.notEqual(a, b);
    assert.equal(slots.slotFor('cpu{host="c"}', 0), -1);
    assert.equal(slots.refused, 1);
    runAll(det, generators.seasonal!(100, 1), undefined, a);
    assert.equal(slots.slotFor('cpu{host="a"}', 5000), a, 'stable slot');
    assert.equal(slots.retireIdle(5000), 1, 'b was idle');
    const c = slots.slotFor('cpu{host="c"}', 5000);
    assert.equal(c, b, 'slot reused');
    const st = new Float64Array(det.snapshotSeries(c).buffer);
    assert.equal(st[1], 0, 'reused slot starts from scratch');
    assert.equal([...slots.snapshots()].length, 2);
  });
});

describe('Tier-1 errors and configuration', () => {
  it('rejects bad series ids and oversized batches with typed errors, processing nothing', () => {
    for (const det of pair({}, 4, 8)) {
      const before = det.snapshotSeries(0);
      assert.throws(() => det.process([0, 9], [1, 2], [1, 2]), (e: unknown) => e instanceof Tier1Error && e.code === 'BAD_SERIES_ID' && /series id 9/.test(e.message));
      assert.deepEqual(det.snapshotSeries(0), before, `${det.kind}: nothing learned from the rejected batch`);
      assert.throws(() => det.process(new Array(9).fill(0), new Array(9).fill(0), new Array(9).fill(0)), (e: unknown) => e instanceof Tier1Error && e.code === 'BATCH_TOO_LARGE');
    }
  });

  it('the module reports the same layout as the host, and each detector owns its memory', async () => {
    const a = await createWasmTier1({ maxSeries: 1, batchCapacity: 4 });
    const b = await createWasmTier1({ maxSeries: 1, batchCapacity: 4 });
    a.process([0], [1], [1]);
    assert.notDeepEqual(a.snapshotSeries(0), b.snapshotSeries(0));
  });

  it('refuses an invalid module with WASM_LOAD_FAILED', () => {
    assert.throws(
      () => createWasmTier1Sync({ maxSeries: 1, batchCapacity: 1, wasmBytes: new Uint8Array([0, 97, 115, 109, 9, 9]) }),
      (e: unknown) => e instanceof Tier1Error && e.code === 'WASM_LOAD_FAILED',
    );
  });

  it('refuses impossible sizes', () => {
    assert.throws(() => createWasmTier1Sync({ maxSeries: 0, batchCapacity: 1 }), (e: unknown) => e instanceof Tier1Error && /maxSeries/.test(e.message));
    assert.throws(() => createWasmTier1Sync({ maxSeries: 2_000_001, batchCapacity: 1 }), (e: unknown) => e instanceof Tier1Error && /maxSeries must be an integer in \[1, 2000000\]/.test(e.message));
    assert.throws(() => new Tier1Reference({ maxSeries: 1, batchCapacity: 1.5 }), (e: unknown) => e instanceof Tier1Error && /batchCapacity/.test(e.message));
  });

  it('validates the config whole, naming the path and the bad value', () => {
    assert.throws(() => resolveTier1Config({ alpha: 0 }), (e: unknown) => e instanceof Tier1ConfigError && e.message === 'tier1.alpha must be in (0, 1) (got 0)');
    assert.throws(() => resolveTier1Config({ lagBlocks: 8 }), /tier1.lagBlocks must be an integer in \[0, 7\] \(got 8\)/);
    assert.throws(() => resolveTier1Config({ alhpa: 0.1 } as unknown as Partial<Tier1Config>), /tier1.alhpa is not a known option/);
    assert.throws(() => resolveTier1Config({ zWeight: NaN }), /tier1.zWeight must be a finite number/);
    assert.throws(() => resolveTier1Config({ spreadFloorAbs: 0 }), /divide by zero/);
    assert.deepEqual(resolveTier1Config({}), { ...DEFAULT_TIER1_CONFIG });
  });

  it('the built module is small', () => {
    const size = readFileSync(new URL('../build/tier1.wasm', import.meta.url)).byteLength;
    assert.ok(size < 64 * 1024, `tier1.wasm is ${size} bytes`);
  });
});
