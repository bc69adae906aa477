// Per-second throughput of a run: frames counted into the second they were sent or acknowledged in.

export interface SecondSample {
  /** Second since the send phase started (0 = the first; the last ones may fall in the drain). */
  second: number;
  sentSeriesWindows: number;
  ackedSeriesWindows: number;
}

/**
 * Frames sent (first sends) and acknowledged per second of the send phase, counted when they
 * happen (no sampling timer, so no drift between buckets). Grows with the run (one entry per
 * second, at most a week).
 */
export class Timeline {
  private t0 = Infinity;
  private readonly sentBySecond: number[] = [];
  private readonly ackedBySecond: number[] = [];

  start(t0: number): void {
    this.t0 = t0;
  }

  private add(list: number[], t: number): void {
    const s = Math.floor((t - this.t0) / 1000);
    if (!(s >= 0 && s < 604_800)) return;
    while (list.length <= s) list.push(0);
    list[s]! += 1;
  }

  sent(t: number): void {
    this.add(this.sentBySecond, t);
  }

  acked(t: number): void {
    this.add(this.ackedBySecond, t);
  }

  /** Per-second series-windows (frames x seriesPerFrame). */
  samples(seriesPerFrame: number): SecondSample[] {
    const n = Math.max(this.sentBySecond.length, this.ackedBySecond.length);
    return Array.from({ length: n }, (_, second) => ({
      second,
      sentSeriesWindows: (this.sentBySecond[second] ?? 0) * seriesPerFrame,
      ackedSeriesWindows: (this.ackedBySecond[second] ?? 0) * seriesPerFrame,
    }));
  }
}
