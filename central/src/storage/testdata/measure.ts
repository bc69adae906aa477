// Measurements for docs/decisions/015-central-storage-sqlite.md (not a test):
//   node --import tsx central/src/storage/testdata/measure.ts [series=1000] [hours=24]
// Writes `series` series x `hours` at 10 s through SqliteMetricStore.writeSamples (one batch
// per scrape instant = `series` samples), then times range queries (median of 5), compaction,
// and compares insert throughput with synchronous=FULL and with sql.js on the same subset.
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteMetricStore } from '../metric-store.js';
import type { MetricSample, RangeQuery } from '../types.js';

const SERIES = Number(process.argv[2] ?? 1000);
const HOURS = Number(process.argv[3] ?? 24);
const STEP = 10_000;
const END = Date.UTC(2026, 0, 2);
const START = END - HOURS * 3600_000;
const STEPS = (END - START) / STEP;
const SUBSET_STEPS = Math.min(STEPS, 500);

const labelSet = (i: number) => ({ __name__: 'node_cpu_seconds_total', instance: `host-${i % 100}:9100`, cpu: String(Math.floor(i / 100)), mode: 'user', job: 'node' });
/** Frozen, one object per series: what the series dictionary decoder hands (agent frames). */
const labels = Array.from({ length: SERIES }, (_, i) => Object.freeze(labelSet(i)));

/** `fresh`: new label objects per sample, as a remote-write decoder produces. */
function batchAt(step: number, fresh = false): MetricSample[] {
  const ts = START + step * STEP;
  const out: MetricSample[] = new Array(SERIES);
  for (let s = 0; s < SERIES; s++) out[s] = { labels: fresh ? labelSet(s) : labels[s]!, tsMs: ts, value: Math.sin(step / 100 + s) * 100 + s };
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface RateCase {
  sync?: 'NORMAL' | 'FULL';
  fresh?: boolean;
  walAutocheckpointPages?: number;
  /** Scrape instants per write call (samples per series per commit). */
  perBatch?: number;
}

async function insertRate(c: RateCase, steps: number, dir: string): Promise<number> {
  const database = { synchronous: c.sync ?? 'NORMAL', ...(c.walAutocheckpointPages === undefined ? {} : { walAutocheckpointPages: c.walAutocheckpointPages }) };
  const store = SqliteMetricStore.open(join(dir, `rate-${JSON.stringify(c).replace(/\W/g, '')}.db`), { now: () => END, database });
  const per = c.perBatch ?? 1;
  const t = performance.now();
  for (let k = 0; k < steps; k += per) {
    const batch: MetricSample[] = [];
    for (let j = 0; j < per; j++) batch.push(...batchAt(k + j, c.fresh));
    await store.writeSamples(batch, `b${k}`);
  }
  const secs = (performance.now() - t) / 1000;
  await store.close();
  return (steps * SERIES) / secs;
}

function sqlJsRate(steps: number): Promise<{ rate: number; exportMs: number; bytes: number }> {
  const require = createRequire(import.meta.url);
  const initSqlJs = require('sql.js') as (o?: object) => Promise<{ Database: new () => { exec(s: string): unknown; prepare(s: string): { run(p: unknown[]): void; free(): void }; export(): Uint8Array } }>;
  return initSqlJs().then((SQL) => {
    const db = new SQL.Database();
    db.exec('CREATE TABLE series (id INTEGER PRIMARY KEY, key TEXT UNIQUE); CREATE TABLE samples (series_id INTEGER, ts INTEGER, value REAL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;');
    const ins = db.prepare('INSERT INTO series (id, key) VALUES (?, ?)');
    for (let s = 0; s < SERIES; s++) ins.run([s + 1, JSON.stringify(labels[s])]);
    ins.free();
    const put = db.prepare('INSERT INTO samples VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value');
    const t = performance.now();
    for (let k = 0; k < steps; k++) {
      db.exec('BEGIN');
      const ts = START + k * STEP;
      for (let s = 0; s < SERIES; s++) put.run([s + 1, ts, Math.sin(k / 100 + s) * 100 + s]);
      db.exec('COMMIT');
    }
    const rate = (steps * SERIES) / ((performance.now() - t) / 1000);
    const e = performance.now();
    const bytes = db.export().length;
    return { rate, exportMs: performance.now() - e, bytes };
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aiops-measure-'));
  console.log(`node ${process.version}; ${SERIES} series x ${HOURS} h at 10 s = ${(SERIES * STEPS).toLocaleString('en')} samples; batches of ${SERIES}`);

  // Side by side on the same subset: NORMAL, FULL, sql.js (memory only, no durability at all).
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  console.log(`insert, first ${(SUBSET_STEPS * SERIES).toLocaleString('en')} samples, side by side (samples/s):`);
  const cases: Array<[string, RateCase]> = [
    ['WAL + NORMAL (defaults: checkpoint every 10,000 pages)', {}],
    ['  same, fresh label objects per sample (remote-write decode)', { fresh: true }],
    ['  same, SQLite default checkpoint (1,000 pages)', { walAutocheckpointPages: 1000 }],
    ['  same, 10 scrape instants per write call', { perBatch: 10 }],
    ['WAL + FULL (fsync per commit)', { sync: 'FULL' }],
  ];
  const base = await insertRate(cases[0]![1], SUBSET_STEPS, dir);
  console.log(`  ${cases[0]![0]}: ${fmt(base)}`);
  for (const [name, c] of cases.slice(1)) {
    const r = await insertRate(c, SUBSET_STEPS, dir);
    console.log(`  ${name}: ${fmt(r)} (${(r / base).toFixed(2)}x)`);
  }
  const sqljs = await sqlJsRate(SUBSET_STEPS);
  console.log(`  sql.js in memory, bare INSERTs, no validation, no durability: ${fmt(sqljs.rate)} (export ${sqljs.exportMs.toFixed(0)} ms for ${(sqljs.bytes / 1e6).toFixed(1)} MB)`);

  const path = join(dir, 'central.db');
  const store = SqliteMetricStore.open(path, { now: () => END });
  let t = performance.now();
  for (let k = 0; k < STEPS; k++) await store.writeSamples(batchAt(k), `b${k}`);
  const loadSecs = (performance.now() - t) / 1000;
  console.log(`load (NORMAL): ${(SERIES * STEPS).toLocaleString('en')} samples in ${loadSecs.toFixed(1)} s = ${Math.round((SERIES * STEPS) / loadSecs).toLocaleString('en')} samples/s`);

  const queries: Array<[string, RangeQuery]> = [
    ['1 series x 1 h raw', { selector: { name: 'node_cpu_seconds_total', matchers: [{ name: 'instance', op: '=', value: 'host-7:9100' }, { name: 'cpu', op: '=', value: '3' }] }, startMs: END - 3600_000, endMs: END, resolution: 'raw' }],
    [`1 series x ${HOURS} h raw`, { selector: { name: 'node_cpu_seconds_total', matchers: [{ name: 'instance', op: '=', value: 'host-7:9100' }, { name: 'cpu', op: '=', value: '3' }] }, startMs: START, endMs: END, resolution: 'raw' }],
    [`${SERIES} series x 1 h raw`, { selector: { name: 'node_cpu_seconds_total', matchers: [] }, startMs: END - 3600_000, endMs: END, resolution: 'raw' }],
    [`100 series (regex, name-less) x 1 h raw`, { selector: { matchers: [{ name: 'cpu', op: '=~', value: '[0]' }] }, startMs: END - 3600_000, endMs: END, resolution: 'raw' }],
    [`${SERIES} series x ${HOURS} h 5m (from raw, before compaction)`, { selector: { name: 'node_cpu_seconds_total', matchers: [] }, startMs: START, endMs: END, resolution: '5m' }],
  ];
  const timeQueries = async (list: typeof queries) => {
    for (const [name, q] of list) {
      const runs: number[] = [];
      let points = 0;
      for (let i = 0; i < 5; i++) {
        const s = performance.now();
        const out = await store.query({ ...q, maxPoints: 10_000_000, maxSeries: 10_000 });
        runs.push(performance.now() - s);
        points = out.reduce((n, p) => n + p.timestamps.length, 0);
      }
      console.log(`query ${name}: ${points.toLocaleString('en')} points, median ${median(runs).toFixed(1)} ms (${Math.round(points / (median(runs) / 1000)).toLocaleString('en')} points/s)`);
    }
  };
  await timeQueries(queries);

  t = performance.now();
  const c = await store.compact(END + 120_000);
  console.log(`compact: ${c.downsampled.toLocaleString('en')} buckets in ${((performance.now() - t) / 1000).toFixed(1)} s (${Math.round((SERIES * STEPS) / ((performance.now() - t) / 1000)).toLocaleString('en')} raw samples/s)`);
  await timeQueries([
    [`${SERIES} series x ${HOURS} h 1m (stored)`, { selector: { name: 'node_cpu_seconds_total', matchers: [] }, startMs: START, endMs: END, resolution: '1m' }],
    [`${SERIES} series x ${HOURS} h 5m (stored)`, { selector: { name: 'node_cpu_seconds_total', matchers: [] }, startMs: START, endMs: END, resolution: '5m' }],
  ]);
  await store.close();
  const bytes = statSync(path).size;
  console.log(`file: ${(bytes / 1e6).toFixed(0)} MB after close (raw + 1m + 5m), ${(bytes / (SERIES * STEPS)).toFixed(1)} bytes per raw sample`);
  await rm(dir, { recursive: true, force: true });
}

await main();
