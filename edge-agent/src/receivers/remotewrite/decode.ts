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

/**
 * Decodes a WriteRequest (uncompressed protobuf) within `limits`. Throws BadInputError 400 for
 * malformed protobuf and 413 when the request carries more series or samples than allowed;
 * series failing a per-series check are reported in `dropped`, not thrown.
 */
export function decodeWriteRequest(bytes: Uint8Array, limits: WriteLimits): DecodedWrite {
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
  const { timeSeries, metadata } = prompbTypes();
  try {
    for (const scan of scans) {
      if (scan.reject) {
        const d = out.dropped.get(scan.reject.reason);
        if (d) {
          d.count++;
          d.samples += scan.samples;
        } else out.dropped.set(scan.reject.reason, { count: 1, samples: scan.samples, message: scan.reject.message });
        continue;
      }
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
    const labels: Record<string, string> = {};
    let dup = false;
    for (const l of ts.labels) {
      if (Object.prototype.hasOwnProperty.call(labels, l.name)) dup = true;
      else if (l.name === '__proto__') Object.defineProperty(labels, l.name, { value: l.value, enumerable: true, writable: true, configurable: true });
      else labels[l.name] = l.value;
    }
    if (dup) {
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
