// Training Tier-3 Robust: the decomposition has no weights to fit (medians are its estimator),
// so training calibrates it - k, the remainder r at which the window score is 0.5, is the
// `kQuantile` quantile of r over the training rows - and reports how the model fits them.
// Deterministic (seeded subsample, fixed order).
import { fillGaps, quantileOf, seededSubsample } from '../stats.js';
import type { TrainingSeries } from '../agile/train.js';
import { checkRobustParams, robustReference, ROBUST_DEFAULTS } from './model.js';
import type { RobustParams } from './model.js';

export interface RobustTrainOptions {
  window?: number;
  cycles?: number;
  /** Most rows evaluated (a seeded subsample beyond). Default 50,000. */
  maxRows?: number;
  /** Quantile of the training rows' r that becomes k. Default 0.75. */
  kQuantile?: number;
  seed?: number;
}

export interface RobustTrainResult {
  params: RobustParams;
  metrics: { rows: number; seasonalRows: number; series: number; rQuantiles: Record<string, number> };
}

export function fitRobust(series: readonly TrainingSeries[], o: RobustTrainOptions = {}): RobustTrainResult {
  const params: RobustParams = { ...ROBUST_DEFAULTS, window: o.window ?? ROBUST_DEFAULTS.window, cycles: o.cycles ?? ROBUST_DEFAULTS.cycles };
  checkRobustParams(params);
  const L = params.window;
  const C = params.cycles;
  const rows: Array<{ s: number; t: number; seasonal: boolean }> = [];
  const xs = series.map((s) => fillGaps(s.values));
  xs.forEach((x, s) => {
    const P = series[s]!.period;
    for (let t = L - 1; t < x.length; t++) rows.push({ s, t, seasonal: P > 0 && t - C * P - L + 1 >= 0 });
  });
  if (rows.length < 100) throw new RangeError(`too little training data: ${rows.length} rows of ${L} values (need 100)`);
  seededSubsample(rows, o.maxRows ?? 50_000, o.seed ?? 1);
  const cycles = new Float64Array((C + 1) * L);
  const rs = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    const x = xs[r.s]!;
    const P = series[r.s]!.period;
    cycles.set(x.subarray(r.t - L + 1, r.t + 1), 0);
    for (let c = 1; c <= C; c++) {
      if (r.seasonal) cycles.set(x.subarray(r.t - c * P - L + 1, r.t - c * P + 1), c * L);
      else cycles.fill(0, c * L, (c + 1) * L);
    }
    rs[i] = robustReference(params, cycles, r.seasonal).r;
  });
  const q = (p: number) => quantileOf(rs, p);
  params.k = Math.max(q(o.kQuantile ?? 0.75), 1e-3);
  checkRobustParams(params);
  const rQuantiles: Record<string, number> = {};
  for (const p of [0.5, 0.9, 0.95, 0.99, 0.999]) rQuantiles[String(p)] = q(p);
  return { params, metrics: { rows: rows.length, seasonalRows: rows.filter((r) => r.seasonal).length, series: series.length, rQuantiles } };
}
