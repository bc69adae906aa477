// The feature-row layout (decision 020, feature-log.ts): frames appended to a log, folded into
// per-series chunks by compaction. What is read is the same before and after a fold (property,
// against a model with last-write-wins per (series, window)), a fold leaves nothing behind and
// writes one chunk per series, retention trims a chunk straddling the horizon, series
// garbage-collected by one connection are not written through another connection's stale
// cached id, and databases from before migration 7 (rows in `feature_rows`) are read and moved.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { openDatabase } from './database.js';
import { ROW_WIDTH, unpack } from './feature-log.js';
import { SqliteMetricStore } from './metric-store.js';
import { STORAGE_MIGRATIONS } from './schema.js';
import type { FeatureSample } from './types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 1);
const RETENTION = { rawMs: 6 * HOUR, oneMinuteMs: 2 * 24 * HOUR, fiveMinuteMs: 7 * 24 * HOUR };

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aiops-features-'));
  dirs.push(dir);
  return join(dir, 'central.db');
}

function row(mean: number, over: Partial<FeatureSample['row']> = {}): FeatureSample['row'] {
  return { count: 10, min: mean - 1, max: mean + 1, mean, std: 0.5, last: mean, p50: mean, p95: mean + 0.5, tier1MaxScore: 0.1, flags: 0, bandLower: mean - 2, bandUpper: mean + 2, ...over };
}

function feature(series: string, start: number, mean: number, host = 'h1'): FeatureSample {
  return { labels: { __name__: 'cpu', host, s: series }, windowStartMs: start, windowEndMs: start + 10_000, row: row(mean) };
}

function counts(path: string): { log: number; chunks: number; chunkRows: number; legacy: number } {
  const db = openDatabase(path, { now: () => T0 });
  try {
    const one = (sql: string) => db.handle.prepare(sql).pluck().get() as number;
    return {
      log: one('SELECT COUNT(*) FROM feature_log'),
      chunks: one('SELECT COUNT(*) FROM feature_chunks'),
      chunkRows: one('SELECT COALESCE(SUM(count), 0) FROM feature_chunks'),
      legacy: one('SELECT COUNT(*) FROM feature_rows'),
    };
  } finally {
    db.close();
  }
}

const all = { selector: { name: 'cpu', matchers: [] }, startMs: T0 - 5 * HOUR, endMs: T0 + 1 };

describe('feature log', () => {
  it('reads the same before and after folds: last write per (series, window) wins across log and chunks (property, against a model)', async () => {
    const path = await tempPath();
    const store = SqliteMetricStore.open(path, { now: () => T0, retention: RETENTION });
    const model = new Map<string, number>(); // `${series}|${start}` -> mean
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 60 }), fc.integer({ min: -100, max: 100 })), { minLength: 1, maxLength: 40 }),
        fc.constantFrom('agent-1', 'agent-2'),
        fc.boolean(),
        async (rows, agent, fold) => {
          seq++;
          const frame = rows.map(([s, k, v]) => feature(s, T0 - HOUR + k * 10_000, v + seq / 1000));
          const r = await store.writeFeatureFrame(agent, seq, frame);
          assert.equal(r.accepted, frame.length);
          for (const f of frame) model.set(`${f.labels['s']}|${f.windowStartMs}`, f.row.mean);
          if (fold) await store.compact(T0);
          const out = await store.queryFeatures(all);
          const got = new Map<string, number>();
          for (const s of out) {
            let prev = -Infinity;
            for (const w of s.windows) {
              assert.ok(w.windowStartMs > prev, 'ascending, one row per window');
              prev = w.windowStartMs;
              got.set(`${s.labels['s']}|${w.windowStartMs}`, w.row.mean);
            }
          }
          assert.deepEqual([...got.entries()].sort(), [...model.entries()].sort());
        },
      ),
      { numRuns: 50 },
    );
    await store.compact(T0);
    await store.close();
    const c = counts(path);
    assert.equal(c.log, 0, 'compaction folds the whole log');
    assert.ok(c.chunkRows >= model.size, `chunk rows ${c.chunkRows} >= distinct windows ${model.size}`);
  });

  it('a frame is one log row; a fold writes one chunk per series with its rows sorted and every field kept', async () => {
    const path = await tempPath();
    const store = SqliteMetricStore.open(path, { now: () => T0, retention: RETENTION });
    const special = row(3, { std: Number.NaN, bandLower: Number.NaN, bandUpper: Infinity, flags: 0xffff_ffff, count: 0 });
    for (let k = 0; k < 6; k++) {
      const frame = Array.from({ length: 200 }, (_, i) => feature(`s${i}`, T0 - HOUR + (5 - k) * 10_000, k));
      if (k === 5) frame[7] = { ...frame[7]!, row: special };
      await store.writeFeatureFrame('agent-1', k + 1, frame);
    }
    assert.deepEqual(counts(path), { log: 6, chunks: 0, chunkRows: 0, legacy: 0 });
    const before = await store.queryFeatures(all);
    await store.compact(T0);
    assert.deepEqual(counts(path), { log: 0, chunks: 200, chunkRows: 1200, legacy: 0 });
    const afterFold = await store.queryFeatures(all);
    assert.deepEqual(afterFold, before);
    const s7 = afterFold.find((s) => s.labels['s'] === 's7')!;
    assert.deepEqual(s7.windows.map((w) => w.windowStartMs), [0, 1, 2, 3, 4, 5].map((k) => T0 - HOUR + k * 10_000));
    assert.deepEqual(s7.windows[0]!.row, special, 'NaN, Infinity and 2^32-1 flags round-trip');
    // Rows in the blob are sorted by window start.
    const db = openDatabase(path, { now: () => T0 });
    for (const blob of db.handle.prepare('SELECT data FROM feature_chunks').pluck().all() as Buffer[]) {
      const d = unpack(blob);
      for (let o = ROW_WIDTH; o < d.length; o += ROW_WIDTH) assert.ok(d[o]! > d[o - ROW_WIDTH]!);
    }
    db.close();
    await store.close();
  });

  it('retention deletes old chunks and trims the one straddling the horizon; the series then goes', async () => {
    const path = await tempPath();
    let now = T0;
    const store = SqliteMetricStore.open(path, { now: () => now, retention: RETENTION });
    // 5 h of 10-minute windows in one frame: one chunk of 30 rows.
    const frame = Array.from({ length: 30 }, (_, i) => feature('x', T0 - 5 * HOUR + i * 10 * MIN, i));
    await store.writeFeatureFrame('agent-1', 1, frame);
    await store.compact(now);
    assert.equal(counts(path).chunks, 1);
    now = T0 + 3 * HOUR; // horizon T0 - 3 h
    const c = await store.compact(now);
    const kept = frame.filter((f) => f.windowStartMs >= now - RETENTION.rawMs);
    assert.ok(c.deleted >= frame.length - kept.length);
    assert.equal(counts(path).chunkRows, kept.length);
    const out = await store.queryFeatures({ ...all, startMs: 0, endMs: now });
    assert.deepEqual(out[0]!.windows.map((w) => w.windowStartMs), kept.map((f) => f.windowStartMs));
    // Everything expires (and the 1m/5m rollups with it, given their retention): the series is collected.
    now = T0 + 30 * 24 * HOUR;
    await store.compact(now);
    assert.deepEqual(counts(path), { log: 0, chunks: 0, chunkRows: 0, legacy: 0 });
    await store.close();
  });

  it('a series garbage-collected by one connection is not written through another connection\'s cached id', async () => {
    const path = await tempPath();
    let now = T0;
    const opts = { now: () => now, retention: RETENTION };
    const writer = SqliteMetricStore.open(path, opts);
    const compactor = SqliteMetricStore.open(path, opts);
    await writer.writeFeatureFrame('agent-1', 1, [feature('gc', T0 - HOUR, 1)]);
    await compactor.compact(now);
    now = T0 + 30 * 24 * HOUR;
    await compactor.compact(now); // everything expired: the series row is deleted
    const db = openDatabase(path, { now: () => now });
    assert.equal(db.handle.prepare('SELECT COUNT(*) FROM series').pluck().get(), 0);
    db.close();
    // The writer still caches the old id; the gc generation makes it look the series up again.
    await writer.writeFeatureFrame('agent-1', 2, [feature('gc', now - MIN, 2)]);
    const out = await compactor.queryFeatures({ ...all, startMs: now - HOUR, endMs: now });
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.windows.map((w) => w.row.mean), [2]);
    await compactor.compact(now);
    assert.deepEqual((await writer.queryFeatures({ ...all, startMs: now - HOUR, endMs: now }))[0]!.windows.map((w) => w.row.mean), [2]);
    await writer.close();
    await compactor.close();
  });

  it('reads rows of a database from before migration 7 and moves them into chunks at compaction; newer writes win', async () => {
    const path = await tempPath();
    const old = openDatabase(path, { now: () => T0, migrations: STORAGE_MIGRATIONS.filter((m) => m.id <= 6) });
    const h = old.handle;
    const insSeries = h.prepare('INSERT INTO series (key, name, created_ms) VALUES (?, ?, ?)');
    const insLabel = h.prepare('INSERT INTO series_labels (name, value, series_id) VALUES (?, ?, ?)');
    const insRow = h.prepare(`INSERT INTO feature_rows (series_id, window_start, window_end, count, min, max, mean, std, last, p50, p95, score, flags, band_lower, band_upper)
      VALUES (?, ?, ?, 10, ?, ?, ?, NULL, ?, ?, ?, 0.5, 0, NULL, NULL)`);
    h.transaction(() => {
      for (let s = 0; s < 30; s++) {
        const key = JSON.stringify(['__name__', 'cpu', 'host', 'h1', 's', `old${s}`]);
        const id = Number(insSeries.run(key, 'cpu', T0).lastInsertRowid);
        for (const [n, v] of [['__name__', 'cpu'], ['host', 'h1'], ['s', `old${s}`]]) insLabel.run(n, v, id);
        for (let k = 0; k < 1000; k++) {
          const t = T0 - 3 * HOUR + k * 10_000;
          insRow.run(id, t, t + 10_000, k - 1, k + 1, k, k, k, k);
        }
      }
    })();
    old.close();

    const store = SqliteMetricStore.open(path, { now: () => T0, retention: RETENTION });
    const q = { selector: { name: 'cpu', matchers: [{ name: 's', op: '=' as const, value: 'old7' }] }, startMs: T0 - 4 * HOUR, endMs: T0 };
    const before = await store.queryFeatures(q);
    assert.equal(before[0]!.windows.length, 1000);
    assert.ok(Number.isNaN(before[0]!.windows[0]!.row.std), 'NULL reads as NaN');
    await store.writeFeatureFrame('agent-1', 1, [feature('old7', T0 - 3 * HOUR + 5 * 10_000, -1)]);
    const want = before[0]!.windows.map((w, k) => (k === 5 ? -1 : w.row.mean));
    assert.deepEqual((await store.queryFeatures(q))[0]!.windows.map((w) => w.row.mean), want);
    await store.compact(T0);
    assert.deepEqual((await store.queryFeatures(q))[0]!.windows.map((w) => w.row.mean), want);
    const m1 = await store.query({ ...q, resolution: '1m' });
    assert.equal(m1[0]?.count?.reduce((a, b) => a + b, 0), 1000 * 10, '1m rollups fold the moved rows (count 10 each)');
    await store.close();
    const c = counts(path);
    assert.equal(c.legacy, 0, 'legacy table drained');
    assert.equal(c.log, 0);
    assert.equal(c.chunkRows, 30_000 + 1);
    const db = openDatabase(path, { now: () => T0 });
    assert.deepEqual(db.integrityCheck(), []);
    db.close();
  });
});
