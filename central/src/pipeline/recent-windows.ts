// Which windows of a series are already stored: the detect role's guard against a feature record
// published twice. A publish whose answer was lost (the broker restarted, the connection broke
// after the write) is sent again by the ingest role or by the agent, so the topic can hold two
// copies of one series-window at different offsets; offsets alone cannot tell them apart. A
// series-window has one identity, (series key, window start), and the consumer skips a record
// whose identity it has seen stored.
//
// Per series this keeps the newest window start stored, the window length, and a 64-bit map of
// the 64 window slots ending at the newest one (about 40 bytes a series, however many windows):
// exact for any window within 64 windows of the series' newest, which is where resends land (a
// resend is older than the newest window by at most what was in flight when the answer was
// lost). A window further back, or off the series' window grid, is "not known": the caller
// stores it (a copy is possible there, and reads still serve each window once).
const SLOTS = 64n;
const MASK = (1n << SLOTS) - 1n;

interface SeriesWindows {
  /** Start of the newest window stored. */
  newest: number;
  /** Window length, ms (window end - start of the newest window). */
  step: number;
  /** Bit i: the window starting at newest - i * step is stored. */
  bits: bigint;
}

export class RecentWindows {
  private readonly series = new Map<string, SeriesWindows>();

  /** Series tracked. */
  get size(): number {
    return this.series.size;
  }

  /** True when the window is known stored; false when known not stored or not known. */
  has(key: string, startMs: number): boolean {
    const s = this.series.get(key);
    if (s === undefined || startMs > s.newest) return false;
    const slot = slotOf(s, startMs);
    return slot !== undefined && ((s.bits >> slot) & 1n) === 1n;
  }

  /** Records the window [startMs, endMs) of the series as stored. */
  add(key: string, startMs: number, endMs: number): void {
    const step = endMs - startMs;
    if (!(step > 0) || !Number.isFinite(startMs)) return;
    const s = this.series.get(key);
    if (s === undefined || s.step !== step || (startMs > s.newest && (startMs - s.newest) % step !== 0)) {
      // New series, or the series changed its window grid: what was known before no longer lines up.
      this.series.set(key, { newest: startMs, step, bits: 1n });
      return;
    }
    if (startMs > s.newest) {
      const shift = BigInt((startMs - s.newest) / step);
      s.bits = shift >= SLOTS ? 1n : ((s.bits << shift) | 1n) & MASK;
      s.newest = startMs;
      return;
    }
    const slot = slotOf(s, startMs);
    if (slot !== undefined) s.bits |= 1n << slot;
  }

  /** Drops the series selected by key; returns how many. */
  forget(which: (key: string) => boolean): number {
    let n = 0;
    for (const key of this.series.keys()) {
      if (which(key)) {
        this.series.delete(key);
        n++;
      }
    }
    return n;
  }
}

function slotOf(s: SeriesWindows, startMs: number): bigint | undefined {
  const back = s.newest - startMs;
  if (back % s.step !== 0) return undefined;
  const slot = back / s.step;
  return slot < 64 ? BigInt(slot) : undefined;
}
