// Configuration of the predictive engine (issue #9, Deliver 5): which series are resources with
// a capacity (a fixed one, or another series such as a memory limit), how much history the trend
// is fitted on, how far ahead a warning is worth raising, and how often forecasts are refreshed.
import { z } from 'zod';
import { duration, regexString } from '../../../shared-schemas/src/runtime/index.js';

export const predictTargetSchema = z
  .object({
    /** Names the prediction in alerts: "disk_full" -> alertname PredictedDiskFull... (see alertname). */
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case').max(64),
    /** Metric names (__name__) this target covers, a regular expression matched whole. */
    metric: regexString().min(1).max(512),
    /** The capacity: a number in the metric's unit (1 for ratios)... */
    capacity: z.number().positive().optional(),
    /** ...or the metric name of a series with the same entity labels that holds it (a memory limit, a pool size). */
    capacity_metric: z.string().min(1).max(256).optional(),
    /** The metric counts what is left (free bytes, idle connections): "used" is the capacity minus it. */
    free: z.boolean().default(false),
    /** "Full" is this fraction of the capacity. */
    threshold: z.number().min(0.01).max(1).default(1),
    /** Warn when the forecast crosses within this long. */
    horizon: duration({ min: 60_000 }).default(86_400_000),
    /** Critical instead of warning when it crosses within this long. */
    critical_within: duration({ min: 0 }).default(3_600_000),
    /** What is running out, for people: "disk", "memory", "connection pool". */
    resource: z.string().min(1).max(64),
    /** Alert name of this target's predictive alerts. */
    alertname: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).max(128),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.capacity === undefined) === (t.capacity_metric === undefined)) ctx.addIssue({ code: 'custom', path: ['capacity'], message: 'give exactly one of capacity and capacity_metric', input: t.capacity });
  });

export const DEFAULT_PREDICT_TARGETS: ReadonlyArray<z.input<typeof predictTargetSchema>> = [
  { name: 'disk_full', resource: 'disk', alertname: 'PredictedDiskFull', metric: '.*(disk|filesystem|fs)_(used_)?ratio|.*disk_usage_ratio', capacity: 1, horizon: '24h' },
  { name: 'filesystem_full', resource: 'disk', alertname: 'PredictedDiskFull', metric: 'node_filesystem_avail_bytes', free: true, capacity_metric: 'node_filesystem_size_bytes', horizon: '24h' },
  { name: 'memory_exhausted', resource: 'memory', alertname: 'PredictedMemoryExhausted', metric: '.*host_memory_ratio|node_memory_used_ratio', capacity: 1, horizon: '3h' },
  { name: 'memory_limit', resource: 'memory limit', alertname: 'PredictedOutOfMemory', metric: 'sim_service_memory_bytes', capacity_metric: 'sim_service_memory_limit_bytes', horizon: '3h' },
  { name: 'container_memory_limit', resource: 'memory limit', alertname: 'PredictedOutOfMemory', metric: 'container_memory_working_set_bytes', capacity_metric: 'container_spec_memory_limit_bytes', horizon: '3h' },
  { name: 'connection_pool', resource: 'connection pool', alertname: 'PredictedPoolExhausted', metric: '.*pool_(active|used)_connections', capacity_metric: 'db_pool_max_connections', horizon: '2h' },
  { name: 'queue_depth', resource: 'queue', alertname: 'PredictedQueueFull', metric: '.*queue_depth', capacity_metric: 'queue_capacity', horizon: '2h' },
];

export const predictConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Forecasts are refreshed this often. */
    interval: duration({ min: 1000 }).default(60_000),
    /** History the trend is fitted on (its recent half sets the slope). */
    window: duration({ min: 60_000 }).default(1_800_000),
    /** Fewer points in the window give no forecast (nor does history covering less than half the window). */
    min_points: z.number().int().min(4).max(10_000).default(12),
    /** Seasonal reference: the same window this long earlier is subtracted when the store has it (0 = off). */
    seasonal_period: duration({ min: 0 }).default(86_400_000),
    /** A forecast fires only when its late end (the slope's lower quartile) is within this many times its expected time. */
    max_spread: z.number().min(1).max(100).default(2),
    /** Consecutive refreshes a crossing must be forecast before the alert fires... */
    fire_after: z.number().int().min(1).max(100).default(2),
    /** ...and not forecast (or beyond horizon x 1.25) before it resolves. */
    resolve_after: z.number().int().min(1).max(100).default(3),
    /** Series forecast per refresh at most (the store refuses beyond it, not silently truncated). */
    max_series: z.number().int().min(1).max(1_000_000).default(20_000),
    targets: z.array(predictTargetSchema).max(100).default(DEFAULT_PREDICT_TARGETS.map((t) => predictTargetSchema.parse(t))),
  })
  .strict();

export type PredictConfigInput = z.input<typeof predictConfigSchema>;
export type PredictConfig = z.output<typeof predictConfigSchema>;
export type PredictTarget = z.output<typeof predictTargetSchema>;

export function predictConfig(overrides: PredictConfigInput = {}): PredictConfig {
  return predictConfigSchema.parse(overrides);
}
