// Training the multivariate model: robust centre and scale per metric (median, 1.4826 MAD),
// then the principal directions of the scaled training windows (covariance, power iteration
// with deflation, a seeded start: the same data gives the same model), k chosen as the fewest
// directions that explain `variance` of the total (at most metrics - 1), and k_score as the
// 99th percentile of the training windows' r.
import { seededRandom } from '../agile/train.js';
import { medianOf } from '../stats.js';
import { checkMultivariateParams, multivariateReference } from './model.js';
import type { MultivariateParams } from './model.js';

export interface MultivariateTrainOptions {
  /** Share of the variance the kept directions explain. Default 0.9. */
  variance?: number;
  /** Fixed number of directions (overrides variance). */
  components?: number;
  seed?: number;
  /** Quantile of the training windows' r that becomes k_score. Default 0.99. */
  kQuantile?: number;
}

/** `rows`: training windows, each the M metric values of one window (non-finite rows skipped). */
export function fitMultivariate(metrics: readonly string[], rows: readonly ArrayLike<number>[], o: MultivariateTrainOptions = {}): { params: MultivariateParams; metrics: { rows: number; explained: number[] } } {
  const M = metrics.length;
  const data = rows.filter((r) => r.length === M && Array.from(r).every(Number.isFinite));
  if (data.length < 4 * M + 10) throw new RangeError(`too little training data: ${data.length} complete windows for ${M} metrics (need ${4 * M + 10})`);
  const center = metrics.map((_, i) => medianOf(data.map((r) => r[i]!)));
  const scale = metrics.map((_, i) => {
    const mad = 1.4826 * medianOf(data.map((r) => Math.abs(r[i]! - center[i]!)));
    return Math.max(mad, 1e-3 * Math.abs(center[i]!) + 1e-9);
  });
  const Z = data.map((r) => Array.from({ length: M }, (_, i) => (r[i]! - center[i]!) / scale[i]!));
  const cov = new Float64Array(M * M);
  for (const z of Z) for (let a = 0; a < M; a++) for (let b = a; b < M; b++) cov[a * M + b]! += z[a]! * z[b]!;
  for (let a = 0; a < M; a++) for (let b = a; b < M; b++) cov[b * M + a] = cov[a * M + b]! /= Z.length;
  const total = Array.from({ length: M }, (_, i) => cov[i * M + i]!).reduce((x, y) => x + y, 0);
  const rnd = seededRandom(o.seed ?? 1);
  const dirs: number[][] = [];
  const eig: number[] = [];
  const A = Float64Array.from(cov);
  for (let c = 0; c < M - 1; c++) {
    let v = Array.from({ length: M }, () => rnd() - 0.5);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Array<number>(M).fill(0);
      for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) w[a]! += A[a * M + b]! * v[b]!;
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((x) => x / norm);
      const delta = next.reduce((s, x, i) => s + Math.abs(x - v[i]!), 0);
      v = next;
      lambda = norm;
      if (delta < 1e-12) break;
    }
    // A fixed sign (largest component positive), so equal data gives equal bytes.
    const big = v.reduce((m, x, i) => (Math.abs(x) > Math.abs(v[m]!) ? i : m), 0);
    if (v[big]! < 0) v = v.map((x) => -x);
    dirs.push(v);
    eig.push(lambda);
    for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) A[a * M + b]! -= lambda * v[a]! * v[b]!;
  }
  let k = o.components ?? 0;
  if (k === 0) {
    let acc = 0;
    for (k = 0; k < dirs.length && acc < (o.variance ?? 0.9) * total; k++) acc += eig[k]!;
    k = Math.max(1, k);
  }
  k = Math.min(k, M - 1);
  const components = new Array<number>(M * k);
  for (let i = 0; i < M; i++) for (let j = 0; j < k; j++) components[i * k + j] = dirs[j]![i]!;
  const params: MultivariateParams = { metrics: [...metrics], center, scale, components, k, kScore: 1 };
  const rs = data.map((r) => multivariateReference(params, r).r).sort((a, b) => a - b);
  params.kScore = Math.max(rs[Math.min(rs.length - 1, Math.floor((o.kQuantile ?? 0.99) * (rs.length - 1)))]!, 1e-3);
  checkMultivariateParams(params);
  return { params, metrics: { rows: data.length, explained: eig.map((e) => e / total) } };
}
