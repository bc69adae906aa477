// The last stage of Tier-2 and Tier-3 scoring: a residual is judged against the series' own
// record. The graph's r says how far the newest value is from the model's expectation, in
// units of the window's spread; a series that often jumps that far is not anomalous when it
// does it again. The final score is
//     r / (r + max(k, multiplier x R)),   R = the largest r of the series' last `window` rows,
// so it is 0.5 where r equals the larger of the model's calibration point k and the recent
// record. R is kept in blocks (the window in 10 blocks of window/10 rows, plus the block
// filling): 11 numbers a series however long the window, covering the last 1.0..1.1 x window
// rows - the serving side keeps one per series, so it must stay small.
const BLOCKS = 10;

export class NoveltyRecord {
  private readonly blockRows: number;
  private readonly maxima = new Float64Array(BLOCKS);
  private filled = 0;
  private current = 0;
  private inCurrent = 0;
  private next = 0;

  constructor(window: number) {
    this.blockRows = Math.max(1, Math.ceil(window / BLOCKS));
  }

  /** The largest r recorded (0 when none). */
  record(): number {
    let m = this.current;
    for (let i = 0; i < this.filled; i++) if (this.maxima[i]! > m) m = this.maxima[i]!;
    return m;
  }

  /** Scores r against the record, then adds it to the record. */
  score(r: number, k: number, multiplier: number): number {
    const v = Number.isFinite(r) ? Math.max(0, r) : 0;
    const den = Math.max(k, multiplier * this.record());
    this.push(v);
    return v / (v + den);
  }

  push(r: number): void {
    if (r > this.current) this.current = r;
    if (++this.inCurrent === this.blockRows) {
      this.maxima[this.next] = this.current;
      this.next = (this.next + 1) % BLOCKS;
      if (this.filled < BLOCKS) this.filled++;
      this.current = 0;
      this.inCurrent = 0;
    }
  }
}
