// The chunk layout of raw samples (decision 019): what rows the write patterns produce, the
// invariant (a series' chunks never overlap, at most CHUNK_SAMPLES samples each), last write
// wins across chunks, retention of a chunk straddling the horizon, and databases written
// before migration 6 (rows in `samples`) read and moved into chunks by compaction.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ChunkReader } from './chunk-codec.js';
import { openDatabase } from './database.js';
import { SqliteMetricStore } from './metric-store.js';
import { CHUNK_SAMPLES } from './sample-chunks.js';
import { STORAGE_MIGRATIONS } from './schema.js';
import type { MetricSample } from './types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 1);
const L = { __name__: 'm', host: 'a' };
const sel = { name: 'm', matchers: [] };

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aiops-chunks-'));
  dirs.push(dir);
  return join(dir, 'central.db');
}

function open(path = ':memory:', now = T0): { store: SqliteMetricStore; path: string } {
  return { store: SqliteMetricStore.open(path, { now: () => now, retention: { rawMs: 6 * HOUR, oneMinuteMs: 2 * 24 * HOUR, fiveMinuteMs: 7 * 24 * HOUR } }), path };
}

/** The chunk rows of every series, as (series_id, start, end, count, decoded timestamps). */
function chunkRows(path: string): Array<{ sid: number; start: number; end: number; count: number; ts: number[]; vs: number[] }> {
  const db = openDatabase(path, { now: () => T0 });
  try {
    const rd = new ChunkReader();
    return (db.handle.prepare('SELECT series_id, start_ms, end_ms, count, data FROM sample_chunks ORDER BY series_id, start_ms').raw().all() as Array<[number, number, number, number, Uint8Array]>).map(([sid, start, end, count, data]) => {
      const ts: number[] = [];
      const vs: number[] = [];
      rd.decode(data, ts, vs, 0);
      return { sid, start, end, count, ts, vs };
    });
  } finally {
    db.close();
  }
}

/** A series' chunks are disjoint, ordered, at most CHUNK_SAMPLES, and their columns agree with the blob. */
function assertInvariant(rows: ReturnType<typeof chunkRows>): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    assert.equal(r.ts.length, r.count, 'count column = samples in the blob');
    assert.ok(r.count >= 1 && r.count <= CHUNK_SAMPLES, `count ${r.count}`);
    assert.equal(r.ts[0], r.start);
    assert.equal(r.ts.at(-1), r.end);
    for (let j = 1; j < r.ts.length; j++) assert.ok(r.ts[j]! > r.ts[j - 1]!, 'strictly increasing inside a chunk');
    const next = rows[i + 1];
    if (next !== undefined && next.sid === r.sid) assert.ok(next.start > r.end, `chunks overlap: [${r.start}, ${r.end}] and [${next.start}, ${next.end}]`);
  }
}

describe('sample chunks', () => {
  it('one-sample writes fill chunks of CHUNK_SAMPLES instead of one row each', async () => {
    const { store, path } = open(await tempPath());
    for (let i = 0; i < 2 * CHUNK_SAMPLES + 10; i++) await store.writeSamples([{ labels: L, tsMs: T0 - HOUR + i * 10_000, value: i / 4 }]);
    const rows = chunkRows(path);
    assert.deepEqual(
      rows.map((r) => r.count),
      [CHUNK_SAMPLES, CHUNK_SAMPLES, 10],
    );
    assertInvariant(rows);
    const out = await store.query({ selector: sel, startMs: T0 - HOUR, endMs: T0, resolution: 'raw' });
    assert.deepEqual(out[0]?.values, Array.from({ length: 2 * CHUNK_SAMPLES + 10 }, (_, i) => i / 4));
    await store.close();
  });

  it('a remote-write-shaped write is one row per series; a long run is split evenly', async () => {
    const { store, path } = open(await tempPath());
    const cols = (from: number, n: number) => ({ timestamps: Float64Array.from({ length: n }, (_, i) => T0 - HOUR + (from + i) * 1000), values: Float64Array.from({ length: n }, (_, i) => from + i + 0.25) });
    const r = await store.writeSeries([
      { labels: L, ...cols(0, 100) },
      { labels: { ...L, host: 'b' }, ...cols(0, 100) },
    ]);
    assert.deepEqual(r, { accepted: 200, duplicate: false, rejected: [] });
    await store.writeSeries([{ labels: L, ...cols(100, 100) }]);
    await store.writeSeries([{ labels: { ...L, host: 'c' }, ...cols(0, 1000) }]);
    const rows = chunkRows(path);
    assertInvariant(rows);
    const bySeries = new Map<number, number[]>();
    for (const row of rows) bySeries.set(row.sid, [...(bySeries.get(row.sid) ?? []), row.count]);
    assert.deepEqual([...bySeries.values()], [[100, 100], [100], [112, 111, 111, 111, 111, 111, 111, 111, 111]]);
    const c = await store.query({ selector: { name: 'm', matchers: [{ name: 'host', op: '=', value: 'c' }] }, startMs: T0 - HOUR + 500_000, endMs: T0 - HOUR + 503_000, resolution: 'raw' });
    assert.deepEqual([c[0]?.timestamps, c[0]?.values], [[T0 - HOUR + 500_000, T0 - HOUR + 501_000, T0 - HOUR + 502_000], [500.25, 501.25, 502.25]]);
    await store.close();
  });

  it('overlapping writes merge, the later value wins, chunks stay disjoint (property, against a model)', async () => {
    const path = await tempPath();
    const { store } = open(path);
    const model = new Map<number, number>();
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: -1000, max: 1000 })), { minLength: 1, maxLength: 150 }),
        fc.boolean(),
        async (pairs, columnar) => {
          round++;
          const samples: MetricSample[] = pairs.map(([k, v]) => ({ labels: L, tsMs: T0 - HOUR + k * 5000, value: v / 8 + round }));
          if (columnar) await store.writeSeries([{ labels: L, timestamps: samples.map((s) => s.tsMs), values: samples.map((s) => s.value) }], `r${round}`);
          else await store.writeSamples(samples, `r${round}`);
          for (const s of samples) model.set(s.tsMs, s.value);
          const out = await store.query({ selector: sel, startMs: T0 - 2 * HOUR, endMs: T0, resolution: 'raw' });
          const want = [...model.entries()].sort((a, b) => a[0] - b[0]);
          assert.deepEqual(out[0]?.timestamps, want.map((e) => e[0]));
          assert.deepEqual(out[0]?.values, want.map((e) => e[1]));
        },
      ),
      { numRuns: 60 },
    );
    assertInvariant(chunkRows(path));
    // Reads of sub-ranges cut chunks at both ends.
    const want = [...model.entries()].filter(([t]) => t >= T0 - HOUR + 777 * 1000 && t < T0 - HOUR + 1555 * 1000).sort((a, b) => a[0] - b[0]);
    const out = await store.query({ selector: sel, startMs: T0 - HOUR + 777 * 1000, endMs: T0 - HOUR + 1555 * 1000, resolution: 'raw' });
    assert.deepEqual(out[0]?.timestamps ?? [], want.map((e) => e[0]));
    await store.close();
  });

  it('retention deletes whole chunks before the horizon and trims the one straddling it', async () => {
    const path = await tempPath();
    let now = T0;
    const store = SqliteMetricStore.open(path, { now: () => now, retention: { rawMs: 6 * HOUR, oneMinuteMs: 2 * 24 * HOUR, fiveMinuteMs: 7 * 24 * HOUR } });
    // 300 samples a minute apart: chunks of 120, 120, 60 over 5 hours.
    await store.writeSeries([{ labels: L, timestamps: Array.from({ length: 300 }, (_, i) => T0 - 5 * HOUR + i * MIN), values: Array.from({ length: 300 }, (_, i) => i) }]);
    now = T0 + 3 * HOUR; // horizon T0 - 3 h: samples 0..119 (chunk 1) and 120..~ go
    const c = await store.compact(now);
    const horizon = now - 6 * HOUR;
    const kept = Array.from({ length: 300 }, (_, i) => T0 - 5 * HOUR + i * MIN).filter((t) => t >= horizon);
    assert.ok(c.deleted >= 300 - kept.length, `deleted ${c.deleted}`);
    const rows = chunkRows(path);
    assertInvariant(rows);
    assert.equal(rows.reduce((n, r) => n + r.count, 0), kept.length, 'exactly the samples before the horizon are gone');
    assert.equal(rows[0]!.start, kept[0]);
    const out = await store.query({ selector: sel, startMs: 0, endMs: now, resolution: 'raw' });
    assert.deepEqual(out[0]?.timestamps, kept);
    await store.close();
  });

  it('reads rows of a database from before migration 6 and moves them into chunks at compaction', async () => {
    const path = await tempPath();
    // A database at version 5 with 30,000 raw rows (more than one move transaction) in `samples`.
    const old = openDatabase(path, { now: () => T0, migrations: STORAGE_MIGRATIONS.filter((m) => m.id <= 5) });
    const h = old.handle;
    const insSeries = h.prepare('INSERT INTO series (key, name, created_ms) VALUES (?, ?, ?)');
    const insLabel = h.prepare('INSERT INTO series_labels (name, value, series_id) VALUES (?, ?, ?)');
    const insSample = h.prepare('INSERT INTO samples (series_id, ts, value) VALUES (?, ?, ?)');
    h.transaction(() => {
      for (let s = 0; s < 30; s++) {
        const id = Number(insSeries.run(JSON.stringify(['__name__', 'legacy', 'i', String(s)]), 'legacy', T0).lastInsertRowid);
        insLabel.run('__name__', 'legacy', id);
        insLabel.run('i', String(s), id);
        for (let k = 0; k < 1000; k++) insSample.run(id, T0 - 3 * HOUR + k * 10_000, s * 10_000 + k);
      }
    })();
    old.close();

    const { store } = open(path);
    const q = { selector: { name: 'legacy', matchers: [{ name: 'i', op: '=' as const, value: '7' }] }, startMs: T0 - 4 * HOUR, endMs: T0, resolution: 'raw' as const };
    const before = await store.query(q);
    assert.equal(before[0]?.values.length, 1000);
    // A new write at a legacy timestamp wins over the legacy row, before and after the move.
    await store.writeSamples([{ labels: { __name__: 'legacy', i: '7' }, tsMs: T0 - 3 * HOUR + 5 * 10_000, value: -1 }]);
    const want = before[0]!.values.map((v, k) => (k === 5 ? -1 : v));
    assert.deepEqual((await store.query(q))[0]?.values, want);
    await store.compact(T0);
    assert.deepEqual((await store.query(q))[0]?.values, want);
    await store.close();
    const rows = chunkRows(path);
    assertInvariant(rows);
    assert.equal(rows.reduce((n, r) => n + r.count, 0), 30_000);
    const db = openDatabase(path, { now: () => T0 });
    assert.equal(db.handle.prepare('SELECT COUNT(*) FROM samples').pluck().get(), 0, 'legacy table drained');
    assert.deepEqual(db.integrityCheck(), []);
    db.close();
    // Rolled up from the moved samples: 1m buckets of 6 samples each.
    const again = open(path).store;
    const m1 = await again.query({ ...q, resolution: '1m' });
    assert.equal(m1[0]?.count?.reduce((a, b) => a + b, 0), 1000);
    await again.close();
  });

  it('writeSeries validates per sample, reports indices over the whole call and refuses malformed calls', async () => {
    const { store } = open();
    const r = await store.writeSeries([
      { labels: L, timestamps: [T0 - 3000, T0 - 2000, T0 - 1000], values: [1, Number.NaN, 3] },
      { labels: { host: 'no name' }, timestamps: [T0 - 1000, T0], values: [1, 2] },
      { labels: L, timestamps: new Float64Array([T0 - 1500, T0 + 10 * HOUR, 1.5]), values: new Float64Array([4, 5, 6]) },
      { labels: L, timestamps: [], values: [] },
    ]);
    assert.equal(r.accepted, 3);
    assert.deepEqual(
      r.rejected.map((x) => x.index),
      [1, 3, 4, 6, 7],
    );
    assert.match(r.rejected[0]!.reason, /NaN/);
    assert.match(r.rejected[1]!.reason, /__name__/);
    assert.match(r.rejected[3]!.reason, /in the future/);
    assert.match(r.rejected[4]!.reason, /tsMs must be an integer/);
    const out = await store.query({ selector: sel, startMs: T0 - MIN, endMs: T0, resolution: 'raw' });
    assert.deepEqual([out[0]?.timestamps, out[0]?.values], [[T0 - 3000, T0 - 1500, T0 - 1000], [1, 4, 3]]);
    await assert.rejects(store.writeSeries('x' as never), /series must be an array/);
    await assert.rejects(store.writeSeries([{ labels: L, timestamps: [1, 2], values: [1] }]), /2 timestamps but 1 values/);
    await assert.rejects(store.writeSeries([{ labels: L, timestamps: 'x' as never, values: [] }]), /timestamps must be an array/);
    await assert.rejects(store.writeSeries([{ labels: L, timestamps: new Float64Array(100_001), values: new Float64Array(100_001) }]), /BATCH_TOO_LARGE|more than 100000/);
    // One batch identity space with writeSamples.
    assert.equal((await store.writeSamples([{ labels: L, tsMs: T0 - 500, value: 1 }], 'same')).duplicate, false);
    assert.deepEqual(await store.writeSeries([{ labels: L, timestamps: [T0 - 400], values: [2] }], 'same'), { accepted: 0, duplicate: true, rejected: [] });
    await store.close();
  });
});

describe('background checkpoints', () => {
  it('keep the WAL bounded while a writer commits, and the file reopens intact', async () => {
    const path = await tempPath();
    const db = openDatabase(path, { now: () => T0, checkpoint: 'background', checkpointIntervalMs: 10 });
    const store = new SqliteMetricStore(db, { now: () => T0 });
    const h = db.handle;
    assert.equal(h.pragma('wal_autocheckpoint', { simple: true }), 40_000, 'the writer keeps a backstop at 4 x the pages');
    for (let w = 0; w < 50; w++) {
      await store.writeSeries(Array.from({ length: 200 }, (_, i) => ({ labels: { __name__: 'bg', i: String(i) }, timestamps: Array.from({ length: 50 }, (_, j) => T0 - HOUR + (w * 50 + j) * 1000), values: Array.from({ length: 50 }, (_, j) => j) })));
      await new Promise((r) => setTimeout(r, 5));
    }
    // The worker copies frames back without the writer: the file holds the data while the
    // store is still open (read through a connection that ignores the WAL is not possible, so
    // the database file's page count stands for it).
    await new Promise((r) => setTimeout(r, 200));
    const fileSize = statSync(path).size;
    assert.ok(fileSize > 1_000_000, `database file ${fileSize} bytes: the WAL was checkpointed into it`);
    await store.close();
    db.close();
    const again = openDatabase(path, { now: () => T0 });
    assert.deepEqual(again.integrityCheck(), []);
    assert.equal(again.handle.prepare('SELECT SUM(count) FROM sample_chunks').pluck().get(), 50 * 200 * 50);
    again.close();
  });
});
