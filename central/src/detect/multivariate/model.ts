// Tier-3's multivariate model (issue #7, Deliver 3): a linear autoencoder over the metrics of
// one service at one window, which catches an anomaly no single series shows - each metric
// inside its own usual range, their relation broken (latency up while the load is down).
//
// Per row (one window of a service: M metric values) the model
//   1. scales each metric robustly (training medians and MADs);
//   2. encodes onto the k principal directions of the training windows and decodes back
//      (z W W^T): the part of the row that the usual relations between the metrics explain;
//   3. scores the rest: r = sqrt(mean((z - recon)^2)), score = r / (r + k_score), with k_score
//      the training windows' 99th percentile of r; the metric with the largest squared error
//      (`top`) and its share of the error (`share`) go into the anomaly's evidence.
//
// One registry version holds the models of many services (a bundle), and one ONNX graph
// scores rows of any of them in one batch: each row carries its service's index (`svc`), and the
// graph gathers that service's centre, scale, directions and k_score (Gather), with every
// service's metrics padded to the widest one (padding: centre 0, scale 1, no direction, masked
// out of the error). Trained by PCA (train.ts); `multivariateReference` is the same in
// TypeScript.
import { GraphBuilder } from '../onnx/builder.js';
import type { GraphSpec } from '../onnx/graph.js';

export interface MultivariateParams {
  /** Metric names, in input order. */
  metrics: string[];
  center: number[];
  scale: number[];
  /** Principal directions, row-major [M][k]. */
  components: number[];
  k: number;
  /** r at which the score is 0.5. */
  kScore: number;
}

/** The models of several services, scored by one graph. */
export interface MultivariateBundle {
  services: Array<{ service: string; params: MultivariateParams }>;
}

export const MULTIVARIATE_OUTPUTS = ['score', 'r', 'top', 'share'] as const;
export const MAX_BUNDLE_SERVICES = 4096;
const Z_CLIP = 1000;

export function checkMultivariateParams(p: MultivariateParams): void {
  const M = p.metrics.length;
  if (M < 2 || M > 1024) throw new RangeError(`multivariate needs 2..1024 metrics (got ${M})`);
  if (new Set(p.metrics).size !== M || p.metrics.some((m) => typeof m !== 'string' || m === '')) throw new RangeError('multivariate metric names must be distinct non-empty strings');
  if (!Number.isInteger(p.k) || p.k < 1 || p.k >= M) throw new RangeError(`multivariate k must be an integer 1..metrics-1 (got ${p.k})`);
  if (p.center.length !== M || p.scale.length !== M) throw new RangeError(`multivariate center and scale need ${M} values`);
  if (p.components.length !== M * p.k) throw new RangeError(`multivariate components need ${M * p.k} values (metrics x k)`);
  for (const v of [...p.center, ...p.scale, ...p.components, p.kScore]) if (!Number.isFinite(v)) throw new RangeError('multivariate parameters must be finite');
  if (p.scale.some((s) => !(s > 0)) || !(p.kScore > 0)) throw new RangeError('multivariate scale and kScore must be > 0');
}

export function checkMultivariateBundle(b: MultivariateBundle): void {
  if (b === null || typeof b !== 'object' || !Array.isArray(b.services)) throw new RangeError('multivariate bundle: services must be a list');
  if (b.services.length < 1 || b.services.length > MAX_BUNDLE_SERVICES) throw new RangeError(`multivariate bundle: 1..${MAX_BUNDLE_SERVICES} services (got ${b.services.length})`);
  const seen = new Set<string>();
  for (const [i, s] of b.services.entries()) {
    if (typeof s?.service !== 'string' || s.service === '') throw new RangeError(`multivariate bundle: services[${i}].service must be a non-empty string`);
    if (seen.has(s.service)) throw new RangeError(`multivariate bundle: service ${JSON.stringify(s.service)} appears twice`);
    seen.add(s.service);
    try {
      checkMultivariateParams(s.params);
    } catch (err) {
      throw new RangeError(`multivariate bundle: services[${i}] (${s.service}): ${(err as Error).message}`);
    }
  }
}

/** Widest service (metrics) and most directions in a bundle: the graph's padded sizes. */
export function bundleWidth(b: MultivariateBundle): { metrics: number; k: number } {
  return { metrics: Math.max(...b.services.map((s) => s.params.metrics.length)), k: Math.max(...b.services.map((s) => s.params.k)) };
}

/** Inputs: x [batch, width] (a service's metrics in its order, then padding), svc [batch, 1] (the service's index in the bundle). */
export function multivariateGraph(b: MultivariateBundle, metadata?: Record<string, string>): GraphSpec {
  checkMultivariateBundle(b);
  const S = b.services.length;
  const { metrics: M, k: K } = bundleWidth(b);
  const C = new Float32Array(S * M);
  const Sc = new Float32Array(S * M).fill(1);
  const Mask = new Float32Array(S * M);
  const Count = new Float32Array(S);
  const W = new Float32Array(S * M * K);
  const Wt = new Float32Array(S * K * M);
  const KS = new Float32Array(S);
  b.services.forEach(({ params: p }, s) => {
    const m = p.metrics.length;
    for (let i = 0; i < m; i++) {
      C[s * M + i] = p.center[i]!;
      Sc[s * M + i] = p.scale[i]!;
      Mask[s * M + i] = 1;
      for (let j = 0; j < p.k; j++) {
        W[(s * M + i) * K + j] = p.components[i * p.k + j]!;
        Wt[(s * K + j) * M + i] = p.components[i * p.k + j]!;
      }
    }
    Count[s] = m;
    KS[s] = p.kScore;
  });
  const g = new GraphBuilder();
  const idx = g.op('Cast', [g.op('Reshape', ['svc', g.int64([-1])])], { to: { int: 7 } }); // int64 [batch]
  const pick = (t: string) => g.op('Gather', [t, idx], { axis: { int: 0 } });
  const mask = pick(g.float(Mask, [S, M]));
  const z = g.mul(g.op('Clip', [g.div(g.sub('x', pick(g.float(C, [S, M]))), pick(g.float(Sc, [S, M]))), g.scalar(-Z_CLIP), g.scalar(Z_CLIP)]), mask);
  const proj = g.op('MatMul', [g.unsqueeze(z, [1]), pick(g.float(W, [S, M, K]))]); // [batch, 1, K]
  const recon = g.op('Squeeze', [g.op('MatMul', [proj, pick(g.float(Wt, [S, K, M]))]), g.int64([1])]); // [batch, M]
  const err = g.mul(g.sub(z, recon), mask);
  const sq = g.mul(err, err);
  const sum = g.op('ReduceSum', [sq, g.int64([1])], { keepdims: { int: 0 } });
  const r = g.op('Sqrt', [g.div(sum, pick(g.float(Count, [S])))], undefined, 'r');
  g.div(r, g.add(r, pick(g.float(KS, [S]))), 'score');
  g.op('Cast', [g.op('ArgMax', [sq], { axis: { int: 1 }, keepdims: { int: 0 } })], { to: { int: 1 } }, 'top');
  g.div(g.op('ReduceMax', [sq], { axes: { ints: [1] }, keepdims: { int: 0 } }), g.max(sum, g.scalar(1e-30)), 'share');
  return g.spec(
    'tier3-multivariate',
    {
      inputs: [
        { name: 'x', dims: ['batch', M] },
        { name: 'svc', dims: ['batch', 1] },
      ],
      outputs: MULTIVARIATE_OUTPUTS.map((name) => ({ name, dims: ['batch'] })),
    },
    metadata,
  );
}

/** The model's output for one row of one service, in float64 (`top`: index into p.metrics). */
export function multivariateReference(p: MultivariateParams, x: ArrayLike<number>): { score: number; r: number; top: number; share: number; contribution: number[] } {
  const M = p.metrics.length;
  const z = Array.from({ length: M }, (_, i) => Math.min(Z_CLIP, Math.max(-Z_CLIP, (x[i]! - p.center[i]!) / p.scale[i]!)));
  const proj = new Array<number>(p.k).fill(0);
  for (let i = 0; i < M; i++) for (let j = 0; j < p.k; j++) proj[j]! += z[i]! * p.components[i * p.k + j]!;
  const contribution = z.map((zi, i) => {
    let rec = 0;
    for (let j = 0; j < p.k; j++) rec += proj[j]! * p.components[i * p.k + j]!;
    return (zi - rec) ** 2;
  });
  const sum = contribution.reduce((a, b) => a + b, 0);
  const r = Math.sqrt(sum / M);
  const top = contribution.reduce((m, c, i) => (c > contribution[m]! ? i : m), 0);
  return { score: r / (r + p.kScore), r, top, share: contribution[top]! / Math.max(sum, 1e-30), contribution };
}
