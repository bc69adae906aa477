// Training jobs for Tier-2 and Tier-3 (issue #7, Deliver 4): read NAB-format series (the
// bundled NAB corpus, the simulators' `nab/` export), keep each file's head only (by default
// the first 15%: NAB's probationary part, which its scorer never counts, so a model trained
// there is scored on data it has not seen), profile each head for its period, fit the tier's
// model, and register the ONNX file with its metadata (inputs, parameters, data digest,
// metrics) in the model registry as a new shadow version. Seeded and reproducible: the same
// files and options give the same model bytes.
//
// The multivariate tier trains on simulator runs instead (folders with `metrics.csv`, see
// multivariate.ts): one model per service over its metrics, all in one bundle version.
import { createHash } from 'node:crypto';
import { agileGraph, fitAgile } from '../../central/src/detect/agile/index.js';
import type { TrainingSeries } from '../../central/src/detect/agile/index.js';
import { encodeOnnxModel } from '../../central/src/detect/onnx/index.js';
import type { GraphSpec } from '../../central/src/detect/onnx/index.js';
import { profileSeries } from '../../central/src/detect/profile/index.js';
import { FilesystemArtifactStore, ModelRegistry, S3ArtifactStore } from '../../central/src/detect/registry/index.js';
import type { ArtifactStore } from '../../central/src/detect/registry/index.js';
import type { ModelTier, ModelVersion } from '../../central/src/detect/registry/index.js';
import { multivariateGraph } from '../../central/src/detect/multivariate/index.js';
import { fitRobust, robustGraph } from '../../central/src/detect/robust/index.js';
import { fitBundle, loadServiceWindows } from './multivariate.js';
import { listNabFiles, readNabSeries, ReplayInputError } from '../replay/index.js';

export interface TrainOptions {
  tier: ModelTier;
  /** Folders of NAB-format CSV files (searched recursively). */
  data: string[];
  /** Registry the version is written to: a folder, or s3://bucket/prefix. */
  out: string;
  /** For an s3:// registry: an S3-compatible endpoint and path-style addressing. */
  s3?: { endpoint?: string; forcePathStyle?: boolean };
  /** Fraction of each file used, from its start. Default 0.15. */
  head: number;
  seed: number;
  /** Longest period looked for, steps. Default 400. */
  maxPeriod: number;
  actor: string;
}

export interface TrainSummary {
  version: ModelVersion;
  files: number;
  rows: number;
}

export async function loadTrainingSeries(dirs: readonly string[], head: number, maxPeriod: number, onFile?: (path: string) => void): Promise<{ series: TrainingSeries[]; digest: string; sources: string[] }> {
  if (!(head > 0 && head <= 1)) throw new ReplayInputError('BAD_OPTION', `--head must be a fraction in (0, 1] (got ${head})`);
  const series: TrainingSeries[] = [];
  const sources: string[] = [];
  const h = createHash('sha256');
  for (const dir of dirs) {
    const files = await listNabFiles(dir);
    if (files.length === 0) throw new ReplayInputError('NO_INPUT', `no .csv files under ${dir}`);
    for (const rel of files) {
      const s = await readNabSeries(dir, rel);
      const values = s.values.slice(0, Math.floor(s.values.length * head));
      if (values.length < 32) continue;
      const p = profileSeries(values, { maxPeriod: Math.min(maxPeriod, Math.floor(values.length / 3)) });
      series.push({ values, period: p.period ?? 0 });
      sources.push(rel);
      h.update(rel).update('\0').update(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      onFile?.(rel);
    }
  }
  return { series, digest: `sha256:${h.digest('hex')}`, sources };
}

/** What a fit hands the registry. */
interface Fitted {
  spec: GraphSpec;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  rows: number;
  /** Series (agile, robust) or services (multivariate) trained on. */
  count: number;
  digest: string;
  sources: string[];
}

async function fit(o: TrainOptions, onFile?: (path: string) => void): Promise<Fitted> {
  if (o.tier === 'multivariate') {
    const { services, digest, sources } = await loadServiceWindows(o.data, o.head, onFile);
    const r = fitBundle(services, o.seed);
    return { spec: multivariateGraph(r.bundle, { tier: 'multivariate', data_digest: digest }), params: { ...r.bundle }, metrics: r.metrics, rows: r.rows, count: r.bundle.services.length, digest, sources };
  }
  const { series, digest, sources } = await loadTrainingSeries(o.data, o.head, o.maxPeriod, onFile);
  const base = { count: series.length, digest, sources };
  if (o.tier === 'agile') {
    const r = fitAgile(series, { seed: o.seed });
    return { ...base, spec: agileGraph(r.params, { tier: 'agile', data_digest: digest }), params: { ...r.params }, metrics: r.metrics, rows: r.metrics.rows };
  }
  const r = fitRobust(series, { seed: o.seed });
  return { ...base, spec: robustGraph(r.params, { tier: 'robust', data_digest: digest }), params: { ...r.params }, metrics: r.metrics, rows: r.metrics.rows };
}

export async function train(o: TrainOptions, onFile?: (path: string) => void): Promise<TrainSummary> {
  const { spec, params, metrics, rows, count, digest, sources } = await fit(o, onFile);
  const options = { head: o.head, seed: o.seed, maxPeriod: o.maxPeriod };
  const registry = new ModelRegistry(registryStore(o.out, o.s3));
  const version = await registry.register(
    o.tier,
    encodeOnnxModel(spec),
    {
      inputs: spec.inputs.map((i) => ({ name: i.name, dims: [...i.dims] })),
      outputs: spec.outputs.map((i) => ({ name: i.name, dims: [...i.dims] })),
      params,
      training: { dataDigest: digest, series: count, rows, seed: o.seed, options, sources },
      metrics,
      note: `npm run train -- ${o.tier} ${o.data.map((d) => `--data ${d}`).join(' ')} --head ${o.head} --seed ${o.seed}`,
    },
    o.actor,
  );
  return { version, files: count, rows };
}

/**
 * `s3://bucket/prefix` (credentials and region from the AWS SDK's default chain: AWS_REGION,
 * AWS_ACCESS_KEY_ID, ..., default region us-east-1) or a folder.
 */
export function registryStore(out: string, s3: TrainOptions['s3'] = {}): ArtifactStore {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(out);
  if (!m) return new FilesystemArtifactStore(out);
  return new S3ArtifactStore({ bucket: m[1]!, prefix: m[2]!.replace(/\/+$/, ''), region: process.env['AWS_REGION'] ?? 'us-east-1', ...(s3.endpoint ? { endpoint: s3.endpoint } : {}), forcePathStyle: s3.forcePathStyle ?? false });
}
