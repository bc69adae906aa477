import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SeriesDictionaryDecoder, SeriesDictionaryEncoder } from './dictionary.js';
import { SchemaConfigError, SchemaEncodeError } from './errors.js';
import { decodeFrame, encodeFrame } from './feature-frame.js';
import { canonicalLabelKey } from './labels.js';
import { expectDecodeError, fcOptions, labels } from './testing/arbitraries.js';
import type { FeatureFrame, FeatureRow, Labels } from './types.js';

const T0 = 1_714_000_000_000;

function row(seriesId: number): FeatureRow {
  return { seriesId, count: 1, min: 1, max: 1, mean: 1, std: NaN, last: 1, p50: 1, p95: 1, tier1MaxScore: 0, flags: 0, bandLower: 0, bandUpper: 2 };
}

/** Builds, encodes and decodes one frame for `series` on a connection: the agent's loop. */
function sendFrame(enc: SeriesDictionaryEncoder, series: Labels[], sequence: number): FeatureFrame {
  const rows = series.map((l) => row(enc.intern(l)));
  const frame: FeatureFrame = {
    agentId: 'agent-1',
    tenant: 'acme',
    sequence,
    windowStartMs: T0 + sequence * 10_000,
    windowEndMs: T0 + (sequence + 1) * 10_000,
    ...enc.takeUpdate(),
    rows,
  };
  return decodeFrame(encodeFrame(frame));
}

const cpu = (host: string, mode = 'user'): Labels => ({ __name__: 'node_cpu_seconds_total', host, mode });

describe('SeriesDictionaryEncoder', () => {
  it('assigns stable ids and sends each label set once per epoch, whatever the key order', () => {
    let clock = T0;
    const enc = new SeriesDictionaryEncoder({ epochSource: () => clock });
    const a = enc.intern(cpu('a'));
    const b = enc.intern(cpu('b'));
    assert.equal(enc.intern({ mode: 'user', host: 'a', __name__: 'node_cpu_seconds_total' }), a);
    assert.notEqual(a, b);
    const first = enc.takeUpdate();
    assert.equal(first.dictionaryScope, 'reset');
    assert.equal(first.dictionaryEpoch, T0);
    assert.deepEqual(first.seriesDefs.map((d) => d.id), [a, b]);
    assert.equal(enc.intern(cpu('a')), a);
    const c = enc.intern(cpu('c'));
    const second = enc.takeUpdate();
    assert.equal(second.dictionaryScope, 'continue');
    assert.deepEqual(second.seriesDefs, [{ id: c, labels: cpu('c') }]);
    assert.deepEqual(enc.takeUpdate().seriesDefs, []);
    assert.equal(enc.size, 3);

    enc.reset();
    assert.ok(enc.epoch > T0, 'epoch increases even when the clock does not');
    assert.equal(enc.size, 0);
    const again = enc.intern(cpu('b'));
    const afterReset = enc.takeUpdate();
    assert.equal(afterReset.dictionaryScope, 'reset');
    assert.deepEqual(afterReset.seriesDefs, [{ id: again, labels: cpu('b') }]);
    clock = T0 + 10_000;
    enc.reset();
    assert.equal(enc.epoch, T0 + 10_000);
  });

  it('keeps a copy of the labels (later mutation by the caller changes nothing)', () => {
    const enc = new SeriesDictionaryEncoder();
    const l = cpu('a');
    enc.intern(l);
    l['host'] = 'z';
    assert.deepEqual(enc.takeUpdate().seriesDefs[0]?.labels, cpu('a'));
  });

  it('is bounded: DICTIONARY_FULL once maxSeries ids are in use, reset() recovers', () => {
    const enc = new SeriesDictionaryEncoder({ maxSeries: 2 });
    enc.intern(cpu('a'));
    enc.intern(cpu('b'));
    assert.equal(enc.intern(cpu('a')), 1, 'known sets still resolve when full');
    assert.throws(() => enc.intern(cpu('c')), (err: unknown) => err instanceof SchemaEncodeError && err.code === 'DICTIONARY_FULL');
    enc.reset();
    assert.equal(enc.intern(cpu('c')), 1);
  });

  it('refuses invalid label sets and options with typed errors', () => {
    const enc = new SeriesDictionaryEncoder();
    for (const bad of [{ '': 'x' }, { a: 1 }, { a: 'x\udc00' }]) {
      assert.throws(
        () => enc.intern(bad as unknown as Labels),
        (err: unknown) => err instanceof SchemaEncodeError && err.code === 'INVALID_FIELD',
      );
    }
    assert.throws(() => new SeriesDictionaryEncoder({ maxSeries: 0 }), SchemaConfigError);
    assert.throws(() => new SeriesDictionaryDecoder({ maxSeries: 1.5 }), SchemaConfigError);
  });

  it('standalone mode repeats the defs each frame needs and keeps ids stable', () => {
    const enc = new SeriesDictionaryEncoder({ mode: 'standalone' });
    const a = enc.intern(cpu('a'));
    enc.intern(cpu('b'));
    const u1 = enc.takeUpdate();
    assert.equal(u1.dictionaryScope, 'standalone');
    assert.equal(u1.seriesDefs.length, 2);
    assert.equal(enc.intern(cpu('a')), a);
    const u2 = enc.takeUpdate();
    assert.deepEqual(u2.seriesDefs, [{ id: a, labels: cpu('a') }]);
  });
});

describe('SeriesDictionaryDecoder', () => {
  it('resolves ids across several frames of one connection and after a reconnect', () => {
    const enc = new SeriesDictionaryEncoder();
    const dec = new SeriesDictionaryDecoder();
    const f0 = sendFrame(enc, [cpu('a'), cpu('b')], 0);
    assert.equal(f0.seriesDefs.length, 2);
    assert.deepEqual(dec.apply(f0), [cpu('a'), cpu('b')]);
    const f1 = sendFrame(enc, [cpu('b'), cpu('c'), cpu('a')], 1);
    assert.equal(f1.dictionaryScope, 'continue');
    assert.deepEqual(f1.seriesDefs.map((d) => d.labels), [cpu('c')]);
    assert.deepEqual(dec.apply(f1), [cpu('b'), cpu('c'), cpu('a')]);
    const f2 = sendFrame(enc, [cpu('c')], 2);
    assert.equal(f2.seriesDefs.length, 0);
    assert.deepEqual(dec.apply(f2), [cpu('c')]);
    assert.equal(dec.size, 3);

    // Reconnect: the encoder resets; the receiver follows the reset frame.
    enc.reset();
    const f3 = sendFrame(enc, [cpu('c'), cpu('d')], 3);
    assert.equal(f3.dictionaryScope, 'reset');
    assert.deepEqual(dec.apply(f3), [cpu('c'), cpu('d')]);
    assert.equal(dec.size, 2);
    assert.equal(dec.epoch, enc.epoch);
    assert.deepEqual(dec.labels(f3.rows[1]?.seriesId as number), cpu('d'));
  });

  it('refuses unknown ids with the row path, and leaves the dictionary unchanged', () => {
    const enc = new SeriesDictionaryEncoder();
    const dec = new SeriesDictionaryDecoder();
    dec.apply(sendFrame(enc, [cpu('a')], 0));
    const frame = sendFrame(enc, [cpu('b')], 1);
    frame.rows.push(row(1), row(17));
    const before = dec.size;
    const e = expectDecodeError(() => dec.apply(frame), 'UNKNOWN_SERIES');
    assert.equal(e.message, 'FeatureFrame.rows[2].seriesId: unknown series id 17');
    assert.equal(e.field, 'FeatureFrame.rows[2].seriesId');
    assert.equal(dec.size, before, 'the def of the refused frame was not committed');
    expectDecodeError(() => dec.labels(17), 'UNKNOWN_SERIES');
  });

  it('refuses a redefinition with other labels, accepts a repeated identical def (resend)', () => {
    const enc = new SeriesDictionaryEncoder();
    const dec = new SeriesDictionaryDecoder();
    const f0 = sendFrame(enc, [cpu('a')], 0);
    dec.apply(f0);
    const f1 = sendFrame(enc, [cpu('b')], 1);
    dec.apply(f1);
    assert.deepEqual(dec.apply(f1), [cpu('b')], 'the same frame delivered twice');
    const conflict: FeatureFrame = { ...f1, seriesDefs: [{ id: 1, labels: cpu('z') }], rows: [row(1)] };
    const e = expectDecodeError(() => dec.apply(conflict), 'SERIES_CONFLICT');
    assert.equal(e.field, 'FeatureFrame.seriesDefs[0].id');
    assert.deepEqual(dec.labels(1), cpu('a'));
  });

  it('refuses continue frames of another epoch or before any reset (EPOCH_MISMATCH)', () => {
    const enc = new SeriesDictionaryEncoder({ epochSource: () => 100 });
    const dec = new SeriesDictionaryDecoder();
    const f0 = sendFrame(enc, [cpu('a')], 0);
    const f1 = sendFrame(enc, [cpu('a')], 1);
    expectDecodeError(() => dec.apply(f1), 'EPOCH_MISMATCH');
    dec.apply(f0);
    dec.apply(f1);
    enc.reset();
    const f2 = sendFrame(enc, [cpu('b')], 2); // reset frame lost
    const f3 = sendFrame(enc, [cpu('b')], 3);
    const e = expectDecodeError(() => dec.apply(f3), 'EPOCH_MISMATCH');
    assert.equal(e.field, 'FeatureFrame.dictionaryEpoch');
    assert.equal(dec.epoch, 100);
    dec.apply(f2);
    assert.deepEqual(dec.apply(f3), [cpu('b')]);
  });

  it('standalone frames resolve on their own and leave the stream dictionary alone', () => {
    const live = new SeriesDictionaryEncoder();
    const dec = new SeriesDictionaryDecoder();
    dec.apply(sendFrame(live, [cpu('a')], 0));
    const replay = new SeriesDictionaryEncoder({ mode: 'standalone' });
    const old = sendFrame(replay, [cpu('x'), cpu('y')], 1);
    assert.deepEqual(dec.apply(old), [cpu('x'), cpu('y')]);
    assert.equal(dec.size, 1);
    assert.deepEqual(dec.labels(1), cpu('a'));
    assert.deepEqual(dec.apply(sendFrame(live, [cpu('a')], 2)), [cpu('a')]);
  });

  it('is bounded: DICTIONARY_FULL instead of growing past maxSeries', () => {
    const enc = new SeriesDictionaryEncoder();
    const dec = new SeriesDictionaryDecoder({ maxSeries: 2 });
    dec.apply(sendFrame(enc, [cpu('a'), cpu('b')], 0));
    const e = expectDecodeError(() => dec.apply(sendFrame(enc, [cpu('c')], 1)), 'DICTIONARY_FULL');
    assert.equal(e.field, 'FeatureFrame.seriesDefs');
    assert.equal(dec.size, 2);
    const big = new SeriesDictionaryEncoder();
    expectDecodeError(() => new SeriesDictionaryDecoder({ maxSeries: 1 }).apply(sendFrame(big, [cpu('a'), cpu('b')], 0)), 'DICTIONARY_FULL');
  });

  it('property: random frames with reconnects always resolve to the labels that were sent', () => {
    const pool = fc.uniqueArray(labels(3), { minLength: 1, maxLength: 12, selector: canonicalLabelKey });
    const step = fc.record({ reconnect: fc.boolean(), pick: fc.array(fc.nat(), { maxLength: 8 }) });
    fc.assert(
      fc.property(pool, fc.array(step, { minLength: 1, maxLength: 10 }), (sets, steps) => {
        const enc = new SeriesDictionaryEncoder({ epochSource: () => 0 });
        let dec = new SeriesDictionaryDecoder();
        steps.forEach((s, seq) => {
          if (s.reconnect && seq > 0) {
            // New connection: both sides start over (gRPC stream) - or only the sender resets (MQTT).
            enc.reset();
            if (seq % 2 === 0) dec = new SeriesDictionaryDecoder();
          }
          const chosen = [...new Set(s.pick.map((p) => p % sets.length))].map((i) => sets[i] as Labels);
          const frame = sendFrame(enc, chosen, seq);
          assert.deepEqual(dec.apply(frame), chosen);
        });
      }),
      fcOptions(300),
    );
  });
});
