// Window aggregator options: built into every pipeline between the processors and the exporters
// (exporters consume feature windows), configured by the top-level `features:` section.
export interface FeaturesConfig {
  /** Window length, ms (10 s by default: ARCHITECTURE section 3). */
  windowMs: number;
  /** A window is closed this long after its end, so that slightly late samples still count. */
  graceMs: number;
  /** Distinct series in the open windows; more are dropped and counted. */
  maxSeries: number;
  /**
   * Significant bits kept in the derived statistics (mean, std, p50, p95, Tier-1 score, band):
   * 8..24, 24 = float32; unset = full float64 until the wire rounds to float32 (the agent config
   * sets 15 by default).
   */
  precisionBits?: number;
  /** Values kept per series and window for p50/p95 (beyond: the quantiles use the first ones). */
  maxValuesPerSeries?: number;
}
