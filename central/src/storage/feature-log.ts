// Feature rows as a write-ordered log of frames folded into per-series chunks (decision 020).
//
// Why: a feature frame carries one window of every series of an agent (hundreds of rows). The
// first layout (migration 1, `feature_rows`) inserted one B-tree row per series-window clustered
// by series, so a frame dirtied one page per series, and once a series held more than a page of
// rows every stored row rewrote a 4 KB page in the WAL and again at the checkpoint: ~72,000
// rows/s at most on the reference machine, falling as the table grew (bench/RESULTS.md).
//
// Layout (migration 7):
// - `feature_log (id, agent, min_start, max_start, count, data)`: one row per accepted frame,
//   appended in write order (the rowid), the frame's rows packed as little-endian float64s.
//   Writing a frame is one INSERT at the end of the table, whatever its number of series.
// - `feature_chunks (id, series_id, min_start, max_start, count, data)`: the folded rows of one
//   series, sorted by window start, one chunk per series per fold (at most CHUNK_ROWS rows),
//   appended in fold order and found through the index (series_id, max_start).
// - `feature_sources (series_id, agent)`: which agents have written a series, so a read finds
//   a series' rows that are still in the log by reading only those agents' frames.
// Folding (compaction, `foldBatch`) moves one agent's frames at a time into chunks and deletes
// them in the same transaction: a row is always in exactly one of the log and the chunks.
//
// Row layout, ROW_WIDTH float64s: window start, window end, count, min, max, mean, std, last,
// p50, p95, Tier-1 max score, flags, band lower, band upper, then X: the series id in the log,
// the row's write order `ord` in a chunk (log id x 2^20 + index in the frame; -1 for rows moved
// from the legacy table, which were written before any log row). NaN is stored as NaN.
//
// Last write wins per (series, window start), as with the legacy table's upsert: a read sorts a
// series' rows by (start, ord) and keeps the last of each start; a fold does the same inside the
// chunk it writes.
//
// The caller (SqliteMetricStore) runs every method inside its transactions (reads inside one
// deferred transaction, so a fold by another connection cannot move rows between the two
// tables while they are read).
import type Database from 'better-sqlite3';
import { endianness } from 'node:os';
import { StorageError } from './errors.js';

export const ROW_WIDTH = 15;
export const F = {
  start: 0,
  end: 1,
  count: 2,
  min: 3,
  max: 4,
  mean: 5,
  std: 6,
  last: 7,
  p50: 8,
  p95: 9,
  score: 10,
  flags: 11,
  bandLower: 12,
  bandUpper: 13,
  /** Series id (log) or write order (chunk). */
  x: 14,
} as const;

/** Rows per frame at most: the row's index in its frame is the low 20 bits of `ord`. */
export const MAX_FRAME_ROWS = 1 << 20;
const ORD_SCALE = MAX_FRAME_ROWS;
/** Rows per chunk at most (a larger fold of one series is split). */
export const CHUNK_ROWS = 1024;
/** Frames folded per transaction at most. */
const FOLD_FRAMES = 256;

if (endianness() !== 'LE') throw new StorageError('INTERNAL', 'the feature store packs rows as little-endian float64: this platform is big-endian');

/** Bytes of a packed row block (a Buffer from SQLite need not be 8-byte aligned: copy if not). */
export function unpack(buf: Uint8Array): Float64Array {
  if (buf.byteLength % 8 !== 0) throw new StorageError('INTERNAL', `feature blob of ${buf.byteLength} bytes is not a whole number of float64s`);
  if (buf.byteOffset % 8 === 0) return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function pack(rows: Float64Array, n: number): Buffer {
  return Buffer.from(rows.buffer, rows.byteOffset, n * ROW_WIDTH * 8);
}

/** A row of a read: the ROW_WIDTH numbers (X = ord). */
export type FeatureRowView = Float64Array;

/**
 * Per-read cache of the log's rows of some agents in one time range, grouped by series: the
 * series of one query or rollup span share one decode of each agent's frames (without it, a
 * read of N series of one agent decodes that agent's frames N times).
 */
export class LogReadCache {
  readonly byAgent = new Map<string, Map<number, FeatureRowView[]>>();
  private from = Number.NaN;
  private to = Number.NaN;
  /** The cache for [from, to): emptied when it held another range. */
  forRange(from: number, to: number): this {
    if (from !== this.from || to !== this.to) {
      this.byAgent.clear();
      this.from = from;
      this.to = to;
    }
    return this;
  }
}

export class FeatureLog {
  private readonly st;
  /** The legacy `feature_rows` table may still hold rows (databases from before migration 7). */
  legacy: boolean;

  constructor(h: Database.Database) {
    this.st = {
      append: h.prepare('INSERT INTO feature_log (agent, min_start, max_start, count, data) VALUES (?, ?, ?, ?, ?)'),
      noteSource: h.prepare('INSERT OR IGNORE INTO feature_sources (series_id, agent) VALUES (?, ?)'),
      sourcesOf: h.prepare('SELECT agent FROM feature_sources WHERE series_id = ?').pluck(),
      headOf: h.prepare('SELECT id, data FROM feature_log WHERE agent = ? AND max_start >= ? AND min_start < ? ORDER BY id').raw(),
      headOverlaps: h.prepare('SELECT EXISTS (SELECT 1 FROM feature_log WHERE max_start >= ? AND min_start < ?)').pluck(),
      headMax: h.prepare('SELECT MAX(id) FROM feature_log').pluck(),
      oldestAgent: h.prepare('SELECT agent FROM feature_log WHERE id <= ? ORDER BY id LIMIT 1').pluck(),
      framesOf: h.prepare(`SELECT id, data FROM feature_log WHERE agent = ? AND id <= ? ORDER BY id LIMIT ${FOLD_FRAMES}`).raw(),
      deleteFrames: h.prepare('DELETE FROM feature_log WHERE agent = ? AND id <= ?'),
      insertChunk: h.prepare('INSERT INTO feature_chunks (series_id, min_start, max_start, count, data) VALUES (?, ?, ?, ?, ?)'),
      chunksOf: h.prepare('SELECT data FROM feature_chunks WHERE series_id = ? AND max_start >= ? AND min_start < ? ORDER BY id').pluck(),
      expireChunks: h.prepare('DELETE FROM feature_chunks WHERE series_id = ? AND max_start < ? RETURNING count').pluck(),
      straddling: h.prepare('SELECT id, data FROM feature_chunks WHERE series_id = ? AND min_start < ? AND max_start >= ?').raw(),
      rewriteChunk: h.prepare('UPDATE feature_chunks SET min_start = ?, count = ?, data = ? WHERE id = ?'),
      forgetSources: h.prepare('DELETE FROM feature_sources WHERE series_id = ?'),
      earliest: h.prepare('SELECT MIN(m) FROM (SELECT MIN(min_start) AS m FROM feature_chunks UNION ALL SELECT MIN(min_start) FROM feature_log)').pluck(),
      legacyExists: h.prepare('SELECT EXISTS (SELECT 1 FROM feature_rows)').pluck(),
      legacyRange: h.prepare(`SELECT window_start, window_end, count, min, max, mean, std, last, p50, p95, score, flags, band_lower, band_upper
        FROM feature_rows WHERE series_id = ? AND window_start >= ? AND window_start < ? ORDER BY window_start`).raw(),
      legacyHead: h.prepare(`SELECT series_id, window_start, window_end, count, min, max, mean, std, last, p50, p95, score, flags, band_lower, band_upper
        FROM feature_rows ORDER BY series_id, window_start LIMIT ?`).raw(),
      legacyDeleteBelow: h.prepare('DELETE FROM feature_rows WHERE series_id < ?'),
      legacyDeleteUpTo: h.prepare('DELETE FROM feature_rows WHERE series_id = ? AND window_start <= ?'),
      legacyExpire: h.prepare('DELETE FROM feature_rows WHERE series_id = ? AND window_start < ?'),
      legacyEarliest: h.prepare('SELECT MIN(window_start) FROM feature_rows').pluck(),
    };
    this.legacy = this.st.legacyExists.get() === 1;
  }

  /** Records that `agent` wrote series `id` (idempotent; the caller caches what it noted). */
  noteSource(id: number, agent: string): void {
    this.st.noteSource.run(id, agent);
  }

  /** Appends a frame: `n` rows of ROW_WIDTH numbers, X = series id. Returns its log id. */
  append(agent: string, rows: Float64Array, n: number, minStart: number, maxStart: number): number {
    return Number(this.st.append.run(agent, minStart, maxStart, n, pack(rows, n)).lastInsertRowid);
  }

  /** True when some frame still in the log has a window starting in [from, to). */
  headOverlaps(from: number, to: number): boolean {
    return this.st.headOverlaps.get(from, to) === 1;
  }

  /**
   * The rows of series `id` with window start in [from, to), sorted by start, one per start
   * (the last written). `head`: also read the log (false when the caller knows no frame in the
   * log overlaps the range); `cache` shares decoded log frames between the series of one read.
   */
  read(id: number, from: number, to: number, head: boolean, cache: LogReadCache = new LogReadCache()): FeatureRowView[] {
    const rows: FeatureRowView[] = [];
    if (this.legacy) {
      for (const r of this.st.legacyRange.all(id, from, to) as unknown[][]) {
        const v = new Float64Array(ROW_WIDTH);
        for (let k = 0; k < 14; k++) v[k] = typeof r[k] === 'number' ? (r[k] as number) : Number.NaN;
        v[F.x] = -1;
        rows.push(v);
      }
    }
    for (const blob of this.st.chunksOf.all(id, from, to) as Buffer[]) {
      const data = unpack(blob);
      for (let o = 0; o < data.length; o += ROW_WIDTH) {
        const s = data[o]!;
        if (s >= from && s < to) rows.push(data.subarray(o, o + ROW_WIDTH));
      }
    }
    if (head) {
      cache.forRange(from, to);
      for (const agent of this.st.sourcesOf.all(id) as string[]) {
        let bySeries = cache.byAgent.get(agent);
        if (bySeries === undefined) {
          bySeries = this.agentHead(agent, from, to);
          cache.byAgent.set(agent, bySeries);
        }
        const mine = bySeries.get(id);
        if (mine !== undefined) for (const r of mine) rows.push(r);
      }
    }
    return lastPerStart(rows);
  }

  /** The log's rows of one agent with window start in [from, to), by series, X = ord. */
  private agentHead(agent: string, from: number, to: number): Map<number, FeatureRowView[]> {
    const out = new Map<number, FeatureRowView[]>();
    for (const [logId, blob] of this.st.headOf.all(agent, from, to) as Array<[number, Buffer]>) {
      const data = unpack(blob);
      for (let o = 0, i = 0; o < data.length; o += ROW_WIDTH, i++) {
        const s = data[o]!;
        if (!(s >= from && s < to)) continue;
        const row = data.slice(o, o + ROW_WIDTH);
        const id = row[F.x]!;
        row[F.x] = logId * ORD_SCALE + i;
        const list = out.get(id);
        if (list === undefined) out.set(id, [row]);
        else list.push(row);
      }
    }
    return out;
  }

  /** The highest log id now (fold up to it), or undefined when the log is empty. */
  headMax(): number | undefined {
    return (this.st.headMax.get() as number | null) ?? undefined;
  }

  /**
   * Folds up to FOLD_FRAMES frames (ids <= upTo) of the agent with the oldest frame into chunks
   * and deletes them. Returns the frames folded (0: nothing left up to `upTo`).
   */
  foldBatch(upTo: number): number {
    const agent = this.st.oldestAgent.get(upTo) as string | undefined;
    if (agent === undefined) return 0;
    const frames = this.st.framesOf.all(agent, upTo) as Array<[number, Buffer]>;
    const datas = frames.map((f) => unpack(f[1]));
    // Per series: [frame index, offset] of each of its rows, in write order.
    const refs = new Map<number, number[]>();
    for (let fi = 0; fi < datas.length; fi++) {
      const data = datas[fi]!;
      for (let o = 0; o < data.length; o += ROW_WIDTH) {
        const id = data[o + F.x]!;
        const list = refs.get(id);
        if (list === undefined) refs.set(id, [fi, o]);
        else list.push(fi, o);
      }
    }
    for (const [id, list] of refs) {
      const n = list.length / 2;
      const block = new Float64Array(n * ROW_WIDTH);
      let sorted = true;
      let prev = -Infinity;
      for (let k = 0; k < n; k++) {
        const fi = list[2 * k]!;
        const o = list[2 * k + 1]!;
        const d = datas[fi]!;
        const b = k * ROW_WIDTH;
        for (let j = 0; j < F.x; j++) block[b + j] = d[o + j]!;
        block[b + F.x] = frames[fi]![0] * ORD_SCALE + o / ROW_WIDTH;
        if (!(d[o]! > prev)) sorted = false;
        prev = d[o]!;
      }
      // The common case (a series' windows arrive in order, once each) needs no sort.
      if (sorted) this.writeBlock(id, block, n);
      else {
        const views: FeatureRowView[] = [];
        for (let o = 0; o < block.length; o += ROW_WIDTH) views.push(block.subarray(o, o + ROW_WIDTH));
        this.writeChunks(id, lastPerStart(views));
      }
    }
    this.st.deleteFrames.run(agent, frames[frames.length - 1]![0]);
    return frames.length;
  }

  /** Writes `n` sorted, unique-start rows packed in `block` as chunks of at most CHUNK_ROWS rows. */
  private writeBlock(id: number, block: Float64Array, n: number): void {
    for (let a = 0; a < n; a += CHUNK_ROWS) {
      const b = Math.min(n, a + CHUNK_ROWS);
      const part = block.subarray(a * ROW_WIDTH, b * ROW_WIDTH);
      this.st.insertChunk.run(id, part[F.start], part[(b - a - 1) * ROW_WIDTH + F.start], b - a, pack(part, b - a));
    }
  }

  /** Writes sorted, unique-start rows of one series as chunks of at most CHUNK_ROWS rows. */
  private writeChunks(id: number, rows: readonly FeatureRowView[]): void {
    const block = new Float64Array(rows.length * ROW_WIDTH);
    for (let i = 0; i < rows.length; i++) block.set(rows[i]!, i * ROW_WIDTH);
    this.writeBlock(id, block, rows.length);
  }

  /** Deletes the folded rows of series `id` starting before `before`; returns rows deleted. */
  expire(id: number, before: number): number {
    let n = 0;
    for (const c of this.st.expireChunks.all(id, before) as number[]) n += c;
    for (const [chunkId, blob] of this.st.straddling.all(id, before, before) as Array<[number, Buffer]>) {
      const data = unpack(blob);
      const keep: number[] = [];
      for (let o = 0; o < data.length; o += ROW_WIDTH) {
        if (data[o]! >= before) for (let k = 0; k < ROW_WIDTH; k++) keep.push(data[o + k]!);
        else n++;
      }
      const block = Float64Array.from(keep);
      this.st.rewriteChunk.run(block[F.start], block.length / ROW_WIDTH, pack(block, block.length / ROW_WIDTH), chunkId);
    }
    if (this.legacy) n += this.st.legacyExpire.run(id, before).changes;
    return n;
  }

  /** After garbage collection deleted series `id`. */
  forget(id: number): void {
    this.st.forgetSources.run(id);
  }

  earliest(): number | undefined {
    const a = this.st.earliest.get() as number | null;
    const b = this.legacy ? (this.st.legacyEarliest.get() as number | null) : null;
    if (a === null) return b ?? undefined;
    return b === null ? a : Math.min(a, b);
  }

  /**
   * Moves up to `limit` rows of the legacy table into chunks (key order; ord -1: older than any
   * log row) and deletes them. Returns rows moved; clears `legacy` when none are left.
   */
  moveLegacy(limit: number): number {
    const rows = this.st.legacyHead.all(limit) as unknown[][];
    for (let i = 0; i < rows.length; ) {
      const id = rows[i]![0] as number;
      const views: FeatureRowView[] = [];
      for (; i < rows.length && rows[i]![0] === id; i++) {
        const r = rows[i]!;
        const v = new Float64Array(ROW_WIDTH);
        for (let k = 0; k < 14; k++) v[k] = typeof r[k + 1] === 'number' ? (r[k + 1] as number) : Number.NaN;
        v[F.x] = -1;
        views.push(v);
      }
      this.writeChunks(id, views);
    }
    const last = rows.at(-1);
    if (last === undefined) {
      this.legacy = false;
      return 0;
    }
    this.st.legacyDeleteBelow.run(last[0]);
    this.st.legacyDeleteUpTo.run(last[0], last[1]);
    return rows.length;
  }
}

/** Sorts rows by (start, ord) and keeps the last row of each start. */
function lastPerStart(rows: FeatureRowView[]): FeatureRowView[] {
  if (rows.length <= 1) return rows;
  rows.sort((a, b) => a[F.start]! - b[F.start]! || a[F.x]! - b[F.x]!);
  const out: FeatureRowView[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i + 1 < rows.length && rows[i + 1]![F.start] === rows[i]![F.start]) continue;
    out.push(rows[i]!);
  }
  return out;
}
