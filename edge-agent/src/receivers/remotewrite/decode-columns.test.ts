// decodeRemoteWriteColumns must answer exactly what decodeRemoteWriteBody answers (series,
// labels, timestamps, values, drops, errors), only as columns.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { compress } from 'snappyjs';
import { BadInputError } from '../../errors.js';
import { decodeRemoteWriteBody, decodeRemoteWriteColumns } from './decode.js';
import type { WriteLimits } from './decode.js';
import { prompbTypes } from './prompb-proto.js';

const LIMITS: WriteLimits = { maxRequestBytes: 8 << 20, maxSeries: 20_000, maxSamples: 100_000, maxLabelsPerSeries: 8, maxLabelNameBytes: 32, maxLabelValueBytes: 64, maxMetadata: 10_000 };

function same(body: Uint8Array, limits: WriteLimits = LIMITS): void {
  let want: ReturnType<typeof decodeRemoteWriteBody> | undefined;
  let wantErr: unknown;
  try {
    want = decodeRemoteWriteBody(body, limits);
  } catch (err) {
    wantErr = err;
  }
  // Twice with a label cache: the second decode takes every label set from it.
  const labelCache = new Map<string, Readonly<Record<string, string>>>();
  for (const opts of [{}, { uncompress: native }, { labelCache }, { uncompress: native, labelCache }]) {
    if (wantErr !== undefined) {
      assert.throws(
        () => decodeRemoteWriteColumns(body, limits, opts),
        (err: unknown) => err instanceof BadInputError && err.status === (wantErr as BadInputError).status,
      );
      continue;
    }
    check(want!, decodeRemoteWriteColumns(body, limits, opts));
  }
}

/** The native addon, as central uses it. */
const native = (b: Uint8Array): Uint8Array => snappy.uncompressSync(Buffer.from(b.buffer, b.byteOffset, b.byteLength), { asBuffer: true }) as Buffer;

function check(want: ReturnType<typeof decodeRemoteWriteBody>, got: ReturnType<typeof decodeRemoteWriteColumns>): void {
  assert.deepEqual(
    { samples: got.samples, droppedSeries: got.droppedSeries, firstProblem: got.firstProblem },
    { samples: want.samples, droppedSeries: want.droppedSeries, firstProblem: want.firstProblem },
  );
  assert.deepEqual(
    got.series.map((s) => ({ labels: s.labels, samples: Array.from(s.timestamps, (tsMs, i) => ({ tsMs, value: s.values[i]! })) })),
    want.series,
  );
  // Own-property __proto__ labels survive as in the object decoder.
  for (let i = 0; i < got.series.length; i++) assert.deepEqual(Object.keys(got.series[i]!.labels), Object.keys(want.series[i]!.labels));
}

function body(series: Array<{ labels: Array<[string, string]>; samples: Array<[number, number | string]> }>): Uint8Array {
  const t = prompbTypes().writeRequest;
  const raw = t.encode(t.fromObject({ timeseries: series.map((s) => ({ labels: s.labels.map(([name, value]) => ({ name, value })), samples: s.samples.map(([value, timestamp]) => ({ value, timestamp })) })) })).finish();
  return compress(raw);
}

describe('remote-write decode: columns', () => {
  it('matches the object decoder on bytes captured from Prometheus 2.42', () => {
    const b = readFileSync(new URL('./testdata/prometheus-2.42-samples.snappy', import.meta.url));
    same(b, { ...LIMITS, maxLabelsPerSeries: 64, maxLabelNameBytes: 256, maxLabelValueBytes: 4096 });
    same(b, LIMITS);
  });

  it('matches on negative, huge and default timestamps, special values, duplicate and __proto__ labels', () => {
    same(
      body([
        { labels: [['__name__', 'a'], ['x', 'ü→✓']], samples: [[1.5, 1767225600000], [Number.NaN, -1], [Infinity, '-9223372036854775808'], [-0, '9223372036854775807'], [5e-324, 0]] },
        { labels: [['__name__', 'dup'], ['a', '1'], ['a', '2']], samples: [[1, 1]] },
        { labels: [['__name__', 'p'], ['__proto__', 'v']], samples: [[2, 2]] },
        { labels: [['__name__', 'nosamples']], samples: [] },
        { labels: [['__name__', 'toolong'], ['v', 'x'.repeat(100)]], samples: [[3, 3]] },
      ]),
    );
  });

  it('matches on non-canonical encodings (field order, unknown fields, missing fields, wrong wire types)', () => {
    const w = protobuf.Writer.create();
    // Series 1: sample fields reversed, an unknown field in the sample, a sample without value.
    const s1 = protobuf.Writer.create();
    s1.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x12).string('m').ldelim();
    s1.uint32(0x12).fork().uint32(0x10).int64(1767225600123).uint32(0x09).double(7.25).ldelim();
    s1.uint32(0x12).fork().uint32(0x09).double(1).uint32(0x18).uint32(5).uint32(0x10).int64(5).ldelim();
    s1.uint32(0x12).fork().uint32(0x10).int64(9).ldelim();
    s1.uint32(0x2a).bytes(Uint8Array.from([1, 2, 3]));
    w.uint32(0x0a).bytes(s1.finish());
    // Series 2: a label with an unknown field and name/value repeated (last wins).
    const s2 = protobuf.Writer.create();
    s2.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x18).uint32(1).uint32(0x12).string('x').uint32(0x12).string('y').ldelim();
    s2.uint32(0x12).fork().uint32(0x09).double(3).uint32(0x10).int64(3).ldelim();
    w.uint32(0x0a).bytes(s2.finish());
    same(compress(w.finish()));
  });

  it('matches on random well-formed requests (property)', () => {
    const label = fc.tuple(fc.constantFrom('__name__', 'a', 'b', '__proto__', 'job'), fc.string({ maxLength: 8 }));
    const sample = fc.tuple(fc.double(), fc.oneof(fc.integer({ min: -(2 ** 53), max: 2 ** 53 }), fc.constant(1767225600000)));
    fc.assert(
      fc.property(fc.array(fc.record({ labels: fc.array(label, { maxLength: 5 }), samples: fc.array(sample, { maxLength: 6 }) }), { maxLength: 6 }), (series) => same(body(series))),
      { numRuns: 300 },
    );
  });

  it('hands the same frozen label set for a series whose labels are encoded the same way, and never a stale one', () => {
    const labelCache = new Map<string, Readonly<Record<string, string>>>();
    const a = decodeRemoteWriteColumns(body([{ labels: [['__name__', 'a'], ['x', '1']], samples: [[1, 1]] }, { labels: [['__name__', 'b']], samples: [[2, 2]] }]), LIMITS, { labelCache });
    const b = decodeRemoteWriteColumns(body([{ labels: [['__name__', 'b']], samples: [[3, 3]] }, { labels: [['__name__', 'a'], ['x', '1']], samples: [[4, 4]] }]), LIMITS, { labelCache });
    assert.equal(b.series[1]!.labels, a.series[0]!.labels);
    assert.equal(b.series[0]!.labels, a.series[1]!.labels);
    assert.ok(Object.isFrozen(a.series[0]!.labels));
    assert.equal(labelCache.size, 2);
    // A label after the samples: not the cached set (it would be incomplete), decoded whole.
    const w = protobuf.Writer.create();
    const s = protobuf.Writer.create();
    s.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x12).string('b').ldelim();
    s.uint32(0x12).fork().uint32(0x09).double(5).uint32(0x10).int64(5).ldelim();
    s.uint32(0x0a).fork().uint32(0x0a).string('late').uint32(0x12).string('y').ldelim();
    w.uint32(0x0a).bytes(s.finish());
    const c = decodeRemoteWriteColumns(compress(w.finish()), LIMITS, { labelCache });
    assert.deepEqual(c.series[0]!.labels, { __name__: 'b', late: 'y' });
    assert.equal(labelCache.size, 2);
  });

  it('refuses what the object decoder refuses, with the same status', () => {
    same(Uint8Array.from([0x05, 0x10, 0x0a, 0x05, 0x0a, 0x01, 0x02])); // truncated
    same(compress(Uint8Array.from([0x08, 0x01])));
    same(compress(Uint8Array.from([0x0a, 0x05, 0x0a])));
    same(body(Array.from({ length: 3 }, () => ({ labels: [['__name__', 'm']], samples: [[1, 1]] }))), { ...LIMITS, maxSamples: 2 });
    // A sample whose timestamp varint runs past the sample: protobufjs throws, so must columns.
    const bad = protobuf.Writer.create();
    bad.uint32(0x0a).fork().uint32(0x12).fork().uint32(0x10).uint32(0x80).ldelim().ldelim();
    same(compress(bad.finish()));
    // Corrupt blocks and length bombs, through both snappy decoders.
    same(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]));
    same(Uint8Array.from([0x38, 0xfc, 0x6c, 0x4e, 0x51, 0x95, 0xfb, 0x43, 0x2d]));
    same(Uint8Array.from([0x0a, 0xff, 0xff, 0xff]));
    same(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]));
    const good = compress(Uint8Array.from([0x0a, 0x00]));
    same(good.subarray(0, good.length - 1));
  });
});
