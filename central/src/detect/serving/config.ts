// Configuration of Tier-2/3 model serving (issue #7, Deliver 4-5): where the model registry is,
// how often the serving side looks for a promoted model, ONNX Runtime's providers, and the
// batching limits.
import { z } from 'zod';
import { duration } from '../../../../shared-schemas/src/runtime/index.js';
import { onnxConfigSchema } from '../onnx/config.js';

export const modelsConfigSchema = z
  .object({
    /** Serve Tier-2/3 in this process's detect role. */
    enabled: z.boolean().default(true),
    registry: z
      .object({
        kind: z.literal('filesystem').default('filesystem'),
        /** Folder of the registry; empty: <data_dir>/models. */
        path: z.string().default(''),
      })
      .strict()
      .prefault({}),
    /** How often the serving side checks the registry for a changed stage (hot reload). */
    reload_interval: duration({ min: 100 }).default(10_000),
    onnx: onnxConfigSchema.prefault({}),
    /** Share of the series (by a hash of the series key) scored by the canary model, 0..1. */
    canary_fraction: z.number().min(0).max(1).default(0.1),
    /** The chain in the detect path (ChainConfirmer). */
    chain: z
      .object({
        /** Chain score a Tier-1 flag needs to be confirmed (NAB's standard optimum, bench/RESULTS.md). */
        threshold: z.number().min(0).max(1).default(0.224),
        /** Multivariate score at which a service window is an anomaly by itself. */
        multivariate_threshold: z.number().gt(0).max(1).default(0.5),
        /** Windows a confirmation holds for the series' following Tier-1 flags. */
        episode_hold: z.number().int().min(0).max(100_000).default(30),
      })
      .strict()
      .prefault({}),
    batching: z
      .object({
        /** Rows per ONNX run at most. */
        max_batch: z.number().int().min(1).max(65_536).default(1024),
        /** Rows waiting at most; beyond, a submission is refused (counted). */
        max_queue: z.number().int().min(1).max(10_000_000).default(100_000),
        /** A row waits at most this long for its batch to fill. */
        latency_budget: duration({ min: 0 }).default(20),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ModelsConfig = z.output<typeof modelsConfigSchema>;
