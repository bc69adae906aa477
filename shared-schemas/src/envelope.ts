// Frame envelope: the few bytes around a protobuf payload on MQTT, Kafka and inside gRPC
// FeatureFrameEnvelope.frame. Layout (big-endian, fixed width, 16 bytes of header):
//
//   offset size field
//        0    4 magic "AIOF" (0x41 0x49 0x4f 0x46)
//        4    1 version (1)
//        5    1 codec id (0 none, 1 snappy, 2 gzip, 3 deflate raw, 4 brotli)
//        6    1 payload kind (1 FeatureFrame, 2 MetricBatch, 3 AlertBatch, 4 Heartbeat, ...)
//        7    1 reserved flags, must be 0 in version 1
//        8    4 uncompressed payload length (uint32)
//       12    4 CRC32 (zlib.crc32, IEEE) of the uncompressed payload (uint32)
//       16    - compressed payload, to the end of the input
//
// Decoding checks, in order: size limit, magic, version, codec, kind, flags, declared length
// against the limit (before decompressing), bounded decompression, exact length, CRC32.
import zlib from 'node:zlib';
import { CODEC_IDS, codecName, compress, decompress } from './codecs.js';
import { codecOptionsOf, limitsOf } from './config.js';
import type { CodecName, CodecOptions, DecodeLimits } from './config.js';
import { SchemaDecodeError, SchemaEncodeError } from './errors.js';

/** "AIOF" */
export const ENVELOPE_MAGIC: readonly number[] = Object.freeze([0x41, 0x49, 0x4f, 0x46]);
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_HEADER_BYTES = 16;

/** Payload kinds of the envelope's kind byte. Never renumber. */
export const PayloadKind = Object.freeze({
  FeatureFrame: 1,
  MetricBatch: 2,
  AlertBatch: 3,
  Heartbeat: 4,
  Anomaly: 5,
  Incident: 6,
  RunbookExecution: 7,
} as const);

export type PayloadKindName = keyof typeof PayloadKind;
export type PayloadKindId = (typeof PayloadKind)[PayloadKindName];

const KIND_IDS = new Set<number>(Object.values(PayloadKind));

export interface EncodeEnvelopeOptions {
  kind: PayloadKindId;
  /** Codec and its level; defaults to DEFAULT_CODEC_OPTIONS. */
  codec?: Partial<CodecOptions>;
  /** The envelope is refused when a default decoder would refuse it (sizes only). */
  limits?: Partial<DecodeLimits>;
}

export interface DecodeEnvelopeOptions {
  /** When set, any other kind is refused with WRONG_KIND. */
  expectedKind?: PayloadKindId;
  limits?: Partial<DecodeLimits>;
}

export interface DecodedEnvelope {
  kind: PayloadKindId;
  codec: CodecName;
  /** The uncompressed payload (may share memory with the input for codec 'none'). */
  payload: Uint8Array;
  /** Size of the whole envelope. */
  envelopeBytes: number;
}

function crc32(data: Uint8Array): number {
  return zlib.crc32(data) >>> 0;
}

/** Wraps an (uncompressed) payload: compresses it and writes the header. */
export function encodeEnvelope(payload: Uint8Array, options: EncodeEnvelopeOptions): Uint8Array {
  const codec = codecOptionsOf(options.codec);
  const limits = limitsOf(options.limits);
  if (!KIND_IDS.has(options.kind)) {
    throw new SchemaEncodeError('INVALID_FIELD', `envelope.kind: unknown payload kind ${String(options.kind)}`, { field: 'envelope.kind' });
  }
  if (payload.length > limits.maxUncompressedBytes) {
    throw new SchemaEncodeError('TOO_LARGE', `envelope.payload: ${payload.length} bytes exceed the limit ${limits.maxUncompressedBytes}`, {
      field: 'envelope.payload',
    });
  }
  const body = compress(payload, codec);
  const total = ENVELOPE_HEADER_BYTES + body.length;
  if (total > limits.maxCompressedBytes) {
    throw new SchemaEncodeError('TOO_LARGE', `envelope: ${total} bytes after ${codec.codec} exceed the limit ${limits.maxCompressedBytes}`, {
      field: 'envelope',
    });
  }
  const out = new Uint8Array(total);
  out.set(ENVELOPE_MAGIC, 0);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint8(4, ENVELOPE_VERSION);
  view.setUint8(5, CODEC_IDS[codec.codec]);
  view.setUint8(6, options.kind);
  view.setUint8(7, 0);
  view.setUint32(8, payload.length, false);
  view.setUint32(12, crc32(payload), false);
  out.set(body, ENVELOPE_HEADER_BYTES);
  return out;
}

function err(code: ConstructorParameters<typeof SchemaDecodeError>[0], field: string, detail: string): SchemaDecodeError {
  return new SchemaDecodeError(code, `${field}: ${detail}`, { field });
}

/** Unwraps an envelope: validates the header, decompresses within the limits, checks the CRC. */
export function decodeEnvelope(bytes: Uint8Array, options: DecodeEnvelopeOptions = {}): DecodedEnvelope {
  const limits = limitsOf(options.limits);
  if (!(bytes instanceof Uint8Array)) throw err('INVALID_FIELD', 'envelope', `input must be a Uint8Array (got ${typeof bytes})`);
  if (bytes.length > limits.maxCompressedBytes) {
    throw err('TOO_LARGE', 'envelope', `${bytes.length} bytes exceed the limit ${limits.maxCompressedBytes}`);
  }
  const magicBytes = Math.min(bytes.length, ENVELOPE_MAGIC.length);
  for (let i = 0; i < magicBytes; i++) {
    if (bytes[i] !== ENVELOPE_MAGIC[i]) throw err('BAD_MAGIC', 'envelope.magic', 'not an AIOF frame envelope');
  }
  if (bytes.length < ENVELOPE_HEADER_BYTES) {
    throw err('TRUNCATED', 'envelope', `${bytes.length} bytes, the header alone is ${ENVELOPE_HEADER_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(4);
  if (version !== ENVELOPE_VERSION) throw err('UNSUPPORTED_VERSION', 'envelope.version', `version ${version} (supported: ${ENVELOPE_VERSION})`);
  const codecId = view.getUint8(5);
  const codec = codecName(codecId);
  if (codec === undefined) throw err('UNKNOWN_CODEC', 'envelope.codec', `unknown codec id ${codecId}`);
  const kind = view.getUint8(6);
  if (!KIND_IDS.has(kind)) throw err('INVALID_FIELD', 'envelope.kind', `unknown payload kind ${kind}`);
  if (options.expectedKind !== undefined && kind !== options.expectedKind) {
    throw err('WRONG_KIND', 'envelope.kind', `payload kind ${kind}, expected ${options.expectedKind}`);
  }
  const flags = view.getUint8(7);
  if (flags !== 0) throw err('UNSUPPORTED_VERSION', 'envelope.flags', `reserved flags 0x${flags.toString(16)} set`);
  const declared = view.getUint32(8, false);
  if (declared > limits.maxUncompressedBytes) {
    throw err('TOO_LARGE', 'envelope.uncompressedLength', `${declared} bytes declared, limit ${limits.maxUncompressedBytes}`);
  }
  const body = bytes.subarray(ENVELOPE_HEADER_BYTES);
  const payload = decompress(codec, body, declared);
  const expectedCrc = view.getUint32(12, false);
  const actualCrc = crc32(payload);
  if (actualCrc !== expectedCrc) {
    throw err('CHECKSUM_MISMATCH', 'envelope.crc32', `payload CRC32 0x${actualCrc.toString(16)}, header 0x${expectedCrc.toString(16)}`);
  }
  return { kind: kind as PayloadKindId, codec, payload, envelopeBytes: bytes.length };
}
