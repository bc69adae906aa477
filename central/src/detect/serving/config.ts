// Configuration of Tier-2/3 model serving (issue #7, Deliver 4-5): where the model registry is,
// how often the serving side looks for a promoted model, ONNX Runtime's providers, and the
// batching limits.
import { z } from 'zod';
import { duration } from '../../../../shared-schemas/src/runtime/index.js';
import { onnxConfigSchema } from '../onnx/config.js';
import { join } from 'node:path';
import { FilesystemArtifactStore } from '../registry/artifacts.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import { checkS3Options, S3ArtifactStore } from '../registry/s3.js';

export const modelsConfigSchema = z
  .object({
    /** Serve Tier-2/3 in this process's detect role. */
    enabled: z.boolean().default(true),
    registry: z
      .object({
        /** filesystem: a folder (one host, or a shared volume); s3: an S3-compatible bucket (several hosts). */
        kind: z.enum(['filesystem', 's3']).default('filesystem'),
        /** Folder of the registry (kind filesystem); empty: <data_dir>/models. */
        path: z.string().default(''),
        /** Bucket and prefix (kind s3). Credentials: the AWS SDK's default chain (environment, web identity, instance role), never this file. */
        s3: z
          .object({
            bucket: z.string().default(''),
            prefix: z.string().default('models'),
            region: z.string().min(1).default('us-east-1'),
            /** An S3-compatible endpoint (http(s)://host:port); empty for AWS S3. */
            endpoint: z.string().default(''),
            /** Path-style addressing, which most S3-compatible stores need. */
            force_path_style: z.boolean().default(false),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({})
      .superRefine((r, ctx) => {
        if (r.kind !== 's3') return;
        try {
          checkS3Options({ bucket: r.s3.bucket, prefix: r.s3.prefix, region: r.s3.region, endpoint: r.s3.endpoint });
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['s3'], message: `${(err as Error).message} (kind s3 needs models.registry.s3.bucket)` });
        }
      }),
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

/** The artifact store a `models.registry` section names. */
export function artifactStoreFor(r: ModelsConfig['registry'], dataDir: string): ArtifactStore {
  if (r.kind === 's3') return new S3ArtifactStore({ bucket: r.s3.bucket, prefix: r.s3.prefix, region: r.s3.region, ...(r.s3.endpoint ? { endpoint: r.s3.endpoint } : {}), forcePathStyle: r.s3.force_path_style });
  return new FilesystemArtifactStore(r.path || join(dataDir, 'models'));
}
