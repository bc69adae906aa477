import { z } from 'zod';
import { duration } from '../../../../shared-schemas/src/runtime/index.js';

export const normalizeConfigSchema = z
  .object({
    /** Series tracked at once over all metrics; new series beyond it are dropped and counted. */
    max_series: z.number().int().min(1).max(10_000_000).default(50_000),
    /** Series per metric name; protects the rest from one exploding metric. */
    max_series_per_metric: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Labels per series; extra labels (sorted by name) are dropped and counted. */
    max_labels: z.number().int().min(1).max(1000).default(64),
    /** Label values longer than this (UTF-16 code units) are truncated and counted. */
    max_label_value_length: z.number().int().min(16).max(1_000_000).default(1024),
    /** Metric names longer than this are refused. */
    max_name_length: z.number().int().min(16).max(10_000).default(512),
    /** Samples further ahead of the agent's clock than this are dropped (clock skew). */
    max_future: duration({ min: 0 }).default(300_000),
    /** Samples older than this are dropped. */
    max_age: duration({ min: 1000 }).default(3_600_000),
    /** Turn cumulative counters into per-second rates named `<name>:rate`. */
    rate_counters: z.boolean().default(true),
    /** Convert values to base units (seconds, bytes, ratio) and add the unit suffix to the name. */
    base_units: z.boolean().default(true),
    /** Forget a series after this long without samples (frees its limit slot). */
    stale_after: duration({ min: 1000 }).default(600_000),
  })
  .strict();

export type NormalizeConfig = z.output<typeof normalizeConfigSchema>;
