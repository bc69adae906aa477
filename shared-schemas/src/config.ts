// Codec options and decode limits. Resolved (validated, defaults filled) once at start-up;
// the encode/decode functions accept either a resolved object or a partial one.
import { SchemaConfigError } from './errors.js';

/** Compression codecs of the frame envelope. */
export type CodecName = 'none' | 'snappy' | 'gzip' | 'deflate' | 'brotli';

export const CODEC_NAMES: readonly CodecName[] = ['none', 'snappy', 'gzip', 'deflate', 'brotli'];

/**
 * Default codec: chosen by measurement (bench/frame-codec.ts,
 * docs/decisions/003-frame-compression.md).
 */
export const DEFAULT_CODEC: CodecName = 'brotli';

export interface CodecOptions {
  /** Codec used by encoders. Decoders accept every codec regardless. */
  codec: CodecName;
  /** zlib level for gzip, 0..9 (-1 = zlib default, 6). */
  gzipLevel: number;
  /** zlib level for raw deflate, 0..9 (-1 = zlib default, 6). */
  deflateLevel: number;
  /** Brotli quality 0..11 (default 5). Always set: brotli's own default (11) runs at ~1 MB/s. */
  brotliQuality: number;
}

export const DEFAULT_CODEC_OPTIONS: Readonly<CodecOptions> = Object.freeze({
  codec: DEFAULT_CODEC,
  gzipLevel: 6,
  deflateLevel: 6,
  brotliQuality: 5,
});

/** Bounds every decoder enforces before and after parsing; all are inclusive maxima. */
export interface DecodeLimits {
  /** Size of the envelope (header + compressed payload) in bytes. */
  maxCompressedBytes: number;
  /** Declared (and actual) uncompressed payload size in bytes; checked before decompressing. */
  maxUncompressedBytes: number;
  /**
   * Protobuf elements (sub-messages plus repeated scalar values) in one payload; counted
   * before the payload is materialised, so a small payload of many empty sub-messages cannot
   * allocate millions of objects.
   */
  maxElements: number;
  /** Rows of one FeatureFrame. */
  maxRowsPerFrame: number;
  /** SeriesDef entries in one FeatureFrame. */
  maxSeriesDefsPerFrame: number;
  /** Labels in one label set (series, alert labels, annotations). */
  maxLabelsPerSet: number;
  /** Length of a label name, UTF-16 code units. */
  maxLabelNameLength: number;
  /** Length of a label value, UTF-16 code units. */
  maxLabelValueLength: number;
  /** Length of any other string field, UTF-16 code units. */
  maxStringLength: number;
  /** Items of any other repeated field (points in a batch, alerts, steps, fingerprints ...). */
  maxListLength: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxCompressedBytes: 8 * MiB,
  maxUncompressedBytes: 64 * MiB,
  maxElements: 8_000_000,
  maxRowsPerFrame: 250_000,
  maxSeriesDefsPerFrame: 250_000,
  maxLabelsPerSet: 128,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 16 * 1024,
  maxStringLength: 256 * 1024,
  maxListLength: 250_000,
});

/** Hard ceiling of the envelope's uint32 length field. */
export const MAX_ENVELOPE_LENGTH = 0xffff_ffff;

/**
 * Default bound of a series dictionary (per connection / stream), both sides. A decoder holds
 * at most this many frozen label sets per agent (~50 MB at 100k series of ~10 labels).
 */
export const DEFAULT_MAX_SERIES = 100_000;

// Frozen objects produced by the resolvers: accepted again without re-validation.
const resolvedLimits = new WeakSet<object>([DEFAULT_DECODE_LIMITS]);
const resolvedCodecs = new WeakSet<object>([DEFAULT_CODEC_OPTIONS]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function checkKeys(input: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      throw new SchemaConfigError(`${path}.${key}`, `${path}.${key} is not a known option (known: ${allowed.join(', ')})`);
    }
  }
}

function intInRange(value: unknown, min: number, max: number, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SchemaConfigError(path, `${path} must be an integer in ${min}..${max} (got ${show(value)})`);
  }
  return value;
}

/** Validates codec options and fills defaults. `path` prefixes error messages. */
export function resolveCodecOptions(input: unknown = {}, path = 'codec'): Readonly<CodecOptions> {
  if (input === undefined || input === null) input = {};
  if (!isPlainObject(input)) throw new SchemaConfigError(path, `${path} must be an object (got ${show(input)})`);
  checkKeys(input, Object.keys(DEFAULT_CODEC_OPTIONS), path);
  const out: CodecOptions = { ...DEFAULT_CODEC_OPTIONS };
  if (input['codec'] !== undefined) {
    const codec = input['codec'];
    if (typeof codec !== 'string' || !(CODEC_NAMES as readonly string[]).includes(codec)) {
      throw new SchemaConfigError(`${path}.codec`, `${path}.codec must be one of ${CODEC_NAMES.join(', ')} (got ${show(codec)})`);
    }
    out.codec = codec as CodecName;
  }
  if (input['gzipLevel'] !== undefined) out.gzipLevel = intInRange(input['gzipLevel'], -1, 9, `${path}.gzipLevel`);
  if (input['deflateLevel'] !== undefined) out.deflateLevel = intInRange(input['deflateLevel'], -1, 9, `${path}.deflateLevel`);
  if (input['brotliQuality'] !== undefined) out.brotliQuality = intInRange(input['brotliQuality'], 0, 11, `${path}.brotliQuality`);
  Object.freeze(out);
  resolvedCodecs.add(out);
  return out;
}

/** Validates decode limits and fills defaults. `path` prefixes error messages. */
export function resolveDecodeLimits(input: unknown = {}, path = 'limits'): Readonly<DecodeLimits> {
  if (input === undefined || input === null) input = {};
  if (!isPlainObject(input)) throw new SchemaConfigError(path, `${path} must be an object (got ${show(input)})`);
  const keys = Object.keys(DEFAULT_DECODE_LIMITS) as (keyof DecodeLimits)[];
  checkKeys(input, keys, path);
  const out: DecodeLimits = { ...DEFAULT_DECODE_LIMITS };
  for (const key of keys) {
    const value = input[key];
    if (value === undefined) continue;
    const max = key === 'maxCompressedBytes' || key === 'maxUncompressedBytes' ? MAX_ENVELOPE_LENGTH : Number.MAX_SAFE_INTEGER;
    out[key] = intInRange(value, 1, max, `${path}.${key}`);
  }
  Object.freeze(out);
  resolvedLimits.add(out);
  return out;
}

/** Validates a dictionary bound. */
export function resolveMaxSeries(value: unknown, path = 'maxSeries'): number {
  if (value === undefined) return DEFAULT_MAX_SERIES;
  return intInRange(value, 1, 0xffff_fffe, path);
}

/**
 * Limits for a decode call: a frozen object from resolveDecodeLimits (or the defaults) is used
 * as is, so hot paths that resolve once at start-up pay no validation per call; anything else
 * is validated now.
 */
export function limitsOf(input: Partial<DecodeLimits> | undefined): Readonly<DecodeLimits> {
  if (input === undefined) return DEFAULT_DECODE_LIMITS;
  if (resolvedLimits.has(input)) return input as DecodeLimits;
  return resolveDecodeLimits(input);
}

/** Same as limitsOf, for codec options. */
export function codecOptionsOf(input: Partial<CodecOptions> | undefined): Readonly<CodecOptions> {
  if (input === undefined) return DEFAULT_CODEC_OPTIONS;
  if (resolvedCodecs.has(input)) return input as CodecOptions;
  return resolveCodecOptions(input);
}
