// Compression codecs of the frame envelope. Decompression is bounded by the length the
// envelope declares: zlib stops at maxOutputLength, snappy's own length preamble is compared
// with the declared length before anything is allocated.
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import type { CodecName, CodecOptions } from './config.js';
import { SchemaDecodeError, SchemaEncodeError, describe } from './errors.js';

/** Codec ids as written in the envelope's codec byte. Never renumber. */
export const CODEC_IDS: Readonly<Record<CodecName, number>> = Object.freeze({
  none: 0,
  snappy: 1,
  gzip: 2,
  deflate: 3,
  brotli: 4,
});

const CODEC_BY_ID: readonly CodecName[] = ['none', 'snappy', 'gzip', 'deflate', 'brotli'];

export function codecName(id: number): CodecName | undefined {
  return CODEC_BY_ID[id];
}

interface SnappyModule {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, options?: { asBuffer?: boolean }): string | Buffer;
}

// undefined: not tried yet; null: not loadable in this process.
let snappyModule: SnappyModule | null | undefined;
let snappyError: unknown;

/**
 * Loads the native `snappy` package on first use. It is optional: a bundled single executable
 * cannot load native addons, and then only the snappy codec is unavailable.
 */
function snappy(): SnappyModule | null {
  if (snappyModule !== undefined) return snappyModule;
  // The agent's single executable sets this: it cannot load native addons, and trying makes
  // Node print a warning on every start.
  if (process.env.AIOPS_NO_NATIVE_ADDONS === '1') {
    snappyModule = null;
    snappyError = new Error('native addons are disabled in this process (AIOPS_NO_NATIVE_ADDONS=1)');
    return snappyModule;
  }
  try {
    // CommonJS bundles have __filename; under ESM import.meta.url is the module URL.
    const base = typeof __filename === 'string' ? __filename : import.meta.url;
    snappyModule = createRequire(base)('snappy') as SnappyModule;
  } catch (err) {
    snappyModule = null;
    snappyError = err;
  }
  return snappyModule;
}

/** True when the codec can be used in this process (always, except snappy without its addon). */
export function isCodecAvailable(codec: CodecName): boolean {
  return codec !== 'snappy' || snappy() !== null;
}

function toUint8(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Compresses a payload. Throws SchemaEncodeError('CODEC_UNAVAILABLE') for snappy without its addon. */
export function compress(payload: Uint8Array, options: CodecOptions): Uint8Array {
  switch (options.codec) {
    case 'none':
      return payload;
    case 'snappy': {
      const s = snappy();
      if (s === null) {
        throw new SchemaEncodeError('CODEC_UNAVAILABLE', `snappy is not available in this process: ${describe(snappyError)}`, { cause: snappyError });
      }
      return toUint8(s.compressSync(payload));
    }
    case 'gzip':
      return toUint8(zlib.gzipSync(payload, { level: options.gzipLevel }));
    case 'deflate':
      return toUint8(zlib.deflateRawSync(payload, { level: options.deflateLevel }));
    case 'brotli':
      return toUint8(
        zlib.brotliCompressSync(payload, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: options.brotliQuality,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: payload.length,
          },
        }),
      );
  }
}

function zlibError(codec: CodecName, declared: number, err: unknown): SchemaDecodeError {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_BUFFER_TOO_LARGE') {
    return new SchemaDecodeError('LENGTH_MISMATCH', `envelope.payload: ${codec} output exceeds the declared ${declared} bytes`, {
      field: 'envelope.payload',
      cause: err,
    });
  }
  if (code === 'Z_BUF_ERROR') {
    return new SchemaDecodeError('TRUNCATED', `envelope.payload: ${codec} stream is truncated`, { field: 'envelope.payload', cause: err });
  }
  return new SchemaDecodeError('DECOMPRESS_FAILED', `envelope.payload: ${codec} stream is corrupt: ${describe(err)}`, {
    field: 'envelope.payload',
    cause: err,
  });
}

/**
 * Decompresses `data` that must expand to exactly `declared` bytes. Never allocates more than
 * `declared` bytes (plus zlib's working chunk) for the output.
 */
export function decompress(codec: CodecName, data: Uint8Array, declared: number): Uint8Array {
  let out: Uint8Array;
  switch (codec) {
    case 'none':
      if (data.length < declared) {
        throw new SchemaDecodeError('TRUNCATED', `envelope.payload: ${data.length} bytes, ${declared} declared`, { field: 'envelope.payload' });
      }
      out = data;
      break;
    case 'snappy': {
      const s = snappy();
      if (s === null) {
        throw new SchemaDecodeError('CODEC_UNAVAILABLE', `envelope.codec: snappy is not available in this process: ${describe(snappyError)}`, {
          field: 'envelope.codec',
          cause: snappyError,
        });
      }
      // A raw snappy block starts with its uncompressed length as a varint; read it with
      // protobufjs's Reader and refuse before the native code allocates anything.
      let preamble: number;
      try {
        preamble = protobuf.Reader.create(data).uint32();
      } catch (err) {
        throw new SchemaDecodeError('TRUNCATED', 'envelope.payload: snappy length preamble is truncated', { field: 'envelope.payload', cause: err });
      }
      if (preamble !== declared) {
        throw new SchemaDecodeError('LENGTH_MISMATCH', `envelope.payload: snappy block declares ${preamble} bytes, envelope ${declared}`, {
          field: 'envelope.payload',
        });
      }
      try {
        const r = s.uncompressSync(data, { asBuffer: true });
        out = typeof r === 'string' ? new TextEncoder().encode(r) : toUint8(r);
      } catch (err) {
        throw new SchemaDecodeError('DECOMPRESS_FAILED', `envelope.payload: snappy block is corrupt: ${describe(err)}`, {
          field: 'envelope.payload',
          cause: err,
        });
      }
      break;
    }
    case 'gzip':
    case 'deflate':
    case 'brotli': {
      // maxOutputLength must be >= 1; one byte more than declared is still detected below.
      const opts = { maxOutputLength: Math.max(1, declared) };
      try {
        const r =
          codec === 'gzip'
            ? zlib.gunzipSync(data, opts)
            : codec === 'deflate'
              ? zlib.inflateRawSync(data, opts)
              : zlib.brotliDecompressSync(data, opts);
        out = toUint8(r);
      } catch (err) {
        throw zlibError(codec, declared, err);
      }
      break;
    }
  }
  if (out.length !== declared) {
    throw new SchemaDecodeError('LENGTH_MISMATCH', `envelope.payload: ${codec} output is ${out.length} bytes, ${declared} declared`, {
      field: 'envelope.payload',
    });
  }
  return out;
}
