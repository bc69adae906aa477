import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CHUNK_KIND_DECIMAL, CHUNK_KIND_F64, ChunkCodecError, ChunkEncoder, ChunkReader } from './chunk-codec.js';

const T0 = Date.UTC(2026, 0, 1);

function roundTrip(ts: number[], vs: number[], maxBytes = 1 << 20): { kind: number; bytes: number; count: number; ts: number[]; vs: number[] } {
  const enc = new ChunkEncoder(16);
  const count = enc.encode(ts, vs, 0, ts.length, maxBytes);
  const data = enc.bytes().slice();
  const outTs: number[] = [];
  const outVs: number[] = [];
  const rd = new ChunkReader();
  assert.equal(rd.count(data), count);
  assert.equal(rd.decode(data, outTs, outVs, 0), count);
  return { kind: data[0]!, bytes: data.length, count, ts: outTs, vs: outVs };
}

/** Bit-exact equality (distinguishes -0 from 0). */
function sameBits(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

describe('chunk codec', () => {
  it('stores a regular series of two-decimal values in about 2-3 bytes per sample', () => {
    const ts = Array.from({ length: 100 }, (_, i) => T0 + i * 1000);
    let v = 123456.78;
    const vs = ts.map((_, i) => (v = Math.round((v + ((i * 37) % 100) * 0.01) * 100) / 100));
    const r = roundTrip(ts, vs);
    assert.equal(r.kind, CHUNK_KIND_DECIMAL);
    assert.deepEqual(r.ts, ts);
    assert.ok(sameBits(r.vs, vs));
    assert.ok(r.bytes / 100 < 3, `${r.bytes / 100} bytes per sample`);
  });

  it('falls back to float64 for values that are not short decimals, bit-exact', () => {
    const ts = [T0, T0 + 10_000, T0 + 20_000, T0 + 30_001, T0 + 30_002];
    const vs = [0.1 + 0.2, Math.PI, -0, 5e-324, 1.7976931348623157e308];
    const r = roundTrip(ts, vs);
    assert.equal(r.kind, CHUNK_KIND_F64);
    assert.deepEqual(r.ts, ts);
    assert.ok(sameBits(r.vs, vs));
  });

  it('handles extreme timestamps and deltas exactly', () => {
    const ts = [0, 1, 8_640_000_000_000_000 - 1, 8_640_000_000_000_000];
    const vs = [1, 2, 3, 4];
    const r = roundTrip(ts, vs);
    assert.deepEqual(r.ts, ts);
    assert.deepEqual(r.vs, vs);
    assert.deepEqual(roundTrip([T0], [42]).ts, [T0]);
  });

  it('respects the byte budget (at least one sample)', () => {
    const ts = Array.from({ length: 120 }, (_, i) => T0 + i * 15_000);
    const vs = ts.map((_, i) => Math.sin(i) * 1e6);
    const r = roundTrip(ts, vs, 500);
    assert.equal(r.kind, CHUNK_KIND_F64);
    assert.ok(r.bytes <= 500, `${r.bytes}`);
    assert.ok(r.count > 40 && r.count < 120, `${r.count}`);
    assert.deepEqual(r.ts, ts.slice(0, r.count));
    assert.equal(roundTrip(ts, vs, 1).count, 1);
  });

  it('round-trips any strictly increasing timestamps and any values (property)', () => {
    const value = fc.oneof(
      fc.double(),
      fc.integer({ min: -1e9, max: 1e9 }).map((m) => m / 100),
      fc.integer({ min: -(2 ** 53), max: 2 ** 53 }),
      fc.constantFrom(0, -0, 1e15, 2 ** 52, -(2 ** 52), 0.1, 1e-15),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), value), { minLength: 1, maxLength: 150 }), fc.integer({ min: 0, max: 8_000_000_000_000_000 }), (pairs, start) => {
        const ts: number[] = [];
        let t = start;
        for (const [d] of pairs) ts.push((t = Math.min(t + d, 8_640_000_000_000_000 - (pairs.length - ts.length))));
        for (let i = 1; i < ts.length; i++) if (ts[i]! <= ts[i - 1]!) ts[i] = ts[i - 1]! + 1;
        const vs = pairs.map(([, v]) => v).filter((v) => !Number.isNaN(v));
        const n = Math.min(ts.length, vs.length);
        if (n === 0) return;
        const r = roundTrip(ts.slice(0, n), vs.slice(0, n));
        assert.equal(r.count, n);
        assert.deepEqual(r.ts, ts.slice(0, n));
        assert.ok(sameBits(r.vs, vs.slice(0, n)), `${JSON.stringify(vs.slice(0, n))} -> ${JSON.stringify(r.vs)}`);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses malformed chunks with ChunkCodecError', () => {
    const rd = new ChunkReader();
    const good = new ChunkEncoder();
    good.encode([T0, T0 + 1000], [1.5, 2.5], 0, 2, 1000);
    const data = good.bytes().slice();
    for (const bad of [new Uint8Array([]), new Uint8Array([9, 1, 1]), data.subarray(0, data.length - 1), new Uint8Array([...data, 0]), new Uint8Array([CHUNK_KIND_DECIMAL, 99, 1, 0, 0]), new Uint8Array([CHUNK_KIND_F64, 0])]) {
      assert.throws(() => rd.decode(bad, [], [], 0), ChunkCodecError, JSON.stringify([...bad]));
    }
  });
});
