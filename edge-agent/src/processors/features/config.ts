// Window aggregator options: built into every pipeline between the processors and the exporters
// (exporters consume feature windows), configured by the top-level `features:` section.
export interface FeaturesConfig {
  /** Window length, ms (10 s by default: ARCHITECTURE section 3). */
  windowMs: number;
  /** A window is closed this long after its end, so that slightly late samples still count. */
  graceMs: number;
  /** Distinct series in the open windows; more are dropped and counted. */
  maxSeries: number;
  /** Values kept per series and window for p50/p95 (beyond: the quantiles use the first ones). */
  maxValuesPerSeries?: number;
}
