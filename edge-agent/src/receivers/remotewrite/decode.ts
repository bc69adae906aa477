// Bounded decoding of a remote-write 1.0 body: snappy block format whose uncompressed-length
// header is checked against the limit before anything is allocated (snappy.ts), then one allocation-free
// walk over the WriteRequest wire format that enforces the request limits (series, samples)
// and the per-series limits (labels, label sizes) and locates every series; only series that
// pass are materialised, one TimeSeries at a time, with protobufjs.
import protobuf from 'protobufjs';
import type { Reader } from 'protobufjs';
import { BadInputError } from '../../errors.js';
import { prompbTypes } from './prompb-proto.js';
import { snappyPreamble, snappyUncompress } from './snappy.js';
import { int64ToNumber } from '../otlp/convert.js';

export interface WriteLimits {
  maxRequestBytes: number;
  maxSeries: number;
  maxSamples: number;
  maxLabelsPerSeries: number;
  maxLabelNameBytes: number;
  maxLabelValueBytes: number;
  /** Metadata entries decoded per request (the rest are skipped). */
  maxMetadata: number;
}

export type SeriesDropReason = 'label_limit' | 'invalid_labels' | 'native_histogram_only';

export interface DecodedSeries {
  labels: Array<{ name: string; value: string }>;
  samples: Array<{ value: number; timestamp: unknown }>;
}

export interface DecodedMetadata {
  type: number;
  metricFamilyName: string;
  unit: string;
}

export interface DecodedWrite {
  series: DecodedSeries[];
  metadata: DecodedMetadata[];
  samples: number;
  /** Series refused by a per-series check, by reason, with the first message. */
  dropped: Map<SeriesDropReason, { count: number; samples: number; message: string }>;
  exemplars: number;
  histograms: number;
}

function tooLarge(message: string): BadInputError {
  return new BadInputError('TOO_LARGE', message, 413);
}

function malformed(message: string, cause?: unknown): BadInputError {
  return new BadInputError('MALFORMED', message, 400, cause === undefined ? undefined : { cause });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Worst-case snappy block size for `n` input bytes (snappy's MaxEncodedLen). */
export function maxSnappyEncodedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/** The uncompressed length a snappy block declares (its varint preamble); -1 when unreadable. */
export function snappyDeclaredLength(data: Uint8Array): number {
  return snappyPreamble(data)?.length ?? -1;
}

/** Decompresses a snappy block of at most `max` bytes; the length header is checked first (413). */
export function snappyDecompressBounded(data: Uint8Array, max: number): Uint8Array {
  return snappyUncompress(data, max);
}

interface SeriesScan {
  start: number;
  end: number;
  samples: number;
  reject?: { reason: SeriesDropReason; message: string };
}

function checkedEnd(reader: Reader, end: number, what: string): number {
  const length = reader.uint32();
  const subEnd = reader.pos + length;
  if (subEnd > end) throw new Error(`${what}: length ${length} runs past the end`);
  return subEnd;
}

function expectWireType(wireType: number, want: number, what: string): void {
  if (wireType !== want) throw new Error(`${what} has wire type ${wireType}, expected ${want}`);
}

/** Walks one Label, checking the name and value sizes without decoding the strings. */
function scanLabel(reader: Reader, end: number, limits: WriteLimits, scan: SeriesScan): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new Error('illegal field number 0');
    if ((id === 1 || id === 2) && wireType === 2) {
      const strEnd = checkedEnd(reader, end, 'Label');
      const len = strEnd - reader.pos;
      if (scan.reject === undefined) {
        if (id === 1 && len === 0) scan.reject = { reason: 'invalid_labels', message: 'empty label name' };
        else if (id === 1 && len > limits.maxLabelNameBytes) scan.reject = { reason: 'label_limit', message: `label name of ${len} bytes, over max_label_name_bytes (${limits.maxLabelNameBytes})` };
        else if (id === 2 && len > limits.maxLabelValueBytes) scan.reject = { reason: 'label_limit', message: `label value of ${len} bytes, over max_label_value_bytes (${limits.maxLabelValueBytes})` };
      }
      reader.pos = strEnd;
    } else {
      reader.skipType(wireType, 0, id);
    }
  }
  if (reader.pos !== end) throw new Error('Label runs past its declared length');
}

function scanSeries(reader: Reader, end: number, limits: WriteLimits, out: DecodedWrite): SeriesScan {
  const scan: SeriesScan = { start: reader.pos, end, samples: 0 };
  let labels = 0;
  let histograms = 0;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new Error('illegal field number 0');
    switch (id) {
      case 1: {
        expectWireType(wireType, 2, 'TimeSeries.labels');
        const labelEnd = checkedEnd(reader, end, 'TimeSeries.labels');
        if (++labels > limits.maxLabelsPerSeries && scan.reject === undefined) {
          scan.reject = { reason: 'label_limit', message: `more than max_labels_per_series (${limits.maxLabelsPerSeries}) labels` };
        }
        scanLabel(reader, labelEnd, limits, scan);
        break;
      }
      case 2: {
        expectWireType(wireType, 2, 'TimeSeries.samples');
        reader.pos = checkedEnd(reader, end, 'TimeSeries.samples');
        scan.samples++;
        break;
      }
      case 3:
      case 4: {
        expectWireType(wireType, 2, id === 3 ? 'TimeSeries.exemplars' : 'TimeSeries.histograms');
        reader.pos = checkedEnd(reader, end, 'TimeSeries');
        if (id === 3) out.exemplars++;
        else histograms++;
        break;
      }
      default:
        reader.skipType(wireType, 0, id);
    }
  }
  if (reader.pos !== end) throw new Error('TimeSeries runs past its declared length');
  out.histograms += histograms;
  if (scan.reject === undefined && scan.samples === 0 && histograms > 0) {
    scan.reject = { reason: 'native_histogram_only', message: 'series carries native histograms only (not supported by remote-write 1.0 receivers here)' };
  }
  return scan;
}

/** The limit-enforcing walk over a WriteRequest: where each series and metadata entry is. */
function scanWriteRequest(bytes: Uint8Array, limits: WriteLimits): { out: DecodedWrite; scans: SeriesScan[]; metadataAt: Array<[number, number]> } {
  const out: DecodedWrite = { series: [], metadata: [], samples: 0, dropped: new Map(), exemplars: 0, histograms: 0 };
  const scans: SeriesScan[] = [];
  const metadataAt: Array<[number, number]> = [];
  let seriesCount = 0;
  try {
    const reader = protobuf.Reader.create(bytes);
    const end = bytes.length;
    while (reader.pos < end) {
      const tag = reader.uint32();
      const id = tag >>> 3;
      const wireType = tag & 7;
      if (id === 0) throw new Error('illegal field number 0');
      if (id === 1) {
        expectWireType(wireType, 2, 'WriteRequest.timeseries');
        const seriesEnd = checkedEnd(reader, end, 'WriteRequest.timeseries');
        if (++seriesCount > limits.maxSeries) {
          throw tooLarge(`more than max_series_per_request (${limits.maxSeries}) series in one request`);
        }
        const scan = scanSeries(reader, seriesEnd, limits, out);
        out.samples += scan.samples;
        if (out.samples > limits.maxSamples) throw tooLarge(`more than max_samples_per_request (${limits.maxSamples}) samples in one request`);
        scans.push(scan);
      } else if (id === 3) {
        expectWireType(wireType, 2, 'WriteRequest.metadata');
        const metaEnd = checkedEnd(reader, end, 'WriteRequest.metadata');
        if (metadataAt.length < limits.maxMetadata) metadataAt.push([reader.pos, metaEnd]);
        reader.pos = metaEnd;
      } else {
        reader.skipType(wireType, 0, id);
      }
    }
    if (reader.pos !== end) throw new Error('WriteRequest runs past the end of the body');
  } catch (err) {
    if (err instanceof BadInputError) throw err;
    throw malformed(`malformed protobuf WriteRequest: ${describe(err)}`, err);
  }
  for (const scan of scans) {
    if (!scan.reject) continue;
    const d = out.dropped.get(scan.reject.reason);
    if (d) {
      d.count++;
      d.samples += scan.samples;
    } else out.dropped.set(scan.reject.reason, { count: 1, samples: scan.samples, message: scan.reject.message });
  }
  return { out, scans, metadataAt };
}

/**
 * Decodes a WriteRequest (uncompressed protobuf) within `limits`. Throws BadInputError 400 for
 * malformed protobuf and 413 when the request carries more series or samples than allowed;
 * series failing a per-series check are reported in `dropped`, not thrown.
 */
export function decodeWriteRequest(bytes: Uint8Array, limits: WriteLimits): DecodedWrite {
  const { out, scans, metadataAt } = scanWriteRequest(bytes, limits);
  const { timeSeries, metadata } = prompbTypes();
  try {
    for (const scan of scans) {
      if (scan.reject) continue;
      out.series.push(timeSeries.decode(bytes.subarray(scan.start, scan.end)) as unknown as DecodedSeries);
    }
    for (const [start, end] of metadataAt) {
      out.metadata.push(metadata.decode(bytes.subarray(start, end)) as unknown as DecodedMetadata);
    }
  } catch (err) {
    throw malformed(`malformed protobuf WriteRequest: ${describe(err)}`, err);
  }
  return out;
}

/** One series of a remote-write body with `__name__` among its labels, timestamps in ms. */
export interface RemoteWriteSeries {
  labels: Record<string, string>;
  samples: Array<{ tsMs: number; value: number }>;
}

/**
 * A whole remote-write 1.0 body (snappy-compressed WriteRequest) to series, within `limits`:
 * what central's POST /api/v1/metrics/write shares with this receiver. Throws BadInputError
 * (`status` 400 or 413); series refused by a per-series check are counted in `droppedSeries`
 * with the first reason.
 */
export function decodeRemoteWriteBody(body: Uint8Array, limits: WriteLimits): { series: RemoteWriteSeries[]; samples: number; droppedSeries: number; firstProblem: string | undefined } {
  const decoded = decodeWriteRequest(snappyDecompressBounded(body, limits.maxRequestBytes), limits);
  let droppedSeries = 0;
  let firstProblem: string | undefined;
  for (const [reason, d] of decoded.dropped) {
    droppedSeries += d.count;
    firstProblem ??= `${reason}: ${d.message}`;
  }
  const series: RemoteWriteSeries[] = [];
  let samples = 0;
  for (const ts of decoded.series) {
    const labels = labelRecord(ts.labels);
    if (labels === undefined) {
      droppedSeries++;
      firstProblem ??= 'invalid_labels: a label name appears twice';
      continue;
    }
    const out = ts.samples.map((s) => ({ tsMs: int64ToNumber(s.timestamp), value: typeof s.value === 'number' ? s.value : NaN }));
    samples += out.length;
    series.push({ labels, samples: out });
  }
  return { series, samples, droppedSeries, firstProblem };
}

/** One series of a remote-write body as columns (no object per sample). */
export interface RemoteWriteColumns {
  /** Frozen (possibly the same object as for this series in an earlier body, see LabelSetCache). */
  labels: Readonly<Record<string, string>>;
  /** Milliseconds, as int64ToNumber reads them (views into one array per body). */
  timestamps: Float64Array;
  values: Float64Array;
}

/** Label pairs to a label record; undefined when a name appears twice. */
function labelRecord(pairs: ReadonlyArray<{ name: string; value: string }>): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (const l of pairs) {
    if (Object.prototype.hasOwnProperty.call(labels, l.name)) return undefined;
    if (l.name === '__proto__') Object.defineProperty(labels, l.name, { value: l.value, enumerable: true, writable: true, configurable: true });
    else labels[l.name] = l.value;
  }
  return labels;
}

/**
 * protobufjs' int64 varint read (Reader.int64 then int64ToNumber) without a Long per value:
 * the same 32-bit halves, the same 10-byte bound. Returns NaN where protobufjs would throw
 * (the caller then decodes the series with protobufjs, which throws the same error).
 */
function readInt64(buf: Uint8Array, r: { pos: number }, end: number): number {
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) return NaN;
    b = buf[pos++]!;
    lo = (lo | ((b & 127) << (i * 7))) >>> 0;
    if (b < 128) {
      r.pos = pos;
      return lo;
    }
  }
  if (pos >= end) return NaN;
  b = buf[pos++]!;
  lo = (lo | ((b & 127) << 28)) >>> 0;
  hi = (hi | ((b & 127) >> 4)) >>> 0;
  if (b >= 128) {
    for (let i = 0; ; i++) {
      if (i === 5 || pos >= end) return NaN;
      b = buf[pos++]!;
      hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0;
      if (b < 128) break;
    }
  }
  r.pos = pos;
  return (hi | 0) * 4294967296 + lo;
}

/** Decoded label sets by their wire bytes (latin1 of the TimeSeries' leading Label fields). */
export interface LabelSetCache {
  get(wire: string): Readonly<Record<string, string>> | undefined;
  set(wire: string, labels: Readonly<Record<string, string>>): void;
}

interface ColumnsContext {
  bytes: Uint8Array;
  /** The same bytes as a Buffer (latin1 keys). */
  buf: Buffer;
  dv: DataView;
  reader: Reader;
  ts: Float64Array;
  vs: Float64Array;
  cursor: { pos: number };
  cache: LabelSetCache | undefined;
}

/**
 * Reads the fields of one Sample in [p, subEnd) (1: double, 2: int64 varint; the last of each
 * wins, a missing one is 0) into the context's columns at `k`. False where the fast path gives
 * up: another field or wire type, a bad varint, a field running past `subEnd`.
 */
function readSample(c: ColumnsContext, p: number, subEnd: number, k: number): boolean {
  const { bytes, dv, cursor } = c;
  let value = 0;
  let time = 0;
  while (p < subEnd) {
    const t = bytes[p++]!;
    if (t === 0x09 && p + 8 <= subEnd) {
      value = dv.getFloat64(p, true);
      p += 8;
    } else if (t === 0x10) {
      cursor.pos = p;
      time = readInt64(bytes, cursor, subEnd);
      if (Number.isNaN(time)) return false;
      p = cursor.pos;
    } else return false;
  }
  if (p !== subEnd) return false;
  c.ts[k] = time;
  c.vs[k] = value;
  return true;
}

/**
 * Reads the canonical encoding of one TimeSeries (labels as {1: string, 2: string}, samples as
 * {1: double, 2: int64 varint}, anything else skipped as protobufjs skips unknown fields) into
 * the context's columns from `at`. Returns the label set (frozen), null when a label name
 * appears twice, or undefined when the series uses an encoding this fast path does not read
 * (a known field with another wire type, a bad varint): the caller then decodes it with
 * protobufjs, exactly as decodeWriteRequest does.
 * With a cache, the leading run of Label fields is looked up by its bytes first: a sender
 * encodes a series' labels identically in every request (Prometheus does), so a known series
 * costs one latin1 string instead of its label strings, a record and a validation downstream.
 */
function readSeriesColumns(c: ColumnsContext, scan: SeriesScan, at: number): Readonly<Record<string, string>> | null | undefined {
  const { bytes, dv, reader, ts, vs, cursor } = c;
  const end = scan.end;
  let k = at;
  let pos = scan.start;
  let wire: string | undefined;
  let known: Readonly<Record<string, string>> | undefined;
  let wireEnd = pos;
  if (c.cache !== undefined) {
    while (wireEnd < end && bytes[wireEnd] === 0x0a) {
      cursor.pos = wireEnd + 1;
      const len = readInt64(bytes, cursor, end);
      if (!(len >= 0) || cursor.pos + len > end) return undefined;
      wireEnd = cursor.pos + len;
    }
    if (wireEnd > pos) {
      wire = c.buf.toString('latin1', pos, wireEnd);
      known = c.cache.get(wire);
      if (known !== undefined) pos = wireEnd;
    }
  }
  const pairs: Array<{ name: string; value: string }> = [];
  let labelsOutsideWire = false;
  reader.pos = pos;
  while (reader.pos < end) {
    // Samples (tag 0x12) with a one-byte length, the usual case, without the Reader.
    let at0 = reader.pos;
    while (bytes[at0] === 0x12 && at0 + 1 < end && bytes[at0 + 1]! < 0x80) {
      const subEnd = at0 + 2 + bytes[at0 + 1]!;
      if (subEnd > end) return undefined;
      const p = at0 + 2;
      // The canonical Sample: 0x09 <8-byte double> 0x10 <varint of at most 7 bytes (2^49)>.
      if (bytes[p] === 0x09 && bytes[p + 9] === 0x10 && p + 11 <= subEnd) {
        let q = p + 10;
        let b = bytes[q++]!;
        let x = b & 0x7f;
        let mul = 128;
        while (b >= 0x80 && q < subEnd && mul < 2 ** 49) {
          b = bytes[q++]!;
          x += (b & 0x7f) * mul;
          mul *= 128;
        }
        if (b < 0x80 && q === subEnd) {
          ts[k] = x;
          vs[k] = dv.getFloat64(p + 1, true);
          k++;
          at0 = subEnd;
          continue;
        }
      }
      if (!readSample(c, p, subEnd, k)) return undefined;
      k++;
      at0 = subEnd;
    }
    reader.pos = at0;
    if (at0 >= end) break;
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 1 || id === 2) {
      if (wireType !== 2) return undefined;
      if (id === 1 && at0 >= wireEnd) {
        // A label after the leading run: the cached set (if any) would be incomplete.
        if (known !== undefined) return undefined;
        labelsOutsideWire = true;
      }
      const len = reader.uint32();
      const subEnd = reader.pos + len;
      if (id === 1) {
        let name = '';
        let value = '';
        while (reader.pos < subEnd) {
          const t = reader.uint32();
          const f = t >>> 3;
          if ((f === 1 || f === 2) && (t & 7) === 2) {
            if (f === 1) name = reader.string();
            else value = reader.string();
          } else if (f === 1 || f === 2) return undefined;
          else reader.skipType(t & 7);
        }
        pairs.push({ name, value });
      } else {
        // A sample the loop above did not take (multi-byte length): same reading.
        if (!readSample(c, reader.pos, subEnd, k)) return undefined;
        k++;
        reader.pos = subEnd;
      }
    } else reader.skipType(wireType);
  }
  if (k - at !== scan.samples) return undefined;
  if (known !== undefined) return known;
  const labels = labelRecord(pairs);
  if (labels === undefined) return null;
  Object.freeze(labels);
  if (wire !== undefined && !labelsOutsideWire) c.cache!.set(wire, labels);
  return labels;
}

export interface DecodedColumns {
  series: RemoteWriteColumns[];
  samples: number;
  droppedSeries: number;
  firstProblem: string | undefined;
}

export interface ColumnsOptions {
  /**
   * Replaces this module's snappy block decoder (e.g. the native `snappy` addon, ~3x faster,
   * where it can load): called only after the block's declared length passed the limit check;
   * its result must have exactly that length; whatever it throws is a 400.
   */
  uncompress?: (block: Uint8Array) => Uint8Array;
  /** Label sets already decoded, by wire bytes (bounded by the caller). */
  labelCache?: LabelSetCache;
}

/**
 * decodeRemoteWriteBody with the samples as columns: one Float64Array pair per body (each
 * series a view into it), no object per sample, label sets frozen. Same limits, errors, drops
 * and results.
 */
export function decodeRemoteWriteColumns(body: Uint8Array, limits: WriteLimits, opts: ColumnsOptions = {}): DecodedColumns {
  let bytes: Uint8Array;
  const uncompress = opts.uncompress;
  if (uncompress === undefined) bytes = snappyDecompressBounded(body, limits.maxRequestBytes);
  else {
    const pre = snappyPreamble(body);
    if (pre === undefined) throw malformed('invalid snappy block: unreadable length preamble (remote-write uses the block format, not the framed one)');
    if (pre.length > limits.maxRequestBytes) throw tooLarge(`snappy block declares ${pre.length} bytes, over max_request_bytes (${limits.maxRequestBytes})`);
    try {
      bytes = uncompress(body);
    } catch (err) {
      throw malformed(`invalid snappy block: ${describe(err)}`, err);
    }
    if (bytes.length !== pre.length) throw malformed(`invalid snappy block: produced ${bytes.length} bytes, ${pre.length} declared`);
  }
  return decodeWriteRequestColumns(bytes, limits, opts.labelCache);
}

/** decodeRemoteWriteColumns of an uncompressed WriteRequest. */
export function decodeWriteRequestColumns(bytes: Uint8Array, limits: WriteLimits, labelCache?: LabelSetCache): DecodedColumns {
  const { out, scans } = scanWriteRequest(bytes, limits);
  let droppedSeries = 0;
  let firstProblem: string | undefined;
  for (const [reason, d] of out.dropped) {
    droppedSeries += d.count;
    firstProblem ??= `${reason}: ${d.message}`;
  }
  let total = 0;
  for (const scan of scans) if (!scan.reject) total += scan.samples;
  const ctx: ColumnsContext = {
    bytes,
    buf: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    dv: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    reader: protobuf.Reader.create(bytes),
    ts: new Float64Array(total),
    vs: new Float64Array(total),
    cursor: { pos: 0 },
    cache: labelCache,
  };
  const series: RemoteWriteColumns[] = [];
  let at = 0;
  let samples = 0;
  try {
    for (const scan of scans) {
      if (scan.reject) continue;
      let labels = readSeriesColumns(ctx, scan, at);
      if (labels === undefined) {
        // Not the canonical encoding: protobufjs decides, as in decodeWriteRequest.
        const decoded = prompbTypes().timeSeries.decode(bytes.subarray(scan.start, scan.end)) as unknown as DecodedSeries;
        for (let i = 0; i < decoded.samples.length; i++) {
          const s = decoded.samples[i]!;
          ctx.ts[at + i] = int64ToNumber(s.timestamp);
          ctx.vs[at + i] = typeof s.value === 'number' ? s.value : NaN;
        }
        const record = labelRecord(decoded.labels);
        labels = record === undefined ? null : Object.freeze(record);
      }
      if (labels === null) {
        droppedSeries++;
        firstProblem ??= 'invalid_labels: a label name appears twice';
      } else {
        series.push({ labels, timestamps: ctx.ts.subarray(at, at + scan.samples), values: ctx.vs.subarray(at, at + scan.samples) });
        samples += scan.samples;
      }
      at += scan.samples;
    }
  } catch (err) {
    throw malformed(`malformed protobuf WriteRequest: ${describe(err)}`, err);
  }
  return { series, samples, droppedSeries, firstProblem };
}
