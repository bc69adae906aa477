// Detectors that replay can run over a whole series, online: the score at row t depends on rows
// up to t only. Tier-1 is the agent's WebAssembly detector; Tier-2 (Agile), Tier-3 (Robust) and
// the chain are central's ONNX models (central/src/detect), on ONNX Runtime's CPU provider.

import { createWasmTier1Sync, Tier1Reference } from '../../wasm-detectors/src/index.js';
import type { Tier1Config, Tier1Detector } from '../../wasm-detectors/src/index.js';
import { SelfMetrics, silentLogger, systemClock } from '../../shared-schemas/src/runtime/index.js';
import { chainScores, CHAIN_DEFAULTS } from '../../central/src/detect/chain/index.js';
import type { ChainParams } from '../../central/src/detect/chain/index.js';
import { scoreTiersOnline } from '../../central/src/detect/chain/index.js';
import type { TierSessions } from '../../central/src/detect/chain/index.js';
import { agileGraph, AGILE_DEFAULTS } from '../../central/src/detect/agile/index.js';
import type { AgileParams } from '../../central/src/detect/agile/index.js';
import { robustGraph, ROBUST_DEFAULTS } from '../../central/src/detect/robust/index.js';
import type { RobustParams } from '../../central/src/detect/robust/index.js';
import { encodeOnnxModel, OnnxRuntime, onnxConfigSchema } from '../../central/src/detect/onnx/index.js';
import { FilesystemArtifactStore, ModelRegistry } from '../../central/src/detect/registry/index.js';
import { ReplayInputError } from './nab-csv.js';

export interface ReplayDetector {
  readonly name: string;
  /** Scores one series in time order; returns one score in [0, 1] per row. */
  scoreSeries(timestamps: Float64Array, values: Float64Array): Float64Array | Promise<Float64Array>;
}

export interface ReplayDetectorOptions {
  tier1?: Partial<Tier1Config>;
  /** Tier-2/3 parameters (a trained model's); defaults: the untrained built-in ones. */
  agile?: AgileParams;
  robust?: RobustParams;
  /** The registered ONNX bytes of those parameters (else the graph is built from them). */
  agileModel?: Uint8Array;
  robustModel?: Uint8Array;
  chain?: ChainParams;
}

const CHUNK = 4096;

/** The production Tier-2/3 parameters of a model registry folder (both tiers must have one). */
export async function productionModels(dir: string): Promise<Pick<ReplayDetectorOptions, 'agile' | 'robust' | 'agileModel' | 'robustModel'> & { versions: { agile: number; robust: number } }> {
  const registry = new ModelRegistry(new FilesystemArtifactStore(dir));
  const versions = { agile: 0, robust: 0 };
  for (const tier of ['agile', 'robust'] as const) {
    const v = (await registry.serving(tier)).production;
    if (v === undefined) throw new ReplayInputError('BAD_OPTION', `--models ${dir}: no production ${tier} model (train one with npm run train -- ${tier} ..., then promote it: POST /api/v1/models/${tier}/<version>/promote {"to":"production"})`);
    versions[tier] = v;
  }
  const agile = (await registry.get('agile', versions.agile)).metadata.params as unknown as AgileParams;
  const robust = (await registry.get('robust', versions.robust)).metadata.params as unknown as RobustParams;
  return { agile, robust, agileModel: await registry.model('agile', versions.agile), robustModel: await registry.model('robust', versions.robust), versions };
}

function tier1Scores(make: () => Tier1Detector, timestamps: Float64Array, values: Float64Array): Float64Array {
  const det = make();
  const n = values.length;
  const scores = new Float64Array(n);
  const ids = new Uint32Array(CHUNK);
  for (let from = 0; from < n; from += CHUNK) {
    const m = Math.min(CHUNK, n - from);
    const out = det.process(ids, values.subarray(from, from + m), timestamps.subarray(from, from + m), m);
    scores.set(out.scores.subarray(0, m), from);
  }
  return scores;
}

/** Feeds a series through a one-slot Tier-1 detector in chunks of CHUNK rows. */
function tier1Scorer(name: string, make: () => Tier1Detector): ReplayDetector {
  return { name, scoreSeries: (timestamps, values) => tier1Scores(make, timestamps, values) };
}

/** ONNX sessions of the two models, opened once per replay on the CPU provider. */
function tierSessions(o: ReplayDetectorOptions): () => Promise<TierSessions> {
  let opened: Promise<TierSessions> | undefined;
  return () =>
    (opened ??= (async () => {
      const self = new SelfMetrics();
      const rt = await OnnxRuntime.open({ id: 'replay/onnx', logger: silentLogger(), metrics: self.forComponent('replay'), clock: systemClock, dataDir: '.' }, onnxConfigSchema.parse({ execution_providers: ['cpu'] }));
      const agile = o.agile ?? AGILE_DEFAULTS;
      const robust = o.robust ?? ROBUST_DEFAULTS;
      return {
        agile: { params: agile, session: await rt.session(o.agileModel ?? encodeOnnxModel(agileGraph(agile))) },
        robust: { params: robust, session: await rt.session(o.robustModel ?? encodeOnnxModel(robustGraph(robust))) },
      };
    })());
}

function tierScorer(name: 'tier2' | 'tier3' | 'chain', o: ReplayDetectorOptions): ReplayDetector {
  const sessions = tierSessions(o);
  const wasm = () => createWasmTier1Sync({ maxSeries: 1, batchCapacity: CHUNK, config: o.tier1 ?? {} });
  return {
    name,
    async scoreSeries(timestamps, values) {
      const s = await scoreTiersOnline(values, await sessions());
      if (name === 'tier2') return s.tier2;
      if (name === 'tier3') return s.tier3;
      return chainScores(tier1Scores(wasm, timestamps, values), s, o.chain ?? CHAIN_DEFAULTS).score;
    },
  };
}

export const REPLAY_DETECTORS: Readonly<Record<string, (o: ReplayDetectorOptions) => ReplayDetector>> = Object.freeze({
  /** Tier-1, the WebAssembly build (what the agent runs). */
  tier1: (o: ReplayDetectorOptions) =>
    tier1Scorer('tier1', () => createWasmTier1Sync({ maxSeries: 1, batchCapacity: CHUNK, config: o.tier1 ?? {} })),
  /** Tier-1, the TypeScript reference (same output; slower). */
  'tier1-reference': (o: ReplayDetectorOptions) =>
    tier1Scorer('tier1-reference', () => new Tier1Reference({ maxSeries: 1, batchCapacity: CHUNK, config: o.tier1 ?? {} })),
  /** Tier-2 Agile (ONNX). */
  tier2: (o: ReplayDetectorOptions) => tierScorer('tier2', o),
  /** Tier-3 Robust (ONNX). */
  tier3: (o: ReplayDetectorOptions) => tierScorer('tier3', o),
  /** Tier-1 flags, Tier-2 confirms, Tier-3 validates (by the series' route). */
  chain: (o: ReplayDetectorOptions) => tierScorer('chain', o),
});
