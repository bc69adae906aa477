import { z } from 'zod';
import { resolveTier1Config, Tier1ConfigError } from '../../../../wasm-detectors/src/index.js';
import type { Tier1Config } from '../../../../wasm-detectors/src/index.js';
import { duration } from '../../../../shared-schemas/src/runtime/index.js';

/** snake_case config keys to the detector's camelCase option names. */
export function toCamel(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), v]));
}

export const tier1ConfigSchema = z
  .object({
    /** Series with a detector slot (512 bytes each); more are passed through unscored and counted. */
    max_series: z.number().int().min(1).max(2_000_000).default(20_000),
    /** Samples per call into the WebAssembly module. */
    batch_capacity: z.number().int().min(1).max(1_000_000).default(8192),
    /** Detector state is written to disk this often (and at shutdown) and restored at start. */
    snapshot_interval: duration({ min: 1000 }).default(60_000),
    /** Series unseen this long give their slot back. */
    idle_retire: duration({ min: 1000 }).default(900_000),
    /** `wasm` (default) or `reference` (the TypeScript oracle, same results, slower). */
    implementation: z.enum(['wasm', 'reference']).default('wasm'),
    /** Detector options (snake_case or camelCase of wasm-detectors' Tier1Config). */
    detector: z
      .record(z.string(), z.number())
      .default({})
      .transform((d, ctx) => {
        try {
          return resolveTier1Config(toCamel(d) as Partial<Tier1Config>, 'detector');
        } catch (e) {
          if (e instanceof Tier1ConfigError) {
            const key = e.path.split('.').slice(1);
            const camel = toCamel(d);
            ctx.addIssue({
              code: 'custom',
              message: e.message.replace(/^detector\.\S+ /, '').replace(/ \(got .*\)$/, ''),
              path: key,
              input: camel[key[0] ?? ''],
            });
            return z.NEVER;
          }
          throw e;
        }
      }),
  })
  .strict();

export type Tier1ProcessorConfig = z.output<typeof tier1ConfigSchema>;
