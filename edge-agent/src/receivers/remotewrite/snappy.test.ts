import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compress } from 'snappyjs';
import { BadInputError } from '../../errors.js';
import { snappyPreamble, snappyUncompress } from './snappy.js';

function isBad(status: number) {
  return (err: unknown) => err instanceof BadInputError && err.status === status;
}

describe('snappy block decompression', () => {
  it('round-trips what snappyjs compresses: text, runs, incompressible and empty input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 5000 }),
          fc.string({ maxLength: 3000 }).map((s) => Buffer.from(s.repeat(3))),
          fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat(200_000)).map(([b, n]) => new Uint8Array(n).fill(b)),
        ),
        (input) => {
          const packed = compress(Buffer.from(input));
          assert.deepEqual(Buffer.from(snappyUncompress(packed, 1 << 20)), Buffer.from(input));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodes Prometheus-sized blocks with every element kind (1-, 2- and 4-byte offsets, long literals)', () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 5000; i++) parts.push(Buffer.from(`series_${i % 97}{job="node",instance="host-${i % 13}:9100"} ${i * 1.5}\n`));
    parts.push(Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251))); // incompressible: literal with a 2-3 byte length
    const input = Buffer.concat(parts);
    assert.deepEqual(Buffer.from(snappyUncompress(compress(input), 1 << 20)), input);
    // Hand-made: literal "a"; 1-byte-offset copy (tag 0x09: len 6, offset 1, overlapping);
    // 4-byte-offset copy (tag 0x03: len 1, offset 1) -> "aaaaaaaa".
    const hand = [0x00, 0x61, 0x09, 0x01, 0x03, 0x01, 0x00, 0x00, 0x00];
    assert.equal(Buffer.from(snappyUncompress(Uint8Array.from([8, ...hand]), 100)).toString(), 'aaaaaaaa');
    assert.throws(() => snappyUncompress(Uint8Array.from([10, ...hand]), 100), (err: unknown) => isBad(400)(err) && /produced 8 bytes, 10 declared/.test((err as Error).message));
  });

  it('refuses a declared length over the limit before allocating, and unreadable preambles', () => {
    assert.deepEqual(snappyPreamble(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])), { length: 0xffffffff, size: 5 });
    assert.equal(snappyPreamble(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), undefined);
    assert.equal(snappyPreamble(Uint8Array.from([])), undefined);
    assert.throws(() => snappyUncompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 1 << 20), isBad(413));
    assert.throws(() => snappyUncompress(Uint8Array.from([0x80]), 100), isBad(400));
  });

  it('refuses the 9-byte block that sends snappyjs 0.7 into an endless loop', () => {
    // Literal tag 0xfc (4-byte length 0x95514e6c: high bit set). snappyjs computes a negative
    // length and walks backwards forever; here it is a literal running past the end.
    assert.throws(() => snappyUncompress(Buffer.from('38fc6c4e5195fb432d', 'hex'), 1 << 16), (err: unknown) => isBad(400)(err) && /past the end/.test((err as Error).message));
  });

  it('refuses copies before the start, outputs past the declared length and truncated blocks', () => {
    assert.throws(() => snappyUncompress(Uint8Array.from([4, 0x01, 0x01]), 100), isBad(400)); // copy with nothing written
    assert.throws(() => snappyUncompress(Uint8Array.from([2, 0x08, 0x61, 0x62, 0x63]), 100), isBad(400)); // literal of 3 into 2
    assert.throws(() => snappyUncompress(Uint8Array.from([5, 0x00, 0x61, 0x05, 0x00]), 100), isBad(400)); // offset 0
    assert.throws(() => snappyUncompress(Uint8Array.from([5, 0x08, 0x61]), 100), isBad(400)); // literal cut short
    assert.throws(() => snappyUncompress(Uint8Array.from([5, 0xf0, 0x01]), 100), isBad(400)); // literal length cut short
    assert.throws(() => snappyUncompress(Uint8Array.from([5, 0x00, 0x61, 0x02]), 100), isBad(400)); // 2-byte-offset copy cut short
  });

  it('terminates on any input with a result or a BadInputError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          snappyUncompress(bytes, 1 << 16);
        } catch (err) {
          if (!(err instanceof BadInputError)) throw err;
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('terminates within the declared length on mutated valid blocks (property)', () => {
    const input = Buffer.from('remote write '.repeat(200) + 'abcdefghij'.repeat(50));
    const packed = compress(input);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(packed.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = Uint8Array.from(packed);
        for (const [at, v] of edits) b[at] = v;
        let ours: Uint8Array | undefined;
        try {
          ours = snappyUncompress(b, 1 << 16);
        } catch (err) {
          if (!(err instanceof BadInputError)) throw err;
        }
        if (ours !== undefined) assert.ok(ours.length <= 1 << 16);
      }),
      { numRuns: 3000 },
    );
  });
});
