// The agent's in-memory data model: what receivers produce and processors transform (metrics),
// and what the window aggregator hands to exporters (feature windows).

import type { FeatureRow, Labels } from '../../shared-schemas/src/index.js';

export type { Labels };

/** 'counter' = cumulative and monotonic (the normalizer turns it into a per-second rate). */
export type MetricKind = 'gauge' | 'counter';

/** Tier-1 result for one sample, set by the tier1 processor. */
export interface Tier1Result {
  score: number;
  /** FLAG_* bits of wasm-detectors (anomaly, invalid, warm-up, stale, gap, level shift). */
  flags: number;
  lower: number;
  upper: number;
}

export interface MetricSample {
  /** Metric name (normalized by the normalizer: [a-zA-Z_:][a-zA-Z0-9_:]*, base units). */
  name: string;
  /** Labels without the name. Receivers may share one object between samples of a series. */
  labels: Labels;
  /** Epoch milliseconds. */
  ts: number;
  value: number;
  kind: MetricKind;
  /** Unit as received (UCUM or Prometheus suffix); the normalizer converts to base units. */
  unit?: string;
  /** Canonical series key (name + sorted labels), set by the normalizer. */
  key?: string;
  tier1?: Tier1Result;
  /** FeatureFlags bits (shared-schemas) set by processors, e.g. COUNTER_RESET by the normalizer. */
  featureFlags?: number;
}

export interface MetricBatch {
  /** Component id of the receiver that produced it, e.g. `prometheus/node`. */
  source: string;
  samples: MetricSample[];
}

/** One closed window of per-series features, in the order series were first seen. */
export interface FeatureWindow {
  windowStartMs: number;
  windowEndMs: number;
  series: Array<{ key: string; labels: Labels; row: Omit<FeatureRow, 'seriesId'> }>;
}
