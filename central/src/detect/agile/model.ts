// Tier-2 "Agile" (ARCHITECTURE section 5; issue #7, Deliver 2): a robust seasonal
// autoregression that follows level shifts quickly, as one ONNX graph evaluated for a batch of
// series-windows at once.
//
// Per row the graph takes the series' last W values (`x`, the newest last), the W values one
// period earlier (`xs`, aligned: xs[j] is one period before x[j]) and `seasonal` (1 when the
// series has a period and xs holds it, else 0). It
//   1. centres and scales the window robustly: med = median(x[0..W-2]),
//      scale = max(1.4826 MAD, rel_floor |med| + abs_floor) - an anomaly inside the window moves
//      neither much, and a level shift moves med within W/2 steps; z = (x - med) / scale,
//      clipped to +-1,000;
//   2. forecasts every position j >= p from the p values before it and, when seasonal, the
//      values one period before j..j-p (a SARIMA(p,0,0)(p,0,0)-like linear model whose weights
//      the training job fits, robustly, in z units): pred_j = a.z[j-p..j-1] + s.zs[j-p..j] + b;
//   3. scores the newest value by its residual against the robust spread (1.4826 x median |res|)
//      of the window's earlier residuals: r = |res_W-1| / max(sigma, sigma_floor), and
//      score = r / (r + k), with k the training data's 99.5th percentile of r (score 0.5 there);
//   4. outputs expected value, band (expected +- band_k sigma, in the series' unit) and score.
// `agileReference` computes the same in TypeScript (float64): training uses it for features,
// tests compare it with ONNX Runtime's output.
import { GraphBuilder } from '../onnx/builder.js';
import { medianOf } from '../stats.js';
import type { GraphSpec } from '../onnx/graph.js';

export interface AgileParams {
  /** Window length (history W-1 values and the newest). */
  window: number;
  /** Autoregressive order p. */
  order: number;
  /** AR weights on lags 1..p (ar[0] is lag 1). */
  ar: number[];
  /** Seasonal weights on the period-ago values at lags 0..p (sar[0] is lag 0). */
  sar: number[];
  bias: number;
  /** r at which the score is 0.5. */
  k: number;
  /** The score against the series' own record: r / (r + max(k, multiplier x the largest r of the last `window` rows)). */
  novelty: { window: number; multiplier: number };
  /** Band half-width in sigmas. */
  bandK: number;
  relFloor: number;
  absFloor: number;
  /** Least residual spread, z units. */
  sigmaFloor: number;
}

export const AGILE_DEFAULTS: AgileParams = Object.freeze({
  window: 64,
  order: 6,
  ar: [1, 0, 0, 0, 0, 0],
  sar: [0, 0, 0, 0, 0, 0, 0],
  bias: 0,
  k: 6,
  novelty: { window: 300, multiplier: 1.5 },
  bandK: 4,
  relFloor: 1e-3,
  absFloor: 1e-6,
  sigmaFloor: 0.05,
}) as AgileParams;

export function checkAgileParams(p: AgileParams): void {
  if (!Number.isInteger(p.window) || p.window < 16 || p.window > 4096) throw new RangeError(`agile window must be an integer 16..4096 (got ${p.window})`);
  if (!Number.isInteger(p.order) || p.order < 1 || p.order > p.window / 4) throw new RangeError(`agile order must be an integer 1..window/4 (got ${p.order})`);
  if (p.ar.length !== p.order) throw new RangeError(`agile ar must have ${p.order} weights (got ${p.ar.length})`);
  if (p.sar.length !== p.order + 1) throw new RangeError(`agile sar must have ${p.order + 1} weights (got ${p.sar.length})`);
  for (const [k, v] of Object.entries({ bias: p.bias, k: p.k, bandK: p.bandK, relFloor: p.relFloor, absFloor: p.absFloor, sigmaFloor: p.sigmaFloor })) {
    if (!Number.isFinite(v)) throw new RangeError(`agile ${k} must be finite (got ${v})`);
  }
  for (const v of [...p.ar, ...p.sar]) if (!Number.isFinite(v)) throw new RangeError('agile weights must be finite');
  if (!(p.k > 0) || !(p.sigmaFloor > 0) || !(p.absFloor > 0)) throw new RangeError('agile k, sigmaFloor and absFloor must be > 0');
  checkNovelty('agile', p.novelty);
}

export function checkNovelty(tier: string, n: { window: number; multiplier: number } | undefined): void {
  if (n === undefined || !Number.isInteger(n.window) || n.window < 1 || n.window > 100_000) throw new RangeError(`${tier} novelty.window must be an integer 1..100000 (got ${n?.window})`);
  if (!Number.isFinite(n.multiplier) || n.multiplier < 0) throw new RangeError(`${tier} novelty.multiplier must be >= 0 (got ${n.multiplier})`);
}

/**
 * z values are clipped to +-Z_CLIP: a flat window (MAD 0, scale at its floor) would otherwise
 * turn an ordinary step into z of millions, and one such row would dominate training.
 */
export const Z_CLIP = 1000;

export const AGILE_OUTPUTS = ['expected', 'lower', 'upper', 'score', 'r'] as const;

export function agileGraph(p: AgileParams, metadata?: Record<string, string>): GraphSpec {
  checkAgileParams(p);
  const W = p.window;
  const P = p.order;
  const g = new GraphBuilder();
  const h = g.slice('x', 1, 0, W - 1);
  const med = g.median(h, 1, W - 1); // [B,1]
  const mad = g.median(g.abs(g.sub(h, med)), 1, W - 1);
  const scale = g.max(g.mul(mad, g.scalar(1.4826)), g.add(g.mul(g.abs(med), g.scalar(p.relFloor)), g.scalar(p.absFloor)));
  const lo = g.scalar(-Z_CLIP);
  const hi = g.scalar(Z_CLIP);
  const z = g.unsqueeze(g.op('Clip', [g.div(g.sub('x', med), scale), lo, hi]), [1]); // [B,1,W]
  const zs = g.unsqueeze(g.op('Clip', [g.div(g.sub('xs', med), scale), lo, hi]), [1]);
  // Conv is a cross-correlation: out[j] = sum_i K[i] in[j+i], predicting position j+p.
  const ka = g.float(Array.from({ length: P }, (_, i) => p.ar[P - 1 - i]!), [1, 1, P]);
  const ks = g.float(Array.from({ length: P + 1 }, (_, i) => p.sar[P - i]!), [1, 1, P + 1]);
  const pa = g.op('Conv', [g.slice(z, 2, 0, W - 1), ka]);
  const ps = g.op('Conv', [zs, ks]);
  const f3 = g.unsqueeze('seasonal', [2]); // [B,1,1]
  const pred = g.add(g.add(pa, g.mul(f3, ps)), g.scalar(p.bias)); // [B,1,W-p]
  const res = g.sub(g.slice(z, 2, P, W), pred);
  const n = W - P;
  const past = g.slice(g.abs(res), 2, 0, n - 1);
  const sigma = g.max(g.mul(g.median(past, 2, n - 1), g.scalar(1.4826)), g.scalar(p.sigmaFloor)); // [B,1,1]
  const r = g.div(g.abs(g.slice(res, 2, n - 1, n)), sigma);
  g.flat(g.div(r, g.add(r, g.scalar(p.k))), 'score');
  g.flat(r, 'r');
  const med3 = g.unsqueeze(med, [2]);
  const scale3 = g.unsqueeze(scale, [2]);
  const expected = g.add(med3, g.mul(scale3, g.slice(pred, 2, n - 1, n)));
  g.band(expected, g.mul(g.mul(sigma, scale3), g.scalar(p.bandK)));
  return g.spec(
    'tier2-agile',
    {
      inputs: [
        { name: 'x', dims: ['batch', W] },
        { name: 'xs', dims: ['batch', W] },
        { name: 'seasonal', dims: ['batch', 1] },
      ],
      outputs: AGILE_OUTPUTS.map((name) => ({ name, dims: ['batch'] })),
    },
    metadata,
  );
}

export interface AgileRow {
  expected: number;
  lower: number;
  upper: number;
  score: number;
  /** The scaled residual r (score = r / (r + k)). */
  r: number;
}

/** Window statistics shared by the reference and the training features. */
export function agileWindow(p: AgileParams, x: ArrayLike<number>, xs: ArrayLike<number>): { med: number; scale: number; z: Float64Array; zs: Float64Array } {
  const W = p.window;
  const h = Array.prototype.slice.call(x, 0, W - 1) as number[];
  const med = medianOf(h);
  const mad = medianOf(h.map((v) => Math.abs(v - med)));
  const scale = Math.max(1.4826 * mad, p.relFloor * Math.abs(med) + p.absFloor);
  const z = new Float64Array(W);
  const zs = new Float64Array(W);
  const clip = (v: number) => Math.min(Z_CLIP, Math.max(-Z_CLIP, v));
  for (let j = 0; j < W; j++) {
    z[j] = clip((x[j]! - med) / scale);
    zs[j] = clip((xs[j]! - med) / scale);
  }
  return { med, scale, z, zs };
}

/** The model's output for one row, in float64 (the graph computes in float32). */
export function agileReference(p: AgileParams, x: ArrayLike<number>, xs: ArrayLike<number>, seasonal: boolean): AgileRow {
  const W = p.window;
  const P = p.order;
  const { med, scale, z, zs } = agileWindow(p, x, xs);
  const n = W - P;
  const res = new Float64Array(n);
  let predLast = 0;
  for (let o = 0; o < n; o++) {
    const j = o + P;
    let pred = p.bias;
    for (let l = 1; l <= P; l++) pred += p.ar[l - 1]! * z[j - l]!;
    if (seasonal) for (let l = 0; l <= P; l++) pred += p.sar[l]! * zs[j - l]!;
    res[o] = z[j]! - pred;
    predLast = pred;
  }
  const sigma = Math.max(1.4826 * medianOf(Array.from(res.subarray(0, n - 1), Math.abs)), p.sigmaFloor);
  const r = Math.abs(res[n - 1]!) / sigma;
  const expected = med + scale * predLast;
  const half = p.bandK * sigma * scale;
  return { expected, lower: expected - half, upper: expected + half, score: r / (r + p.k), r };
}
