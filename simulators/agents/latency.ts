// Acknowledgement latency: a log-bucketed histogram (1% relative resolution from 1 microsecond
// to ~2.7 hours) with an exact count, sum and maximum. Fixed memory whatever the frame count.

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Values are recorded in microseconds; bucket b holds (GROWTH^(b-1), GROWTH^b]. */
const BUCKETS = Math.ceil(Math.log(1e10) / LOG_GROWTH) + 2;

export interface LatencySummary {
  count: number;
  /** Milliseconds (bucket upper bounds: at most 1% above the true percentile). */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private maxMs = 0;

  record(ms: number): void {
    if (!(ms >= 0)) return;
    const us = ms * 1000;
    const b = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.counts[b]! += 1;
    this.n++;
    this.sum += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.n;
  }

  /** The q-quantile (0..1) in ms; 0 when empty. Never above the maximum. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] as number;
      if (seen >= rank) return Math.min(this.maxMs, Math.pow(GROWTH, b) / 1000);
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.n,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      max: this.maxMs,
      mean: this.n === 0 ? 0 : this.sum / this.n,
    };
  }
}
