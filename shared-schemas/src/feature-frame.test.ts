import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { CODEC_NAMES, resolveDecodeLimits } from './config.js';
import type { CodecName } from './config.js';
import { ENVELOPE_HEADER_BYTES, encodeEnvelope, PayloadKind } from './envelope.js';
import { SchemaDecodeError, SchemaEncodeError } from './errors.js';
import { decodeFeatureFramePayload, decodeFrame, encodeFeatureFramePayload, encodeFrame, roundToPrecisionBits } from './feature-frame.js';
import { canonicalLabelKey } from './labels.js';
import { encodeMessage, messageType } from './schema.js';
import {
  anyText,
  assertBitEqual,
  bitsOf,
  expectDecodeError,
  fcOptions,
  featureRow,
  labels,
  nanWithPayload,
  uint64,
} from './testing/arbitraries.js';
import type { DictionaryScope, FeatureFrame, FeatureRow } from './types.js';

const frameArb: fc.Arbitrary<FeatureFrame> = fc
  .record({
    agentId: anyText().filter((s) => s.length > 0),
    tenant: anyText(),
    sequence: uint64,
    windowStartMs: fc.integer({ min: 1, max: 2e14 }),
    width: fc.integer({ min: 0, max: 3_600_000 }),
    scope: fc.constantFrom<DictionaryScope>('continue', 'reset', 'standalone'),
    epoch: uint64,
    series: fc.uniqueArray(labels(4), { maxLength: 6, selector: canonicalLabelKey }),
    ids: fc.uniqueArray(fc.integer({ min: 1, max: 0xffff_ffff }), { minLength: 6, maxLength: 6 }),
    defMask: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  })
  .chain((b) =>
    fc.tuple(...b.series.map((_, i) => featureRow(b.ids[i] as number))).map((rows): FeatureFrame => {
      const defineAll = b.scope !== 'continue';
      return {
        agentId: b.agentId,
        tenant: b.tenant,
        sequence: b.sequence,
        windowStartMs: b.windowStartMs,
        windowEndMs: b.windowStartMs + b.width,
        dictionaryScope: b.scope,
        dictionaryEpoch: b.epoch,
        seriesDefs: b.series
          .map((l, i) => ({ id: b.ids[i] as number, labels: l }))
          .filter((_, i) => defineAll || (b.defMask[i] as boolean)),
        rows,
      };
    }),
  );

const T0 = 1_714_000_000_000;

function row(seriesId: number, over: Partial<FeatureRow> = {}): FeatureRow {
  return {
    seriesId,
    count: 10,
    min: 0.25,
    max: 97.5,
    mean: 41.25,
    std: 3.5,
    last: 42,
    p50: 40,
    p95: 90,
    tier1MaxScore: 0.75,
    flags: 1,
    bandLower: 10,
    bandUpper: 80,
    ...over,
  };
}

/** A small, fixed frame used by the fixture, bit-flip and truncation tests. */
function sampleFrame(): FeatureFrame {
  return {
    agentId: 'agent-1',
    tenant: 'acme',
    sequence: 7,
    windowStartMs: T0,
    windowEndMs: T0 + 10_000,
    dictionaryScope: 'reset',
    dictionaryEpoch: T0,
    seriesDefs: [
      { id: 1, labels: { __name__: 'node_cpu_seconds_total', host: 'web-1', mode: 'user', cpu: '0' } },
      { id: 2, labels: { __name__: 'node_filesystem_avail_bytes', host: 'web-1', device: '/dev/sda1', mountpoint: '/' } },
      { id: 3, labels: { __name__: 'http_requests_total', service: 'checkout', route: '/ü/✓' } },
    ],
    rows: [
      row(1),
      row(2, { count: 1, min: 2.5e10, max: 2.5e10, last: 2.5e10, std: NaN, flags: 0 }),
      row(3, { count: 0, min: NaN, max: NaN, mean: NaN, last: Infinity, p50: NaN, p95: NaN, bandLower: NaN, bandUpper: NaN, flags: 16 }),
    ],
  };
}

/** The protobuf message of a payload as a plain object (64-bit values as numbers), unvalidated. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function decodeRaw(payload: Uint8Array): { columns: Record<string, number[]> } & Record<string, any> {
  const t = messageType('FeatureFrame');
  return t.toObject(t.decode(payload), { longs: Number, arrays: true }) as never;
}

/** Rebuild an envelope with a correct CRC around a (possibly invalid) payload. */
function envelopeAround(payload: Uint8Array, codec: CodecName = 'none'): Uint8Array {
  return encodeEnvelope(payload, { kind: PayloadKind.FeatureFrame, codec: { codec } });
}

describe('FeatureFrame round trips', () => {
  for (const codec of CODEC_NAMES) {
    it(`arbitrary frames round-trip bit-exactly through codec ${codec}`, () => {
      fc.assert(
        fc.property(frameArb, (frame) => {
          const back = decodeFrame(encodeFrame(frame, { codec: { codec } }));
          assertBitEqual(back, frame);
        }),
        fcOptions(codec === 'none' ? 300 : 120),
      );
    });
  }

  it('keeps NaN payloads, -0 and infinities of the float64 columns', () => {
    const weird = [nanWithPayload(0x123n), nanWithPayload(0x7_ffff_ffff_ffffn), -0, Infinity, -Infinity, Number.MIN_VALUE, -Number.MAX_VALUE];
    const frame = sampleFrame();
    frame.rows = weird.map((v, i) => row(1, { seriesId: i + 1, min: v, max: v, last: v }));
    frame.dictionaryScope = 'continue';
    frame.seriesDefs = [];
    for (const codec of CODEC_NAMES) {
      const back = decodeFrame(encodeFrame(frame, { codec: { codec } }));
      back.rows.forEach((r, i) => {
        assert.equal(bitsOf(r.min), bitsOf(weird[i] as number), `${codec} min[${i}]`);
        assert.equal(bitsOf(r.max), bitsOf(weird[i] as number), `${codec} max[${i}]`);
        assert.equal(bitsOf(r.last), bitsOf(weird[i] as number), `${codec} last[${i}]`);
      });
    }
  });

  it('rounds the float32 statistics like Math.fround (documented precision)', () => {
    const frame = sampleFrame();
    const values = [0.1, 1 / 3, 2.5e10 + 1, 1e39, -1e39, nanWithPayload(0x42n)];
    frame.rows = values.map((v, i) => row(i + 1, { mean: v, std: v, p50: v, p95: v, tier1MaxScore: v, bandLower: v, bandUpper: v }));
    frame.dictionaryScope = 'continue';
    frame.seriesDefs = [];
    const back = decodeFrame(encodeFrame(frame));
    back.rows.forEach((r, i) => {
      const expected = Math.fround(values[i] as number);
      for (const k of ['mean', 'std', 'p50', 'p95', 'tier1MaxScore', 'bandLower', 'bandUpper'] as const) {
        assert.ok(Object.is(r[k], expected), `${k}[${i}] = ${r[k]}, expected ${expected}`);
      }
    });
  });

  it('decodes frames written before the decimal form existed (all rows in double columns)', () => {
    const dir = new URL('../testdata/', import.meta.url);
    const frame = sampleFrame();
    for (const f of ['sample-frame-doubles.none.bin', 'sample-frame-doubles.brotli.bin']) {
      assertBitEqual(decodeFrame(new Uint8Array(readFileSync(new URL(f, dir)))), frame);
    }
  });

  it('writes decimal values in decimal form and gives back the same doubles bit for bit', () => {
    const frame = sampleFrame();
    frame.dictionaryScope = 'continue';
    frame.seriesDefs = [];
    const cases: Array<[number, number, number]> = [
      [0, 0, 0],
      [0.001, 0.443, 0.013],
      [-12.5, 7.25, -3],
      [1e15, 1e15 + 10, 1e15 + 3],
      [-(2 ** 53), 2 ** 53 - 1, 0],
      [0.1, 0.30000000000000004, 0.2], // 0.1 + 0.2: 17 significant digits, not decimal-friendly
      [123456.789012, 123456.789013, 123456.789012],
      [2.5e-7, 3.5e-7, 3e-7],
    ];
    frame.rows = cases.map(([min, max, last], i) => row(i + 1, { min, max, last }));
    const payload = encodeFeatureFramePayload(frame);
    const back = decodeFeatureFramePayload(payload);
    back.rows.forEach((r, i) => {
      const [min, max, last] = cases[i] as [number, number, number];
      assert.equal(bitsOf(r.min), bitsOf(min), `min[${i}]`);
      assert.equal(bitsOf(r.max), bitsOf(max), `max[${i}]`);
      assert.equal(bitsOf(r.last), bitsOf(last), `last[${i}]`);
    });
    // the decimal form is actually used: the double columns of decimal rows are zero
    const cols = decodeRaw(payload).columns as Record<'decimalScale' | 'min' | 'max' | 'last', number[]>;
    assert.deepEqual(cols.decimalScale.slice(0, 3), [1, 4, 3]);
    assert.equal(cols.decimalScale[5], 0, '0.30000000000000004 keeps the double form');
    assert.deepEqual([cols.min[1], cols.max[1], cols.last[1]], [0, 0, 0]);
  });

  it('arbitrary decimal rows round-trip bit-exactly and come out smaller than doubles', () => {
    const decimalRow = fc
      .record({
        k: fc.integer({ min: 0, max: 15 }),
        a: fc.integer({ min: -1e9, max: 1e9 }),
        d1: fc.integer({ min: 0, max: 1e6 }),
        d2: fc.integer({ min: 0, max: 1e6 }),
      })
      .map(({ k, a, d1, d2 }) => {
        const s = 10 ** k;
        return { min: a / s, max: (a + Math.max(d1, d2)) / s, last: (a + Math.min(d1, d2)) / s };
      });
    fc.assert(
      fc.property(fc.array(decimalRow, { minLength: 1, maxLength: 50 }), (vals) => {
        const frame = sampleFrame();
        frame.dictionaryScope = 'continue';
        frame.seriesDefs = [];
        frame.rows = vals.map((v, i) => row(i + 1, v));
        const back = decodeFrame(encodeFrame(frame));
        assertBitEqual(back, frame);
      }),
      fcOptions(200),
    );
  });

  it('refuses hostile decimal columns with the field named', () => {
    const frame = sampleFrame();
    frame.dictionaryScope = 'continue';
    frame.seriesDefs = [];
    frame.rows = [row(1), row(2)];
    const good = decodeRaw(encodeFeatureFramePayload(frame));
    const bad = (mutate: (c: Record<string, number[]>) => void, field: RegExp): void => {
      const m = structuredClone(good);
      mutate(m.columns);
      const err = expectDecodeError(() => decodeFeatureFramePayload(encodeMessage('FeatureFrame', m)));
      assert.match(err.field ?? '', field, err.message);
    };
    bad((c) => void c['minScaled']!.pop(), /columns\.minScaled/);
    bad((c) => (c['decimalScale'] = []), /columns\.decimalScale|columns\.minScaled/);
    bad((c) => (c['decimalScale']![0] = 17), /rows\[0\]\.decimalScale/);
    bad((c) => (c['min']![0] = 1), /rows\[0\]\.min/);
    bad((c) => (c['lastMinusMinScaled']![0] = 10 ** 9), /rows\[0\]\.lastMinusMinScaled/);
    bad((c) => (c['minScaled']![0] = 2 ** 53 + 2), /rows\[0\]\.minScaled/);
    bad((c) => ((c['minScaled']![0] = 2 ** 53 - 1), (c['maxMinusMinScaled']![0] = 10), (c['lastMinusMinScaled']![0] = 0)), /rows\[0\]\.maxMinusMinScaled/);
    bad((c) => ((c['decimalScale']![1] = 0), (c['minScaled']![1] = 5)), /rows\[1\]\.minScaled/);
  });

  it('roundToPrecisionBits: error at most 2^-bits, 24 bits = Math.fround, NaN and infinities kept', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -3e38, max: 3e38 }), fc.integer({ min: 8, max: 24 }), (x, bits) => {
        const r = roundToPrecisionBits(x, bits);
        const f = Math.fround(x);
        assert.ok(Number.isFinite(r), `${x} became ${r}`);
        assert.equal(Math.fround(r), r, 'a float32 value');
        if (bits === 24) assert.ok(Object.is(r, f));
        // relative to the float32 value; subnormals have fewer bits, so bound them absolutely
        if (Math.abs(f) >= 2 ** -126) assert.ok(Math.abs(r - f) <= Math.abs(f) * 2 ** -bits, `${x} -> ${r} with ${bits} bits`);
        else assert.ok(Math.abs(r - f) <= 2 ** -149 * 2 ** (24 - bits));
      }),
      fcOptions(2000),
    );
    assert.ok(Number.isNaN(roundToPrecisionBits(NaN, 12)));
    assert.equal(roundToPrecisionBits(Infinity, 12), Infinity);
    assert.equal(roundToPrecisionBits(-Infinity, 12), -Infinity);
    assert.equal(roundToPrecisionBits(3.4028234663852886e38, 8), 3.4028234663852886e38, 'the largest float32 does not round up to Inf');
    assert.equal(roundToPrecisionBits(71.71199798583984, 15), 71.7109375, "a step of 2^-8 between 64 and 128");
    assert.throws(() => roundToPrecisionBits(1, 7), /8\.\.24/);
    assert.throws(() => roundToPrecisionBits(1, 24.5), /8\.\.24/);
  });

  it('decodes the checked-in fixture (wire compatibility) and re-encodes it byte for byte', () => {
    const dir = new URL('../testdata/', import.meta.url);
    const none = new URL('sample-frame.none.bin', dir);
    const brotli = new URL('sample-frame.brotli.bin', dir);
    const frame = sampleFrame();
    if (process.env['UPDATE_FIXTURES'] === '1') {
      writeFileSync(none, encodeFrame(frame, { codec: { codec: 'none' } }));
      writeFileSync(brotli, encodeFrame(frame, { codec: { codec: 'brotli' } }));
    }
    assert.ok(existsSync(none) && existsSync(brotli), 'fixtures missing: run the test once with UPDATE_FIXTURES=1');
    const noneBytes = new Uint8Array(readFileSync(none));
    assertBitEqual(decodeFrame(noneBytes), frame);
    assertBitEqual(decodeFrame(new Uint8Array(readFileSync(brotli))), frame);
    assert.deepEqual([...encodeFrame(frame, { codec: { codec: 'none' } })], [...noneBytes]);
  });

  it('produces smaller frames with codecs than without, for a realistic frame', () => {
    const frame = sampleFrame();
    frame.dictionaryScope = 'standalone';
    frame.seriesDefs = [];
    frame.rows = [];
    for (let i = 1; i <= 200; i++) {
      frame.seriesDefs.push({ id: i, labels: { __name__: 'node_cpu_seconds_total', host: `web-${i % 10}`, cpu: String(i % 8), mode: 'user' } });
      frame.rows.push(row(i, { last: i * 1.5, flags: 0 }));
    }
    const none = encodeFrame(frame, { codec: { codec: 'none' } }).length;
    for (const codec of ['gzip', 'deflate', 'brotli'] as const) {
      assert.ok(encodeFrame(frame, { codec: { codec } }).length < none, codec);
    }
  });
});

describe('FeatureFrame validation', () => {
  function encodeError(frame: unknown): SchemaEncodeError {
    try {
      encodeFrame(frame as FeatureFrame);
    } catch (err) {
      assert.ok(err instanceof SchemaEncodeError, `expected SchemaEncodeError, got ${String(err)}`);
      assert.equal(err.retryable, false);
      return err;
    }
    return assert.fail('encodeFrame accepted an invalid frame');
  }

  /** The same invalid content written with protobufjs directly must be refused by the decoder. */
  function decodeRaw(message: object): SchemaDecodeError {
    const payload = encodeMessage('FeatureFrame', message);
    return expectDecodeError(() => decodeFrame(envelopeAround(payload)));
  }

  const base = {
    agentId: 'a',
    tenant: 't',
    sequence: 1,
    windowStartMs: T0,
    windowEndMs: T0 + 10_000,
    dictionaryScope: 2,
    dictionaryEpoch: 5,
    seriesDefs: [{ id: 1, labels: [{ name: 'host', value: 'x' }] }],
  };
  const cols = (n: number, over: Record<string, number[]> = {}) => ({
    seriesId: Array.from({ length: n }, (_, i) => i + 1),
    count: new Array(n).fill(1),
    min: new Array(n).fill(0),
    max: new Array(n).fill(0),
    mean: new Array(n).fill(0),
    std: new Array(n).fill(0),
    last: new Array(n).fill(0),
    p50: new Array(n).fill(0),
    p95: new Array(n).fill(0),
    tier1MaxScore: new Array(n).fill(0),
    flags: new Array(n).fill(0),
    bandLower: new Array(n).fill(0),
    bandUpper: new Array(n).fill(0),
    ...over,
  });

  it('refuses a window that ends before it starts, naming the field', () => {
    const e = encodeError({ ...sampleFrame(), windowEndMs: T0 - 1 });
    assert.equal(e.code, 'INVALID_FIELD');
    assert.equal(e.field, 'FeatureFrame.windowEndMs');
    const d = decodeRaw({ ...base, windowEndMs: T0 - 1, columns: cols(1) });
    assert.equal(d.code, 'INVALID_FIELD');
    assert.match(d.message, /^FeatureFrame\.windowEndMs: window end \d+ is before window start \d+$/);
  });

  it('refuses unknown series ids in reset and standalone frames with the row path', () => {
    const frame = sampleFrame();
    frame.rows.push(row(17));
    const e = encodeError(frame);
    assert.equal(e.code, 'UNKNOWN_SERIES');
    assert.equal(e.field, 'FeatureFrame.rows[3].seriesId');
    assert.match(e.message, /^FeatureFrame\.rows\[3\]\.seriesId: unknown series id 17/);
    const d = decodeRaw({ ...base, dictionaryScope: 3, columns: cols(2) });
    assert.equal(d.code, 'UNKNOWN_SERIES');
    assert.match(d.message, /^FeatureFrame\.rows\[1\]\.seriesId: unknown series id 2/);
  });

  it('refuses duplicate row ids, id 0, duplicate defs and unset scope', () => {
    const dup = sampleFrame();
    dup.rows.push(row(1));
    assert.equal(encodeError(dup).field, 'FeatureFrame.rows[3].seriesId');
    assert.equal(decodeRaw({ ...base, dictionaryScope: 1, columns: cols(2, { seriesId: [4, 4] }) }).field, 'FeatureFrame.rows[1].seriesId');
    assert.equal(decodeRaw({ ...base, dictionaryScope: 1, columns: cols(1, { seriesId: [0] }) }).field, 'FeatureFrame.rows[0].seriesId');
    const twice = decodeRaw({ ...base, seriesDefs: [base.seriesDefs[0], base.seriesDefs[0]], columns: cols(1) });
    assert.equal(twice.code, 'SERIES_CONFLICT');
    assert.equal(decodeRaw({ ...base, dictionaryScope: 0, columns: cols(1) }).field, 'FeatureFrame.dictionaryScope');
    assert.equal(decodeRaw({ ...base, dictionaryScope: 9, columns: cols(1) }).field, 'FeatureFrame.dictionaryScope');
  });

  it('refuses columns of unequal length', () => {
    const d = decodeRaw({ ...base, columns: cols(1, { p95: [1, 2] }) });
    assert.equal(d.code, 'INVALID_FIELD');
    assert.equal(d.field, 'FeatureFrame.rows');
    assert.match(d.message, /column p95 has 2 values for 1 rows/);
  });

  it('refuses missing agent id, bad labels and out-of-range numbers', () => {
    assert.equal(encodeError({ ...sampleFrame(), agentId: '' }).field, 'FeatureFrame.agentId');
    assert.equal(encodeError({ ...sampleFrame(), sequence: -1 }).field, 'FeatureFrame.sequence');
    assert.equal(encodeError({ ...sampleFrame(), sequence: 2 ** 53 }).field, 'FeatureFrame.sequence');
    assert.equal(encodeError({ ...sampleFrame(), windowStartMs: 1.5 }).field, 'FeatureFrame.windowStartMs');
    const badLabel = sampleFrame();
    (badLabel.seriesDefs[0] as { labels: Record<string, unknown> }).labels = { host: 5 };
    assert.equal(encodeError(badLabel).field, 'FeatureFrame.seriesDefs[0].labels.host');
    const lone = sampleFrame();
    (lone.seriesDefs[0] as { labels: Record<string, string> }).labels = { host: 'a\ud800b' };
    assert.match(encodeError(lone).message, /lone UTF-16 surrogate/);
    const badRow = sampleFrame();
    (badRow.rows[1] as unknown as Record<string, unknown>)['count'] = -1;
    assert.equal(encodeError(badRow).field, 'FeatureFrame.rows[1].count');
    (badRow.rows[1] as unknown as Record<string, unknown>)['count'] = 1;
    (badRow.rows[1] as unknown as Record<string, unknown>)['mean'] = '1';
    assert.equal(encodeError(badRow).field, 'FeatureFrame.rows[1].mean');
    assert.equal(encodeError(null).code, 'INVALID_FIELD');
    const dupName = decodeRaw({ ...base, seriesDefs: [{ id: 1, labels: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }], columns: cols(1) });
    assert.equal(dupName.field, 'FeatureFrame.seriesDefs[0].labels.a');
    const emptyName = decodeRaw({ ...base, seriesDefs: [{ id: 1, labels: [{ name: '', value: '1' }] }], columns: cols(1) });
    assert.equal(emptyName.field, 'FeatureFrame.seriesDefs[0].labels');
  });

  it('refuses 64-bit values beyond the safe integer range', () => {
    const d = decodeRaw({ ...base, sequence: '9007199254740993', columns: cols(1) });
    assert.equal(d.code, 'INVALID_FIELD');
    assert.equal(d.field, 'FeatureFrame.sequence');
  });

  it('enforces row, def, label and element limits on both sides', () => {
    const limits = resolveDecodeLimits({ maxRowsPerFrame: 2, maxSeriesDefsPerFrame: 2, maxLabelsPerSet: 3 });
    const frame = sampleFrame();
    assert.equal(expectCode(() => encodeFrame(frame, { limits }), 'TOO_LARGE').field, 'FeatureFrame.seriesDefs');
    const bytes = encodeFrame(frame);
    assert.equal(expectDecodeError(() => decodeFrame(bytes, { limits }), 'TOO_LARGE').field, 'FeatureFrame.seriesDefs');
    const fewDefs = resolveDecodeLimits({ maxRowsPerFrame: 2 });
    assert.equal(expectDecodeError(() => decodeFrame(bytes, { limits: fewDefs }), 'TOO_LARGE').field, 'FeatureFrame.rows');
    const fewLabels = resolveDecodeLimits({ maxLabelsPerSet: 3 });
    assert.equal(expectDecodeError(() => decodeFrame(bytes, { limits: fewLabels }), 'TOO_LARGE').field, 'FeatureFrame.seriesDefs[0].labels');
    const fewElements = resolveDecodeLimits({ maxElements: 20 });
    assert.equal(expectDecodeError(() => decodeFrame(bytes, { limits: fewElements }), 'TOO_LARGE').field, 'FeatureFrame');
  });

  it('counts elements before materialising: many empty sub-messages are refused cheaply', () => {
    // 1 MiB of empty Label sub-messages (2 bytes each) inside one SeriesDef: ~500k objects.
    const labelsBytes = new Uint8Array(1 << 20);
    for (let i = 0; i < labelsBytes.length; i += 2) {
      labelsBytes[i] = 0x12; // field 2 (labels), wire type 2
      labelsBytes[i + 1] = 0;
    }
    const def = new Uint8Array([0x08, 0x01, ...[]]);
    const defBody = new Uint8Array(def.length + labelsBytes.length);
    defBody.set(def, 0);
    defBody.set(labelsBytes, def.length);
    const lenBytes = (n: number): number[] => {
      const out: number[] = [];
      while (n > 0x7f) {
        out.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      out.push(n);
      return out;
    };
    const head = new Uint8Array([0x42, ...lenBytes(defBody.length)]); // field 8 (series_defs)
    const payload = new Uint8Array(head.length + defBody.length);
    payload.set(head, 0);
    payload.set(defBody, head.length);
    const limits = resolveDecodeLimits({ maxElements: 100_000 });
    const e = expectDecodeError(() => decodeFrame(envelopeAround(payload, 'brotli'), { limits }), 'TOO_LARGE');
    assert.match(e.message, /maxElements/);
  });
});

function expectCode(fn: () => unknown, code: string): SchemaEncodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SchemaEncodeError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  return assert.fail('expected a SchemaEncodeError');
}

describe('FeatureFrame hostile input', () => {
  it('flipping any single bit of an uncompressed sample frame is always detected', () => {
    const bytes = encodeFrame(sampleFrame(), { codec: { codec: 'none' } });
    let detected = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = bytes.slice();
      copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
      expectDecodeError(() => decodeFrame(copy));
      detected++;
    }
    assert.equal(detected, bytes.length * 8);
  });

  for (const codec of CODEC_NAMES.filter((c) => c !== 'none')) {
    it(`flipping bits of a ${codec} sample frame yields SchemaDecodeError or the identical frame`, () => {
      const frame = sampleFrame();
      const bytes = encodeFrame(frame, { codec: { codec } });
      // Every header bit, and a deterministic sample of payload bits (xorshift, fixed seed).
      const bits = new Set<number>();
      for (let b = 0; b < ENVELOPE_HEADER_BYTES * 8; b++) bits.add(b);
      let x = 0x9e3779b9;
      while (bits.size < Math.min(bytes.length * 8, ENVELOPE_HEADER_BYTES * 8 + 1500)) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bits.add(ENVELOPE_HEADER_BYTES * 8 + ((x >>> 0) % ((bytes.length - ENVELOPE_HEADER_BYTES) * 8)));
      }
      let errors = 0;
      for (const bit of bits) {
        const copy = bytes.slice();
        copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
        let decoded: FeatureFrame | undefined;
        try {
          decoded = decodeFrame(copy);
        } catch (err) {
          assert.ok(err instanceof SchemaDecodeError, `bit ${bit}: ${String(err)}`);
          errors++;
          continue;
        }
        // A flip in padding bits the codec ignores: the CRC proves the payload is intact.
        assertBitEqual(decoded, frame);
      }
      assert.ok(errors > bits.size * 0.9, `only ${errors} of ${bits.size} flips detected`);
    });
  }

  for (const codec of CODEC_NAMES) {
    it(`truncating a ${codec} sample frame at every offset yields SchemaDecodeError`, () => {
      const bytes = encodeFrame(sampleFrame(), { codec: { codec } });
      for (let len = 0; len < bytes.length; len++) {
        const e = expectDecodeError(() => decodeFrame(bytes.subarray(0, len)));
        if (len < ENVELOPE_HEADER_BYTES) assert.equal(e.code, 'TRUNCATED');
      }
    });
  }

  it('random garbage only ever yields SchemaDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (garbage) => {
        expectDecodeError(() => decodeFrame(garbage));
      }),
      fcOptions(2000),
    );
  });

  it('garbage behind a valid header (correct CRC) reaches the protobuf layer and is refused or valid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(...CODEC_NAMES), (payload, codec) => {
        const bytes = envelopeAround(payload, codec);
        try {
          const frame = decodeFrame(bytes);
          // Whatever decodes must be a valid frame: it re-encodes without error.
          encodeFrame(frame);
        } catch (err) {
          assert.ok(err instanceof SchemaDecodeError, String(err));
          assert.ok(['MALFORMED_PROTOBUF', 'INVALID_FIELD', 'UNKNOWN_SERIES', 'SERIES_CONFLICT', 'TOO_LARGE'].includes(err.code), err.code);
        }
      }),
      fcOptions(3000),
    );
  });

  it('mutated valid payloads (CRC fixed up) are refused or decode to a valid frame', () => {
    fc.assert(
      fc.property(
        frameArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (frame, edits) => {
          const payload = encodeFeatureFramePayload(frame).slice();
          if (payload.length === 0) return;
          for (const [at, value] of edits) payload[at % payload.length] = value;
          try {
            encodeFrame(decodeFeatureFramePayload(payload));
          } catch (err) {
            assert.ok(err instanceof SchemaDecodeError, String(err));
          }
        },
      ),
      fcOptions(1500),
    );
  });

  it('refuses a frame envelope of another payload kind', () => {
    const payload = encodeFeatureFramePayload(sampleFrame());
    const other = encodeEnvelope(payload, { kind: PayloadKind.AlertBatch, codec: { codec: 'none' } });
    expectDecodeError(() => decodeFrame(other), 'WRONG_KIND');
  });

  it('refuses non-Uint8Array input with a typed error', () => {
    for (const bad of [undefined, null, 'AIOF', 42, [1, 2, 3], {}]) {
      expectDecodeError(() => decodeFrame(bad as unknown as Uint8Array), 'INVALID_FIELD');
    }
  });

  it('is not fooled by a compressed bomb behind a valid header', () => {
    // 32 MiB of zeros compressed to a few KiB, declared as 1 KiB: stops at the declared size.
    const zeros = new Uint8Array(32 << 20);
    const body = zlib.deflateRawSync(zeros, { level: 9 });
    const bytes = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
    const header = encodeFrame(sampleFrame(), { codec: { codec: 'deflate' } }).subarray(0, ENVELOPE_HEADER_BYTES);
    bytes.set(header, 0);
    new DataView(bytes.buffer).setUint32(8, 1024);
    bytes.set(body, ENVELOPE_HEADER_BYTES);
    expectDecodeError(() => decodeFrame(bytes), 'LENGTH_MISMATCH');
  });
});
