/**
 * Summary statistics shared by the evaluation scorers (detection delay, time to detect, time
 * to mitigate).
 *
 * Quantiles use linear interpolation between closest ranks (Hyndman & Fan type 7, the default
 * of numpy.percentile, R's quantile and Excel's PERCENTILE.INC): for sorted x[0..n-1] and
 * q in [0, 1], h = (n - 1) q and Q(q) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
 * So the median of an even count is the mean of the two middle values, and p95 of one value is
 * that value. Every statistic of an empty sample is NaN (undefined, printed as n/a).
 */
export interface SummaryStats {
  readonly count: number;
  readonly mean: number;
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

/** Type-7 quantile of values that are already sorted ascending; NaN when there are none. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const loValue = sorted[lo]!;
  if (lo >= n - 1) return sorted[n - 1]!;
  return loValue + (h - lo) * (sorted[lo + 1]! - loValue);
}

/** Count, mean, median, p95, min and max of a sample (NaN for all but count when empty). */
export function summarize(values: readonly number[]): SummaryStats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) {
    return Object.freeze({ count: 0, mean: NaN, median: NaN, p95: NaN, min: NaN, max: NaN });
  }
  let sum = 0;
  for (const v of sorted) sum += v;
  return Object.freeze({
    count: n,
    mean: sum / n,
    median: quantileSorted(sorted, 0.5),
    p95: quantileSorted(sorted, 0.95),
    min: sorted[0]!,
    max: sorted[n - 1]!,
  });
}
