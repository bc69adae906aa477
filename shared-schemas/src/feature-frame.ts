// FeatureFrame: rows in TypeScript, columns on the wire (FeatureColumns), wrapped in the frame
// envelope. Encoders validate with the same rules as decoders, so a frame that encodes also
// decodes. Series ids are checked here as far as one frame allows (uniqueness; for 'reset' and
// 'standalone' frames, that every row id is defined in the frame); resolution against earlier
// frames of a stream is SeriesDictionaryDecoder.apply's job.
import { codecOptionsOf, limitsOf } from './config.js';
import type { CodecOptions, DecodeLimits } from './config.js';
import { decodeEnvelope, encodeEnvelope, PayloadKind } from './envelope.js';
import { SchemaEncodeError, guardDecode, toEncodeError } from './errors.js';
import { sortedLabelNames } from './labels.js';
import { decodeMessage, encodeMessage, longToNumber } from './schema.js';
import type { DictionaryScope, FeatureFrame, FeatureRow, Labels, SeriesDef } from './types.js';
import {
  checkArray,
  checkLabels,
  checkNumber,
  checkOneOf,
  checkString,
  checkTimestamp,
  checkUint32,
  checkUint64,
  fail,
  isPlainObject,
  labelsFromPairs,
  show,
} from './validate.js';
import type { ProtoLabel } from './validate.js';

const T = 'FeatureFrame';

export const DICTIONARY_SCOPES: readonly DictionaryScope[] = ['continue', 'reset', 'standalone'];
const SCOPE_TO_PROTO: Readonly<Record<DictionaryScope, number>> = { continue: 1, reset: 2, standalone: 3 };
const SCOPE_FROM_PROTO: readonly (DictionaryScope | undefined)[] = [undefined, 'continue', 'reset', 'standalone'];

/** Value columns: float64 on the wire (raw sample values). */
const DOUBLE_COLUMNS = ['min', 'max', 'last'] as const;
/** Value columns: float32 on the wire (derived statistics). */
const FLOAT_COLUMNS = ['mean', 'std', 'p50', 'p95', 'tier1MaxScore', 'bandLower', 'bandUpper'] as const;
const VALUE_COLUMNS = [...DOUBLE_COLUMNS, ...FLOAT_COLUMNS] as const;
type ValueColumn = (typeof VALUE_COLUMNS)[number];
const ALL_COLUMNS = ['seriesId', 'count', ...VALUE_COLUMNS, 'flags'] as const;

/** Largest decimal scale k (divisor 10^(k-1)); 10^15 is the largest power of ten below 2^53. */
const MAX_DECIMAL_SCALE = 16;
const POW10: readonly number[] = Array.from({ length: MAX_DECIMAL_SCALE }, (_, i) => 10 ** i);
const MAX_SCALED = 2 ** 53;

/**
 * The decimal scale k (1..16) at which min, max and last of a row are integers m/10^(k-1) that
 * divide back to the same doubles bit for bit, or 0 when there is none (NaN, Inf, -0, too many
 * digits, magnitude beyond 2^53). Tries the fewest digits first, so integers get k = 1.
 */
function decimalScaleOf(min: number, max: number, last: number): number {
  if (!(Number.isFinite(min) && Number.isFinite(max) && Number.isFinite(last))) return 0;
  if (Object.is(min, -0) || Object.is(max, -0) || Object.is(last, -0)) return 0;
  if (!(min <= last && last <= max)) return 0;
  for (let k = 0; k < MAX_DECIMAL_SCALE; k++) {
    const s = POW10[k] as number;
    const m = Math.round(min * s);
    if (Math.abs(m) > MAX_SCALED || m / s !== min) continue;
    const x = Math.round(max * s);
    if (Math.abs(x) > MAX_SCALED || x / s !== max || x - m > MAX_SCALED) continue;
    const l = Math.round(last * s);
    if (l / s !== last) continue;
    return k + 1;
  }
  return 0;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** Fewest and most significant bits accepted by roundToPrecisionBits (float32 has 24). */
export const MIN_PRECISION_BITS = 8;
export const MAX_PRECISION_BITS = 24;

/**
 * Rounds a value to float32 keeping only `bits` significant bits (8..24; 24 = Math.fround), to
 * the nearest such value (ties away from zero). The relative error is at most 2^-bits. Zeroed
 * low mantissa bits cost almost nothing after compression (docs/decisions/012). NaN and
 * infinities pass through; a finite value never becomes infinite.
 */
export function roundToPrecisionBits(x: number, bits: number): number {
  if (!Number.isInteger(bits) || bits < MIN_PRECISION_BITS || bits > MAX_PRECISION_BITS) {
    throw new RangeError(`precision bits must be an integer ${MIN_PRECISION_BITS}..${MAX_PRECISION_BITS} (got ${bits})`);
  }
  f32[0] = x;
  const drop = MAX_PRECISION_BITS - bits;
  if (drop === 0 || !Number.isFinite(f32[0] as number)) return f32[0] as number;
  const u = f32Bits[0] as number;
  const half = 1 << (drop - 1);
  f32Bits[0] = (((u + half) >>> drop) << drop) >>> 0;
  const r = f32[0] as number;
  return Number.isFinite(r) ? r : Math.fround(x);
}

/** Sorted wire form of a label set. */
export function labelsToPairs(labels: Labels): ProtoLabel[] {
  const names = sortedLabelNames(labels);
  const out: ProtoLabel[] = new Array<ProtoLabel>(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    out[i] = { name, value: labels[name] as string };
  }
  return out;
}

function checkRow(row: unknown, field: string): FeatureRow {
  if (!isPlainObject(row)) fail(field, `must be an object (got ${show(row)})`);
  const r = row as unknown as FeatureRow;
  checkUint32(r.seriesId, `${field}.seriesId`);
  if (r.seriesId === 0) fail(`${field}.seriesId`, 'must be >= 1 (got 0)');
  checkUint32(r.count, `${field}.count`);
  for (const c of VALUE_COLUMNS) checkNumber(r[c], `${field}.${c}`);
  checkUint32(r.flags, `${field}.flags`);
  return r;
}

/**
 * Validates a frame (types, limits, window, series ids). Returns it unchanged; throws
 * SchemaDecodeError naming the field path.
 */
export function validateFeatureFrame(frame: unknown, limits: DecodeLimits): FeatureFrame {
  if (!isPlainObject(frame)) fail(T, `must be an object (got ${show(frame)})`);
  const f = frame as unknown as FeatureFrame;
  checkString(f.agentId, `${T}.agentId`, limits, { nonEmpty: true });
  checkString(f.tenant, `${T}.tenant`, limits);
  checkUint64(f.sequence, `${T}.sequence`);
  checkTimestamp(f.windowStartMs, `${T}.windowStartMs`);
  checkTimestamp(f.windowEndMs, `${T}.windowEndMs`);
  if (f.windowEndMs < f.windowStartMs) {
    fail(`${T}.windowEndMs`, `window end ${f.windowEndMs} is before window start ${f.windowStartMs}`);
  }
  const scope = checkOneOf(f.dictionaryScope, DICTIONARY_SCOPES, `${T}.dictionaryScope`);
  checkUint64(f.dictionaryEpoch, `${T}.dictionaryEpoch`);

  const defs = checkArray(f.seriesDefs, `${T}.seriesDefs`, limits.maxSeriesDefsPerFrame);
  const defined = new Set<number>();
  for (let i = 0; i < defs.length; i++) {
    const field = `${T}.seriesDefs[${i}]`;
    const def = defs[i];
    if (!isPlainObject(def)) fail(field, `must be an object (got ${show(def)})`);
    const d = def as unknown as SeriesDef;
    checkUint32(d.id, `${field}.id`);
    if (d.id === 0) fail(`${field}.id`, 'must be >= 1 (got 0)');
    if (defined.has(d.id)) fail(`${field}.id`, `series id ${d.id} defined twice in one frame`, 'SERIES_CONFLICT');
    defined.add(d.id);
    checkLabels(d.labels, `${field}.labels`, limits);
  }

  const rows = checkArray(f.rows, `${T}.rows`, limits.maxRowsPerFrame);
  const seen = new Set<number>();
  const selfContained = scope !== 'continue';
  for (let i = 0; i < rows.length; i++) {
    const field = `${T}.rows[${i}]`;
    const r = checkRow(rows[i], field);
    if (seen.has(r.seriesId)) fail(`${field}.seriesId`, `series id ${r.seriesId} appears in two rows`);
    seen.add(r.seriesId);
    if (selfContained && !defined.has(r.seriesId)) {
      fail(`${field}.seriesId`, `unknown series id ${r.seriesId} (a '${scope}' frame must define every id it uses)`, 'UNKNOWN_SERIES');
    }
  }
  return f;
}

/** Protobuf bytes of a frame (no envelope). Throws SchemaEncodeError. */
export function encodeFeatureFramePayload(frame: FeatureFrame, limits?: Partial<DecodeLimits>): Uint8Array {
  const lim = limitsOf(limits);
  try {
    validateFeatureFrame(frame, lim);
  } catch (err) {
    throw toEncodeError(err);
  }
  const rows = frame.rows;
  const n = rows.length;
  const seriesId = new Array<number>(n);
  const count = new Array<number>(n);
  const flags = new Array<number>(n);
  const values = {} as Record<ValueColumn, Float64Array>;
  for (const c of VALUE_COLUMNS) values[c] = new Float64Array(n);
  const { min, max, last, mean, std, p50, p95, tier1MaxScore, bandLower, bandUpper } = values;
  const decimalScale = new Array<number>(n);
  const minScaled = new Array<number>(n);
  const maxMinusMinScaled = new Array<number>(n);
  const lastMinusMinScaled = new Array<number>(n);
  let decimalRows = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i] as FeatureRow;
    seriesId[i] = r.seriesId;
    count[i] = r.count;
    flags[i] = r.flags;
    const k = decimalScaleOf(r.min, r.max, r.last);
    decimalScale[i] = k;
    if (k === 0) {
      min[i] = r.min;
      max[i] = r.max;
      last[i] = r.last;
      minScaled[i] = 0;
      maxMinusMinScaled[i] = 0;
      lastMinusMinScaled[i] = 0;
    } else {
      decimalRows++;
      const s = POW10[k - 1] as number;
      const m = Math.round(r.min * s);
      minScaled[i] = m;
      maxMinusMinScaled[i] = Math.round(r.max * s) - m;
      lastMinusMinScaled[i] = Math.round(r.last * s) - m;
    }
    mean[i] = r.mean;
    std[i] = r.std;
    p50[i] = r.p50;
    p95[i] = r.p95;
    tier1MaxScore[i] = r.tier1MaxScore;
    bandLower[i] = r.bandLower;
    bandUpper[i] = r.bandUpper;
  }
  const message = {
    agentId: frame.agentId,
    tenant: frame.tenant,
    sequence: frame.sequence,
    windowStartMs: frame.windowStartMs,
    windowEndMs: frame.windowEndMs,
    dictionaryScope: SCOPE_TO_PROTO[frame.dictionaryScope],
    dictionaryEpoch: frame.dictionaryEpoch,
    seriesDefs: frame.seriesDefs.map((d) => ({ id: d.id, labels: labelsToPairs(d.labels) })),
    columns:
      decimalRows === 0
        ? { seriesId, count, ...values, flags }
        : { seriesId, count, ...values, flags, decimalScale, minScaled, maxMinusMinScaled, lastMinusMinScaled },
  };
  const bytes = encodeMessage('FeatureFrame', message);
  if (bytes.length > lim.maxUncompressedBytes) {
    throw new SchemaEncodeError('TOO_LARGE', `${T}: ${bytes.length} bytes exceed the limit ${lim.maxUncompressedBytes}`, { field: T });
  }
  return bytes;
}

interface ProtoSeriesDef {
  id: number;
  labels: ProtoLabel[];
}

type ProtoColumns = Record<(typeof ALL_COLUMNS)[number], number[]> & {
  decimalScale: number[];
  minScaled: unknown[];
  maxMinusMinScaled: unknown[];
  lastMinusMinScaled: unknown[];
};

interface ProtoFrame {
  agentId: string;
  tenant: string;
  sequence: unknown;
  windowStartMs: unknown;
  windowEndMs: unknown;
  dictionaryScope: number;
  dictionaryEpoch: unknown;
  seriesDefs: ProtoSeriesDef[];
  columns: ProtoColumns | null;
}

/** Decodes and validates the protobuf bytes of a frame (no envelope). Throws SchemaDecodeError. */
export function decodeFeatureFramePayload(bytes: Uint8Array, limits?: Partial<DecodeLimits>): FeatureFrame {
  const lim = limitsOf(limits);
  return guardDecode(T, () => fromProtoFrame(bytes, lim));
}

function fromProtoFrame(bytes: Uint8Array, lim: DecodeLimits): FeatureFrame {
  const m = decodeMessage('FeatureFrame', bytes, lim) as unknown as ProtoFrame;
  const scope = SCOPE_FROM_PROTO[m.dictionaryScope];
  if (scope === undefined) fail(`${T}.dictionaryScope`, `unknown or unset scope ${m.dictionaryScope}`);
  if (m.seriesDefs.length > lim.maxSeriesDefsPerFrame) {
    fail(`${T}.seriesDefs`, `${m.seriesDefs.length} items exceed the limit ${lim.maxSeriesDefsPerFrame}`, 'TOO_LARGE');
  }
  const seriesDefs: SeriesDef[] = new Array<SeriesDef>(m.seriesDefs.length);
  for (let i = 0; i < m.seriesDefs.length; i++) {
    const d = m.seriesDefs[i] as ProtoSeriesDef;
    seriesDefs[i] = { id: d.id, labels: labelsFromPairs(d.labels, `${T}.seriesDefs[${i}].labels`, lim) };
  }
  const cols = m.columns;
  const n = cols === null ? 0 : cols.seriesId.length;
  if (n > lim.maxRowsPerFrame) fail(`${T}.rows`, `${n} items exceed the limit ${lim.maxRowsPerFrame}`, 'TOO_LARGE');
  const rows: FeatureRow[] = new Array<FeatureRow>(n);
  if (cols !== null) {
    for (const c of ALL_COLUMNS) {
      if (cols[c].length !== n) fail(`${T}.rows`, `column ${c} has ${cols[c].length} values for ${n} rows`);
    }
    const { seriesId, count, min, max, mean, std, last, p50, p95, tier1MaxScore, flags, bandLower, bandUpper } = cols;
    const { decimalScale, minScaled, maxMinusMinScaled, lastMinusMinScaled } = cols;
    const decimal = decimalScale.length > 0;
    for (const c of ['decimalScale', 'minScaled', 'maxMinusMinScaled', 'lastMinusMinScaled'] as const) {
      const len = cols[c].length;
      if (decimal ? len !== n : len !== 0) {
        fail(`${T}.columns.${c}`, decimal ? `has ${len} values for ${n} rows` : `has ${len} values but decimalScale is empty`);
      }
    }
    for (let i = 0; i < n; i++) {
      rows[i] = {
        seriesId: seriesId[i] as number,
        count: count[i] as number,
        min: min[i] as number,
        max: max[i] as number,
        mean: mean[i] as number,
        std: std[i] as number,
        last: last[i] as number,
        p50: p50[i] as number,
        p95: p95[i] as number,
        tier1MaxScore: tier1MaxScore[i] as number,
        flags: flags[i] as number,
        bandLower: bandLower[i] as number,
        bandUpper: bandUpper[i] as number,
      };
      if (decimal) decodeDecimalRow(rows[i] as FeatureRow, i, decimalScale[i] as number, minScaled[i], maxMinusMinScaled[i], lastMinusMinScaled[i]);
    }
  }
  const frame: FeatureFrame = {
    agentId: m.agentId,
    tenant: m.tenant,
    sequence: longToNumber(m.sequence, `${T}.sequence`),
    windowStartMs: longToNumber(m.windowStartMs, `${T}.windowStartMs`),
    windowEndMs: longToNumber(m.windowEndMs, `${T}.windowEndMs`),
    dictionaryScope: scope,
    dictionaryEpoch: longToNumber(m.dictionaryEpoch, `${T}.dictionaryEpoch`),
    seriesDefs,
    rows,
  };
  return validateFeatureFrame(frame, lim);
}

/** Applies row i's decimal form (FeatureColumns.decimal_scale) to the row, checking every bound. */
function decodeDecimalRow(row: FeatureRow, i: number, k: number, minS: unknown, maxD: unknown, lastD: unknown): void {
  const field = `${T}.rows[${i}]`;
  const m = longToNumber(minS, `${field}.minScaled`);
  const dMax = longToNumber(maxD, `${field}.maxMinusMinScaled`);
  const dLast = longToNumber(lastD, `${field}.lastMinusMinScaled`);
  if (k === 0) {
    if (m !== 0 || dMax !== 0 || dLast !== 0) fail(`${field}.minScaled`, 'must be 0 when decimalScale is 0');
    return;
  }
  if (k > MAX_DECIMAL_SCALE) fail(`${field}.decimalScale`, `must be 0..${MAX_DECIMAL_SCALE} (got ${k})`);
  if (row.min !== 0 || row.max !== 0 || row.last !== 0) fail(`${field}.min`, 'the double columns must hold 0 for a row in decimal form');
  if (Math.abs(m) > MAX_SCALED) fail(`${field}.minScaled`, `magnitude beyond 2^53 (got ${m})`);
  if (dLast > dMax) fail(`${field}.lastMinusMinScaled`, `last (${dLast}) beyond max (${dMax}) above min`);
  const top = m + dMax;
  if (Math.abs(top) > MAX_SCALED) fail(`${field}.maxMinusMinScaled`, `min + difference beyond 2^53 (got ${top})`);
  const s = POW10[k - 1] as number;
  row.min = m / s;
  row.max = top / s;
  row.last = (m + dLast) / s;
}

export interface EncodeFrameOptions {
  /** Codec and level; defaults to DEFAULT_CODEC_OPTIONS. */
  codec?: Partial<CodecOptions>;
  /** Refuse frames a decoder with these limits would refuse (default limits otherwise). */
  limits?: Partial<DecodeLimits>;
}

export interface DecodeFrameOptions {
  limits?: Partial<DecodeLimits>;
}

/** FeatureFrame -> envelope bytes (protobuf, compressed, CRC). Throws SchemaEncodeError. */
export function encodeFrame(frame: FeatureFrame, options: EncodeFrameOptions = {}): Uint8Array {
  const codec = codecOptionsOf(options.codec);
  const limits = limitsOf(options.limits);
  const payload = encodeFeatureFramePayload(frame, limits);
  return encodeEnvelope(payload, { kind: PayloadKind.FeatureFrame, codec, limits });
}

/**
 * Envelope bytes -> validated FeatureFrame. Throws only SchemaDecodeError. Series ids of a
 * 'continue' frame are resolved with SeriesDictionaryDecoder.apply.
 */
export function decodeFrame(bytes: Uint8Array, options: DecodeFrameOptions = {}): FeatureFrame {
  const limits = limitsOf(options.limits);
  return guardDecode(T, () => {
    const { payload } = decodeEnvelope(bytes, { expectedKind: PayloadKind.FeatureFrame, limits });
    return decodeFeatureFramePayload(payload, limits);
  });
}
