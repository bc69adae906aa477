// Raw samples as chunks: `sample_chunks (id, series_id, start_ms, end_ms, count, data)`, one
// row per run of up to CHUNK_SAMPLES samples of one series, rows in write order, found through
// the covering index (series_id, start_ms, end_ms, count) (decision 019). The caller
// (SqliteMetricStore) runs every method inside its transactions.
//
// Invariant: the chunks of a series never overlap in time ([start_ms, end_ms] disjoint), so
// `start_ms` is unique per series, a series' chunks sorted by start are sorted by time, and a
// time range is read by seeking to the chunk holding its start and scanning forward.
//
// Writes (`write`, samples sorted by time, no repeated timestamp):
// - no stored chunk meets [first, last] of the write: the samples become new chunk(s) (one row
//   for up to CHUNK_SAMPLES samples: a remote-write body's 100 samples of a series are one
//   INSERT), unless the chunk just before them is small enough to take them (count + n <=
//   CHUNK_SAMPLES and the bytes fit): then that chunk is rewritten with them appended, so a
//   stream of one-sample writes (scrapes, JSON) builds full chunks instead of one row each;
// - otherwise the overlapping chunks are decoded, merged with the samples and rewritten. On a
//   repeated timestamp the incoming value wins (the store's "last write of a (series, time)
//   wins"), except for the legacy migration, where what is already in chunks is newer.
// Chunks are at most CHUNK_SAMPLES samples and `maxBytes` bytes: a row then stays inside its
// B-tree page (SQLite moves the tail of a larger row to an overflow page of its own).
import type Database from 'better-sqlite3';
import { ChunkEncoder, ChunkReader } from './chunk-codec.js';

/** Samples per chunk at most (Prometheus' head chunks hold 120 as well). */
export const CHUNK_SAMPLES = 120;
/**
 * The largest chunk blob that keeps a sample_chunks row inside its page: SQLite's maximum
 * local payload of a table B-tree cell, usable - 35 (4,061 bytes for 4 KiB pages), less the
 * record header and the four integer columns (at most 40 bytes). 120 samples take at most
 * ~2.2 KB, so this bounds only pathological timestamps on small pages.
 */
export function maxChunkBytes(pageSize: number): number {
  return pageSize - 35 - 40;
}

/** Sorted columns of samples. */
export interface SampleColumns {
  ts: number[];
  vs: number[];
}

export class SampleChunks {
  private readonly enc = new ChunkEncoder();
  private readonly rd = new ChunkReader();
  private readonly st;
  readonly maxBytes: number;

  constructor(h: Database.Database) {
    this.maxBytes = maxChunkBytes(h.pragma('page_size', { simple: true }) as number);
    // The chunks of a series that may hold samples in [from, to]: from the last chunk starting
    // at or before `from` (it may reach into the range) to the last starting at or before `to`.
    // Parameters (plain `?`: better-sqlite3 binds `?NNN` by name): id, id, from, from, to.
    const from = 'COALESCE((SELECT start_ms FROM sample_chunks WHERE series_id = ? AND start_ms <= ? ORDER BY start_ms DESC LIMIT 1), ?)';
    this.st = {
      // Index only (covering): the write path's question "where does this series end?".
      lastAtOrBefore: h.prepare('SELECT id, start_ms, end_ms, count FROM sample_chunks WHERE series_id = ? AND start_ms <= ? ORDER BY start_ms DESC LIMIT 1').raw(),
      data: h.prepare('SELECT data FROM sample_chunks WHERE id = ?').pluck(),
      meeting: h.prepare(`SELECT id, start_ms, end_ms, count, data FROM sample_chunks WHERE series_id = ? AND start_ms >= ${from} AND start_ms <= ? ORDER BY start_ms`).raw(),
      inRange: h.prepare(`SELECT id, start_ms, end_ms, count, data FROM sample_chunks WHERE series_id = ? AND start_ms >= ${from} AND start_ms < ? ORDER BY start_ms`).raw(),
      insert: h.prepare('INSERT INTO sample_chunks (series_id, start_ms, end_ms, count, data) VALUES (?, ?, ?, ?, ?)'),
      update: h.prepare('UPDATE sample_chunks SET end_ms = ?, count = ?, data = ? WHERE id = ?'),
      delete: h.prepare('DELETE FROM sample_chunks WHERE id = ?'),
      expire: h.prepare('DELETE FROM sample_chunks WHERE series_id = ? AND start_ms < ? AND end_ms < ? RETURNING count').pluck(),
      straddling: h.prepare('SELECT id, start_ms, data FROM sample_chunks WHERE series_id = ? AND start_ms < ? AND end_ms >= ?').raw(),
      earliest: h.prepare('SELECT MIN((SELECT start_ms FROM sample_chunks WHERE series_id = s.id ORDER BY start_ms LIMIT 1)) FROM series s').pluck(),
    };
  }

  /**
   * Stores `n` samples of series `id` (timestamps strictly increasing). `incomingWins`: on a
   * timestamp already stored, keep the incoming value (false: keep the stored one).
   */
  write(id: number, ts: ArrayLike<number>, vs: ArrayLike<number>, n: number, incomingWins = true): void {
    if (n === 0) return;
    const first = ts[0]!;
    const last = ts[n - 1]!;
    // [rowid, start, end, count] of the last chunk starting at or before the write's end.
    const prev = this.st.lastAtOrBefore.get(id, last) as [number, number, number, number] | undefined;
    if (prev === undefined || prev[2] < first) {
      if (prev !== undefined && prev[3] + n <= CHUNK_SAMPLES) {
        // Append to the small chunk just before: one row rewritten instead of one more row.
        const old = this.decodeAll([this.st.data.get(prev[0]) as Uint8Array]);
        for (let i = 0; i < n; i++) {
          old.ts.push(ts[i]!);
          old.vs.push(vs[i]!);
        }
        this.replace(id, [prev[0]], prev[1], old.ts, old.vs);
        return;
      }
      this.insertRun(id, ts, vs, 0, n);
      return;
    }
    // [rowid, start, end, count, data] of the chunks the write overlaps.
    const rows = (this.st.meeting.all(id, id, first, first, last) as Array<[number, number, number, number, Uint8Array]>).filter((r) => r[2] >= first);
    const old = this.decodeAll(rows.map((r) => r[4]));
    const merged = mergeSorted(old.ts, old.vs, old.ts.length, ts, vs, n, incomingWins);
    this.replace(
      id,
      rows.map((r) => r[0]),
      rows[0]![1],
      merged.ts,
      merged.vs,
    );
  }

  /** Samples of series `id` with time in [from, to), ascending. */
  read(id: number, from: number, to: number): SampleColumns {
    const ts: number[] = [];
    const vs: number[] = [];
    for (const r of this.st.inRange.iterate(id, id, from, from, to) as Iterable<[number, number, number, number, Uint8Array]>) {
      if (r[2] < from) continue;
      const at = ts.length;
      const n = this.rd.decode(r[4], ts, vs, at);
      if (r[1] >= from && r[2] < to) continue;
      // A chunk reaching past the range: drop the samples outside it.
      let keep = 0;
      for (let i = at; i < at + n; i++) {
        const t = ts[i]!;
        if (t >= from && t < to) {
          ts[at + keep] = t;
          vs[at + keep] = vs[i]!;
          keep++;
        }
      }
      ts.length = at + keep;
      vs.length = at + keep;
    }
    return { ts, vs };
  }

  /**
   * Deletes the samples before `horizon` of series `id`: whole chunks that end before it, and
   * the older part of the one chunk that straddles it (rewritten). Returns samples deleted.
   */
  expire(id: number, horizon: number): number {
    let deleted = 0;
    for (const c of this.st.expire.all(id, horizon, horizon) as number[]) deleted += c;
    const s = this.st.straddling.get(id, horizon, horizon) as [number, number, Uint8Array] | undefined;
    if (s !== undefined) {
      const old = this.decodeAll([s[2]]);
      let cut = 0;
      while (cut < old.ts.length && old.ts[cut]! < horizon) cut++;
      if (cut > 0) {
        this.replace(id, [s[0]], s[1], old.ts.slice(cut), old.vs.slice(cut));
        deleted += cut;
      }
    }
    return deleted;
  }

  /** Earliest chunk start over every series; undefined when there are no chunks. */
  earliest(): number | undefined {
    const v = this.st.earliest.get();
    return typeof v === 'number' ? v : undefined;
  }

  private decodeAll(blobs: Uint8Array[]): SampleColumns {
    const ts: number[] = [];
    const vs: number[] = [];
    for (const b of blobs) this.rd.decode(b, ts, vs, ts.length);
    return { ts, vs };
  }

  /**
   * Replaces the chunks `rowids` (the first starting at `firstStart`) of series `id` by
   * `ts`/`vs` (sorted). One chunk replaced by one with the same start is updated in place.
   */
  private replace(id: number, rowids: number[], firstStart: number, ts: number[], vs: number[]): void {
    const n = ts.length;
    if (rowids.length === 1 && n > 0 && n <= CHUNK_SAMPLES && ts[0] === firstStart) {
      const c = this.enc.encode(ts, vs, 0, n, this.maxBytes);
      if (c === n) {
        this.st.update.run(ts[n - 1], n, this.enc.bytes(), rowids[0]);
        return;
      }
    }
    for (const r of rowids) this.st.delete.run(r);
    this.insertRun(id, ts, vs, 0, n);
  }

  /** Inserts samples [from, to) as chunks of at most CHUNK_SAMPLES samples, evenly split. */
  private insertRun(id: number, ts: ArrayLike<number>, vs: ArrayLike<number>, from: number, to: number): void {
    let i = from;
    while (i < to) {
      const left = to - i;
      const per = Math.ceil(left / Math.ceil(left / CHUNK_SAMPLES));
      const c = this.enc.encode(ts, vs, i, per, this.maxBytes);
      this.st.insert.run(id, ts[i], ts[i + c - 1], c, this.enc.bytes());
      i += c;
    }
  }
}

/** Merges two sorted runs; on an equal timestamp `bWins` picks b's value, else a's. */
export function mergeSorted(aTs: ArrayLike<number>, aVs: ArrayLike<number>, an: number, bTs: ArrayLike<number>, bVs: ArrayLike<number>, bn: number, bWins: boolean): SampleColumns {
  const ts: number[] = [];
  const vs: number[] = [];
  let i = 0;
  let j = 0;
  while (i < an || j < bn) {
    if (j >= bn || (i < an && aTs[i]! < bTs[j]!)) {
      ts.push(aTs[i]!);
      vs.push(aVs[i++]!);
    } else if (i >= an || bTs[j]! < aTs[i]!) {
      ts.push(bTs[j]!);
      vs.push(bVs[j++]!);
    } else {
      ts.push(bTs[j]!);
      vs.push(bWins ? bVs[j]! : aVs[i]!);
      i++;
      j++;
    }
  }
  return { ts, vs };
}
