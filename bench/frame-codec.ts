// Feature-frame codec benchmark: every envelope codec (and level) side by side in one run.
// For realistic frames (host-agent label sets, features computed from simulated 1 s samples
// over a 10 s window) it reports, per codec and frame size:
//   - encode+compress and decompress+decode throughput (median of the rounds; rounds are
//     interleaved across codecs so machine noise hits every codec alike),
//   - envelope bytes of the first frame of a connection (with the series dictionary) and of the
//     following frames (ids only), and bytes per sample (a sample = one series row of a frame).
// A second table compares wire layouts on the same frames: packed columns with float32
// statistics (the schema) against packed columns with float64 statistics and one sub-message
// per row (alternatives defined only here), uncompressed and compressed.
//
// usage: npx tsx bench/frame-codec.ts [--rounds 7] [--series 500,5000] [--frames 6] [--json out.json]

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';
import {
  decodeFrame,
  encodeEnvelope,
  encodeFeatureFramePayload,
  ENVELOPE_HEADER_BYTES,
  PayloadKind,
  encodeFrame,
  isCodecAvailable,
  resolveCodecOptions,
  SeriesDictionaryDecoder,
  SeriesDictionaryEncoder,
} from '../shared-schemas/src/index.js';
import type { CodecOptions, FeatureFrame, FeatureRow, Labels } from '../shared-schemas/src/index.js';
import { mulberry32 as prng } from '../simulators/replay/index.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    series: { type: 'string', default: '500,5000' },
    frames: { type: 'string', default: '6' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: npx tsx bench/frame-codec.ts [--rounds N (>=5)] [--series 500,5000] [--frames N (>=2)] [--json file]');
  process.exit(0);
}
const ROUNDS = Math.max(5, Number(args.rounds));
const SIZES = String(args.series).split(',').map(Number);
const FRAMES = Math.max(2, Number(args.frames));
const MIN_MS_PER_ROUND = 40;

interface Variant {
  label: string;
  options: CodecOptions;
}

const VARIANTS: Variant[] = [
  { label: 'none', options: resolveCodecOptions({ codec: 'none' }) },
  { label: 'snappy', options: resolveCodecOptions({ codec: 'snappy' }) },
  { label: 'gzip-1', options: resolveCodecOptions({ codec: 'gzip', gzipLevel: 1 }) },
  { label: 'gzip-6', options: resolveCodecOptions({ codec: 'gzip', gzipLevel: 6 }) },
  { label: 'deflate-1', options: resolveCodecOptions({ codec: 'deflate', deflateLevel: 1 }) },
  { label: 'deflate-6', options: resolveCodecOptions({ codec: 'deflate', deflateLevel: 6 }) },
  { label: 'deflate-9', options: resolveCodecOptions({ codec: 'deflate', deflateLevel: 9 }) },
  { label: 'brotli-1', options: resolveCodecOptions({ codec: 'brotli', brotliQuality: 1 }) },
  { label: 'brotli-4', options: resolveCodecOptions({ codec: 'brotli', brotliQuality: 4 }) },
  { label: 'brotli-5', options: resolveCodecOptions({ codec: 'brotli', brotliQuality: 5 }) },
  { label: 'brotli-6', options: resolveCodecOptions({ codec: 'brotli', brotliQuality: 6 }) },
  { label: 'brotli-9', options: resolveCodecOptions({ codec: 'brotli', brotliQuality: 9 }) },
].filter((v) => isCodecAvailable(v.options.codec));

// ---------------------------------------------------------------------------------------------
// Realistic data. Deterministic PRNG so every run measures the same bytes.

/** How a series' raw samples look. */
type Kind =
  | 'rate' // counter rate: arbitrary doubles
  | 'bytes' // byte gauge: large integers, multiples of 4096
  | 'ratio' // 0..1 doubles
  | 'small-int' // small integer gauge (procs, connections)
  | 'latency'; // seconds, arbitrary doubles, skewed

interface SeriesSpec {
  labels: Labels;
  kind: Kind;
  /** Samples per 10 s window (1 s edge collection, or a 15 s Prometheus scrape). */
  perWindow: number;
  level: number;
}

function hostSeries(host: number, rnd: () => number): SeriesSpec[] {
  const hostname = `ip-10-${(host >> 8) & 255}-${host & 255}-${(host * 7) % 250}.eu-west-1.compute.internal`;
  const service = ['checkout', 'payments', 'search', 'catalog', 'auth', 'gateway', 'orders', 'inventory'][host % 8] as string;
  const base = { host: hostname, instance: `${hostname}:9100`, job: 'node', service, env: 'prod', region: 'eu-west-1' };
  const out: SeriesSpec[] = [];
  const add = (name: string, extra: Labels, kind: Kind, level: number, perWindow = 10): void => {
    out.push({ labels: { __name__: name, ...base, ...extra }, kind, perWindow, level });
  };
  for (let cpu = 0; cpu < 4; cpu++) {
    for (const mode of ['user', 'system', 'iowait', 'idle', 'steal', 'softirq']) {
      add('node_cpu_seconds_total:rate10s', { cpu: String(cpu), mode }, 'ratio', mode === 'idle' ? 0.7 : 0.05 + rnd() * 0.1);
    }
  }
  for (const [device, mountpoint, fstype] of [['nvme0n1p1', '/', 'ext4'], ['nvme1n1', '/var/lib/docker', 'xfs'], ['tmpfs', '/run', 'tmpfs']] as const) {
    add('node_filesystem_avail_bytes', { device, mountpoint, fstype }, 'bytes', 2e10 + rnd() * 8e10);
    add('node_filesystem_files_free', { device, mountpoint, fstype }, 'small-int', 5e6 + rnd() * 1e6);
  }
  for (const device of ['nvme0n1', 'nvme1n1']) {
    add('node_disk_read_bytes_total:rate10s', { device }, 'rate', 1e5 + rnd() * 1e6);
    add('node_disk_written_bytes_total:rate10s', { device }, 'rate', 1e6 + rnd() * 5e6);
    add('node_disk_io_time_seconds_total:rate10s', { device }, 'ratio', 0.01 + rnd() * 0.2);
  }
  for (const device of ['eth0', 'docker0']) {
    add('node_network_receive_bytes_total:rate10s', { device }, 'rate', 1e5 + rnd() * 1e7);
    add('node_network_transmit_bytes_total:rate10s', { device }, 'rate', 1e5 + rnd() * 1e7);
    add('node_network_receive_errs_total:rate10s', { device }, 'small-int', 0);
  }
  add('node_memory_MemAvailable_bytes', {}, 'bytes', 4e9 + rnd() * 12e9);
  add('node_memory_Cached_bytes', {}, 'bytes', 1e9 + rnd() * 4e9);
  add('node_load1', {}, 'ratio', 0.5 + rnd() * 3);
  add('node_load5', {}, 'ratio', 0.5 + rnd() * 3);
  add('node_procs_running', {}, 'small-int', 2 + rnd() * 6);
  add('node_sockstat_TCP_inuse', {}, 'small-int', 50 + rnd() * 500);
  for (const route of ['/api/v1/items', '/api/v1/cart', '/healthz']) {
    add('http_requests_total:rate10s', { route, code: '200', method: 'GET' }, 'rate', 5 + rnd() * 200, 1);
    add('http_request_duration_seconds:p95', { route, method: 'GET' }, 'latency', 0.02 + rnd() * 0.3, 1);
  }
  return out;
}

function catalogue(series: number, seed: number): SeriesSpec[] {
  const rnd = prng(seed);
  const out: SeriesSpec[] = [];
  for (let host = 0; out.length < series; host++) out.push(...hostSeries(host, rnd));
  return out.slice(0, series);
}

function sample(spec: SeriesSpec, t: number, rnd: () => number): number {
  const wave = Math.sin((t / 600) * 2 * Math.PI);
  switch (spec.kind) {
    case 'rate':
      return Math.max(0, spec.level * (1 + 0.2 * wave + 0.1 * (rnd() - 0.5)));
    case 'bytes':
      return Math.round((spec.level * (1 + 0.001 * wave) + (rnd() - 0.5) * 1e6) / 4096) * 4096;
    case 'ratio':
      return Math.max(0, spec.level * (1 + 0.1 * wave + 0.3 * (rnd() - 0.5)));
    case 'small-int':
      return Math.max(0, Math.round(spec.level + 2 * wave + 3 * (rnd() - 0.5)));
    case 'latency':
      return spec.level * Math.exp(0.3 * (rnd() - 0.5));
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

interface SeriesState {
  ewma: number;
  ewvar: number;
}

/** Features of one window, computed the way the agent computes them (rounded nowhere). */
function featureRow(spec: SeriesSpec, state: SeriesState, window: number, rnd: () => number): Omit<FeatureRow, 'seriesId'> {
  const n = spec.perWindow === 10 ? 10 : rnd() < 0.67 ? 1 : 0;
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(sample(spec, window * 10 + i, rnd));
  const sorted = [...values].sort((a, b) => a - b);
  const mean = n === 0 ? NaN : values.reduce((s, v) => s + v, 0) / n;
  const std = n < 2 ? NaN : Math.sqrt(values.reduce((s, v) => s + (v - mean) * (v - mean), 0) / n);
  const last = n === 0 ? NaN : (values[n - 1] as number);
  let score = 0;
  let flags = 0;
  if (n > 0) {
    const sd = Math.sqrt(state.ewvar) || 1e-9;
    score = Math.abs(last - state.ewma) / sd;
    const d = mean - state.ewma;
    state.ewma += 0.1 * d;
    state.ewvar = 0.9 * (state.ewvar + 0.1 * d * d);
    if (score > 4) flags |= 1 | 4;
  }
  const warming = window < 3;
  if (warming) flags |= 16;
  const band = 3 * Math.sqrt(state.ewvar);
  return {
    count: n,
    min: n === 0 ? NaN : (sorted[0] as number),
    max: n === 0 ? NaN : (sorted[n - 1] as number),
    mean,
    std,
    last,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    tier1MaxScore: Math.fround(score),
    flags,
    bandLower: warming ? NaN : state.ewma - band,
    bandUpper: warming ? NaN : state.ewma + band,
  };
}

const WARM_UP_WINDOWS = 4;

/**
 * FRAMES consecutive frames of one connection at steady state: detectors are warmed up, then
 * the agent (re)connects, so the first frame is a 'reset' frame carrying the whole series
 * dictionary and the following ones carry ids only.
 */
function buildFrames(series: number): FeatureFrame[] {
  const specs = catalogue(series, 7);
  const rnd = prng(1234);
  const states: SeriesState[] = specs.map((s) => ({ ewma: s.level, ewvar: (s.level * 0.05) ** 2 + 1e-6 }));
  let epoch = 1_714_000_000_000;
  const dict = new SeriesDictionaryEncoder({ epochSource: () => epoch++ });
  const frames: FeatureFrame[] = [];
  const t0 = 1_714_000_000_000;
  for (let w = 0; w < WARM_UP_WINDOWS + FRAMES; w++) {
    if (w === WARM_UP_WINDOWS) dict.reset();
    const rows: FeatureRow[] = specs.map((spec, i) => ({ seriesId: dict.intern(spec.labels), ...featureRow(spec, states[i] as SeriesState, w, rnd) }));
    const frame: FeatureFrame = {
      agentId: 'agent-eu-west-1-0001',
      tenant: 'acme',
      sequence: w,
      windowStartMs: t0 + w * 10_000,
      windowEndMs: t0 + (w + 1) * 10_000,
      ...dict.takeUpdate(),
      rows,
    };
    if (w >= WARM_UP_WINDOWS) frames.push(frame);
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------
// Row-oriented alternative layout, for the layout comparison only.

const ALTERNATIVES = protobuf.parse(`syntax = "proto3";
package bench;
message Label { string name = 1; string value = 2; }
message SeriesDef { uint32 id = 1; repeated Label labels = 2; }
message Row {
  uint32 series_id = 1; uint32 count = 2; double min = 3; double max = 4; double mean = 5;
  double std = 6; double last = 7; double p50 = 8; double p95 = 9; float tier1_max_score = 10;
  uint32 flags = 11; double band_lower = 12; double band_upper = 13;
}
message RowFrame {
  string agent_id = 1; string tenant = 2; uint64 sequence = 3; int64 window_start_ms = 4;
  int64 window_end_ms = 5; int32 dictionary_scope = 6; uint64 dictionary_epoch = 7;
  repeated SeriesDef series_defs = 8; repeated Row rows = 9;
}
message DoubleColumns {
  repeated uint32 series_id = 1; repeated uint32 count = 2; repeated double min = 3;
  repeated double max = 4; repeated double mean = 5; repeated double std = 6;
  repeated double last = 7; repeated double p50 = 8; repeated double p95 = 9;
  repeated float tier1_max_score = 10; repeated uint32 flags = 11;
  repeated double band_lower = 12; repeated double band_upper = 13;
}
message DoubleColumnFrame {
  string agent_id = 1; string tenant = 2; uint64 sequence = 3; int64 window_start_ms = 4;
  int64 window_end_ms = 5; int32 dictionary_scope = 6; uint64 dictionary_epoch = 7;
  repeated SeriesDef series_defs = 8; DoubleColumns columns = 9;
}`).root;
const ROW_FRAME = ALTERNATIVES.lookupType('bench.RowFrame');
const DOUBLE_COLUMN_FRAME = ALTERNATIVES.lookupType('bench.DoubleColumnFrame');

function defsOf(frame: FeatureFrame): object[] {
  return frame.seriesDefs.map((d) => ({ id: d.id, labels: Object.entries(d.labels).map(([name, value]) => ({ name, value })) }));
}

/** Alternative 1: one sub-message per row, float64 statistics. */
function rowLayoutBytes(frame: FeatureFrame): Uint8Array {
  return ROW_FRAME.encode({ ...frame, dictionaryScope: 1, seriesDefs: defsOf(frame) }).finish();
}

/** Alternative 2: packed columns like the schema, but every statistic float64. */
function doubleColumnBytes(frame: FeatureFrame): Uint8Array {
  const col = <K extends keyof FeatureRow>(k: K): FeatureRow[K][] => frame.rows.map((r) => r[k]);
  const columns = {
    seriesId: col('seriesId'), count: col('count'), min: col('min'), max: col('max'), mean: col('mean'), std: col('std'),
    last: col('last'), p50: col('p50'), p95: col('p95'), tier1MaxScore: col('tier1MaxScore'), flags: col('flags'),
    bandLower: col('bandLower'), bandUpper: col('bandUpper'),
  };
  return DOUBLE_COLUMN_FRAME.encode({ ...frame, dictionaryScope: 1, seriesDefs: defsOf(frame), columns }).finish();
}

// ---------------------------------------------------------------------------------------------
// Measurement.

function encodeEnvelopeSize(payload: Uint8Array, codec: 'snappy'): number {
  return encodeEnvelope(payload, { kind: PayloadKind.FeatureFrame, codec: { codec } }).length - ENVELOPE_HEADER_BYTES;
}

function timeOp(op: () => void): number {
  // Repeat until the round is long enough to time; returns ms per op.
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    op();
    iterations++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsed < MIN_MS_PER_ROUND || iterations < 2);
  return elapsed / iterations;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Result {
  series: number;
  codec: string;
  firstFrameBytes: number;
  steadyFrameBytes: number;
  bytesPerSample: number;
  firstBytesPerSample: number;
  ratio: number;
  encodeMs: number;
  decodeMs: number;
  encodeSamplesPerSec: number;
  decodeSamplesPerSec: number;
  encodeMBps: number;
  decodeMBps: number;
}

function run(series: number): { results: Result[]; layout: string[][] } {
  const frames = buildFrames(series);
  const first = frames[0] as FeatureFrame;
  const steady = frames.slice(1);
  const steadyPayload = steady.reduce((s, f) => s + encodeFeatureFramePayload(f).length, 0) / steady.length;
  const timed = steady[steady.length - 1] as FeatureFrame;
  const timedPayloadBytes = encodeFeatureFramePayload(timed).length;

  // Sizes, and a correctness check of every codec on every frame.
  const sizes = new Map<string, { first: number; steady: number }>();
  for (const v of VARIANTS) {
    const dict = new SeriesDictionaryDecoder();
    let steadySum = 0;
    let firstBytes = 0;
    frames.forEach((f, i) => {
      const bytes = encodeFrame(f, { codec: v.options });
      const back = decodeFrame(bytes);
      const labels = dict.apply(back);
      if (back.rows.length !== f.rows.length || labels.length !== f.rows.length) throw new Error(`${v.label}: round trip failed`);
      if (i === 0) firstBytes = bytes.length;
      else steadySum += bytes.length;
    });
    sizes.set(v.label, { first: firstBytes, steady: steadySum / steady.length });
  }

  // Timing: encode+compress and decompress+decode of one steady frame, interleaved rounds.
  const encoded = new Map(VARIANTS.map((v) => [v.label, encodeFrame(timed, { codec: v.options })]));
  const enc = new Map<string, number[]>(VARIANTS.map((v) => [v.label, []]));
  const dec = new Map<string, number[]>(VARIANTS.map((v) => [v.label, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of VARIANTS) {
      (enc.get(v.label) as number[]).push(timeOp(() => encodeFrame(timed, { codec: v.options })));
      const bytes = encoded.get(v.label) as Uint8Array;
      (dec.get(v.label) as number[]).push(timeOp(() => decodeFrame(bytes)));
    }
  }

  const results: Result[] = VARIANTS.map((v) => {
    const s = sizes.get(v.label) as { first: number; steady: number };
    const encodeMs = median(enc.get(v.label) as number[]);
    const decodeMs = median(dec.get(v.label) as number[]);
    return {
      series,
      codec: v.label,
      firstFrameBytes: s.first,
      steadyFrameBytes: Math.round(s.steady),
      bytesPerSample: s.steady / series,
      firstBytesPerSample: s.first / series,
      ratio: steadyPayload / s.steady,
      encodeMs,
      decodeMs,
      encodeSamplesPerSec: (series / encodeMs) * 1000,
      decodeSamplesPerSec: (series / decodeMs) * 1000,
      encodeMBps: timedPayloadBytes / 1e6 / (encodeMs / 1000),
      decodeMBps: timedPayloadBytes / 1e6 / (decodeMs / 1000),
    };
  });

  // Layout comparison on steady frames (and the first frame, which carries the dictionary).
  const layout: string[][] = [];
  const compressors: [string, (b: Uint8Array) => number][] = [
    ['none', (b) => b.length],
    ['snappy', (b) => encodeEnvelopeSize(b, 'snappy')],
    ['deflate-6', (b) => zlib.deflateRawSync(b, { level: 6 }).length],
    ['brotli-5', (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }).length],
  ];
  const layouts: [string, (f: FeatureFrame) => Uint8Array][] = [
    ['columns, f32 stats (schema)', (f) => encodeFeatureFramePayload(f)],
    ['columns, f64 stats', doubleColumnBytes],
    ['rows, f64 stats', rowLayoutBytes],
  ];
  for (const [codecLabel, size] of compressors) {
    if (codecLabel === 'snappy' && !isCodecAvailable('snappy')) continue;
    for (const [layoutLabel, bytes] of layouts) {
      const steadyBytes = steady.reduce((s, f) => s + size(bytes(f)), 0) / steady.length;
      layout.push([String(series), codecLabel, layoutLabel, (steadyBytes / series).toFixed(1), (size(bytes(first)) / series).toFixed(1)]);
    }
  }
  return { results, layout };
}

/** Markdown table; the first `textColumns` columns are left-aligned, the rest right-aligned. */
function table(header: string[], rows: string[][], textColumns = 2): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < textColumns ? '---' : '---:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const all: Result[] = [];
const layoutRows: string[][] = [];
for (const series of SIZES) {
  const { results, layout } = run(series);
  all.push(...results);
  layoutRows.push(...layout);
}

const fmtRate = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);
console.log(
  `# Feature-frame codec benchmark\n\nnode ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ` +
    `${ROUNDS} rounds (median), ${FRAMES} frames per connection (1 with dictionary + ${FRAMES - 1} steady)\n`,
);
console.log(
  table(
    ['series', 'codec', 'steady frame B', 'B/sample', 'ratio', 'first frame B', 'first B/sample', 'encode samples/s', 'decode samples/s', 'encode MB/s', 'decode MB/s'],
    all.map((r) => [
      String(r.series),
      r.codec,
      String(r.steadyFrameBytes),
      r.bytesPerSample.toFixed(1),
      r.ratio.toFixed(2),
      String(r.firstFrameBytes),
      r.firstBytesPerSample.toFixed(1),
      fmtRate(r.encodeSamplesPerSec),
      fmtRate(r.decodeSamplesPerSec),
      r.encodeMBps.toFixed(0),
      r.decodeMBps.toFixed(0),
    ]),
  ),
);
console.log('\nMB/s are of uncompressed protobuf payload; a sample is one series row of a frame.\n');
console.log('## Layout: packed columns with float32 statistics (the schema) vs alternatives, protobuf payload bytes per sample\n');
console.log(table(['series', 'codec', 'layout', 'steady B/sample', 'first frame B/sample'], layoutRows, 3));
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ results: all, layout: layoutRows }, null, 2));
