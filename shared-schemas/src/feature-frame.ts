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
  for (let i = 0; i < n; i++) {
    const r = rows[i] as FeatureRow;
    seriesId[i] = r.seriesId;
    count[i] = r.count;
    flags[i] = r.flags;
    min[i] = r.min;
    max[i] = r.max;
    last[i] = r.last;
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
    columns: { seriesId, count, ...values, flags },
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

type ProtoColumns = Record<(typeof ALL_COLUMNS)[number], number[]>;

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
