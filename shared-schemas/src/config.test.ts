import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  codecOptionsOf,
  DEFAULT_CODEC_OPTIONS,
  DEFAULT_DECODE_LIMITS,
  limitsOf,
  resolveCodecOptions,
  resolveDecodeLimits,
} from './config.js';
import { SchemaConfigError } from './errors.js';

function configError(fn: () => unknown): SchemaConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SchemaConfigError, String(err));
    assert.equal(err.code, 'INVALID_CONFIG');
    assert.equal(err.retryable, false);
    return err;
  }
  return assert.fail('expected a SchemaConfigError');
}

describe('config', () => {
  it('defaults: brotli quality 5, 8 MiB compressed, 64 MiB uncompressed', () => {
    assert.deepEqual(resolveCodecOptions(), DEFAULT_CODEC_OPTIONS);
    assert.equal(DEFAULT_CODEC_OPTIONS.codec, 'brotli');
    assert.equal(DEFAULT_CODEC_OPTIONS.brotliQuality, 5);
    assert.equal(DEFAULT_DECODE_LIMITS.maxCompressedBytes, 8 * 1024 * 1024);
    assert.equal(DEFAULT_DECODE_LIMITS.maxUncompressedBytes, 64 * 1024 * 1024);
    assert.deepEqual(resolveDecodeLimits({}), DEFAULT_DECODE_LIMITS);
  });

  it('fills defaults and freezes the result', () => {
    const c = resolveCodecOptions({ codec: 'gzip', gzipLevel: 1 });
    assert.deepEqual(c, { ...DEFAULT_CODEC_OPTIONS, codec: 'gzip', gzipLevel: 1 });
    assert.ok(Object.isFrozen(c));
    assert.equal(codecOptionsOf(c), c, 'resolved options are reused without re-validation');
    const l = resolveDecodeLimits({ maxRowsPerFrame: 10 });
    assert.equal(l.maxRowsPerFrame, 10);
    assert.equal(limitsOf(l), l);
    assert.ok(Object.isFrozen(l));
  });

  it('names the path and the bad value', () => {
    assert.equal(configError(() => resolveCodecOptions({ codec: 'zstd' }, 'exporters.central.codec')).message,
      'exporters.central.codec.codec must be one of none, snappy, gzip, deflate, brotli (got "zstd")');
    assert.equal(configError(() => resolveCodecOptions({ brotliQuality: 12 })).message, 'codec.brotliQuality must be an integer in 0..11 (got 12)');
    assert.equal(configError(() => resolveCodecOptions({ gzipLevel: 1.5 })).path, 'codec.gzipLevel');
    assert.equal(configError(() => resolveCodecOptions({ level: 3 })).path, 'codec.level');
    assert.equal(configError(() => resolveCodecOptions('brotli')).path, 'codec');
    assert.equal(configError(() => resolveDecodeLimits({ maxUncompressedBytes: 0 })).message, 'limits.maxUncompressedBytes must be an integer in 1..4294967295 (got 0)');
    assert.equal(configError(() => resolveDecodeLimits({ maxCompressedBytes: 2 ** 32 })).path, 'limits.maxCompressedBytes');
    assert.equal(configError(() => resolveDecodeLimits({ maxRows: 1 })).path, 'limits.maxRows');
    assert.equal(configError(() => limitsOf({ maxElements: -1 })).path, 'limits.maxElements');
  });
});
