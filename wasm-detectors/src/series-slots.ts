// Maps series keys (canonical label sets) to the detector's fixed slots: adds series on first
// sight, retires them explicitly or when idle, and refuses (and counts) new series when full.
// A retired slot is reset before reuse, so a new series never inherits another's baseline.

import type { Tier1Detector } from './detector.js';

export interface SeriesSlotsOptions {
  /** Series that have not been seen for this long are retired by retireIdle(). */
  idleRetireMs: number;
}

export class SeriesSlots {
  private readonly byKey = new Map<string, number>();
  private readonly keyOf: Array<string | undefined>;
  private readonly lastSeen: Float64Array;
  private readonly free: number[] = [];
  /** New series refused because every slot was taken. */
  refused = 0;

  constructor(
    private readonly detector: Tier1Detector,
    private readonly opts: SeriesSlotsOptions = { idleRetireMs: 15 * 60_000 },
  ) {
    this.keyOf = new Array<string | undefined>(detector.maxSeries);
    this.lastSeen = new Float64Array(detector.maxSeries);
    for (let i = detector.maxSeries - 1; i >= 0; i--) this.free.push(i);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The slot of `key`, assigning a fresh one on first sight; -1 when full (counted in `refused`). */
  slotFor(key: string, nowMs: number): number {
    let slot = this.byKey.get(key);
    if (slot === undefined) {
      const next = this.free.pop();
      if (next === undefined) {
        this.refused++;
        return -1;
      }
      slot = next;
      this.detector.resetSeries(slot);
      this.byKey.set(key, slot);
      this.keyOf[slot] = key;
    }
    this.lastSeen[slot] = nowMs;
    return slot;
  }

  /** The slot of a known key without assigning one. */
  peek(key: string): number | undefined {
    return this.byKey.get(key);
  }

  /** Binds `key` to a slot and restores its state (agent restart). False when full. */
  restore(key: string, snapshot: Uint8Array, nowMs: number): boolean {
    const slot = this.slotFor(key, nowMs);
    if (slot < 0) return false;
    this.detector.restoreSeries(slot, snapshot);
    return true;
  }

  retire(key: string): boolean {
    const slot = this.byKey.get(key);
    if (slot === undefined) return false;
    this.byKey.delete(key);
    this.keyOf[slot] = undefined;
    this.detector.resetSeries(slot);
    this.free.push(slot);
    return true;
  }

  /** Retires every series idle for longer than idleRetireMs; returns how many. */
  retireIdle(nowMs: number): number {
    let n = 0;
    for (const [key, slot] of this.byKey) {
      if (nowMs - this.lastSeen[slot]! > this.opts.idleRetireMs) {
        this.retire(key);
        n++;
      }
    }
    return n;
  }

  /** Every live series with its state, for periodic snapshots to disk. */
  *snapshots(): IterableIterator<[string, Uint8Array]> {
    for (const [key, slot] of this.byKey) yield [key, this.detector.snapshotSeries(slot)];
  }
}
