// Options of the metric generator, validated whole before a model is built. Times are
// milliseconds; the simulation grid is startMs + k * stepMs for k in [0, durationMs / stepMs).
import { z } from 'zod';
import { formatSchemaIssues } from '../topology/index.js';
import { MetricsError } from './errors.js';

/** Upper bound on (workloads + hosts) * steps: each core run keeps ~13 float64 arrays per node. */
export const MAX_NODE_STEPS = 3_000_000;

export const benignOptionsSchema = z
  .object({
    /** Expected benign deploys per simulated day over the whole system (Poisson process). */
    deploysPerDay: z.number().min(0).max(1000).default(1),
    /** Expected benign level shifts per simulated day (Poisson process). */
    levelShiftsPerDay: z.number().min(0).max(1000).default(0.5),
  })
  .strict();

export const metricsOptionsSchema = z
  .object({
    /** Time of step 0, ms since epoch (UTC). */
    startMs: z.number().int().min(0).max(8.64e15),
    /** Grid step, ms (at least one second). */
    stepMs: z.number().int().min(1000).max(86_400_000),
    /** Length of the run, ms: a positive multiple of stepMs. */
    durationMs: z.number().int().min(1000),
    /** Measurement noise multiplier: 0 = noise-free, 1 = typical, up to 5. */
    noise: z.number().min(0).max(5).default(1),
    /** Steps an effect takes to cross one edge (caller <-> callee, dependent <-> dependency). */
    hopLagSteps: z.number().int().min(0).max(60).default(1),
    benign: benignOptionsSchema.default({ deploysPerDay: 1, levelShiftsPerDay: 0.5 }),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.durationMs % o.stepMs !== 0) {
      ctx.addIssue({ code: 'custom', path: ['durationMs'], message: `must be a multiple of stepMs ${o.stepMs}` });
    } else if (o.durationMs / o.stepMs < 2) {
      ctx.addIssue({ code: 'custom', path: ['durationMs'], message: `must cover at least 2 steps of ${o.stepMs} ms` });
    }
  });

export type MetricsOptions = z.output<typeof metricsOptionsSchema>;
export type MetricsOptionsInput = z.input<typeof metricsOptionsSchema>;

export function validateMetricsOptions(input: unknown, prefix = ''): MetricsOptions {
  const r = metricsOptionsSchema.safeParse(input);
  if (!r.success) {
    const lines = formatSchemaIssues(r.error, input, prefix);
    throw new MetricsError('BAD_OPTION', lines.length === 1 ? lines[0]! : `invalid metric options:\n  ${lines.join('\n  ')}`);
  }
  return r.data;
}
