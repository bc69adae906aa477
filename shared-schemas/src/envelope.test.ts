import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { CODEC_IDS, isCodecAvailable } from './codecs.js';
import { CODEC_NAMES, resolveDecodeLimits } from './config.js';
import type { CodecName } from './config.js';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_HEADER_BYTES, PayloadKind } from './envelope.js';
import { SchemaEncodeError } from './errors.js';
import { expectDecodeError, fcOptions } from './testing/arbitraries.js';

const kind = PayloadKind.FeatureFrame;

/** An envelope header with arbitrary fields, followed by `body`. */
function rawEnvelope(fields: { codec: number; declared: number; crc?: number; version?: number; kind?: number; flags?: number }, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + body.length);
  out.set([0x41, 0x49, 0x4f, 0x46], 0);
  const view = new DataView(out.buffer);
  view.setUint8(4, fields.version ?? 1);
  view.setUint8(5, fields.codec);
  view.setUint8(6, fields.kind ?? kind);
  view.setUint8(7, fields.flags ?? 0);
  view.setUint32(8, fields.declared);
  view.setUint32(12, fields.crc ?? 0);
  out.set(body, ENVELOPE_HEADER_BYTES);
  return out;
}

describe('frame envelope', () => {
  it('has the documented fixed-width header', () => {
    const payload = new TextEncoder().encode('hello, frame');
    const bytes = encodeEnvelope(payload, { kind, codec: { codec: 'none' } });
    assert.deepEqual([...bytes.subarray(0, 8)], [0x41, 0x49, 0x4f, 0x46, 1, 0, kind, 0]);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.equal(view.getUint32(8), payload.length);
    assert.equal(view.getUint32(12), zlib.crc32(payload) >>> 0);
    assert.deepEqual([...bytes.subarray(16)], [...payload]);
    assert.deepEqual(CODEC_IDS, { none: 0, snappy: 1, gzip: 2, deflate: 3, brotli: 4 });
  });

  for (const codec of CODEC_NAMES) {
    it(`${codec}: arbitrary payloads round-trip`, () => {
      assert.ok(isCodecAvailable(codec), `${codec} must be available in the test environment`);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 4096 }), (payload) => {
          const out = decodeEnvelope(encodeEnvelope(payload, { kind, codec: { codec } }), { expectedKind: kind });
          assert.equal(out.codec, codec);
          assert.equal(out.kind, kind);
          assert.deepEqual([...out.payload], [...payload]);
        }),
        fcOptions(150),
      );
    });
  }

  it('checks magic, version, codec, kind and flags in that order', () => {
    const good = encodeEnvelope(new Uint8Array([1, 2, 3]), { kind, codec: { codec: 'none' } });
    const patch = (at: number, value: number): Uint8Array => {
      const b = good.slice();
      b[at] = value;
      return b;
    };
    assert.equal(expectDecodeError(() => decodeEnvelope(patch(0, 0x42)), 'BAD_MAGIC').field, 'envelope.magic');
    assert.equal(expectDecodeError(() => decodeEnvelope(patch(4, 2)), 'UNSUPPORTED_VERSION').field, 'envelope.version');
    assert.equal(expectDecodeError(() => decodeEnvelope(patch(5, 9)), 'UNKNOWN_CODEC').field, 'envelope.codec');
    assert.equal(expectDecodeError(() => decodeEnvelope(patch(6, 0)), 'INVALID_FIELD').field, 'envelope.kind');
    assert.equal(expectDecodeError(() => decodeEnvelope(good, { expectedKind: PayloadKind.Heartbeat }), 'WRONG_KIND').field, 'envelope.kind');
    assert.equal(expectDecodeError(() => decodeEnvelope(patch(7, 1)), 'UNSUPPORTED_VERSION').field, 'envelope.flags');
    assert.equal(expectDecodeError(() => decodeEnvelope(patch(15, (good[15] as number) ^ 1)), 'CHECKSUM_MISMATCH').field, 'envelope.crc32');
    assert.equal(expectDecodeError(() => decodeEnvelope(patch(18, 9)), 'CHECKSUM_MISMATCH').field, 'envelope.crc32');
    expectDecodeError(() => decodeEnvelope(good.subarray(0, 3)), 'TRUNCATED');
    expectDecodeError(() => decodeEnvelope(good.subarray(0, 17)), 'TRUNCATED');
    expectDecodeError(() => decodeEnvelope(new Uint8Array([...good, 0])), 'LENGTH_MISMATCH');
  });

  it('refuses oversized input before looking at it', () => {
    const limits = resolveDecodeLimits({ maxCompressedBytes: 64 });
    const big = encodeEnvelope(new Uint8Array(100), { kind, codec: { codec: 'none' } });
    const e = expectDecodeError(() => decodeEnvelope(big, { limits }), 'TOO_LARGE');
    assert.equal(e.field, 'envelope');
    assert.throws(() => encodeEnvelope(new Uint8Array(100), { kind, codec: { codec: 'none' }, limits }), (err: unknown) => err instanceof SchemaEncodeError && err.code === 'TOO_LARGE');
    const small = resolveDecodeLimits({ maxUncompressedBytes: 50 });
    assert.throws(() => encodeEnvelope(new Uint8Array(100), { kind, limits: small }), (err: unknown) => err instanceof SchemaEncodeError && err.code === 'TOO_LARGE');
  });

  it('refuses a huge declared length before decompressing (default and custom limits)', () => {
    for (const codec of CODEC_NAMES) {
      const body = encodeEnvelope(new Uint8Array(10), { kind, codec: { codec } }).subarray(ENVELOPE_HEADER_BYTES);
      const e = expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec: CODEC_IDS[codec], declared: 0xffff_ffff }, body)), 'TOO_LARGE');
      assert.equal(e.field, 'envelope.uncompressedLength');
      const limits = resolveDecodeLimits({ maxUncompressedBytes: 9 });
      expectDecodeError(() => decodeEnvelope(encodeEnvelope(new Uint8Array(10), { kind, codec: { codec } }), { limits }), 'TOO_LARGE');
    }
  });

  it('stops a decompression bomb at the declared length (declared small, actual large)', () => {
    const zeros = new Uint8Array(64 << 20); // 64 MiB of zeros
    const bombs: [CodecName, Uint8Array][] = [
      ['gzip', zlib.gzipSync(zeros, { level: 9 })],
      ['deflate', zlib.deflateRawSync(zeros, { level: 9 })],
      ['brotli', zlib.brotliCompressSync(zeros, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })],
    ];
    for (const [codec, body] of bombs) {
      assert.ok(body.length < 200_000, `${codec} bomb is small (${body.length} B)`);
      const e = expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec: CODEC_IDS[codec], declared: 4096 }, body)), 'LENGTH_MISMATCH');
      assert.match(e.message, /exceeds the declared 4096 bytes/);
    }
  });

  it('checks the snappy length preamble against the declared length before the native call', () => {
    // A raw snappy block claiming 4 GiB - 1 (varint ff ff ff ff 0f) with a few bytes of data.
    const claim = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]);
    const e = expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec: CODEC_IDS.snappy, declared: 16 }, claim)), 'LENGTH_MISMATCH');
    assert.match(e.message, /snappy block declares 4294967295 bytes, envelope 16/);
    // A consistent but false claim still cannot exceed the limit checked before.
    expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec: CODEC_IDS.snappy, declared: 0xffff_ffff }, claim)), 'TOO_LARGE');
    // Preamble matches, data is short.
    const w = protobuf.Writer.create().uint32(1000).finish();
    expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec: CODEC_IDS.snappy, declared: 1000 }, new Uint8Array([...w, 0x00, 0x61]))), 'DECOMPRESS_FAILED');
    expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec: CODEC_IDS.snappy, declared: 1000 }, new Uint8Array([0xe8]))), 'TRUNCATED');
  });

  it('reports corrupt and truncated compressed streams', () => {
    for (const codec of ['gzip', 'deflate', 'brotli'] as const) {
      const payload = new TextEncoder().encode('a'.repeat(1000) + 'b'.repeat(1000));
      const good = encodeEnvelope(payload, { kind, codec: { codec } });
      expectDecodeError(() => decodeEnvelope(good.subarray(0, good.length - 1)), ['TRUNCATED', 'DECOMPRESS_FAILED', 'LENGTH_MISMATCH']);
      const body = good.slice(ENVELOPE_HEADER_BYTES).fill(0xff, 2, 8);
      expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec: CODEC_IDS[codec], declared: payload.length }, body)), [
        'DECOMPRESS_FAILED',
        'TRUNCATED',
        'LENGTH_MISMATCH',
        'CHECKSUM_MISMATCH',
      ]);
    }
  });

  it('random garbage and random headers only ever yield SchemaDecodeError', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 2048 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.uint8Array({ maxLength: 256 }),
        (codec, declared, crc, body) => {
          try {
            decodeEnvelope(rawEnvelope({ codec, declared, crc }, body));
          } catch {
            expectDecodeError(() => decodeEnvelope(rawEnvelope({ codec, declared, crc }, body)));
          }
        },
      ),
      fcOptions(2000),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
        expectDecodeError(() => decodeEnvelope(garbage));
      }),
      fcOptions(1000),
    );
  });
});
