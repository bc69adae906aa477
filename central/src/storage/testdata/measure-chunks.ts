// Measurements for docs/decisions/019-chunked-sample-storage.md (not a test):
//   node --import tsx central/src/storage/testdata/measure-chunks.ts [scrape-hours=6]
// Runs against whatever SqliteMetricStore ../metric-store.ts is (the same file copied beside
// an older store measures that one: it uses writeSeries when the store has it, writeSamples
// with one object per sample otherwise).
// A. remote-write shape: 20 groups x 1,000 series, each write one group x 100 samples at 1 s
//    (decimal values with two decimals, counters and gauges, as bench/remote-write-ingest.ts),
//    200 writes = 20 M samples, one file store: samples/s and bytes per sample on disk.
// B. scrape shape: 1,000 series, one sample per series per write, every 10 s for
//    `scrape-hours` (writeSamples, frozen label objects), then compaction, range queries
//    (median of 5) and bytes per sample.
// C. value encodings on A's and B's values: chunk codec (decimal / float64), float64 only,
//    Gorilla XOR (bits counted, not encoded).
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
// A seeded PRNG so every run writes the same values.
import { mulberry32 as rng } from '../../../../simulators/replay/index.js';
import { SqliteMetricStore } from '../metric-store.js';
import type { MetricSample, RangeQuery } from '../types.js';

const HOURS = Number(process.argv[2] ?? 6);
const MIN = 60_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Bytes per table (with its indexes) after a full checkpoint, from SQLite's dbstat. */
function tableBytes(path: string): Map<string, number> {
  const h = new Database(path);
  try {
    h.pragma('wal_checkpoint(TRUNCATE)');
    const out = new Map<string, number>();
    const owner = new Map<string, string>();
    for (const r of h.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')").all() as Array<{ name: string; tbl_name: string }>) owner.set(r.name, r.tbl_name);
    for (const r of h.prepare('SELECT name, SUM(pgsize) AS b FROM dbstat GROUP BY name').all() as Array<{ name: string; b: number }>) {
      const t = owner.get(r.name) ?? r.name;
      out.set(t, (out.get(t) ?? 0) + r.b);
    }
    return out;
  } finally {
    h.close();
  }
}

function describeTables(path: string, samples: number): string {
  const t = tableBytes(path);
  const raw = (t.get('sample_chunks') ?? 0) + (t.get('samples') ?? 0);
  const rollups = (t.get('rollup_1m') ?? 0) + (t.get('rollup_5m') ?? 0);
  const series = (t.get('series') ?? 0) + (t.get('series_labels') ?? 0);
  return `raw samples (table + index) ${(raw / samples).toFixed(2)} bytes per sample; rollups ${(rollups / samples).toFixed(2)}; series and labels ${(series / 1e6).toFixed(1)} MB`;
}

function fileBytes(path: string): number {
  let n = 0;
  for (const f of [path, `${path}-wal`]) {
    try {
      n += statSync(f).size;
    } catch {
      // absent
    }
  }
  return n;
}

interface Store {
  writeSeries?: (s: Array<{ labels: Record<string, string>; timestamps: Float64Array; values: Float64Array }>, id?: string) => Promise<unknown>;
}

const valuesA: number[][] = [];
const valuesB: number[][] = [];

async function remoteWriteShape(dir: string): Promise<void> {
  const GROUPS = 20;
  const SERIES = 1000;
  const SAMPLES = 100;
  const WRITES = 200;
  const end = Date.now();
  const t0 = Math.floor((end - 55 * MIN) / 1000) * 1000;
  const rnd = rng(42);
  const state = Array.from({ length: GROUPS }, (_, g) =>
    Array.from({ length: SERIES }, (_, i) => ({
      labels: { __name__: ['node_cpu_seconds_total', 'node_memory_MemAvailable_bytes', 'http_requests_total'][i % 3]!, instance: `10.${g}.${Math.floor(i / 50)}.${i % 50}:9100`, job: 'node', env: 'prod', cpu: String(i % 4) },
      v: Math.round(rnd() * 1e6) * 0.01,
      counter: i % 3 !== 1,
      scale: i % 3 === 1 ? 4096 : 0.01,
    })),
  );
  const path = join(dir, 'rw.db');
  const store = SqliteMetricStore.open(path, { now: () => end });
  const columnar = typeof (store as unknown as Store).writeSeries === 'function';
  const times: number[] = [];
  let total = 0;
  for (let w = 0; w < WRITES; w++) {
    const g = w % GROUPS;
    const block = Math.floor(w / GROUPS);
    const series = state[g]!.map((s, i) => {
      const timestamps = new Float64Array(SAMPLES);
      const values = new Float64Array(SAMPLES);
      for (let j = 0; j < SAMPLES; j++) {
        if (s.counter) s.v += Math.round(rnd() * 100) * s.scale;
        else s.v = Math.max(0, s.v + Math.round((rnd() - 0.5) * 100) * s.scale);
        timestamps[j] = t0 + (block * SAMPLES + j) * 1000;
        values[j] = Math.round(s.v * 100) / 100;
      }
      if (w < GROUPS && i < 100) valuesA.push(Array.from(values));
      // Fresh label objects per write, as a decoder produces them.
      return { labels: { ...s.labels }, timestamps, values };
    });
    const t = performance.now();
    for (let part = 0; part < 2; part++) {
      const slice = series.slice(part * 500, part * 500 + 500);
      if (columnar) await (store as unknown as Store).writeSeries!(slice, `w${w}/${part}`);
      else {
        const samples: MetricSample[] = [];
        for (const s of slice) for (let j = 0; j < SAMPLES; j++) samples.push({ labels: s.labels, tsMs: s.timestamps[j]!, value: s.values[j]! });
        await store.writeSamples(samples, `w${w}/${part}`);
      }
    }
    times.push(performance.now() - t);
    total += SERIES * SAMPLES;
  }
  await store.close();
  const perWrite = median(times);
  console.log(`A. remote-write shape (${columnar ? 'writeSeries, columns' : 'writeSamples, one object per sample'}): ${fmt(total)} samples in ${WRITES} writes of 1,000 series x 100 samples`);
  console.log(`   median write ${perWrite.toFixed(1)} ms = ${fmt((SERIES * SAMPLES) / (perWrite / 1000))} samples/s; overall ${fmt(total / (times.reduce((a, b) => a + b, 0) / 1000))} samples/s`);
  console.log(`   file ${(fileBytes(path) / 1e6).toFixed(1)} MB after close = ${(fileBytes(path) / total).toFixed(2)} bytes per sample; ${describeTables(path, total)}`);
}

async function scrapeShape(dir: string): Promise<void> {
  const SERIES = 1000;
  const STEP = 10_000;
  const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const start = end - HOURS * HOUR_MS;
  const steps = (end - start) / STEP;
  const labels = Array.from({ length: SERIES }, (_, i) => Object.freeze({ __name__: 'node_cpu_seconds_total', instance: `host-${i % 100}:9100`, cpu: String(Math.floor(i / 100)), mode: 'user', job: 'node' }));
  const rnd = rng(7);
  const v = Array.from({ length: SERIES }, () => Math.round(rnd() * 1e6) / 100);
  const path = join(dir, 'scrape.db');
  const store = SqliteMetricStore.open(path, { now: () => end + MIN, retention: { rawMs: 2 * 24 * HOUR_MS } });
  const t = performance.now();
  for (let k = 0; k < steps; k++) {
    const batch: MetricSample[] = new Array(SERIES);
    for (let s = 0; s < SERIES; s++) {
      v[s] = Math.round((v[s]! + rnd() * 10) * 100) / 100;
      if (s < 100 && valuesB.length <= s) valuesB.push([]);
      if (s < 100 && k < 1200) valuesB[s]!.push(v[s]!);
      batch[s] = { labels: labels[s]!, tsMs: start + k * STEP, value: v[s]! };
    }
    await store.writeSamples(batch, `s${k}`);
  }
  const secs = (performance.now() - t) / 1000;
  const total = steps * SERIES;
  console.log(`B. scrape shape: ${fmt(total)} samples (${SERIES} series x ${HOURS} h at 10 s, one sample per series per write): ${fmt(total / secs)} samples/s`);
  console.log(`   before compaction: ${describeTables(path, total)}`);
  const tc = performance.now();
  await store.compact(end + 2 * MIN);
  console.log(`   compaction (1m + 5m of ${HOURS} h): ${((performance.now() - tc) / 1000).toFixed(2)} s`);
  const q = async (name: string, query: RangeQuery) => {
    const ms: number[] = [];
    let points = 0;
    for (let i = 0; i < 5; i++) {
      const t1 = performance.now();
      const out = await store.query(query);
      ms.push(performance.now() - t1);
      points = out.reduce((n, p) => n + p.timestamps.length, 0);
    }
    console.log(`   query ${name}: ${median(ms).toFixed(1)} ms median of 5 (${fmt(points)} points, ${((median(ms) * 1e6) / Math.max(1, points)).toFixed(0)} ns per point)`);
  };
  const one = { name: 'node_cpu_seconds_total', matchers: [{ name: 'instance', op: '=' as const, value: 'host-7:9100' }, { name: 'cpu', op: '=' as const, value: '3' }] };
  await q(`raw, 1 series, ${HOURS} h`, { selector: one, startMs: start, endMs: end, resolution: 'raw' });
  await q('raw, 1 series, 10 min', { selector: one, startMs: end - 10 * MIN, endMs: end, resolution: 'raw' });
  await q('raw, 100 series, 1 h', { selector: { name: 'node_cpu_seconds_total', matchers: [{ name: 'cpu', op: '=', value: '0' }] }, startMs: end - HOUR_MS, endMs: end, resolution: 'raw' });
  await q(`1m, 1,000 series, ${HOURS} h`, { selector: { name: 'node_cpu_seconds_total', matchers: [] }, startMs: start, endMs: end, resolution: '1m' });
  await store.close();
  console.log(`   after compaction: file ${(fileBytes(path) / 1e6).toFixed(1)} MB = ${(fileBytes(path) / total).toFixed(2)} bytes per raw sample; ${describeTables(path, total)}`);
}
const HOUR_MS = 60 * MIN;

/** Bits Gorilla's XOR value encoding needs (Pelkonen et al. 2015, section 4.1.2). */
function gorillaBits(vs: number[]): number {
  const f = new Float64Array(1);
  const u = new BigUint64Array(f.buffer);
  let bits = 64;
  f[0] = vs[0]!;
  let prev = u[0]!;
  let lead = -1;
  let trail = -1;
  for (let i = 1; i < vs.length; i++) {
    f[0] = vs[i]!;
    const cur = u[0]!;
    const x = cur ^ prev;
    prev = cur;
    if (x === 0n) {
      bits += 1;
      continue;
    }
    const s = x.toString(2).padStart(64, '0');
    const l = Math.min(31, s.indexOf('1'));
    const t = 63 - s.lastIndexOf('1');
    if (lead >= 0 && l >= lead && t >= trail) bits += 2 + (64 - lead - trail);
    else {
      bits += 2 + 5 + 6 + (64 - l - t);
      lead = l;
      trail = t;
    }
  }
  return bits;
}

async function encodings(): Promise<void> {
  let codec: typeof import('../chunk-codec.js');
  try {
    codec = await import('../chunk-codec.js');
  } catch {
    return; // a store without the chunk codec
  }
  console.log('C. value encodings, bytes per sample for the values alone (timestamps: 1 byte per sample at a regular interval)');
  for (const [name, sets] of [
    ['A (remote-write shape, 2 decimals)', valuesA],
    ['B (scrape shape)', valuesB],
    ['random doubles', Array.from({ length: 100 }, (_, s) => Array.from({ length: 120 }, (_, i) => Math.sin(s * 1000 + i) * 1e3))],
    ['constant', Array.from({ length: 100 }, () => Array.from({ length: 120 }, () => 1))],
  ] as const) {
    let dec = 0;
    let n = 0;
    let gor = 0;
    const enc = new codec.ChunkEncoder();
    for (const vs of sets) {
      for (let i = 0; i < vs.length; i += 120) {
        const part = vs.slice(i, i + 120);
        const ts = part.map((_, j) => 1767225600000 + j * 1000);
        const c = enc.encode(ts, part, 0, part.length, 1 << 20);
        // Chunk bytes less header and timestamps (1 kind/exponent byte or 2, count, t0, delta, dods).
        const tsBytes = 6 + 1 + (part.length - 2);
        dec += enc.length - tsBytes - 2;
        n += c;
        gor += gorillaBits(part) / 8;
      }
    }
    console.log(`   ${name}: chunk codec ${(dec / n).toFixed(2)}, float64 8.00, Gorilla XOR ${(gor / n).toFixed(2)}`);
  }
}

const dir = await mkdtemp(join(tmpdir(), 'aiops-chunks-'));
try {
  console.log(`node ${process.version}; ${new Date().toISOString()}`);
  await remoteWriteShape(dir);
  await scrapeShape(dir);
  await encodings();
} finally {
  await rm(dir, { recursive: true, force: true });
}
