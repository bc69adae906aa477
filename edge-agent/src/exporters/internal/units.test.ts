// Small pieces of the shared send path: backoff, sequence lease, stream re-encoding.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeFrame, resolveCodecOptions, resolveDecodeLimits, SeriesDictionaryDecoder, SchemaDecodeError } from '../../../../shared-schemas/src/index.js';
import { ManualClock } from '../../testing/index.js';
import { silentLogger } from '../../../../shared-schemas/src/runtime/index.js';
import { Backoff } from './backoff.js';
import { WindowFramer } from './framer.js';
import { SequenceLease } from './sequence.js';
import { makeWindow } from './testdata/windows.js';
import { StreamReencoder } from './wire.js';

const codec = resolveCodecOptions({ codec: 'brotli', brotliQuality: 5 });
const limits = resolveDecodeLimits();

describe('Backoff', () => {
  it('grows by the multiplier, stays within the jitter band and the cap, resets', () => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.5, random: () => 0 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => lo.next()), [50, 100, 200, 400, 500]);
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.5, random: () => 0.999999 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => hi.next()), [150, 300, 600, 1000, 1000]);
    hi.reset();
    assert.equal(hi.attempts, 0);
    assert.equal(hi.next(), 150);
  });
});

describe('SequenceLease', () => {
  it('reserves blocks on disk before handing numbers out and continues above them after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiops-seq-'));
    const path = join(dir, 'x.seq');
    const a = new SequenceLease(path, silentLogger(), new ManualClock(), 10);
    await a.start(0);
    await a.ensure(3);
    assert.deepEqual([a.take(), a.take(), a.take()], [1, 2, 3]);
    assert.equal(readFileSync(path, 'utf8'), '11\n');
    const b = new SequenceLease(path, silentLogger(), new ManualClock(), 10);
    await b.start(0);
    await b.ensure(1);
    assert.equal(b.take(), 11);
    assert.throws(() => new SequenceLease(path, silentLogger(), new ManualClock()).take(), /without ensure/);
  });

  it('continues above the buffer and above the clock when the file is unreadable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiops-seq-'));
    const path = join(dir, 'x.seq');
    const clock = new ManualClock(1_800_000_000_000);
    const a = new SequenceLease(path, silentLogger(), clock, 10);
    await a.start(41);
    assert.equal(a.peek(), 42);
    writeFileSync(path, 'garbage\u0000');
    const b = new SequenceLease(path, silentLogger(), clock, 10);
    await b.start(5);
    assert.equal(b.peek(), 1_800_000_000_000);
  });
});

describe('StreamReencoder', () => {
  function stored(n: number, series: number): Uint8Array[] {
    let seq = 1;
    const framer = new WindowFramer({ agentId: 'a', tenant: 't', maxRowsPerFrame: 1000, maxFrameBytes: 1 << 20, maxSeries: 1000, codec, limits }, () => undefined);
    return Array.from({ length: n }, (_, i) => framer.build(makeWindow(i, series), { peek: () => seq, take: () => seq++ })[0]!.bytes);
  }

  it('turns standalone frames into reset/continue frames that a stream decoder resolves', () => {
    const re = new StreamReencoder({ maxSeries: 100, codec, limits, epochSource: () => 7 });
    const dec = new SeriesDictionaryDecoder();
    const frames = stored(3, 5).map((b) => decodeFrame(re.encode(b)));
    assert.deepEqual(frames.map((f) => f.dictionaryScope), ['reset', 'continue', 'continue']);
    for (const f of frames) assert.equal(dec.apply(f).length, 5);
    re.reset();
    const again = decodeFrame(re.encode(stored(1, 5)[0]!));
    assert.equal(again.dictionaryScope, 'reset');
    assert.equal(again.seriesDefs.length, 5);
  });

  it('starts a new epoch when the connection dictionary is full', () => {
    const re = new StreamReencoder({ maxSeries: 6, codec, limits });
    const [a, b] = stored(2, 5);
    decodeFrame(re.encode(a!));
    const wide = new WindowFramer({ agentId: 'a', tenant: 't', maxRowsPerFrame: 1000, maxFrameBytes: 1 << 20, maxSeries: 1000, codec, limits }, () => undefined);
    const other = wide.build({ ...makeWindow(9, 4), series: makeWindow(9, 4).series.map((s) => ({ ...s, labels: { ...s.labels, host: 'h2' } })) }, { peek: () => 99, take: () => 99 })[0]!.bytes;
    assert.equal(decodeFrame(re.encode(other)).dictionaryScope, 'reset');
    assert.equal(decodeFrame(re.encode(b!)).dictionaryScope, 'reset');
  });

  it('refuses corrupt stored bytes with a SchemaDecodeError', () => {
    const re = new StreamReencoder({ maxSeries: 10, codec, limits });
    const bytes = stored(1, 3)[0]!;
    assert.throws(() => re.encode(bytes.subarray(0, bytes.length - 3)), SchemaDecodeError);
    assert.throws(() => re.encode(new Uint8Array([1, 2, 3])), SchemaDecodeError);
  });
});
