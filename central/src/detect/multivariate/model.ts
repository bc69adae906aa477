// Tier-3's multivariate model (issue #7, Deliver 3): a linear autoencoder over the metrics of
// one service at one window, which catches an anomaly no single series shows - each metric
// inside its own usual range, their relation broken (latency up while the load is down).
//
// Per row (one window of a service: M metric values) the graph
//   1. scales each metric robustly (training medians and MADs);
//   2. encodes onto the k principal directions of the training windows and decodes back
//      (z W W^T): the part of the row that the usual relations between the metrics explain;
//   3. scores the rest: r = sqrt(mean((z - recon)^2)), score = r / (r + k_score), with k_score
//      the training windows' 99th percentile of r; `contribution` [M] says which metrics carry
//      the error (for the anomaly's evidence).
// Trained by PCA (train.ts); `multivariateReference` is the same in TypeScript.
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

export const MULTIVARIATE_OUTPUTS = ['score', 'r', 'contribution'] as const;
const Z_CLIP = 1000;

export function checkMultivariateParams(p: MultivariateParams): void {
  const M = p.metrics.length;
  if (M < 2 || M > 1024) throw new RangeError(`multivariate needs 2..1024 metrics (got ${M})`);
  if (!Number.isInteger(p.k) || p.k < 1 || p.k >= M) throw new RangeError(`multivariate k must be an integer 1..metrics-1 (got ${p.k})`);
  if (p.center.length !== M || p.scale.length !== M) throw new RangeError(`multivariate center and scale need ${M} values`);
  if (p.components.length !== M * p.k) throw new RangeError(`multivariate components need ${M * p.k} values (metrics x k)`);
  for (const v of [...p.center, ...p.scale, ...p.components, p.kScore]) if (!Number.isFinite(v)) throw new RangeError('multivariate parameters must be finite');
  if (p.scale.some((s) => !(s > 0)) || !(p.kScore > 0)) throw new RangeError('multivariate scale and kScore must be > 0');
}

export function multivariateGraph(p: MultivariateParams, metadata?: Record<string, string>): GraphSpec {
  checkMultivariateParams(p);
  const M = p.metrics.length;
  const g = new GraphBuilder();
  const z = g.op('Clip', [g.div(g.sub('x', g.float(p.center, [M])), g.float(p.scale, [M])), g.scalar(-Z_CLIP), g.scalar(Z_CLIP)]);
  const W = g.float(p.components, [M, p.k]);
  const Wt = g.float(transpose(p.components, M, p.k), [p.k, M]);
  const recon = g.op('MatMul', [g.op('MatMul', [z, W]), Wt]);
  const err = g.sub(z, recon);
  const sq = g.mul(err, err);
  g.op('Identity', [sq], undefined, 'contribution');
  const r = g.op('Sqrt', [g.op('ReduceMean', [sq], { axes: { ints: [1] }, keepdims: { int: 0 } })], undefined, 'r');
  g.div(r, g.add(r, g.scalar(p.kScore)), 'score');
  return g.spec(
    'tier3-multivariate',
    {
      inputs: [{ name: 'x', dims: ['batch', M] }],
      outputs: [
        { name: 'score', dims: ['batch'] },
        { name: 'r', dims: ['batch'] },
        { name: 'contribution', dims: ['batch', M] },
      ],
    },
    metadata,
  );
}

function transpose(a: readonly number[], rows: number, cols: number): number[] {
  const out = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/** The model's output for one row, in float64. */
export function multivariateReference(p: MultivariateParams, x: ArrayLike<number>): { score: number; r: number; contribution: number[] } {
  const M = p.metrics.length;
  const z = Array.from({ length: M }, (_, i) => Math.min(Z_CLIP, Math.max(-Z_CLIP, (x[i]! - p.center[i]!) / p.scale[i]!)));
  const proj = new Array<number>(p.k).fill(0);
  for (let i = 0; i < M; i++) for (let j = 0; j < p.k; j++) proj[j]! += z[i]! * p.components[i * p.k + j]!;
  const contribution = z.map((zi, i) => {
    let rec = 0;
    for (let j = 0; j < p.k; j++) rec += proj[j]! * p.components[i * p.k + j]!;
    return (zi - rec) ** 2;
  });
  const r = Math.sqrt(contribution.reduce((a, b) => a + b, 0) / M);
  return { score: r / (r + p.kScore), r, contribution };
}
