// Tier-3 "Robust" (ARCHITECTURE section 5; issue #7, Deliver 3): a robust seasonal-trend
// decomposition that long anomalies do not drag, as one ONNX graph evaluated for a batch of
// series-windows at once.
//
// Per row the graph takes `cycles` [C+1, L]: row 0 is the series' last L values (the newest
// last), row k the L values ending k periods earlier; and `seasonal` (1 when the series has a
// period and the rows hold it). It
//   1. takes each row's level as the median of its first L-1 values: an anomaly shorter than
//      about L/2 steps does not move it (Agile's window is half as long and follows shifts);
//   2. takes the seasonal part at each position as the median, over the C earlier cycles, of
//      the value less its cycle's level: one anomalous cycle out of three does not move it;
//   3. takes the trend of the newest row, deseasonalised, from the medians of the two quarters of
//      its older half (an anomaly in the newer half, up to L/2 steps long, does not tilt it);
//   4. scores the newest value's remainder (value - level - trend - season) against the robust
//      spread of the row's earlier remainders, like Agile: r (capped at 1,000) and r / (r + k).
// Outputs: expected value, band and score. `robustReference` is the same in TypeScript.
import { GraphBuilder } from '../onnx/builder.js';
import { medianOf } from '../stats.js';
import type { GraphSpec } from '../onnx/graph.js';
import { checkNovelty } from '../agile/model.js';
import type { AgileRow } from '../agile/model.js';

export interface RobustParams {
  /** Window length L (L-1 a multiple of 4: the history splits into quarters). */
  window: number;
  /** Earlier cycles C used for the seasonal part. */
  cycles: number;
  /** r at which the score is 0.5. */
  k: number;
  /** The score against the series' own record: r / (r + max(k, multiplier x the largest r of the last `window` rows)). */
  novelty: { window: number; multiplier: number };
  bandK: number;
  /** Least remainder spread, in the series' unit: rel_floor |level| + abs_floor. */
  relFloor: number;
  absFloor: number;
}

export const ROBUST_DEFAULTS: RobustParams = Object.freeze({ window: 129, cycles: 3, k: 6, novelty: { window: 300, multiplier: 1 }, bandK: 4, relFloor: 1e-3, absFloor: 1e-6 }) as RobustParams;

export function checkRobustParams(p: RobustParams): void {
  if (!Number.isInteger(p.window) || p.window < 17 || p.window > 4097 || (p.window - 1) % 4 !== 0) throw new RangeError(`robust window must be an integer 17..4097 with window - 1 a multiple of 4 (got ${p.window})`);
  if (!Number.isInteger(p.cycles) || p.cycles < 1 || p.cycles > 16) throw new RangeError(`robust cycles must be an integer 1..16 (got ${p.cycles})`);
  for (const [k, v] of Object.entries({ k: p.k, bandK: p.bandK, relFloor: p.relFloor, absFloor: p.absFloor })) {
    if (!Number.isFinite(v)) throw new RangeError(`robust ${k} must be finite (got ${v})`);
  }
  if (!(p.k > 0) || !(p.absFloor > 0) || !(p.relFloor >= 0)) throw new RangeError('robust k and absFloor must be > 0, relFloor >= 0');
  checkNovelty('robust', p.novelty);
}

/** r is capped: a flat series (spread 0, sigma at its floor) would otherwise score a step in the trillions. */
export const R_CLIP = 1000;

export const ROBUST_OUTPUTS = ['expected', 'lower', 'upper', 'score', 'r'] as const;

export function robustGraph(p: RobustParams, metadata?: Record<string, string>): GraphSpec {
  checkRobustParams(p);
  const L = p.window;
  const C = p.cycles;
  const Q = (L - 1) / 4;
  const g = new GraphBuilder();
  const level = g.median(g.slice('cycles', 2, 0, L - 1), 2, L - 1); // [B,C+1,1]
  const d = g.sub('cycles', level); // [B,C+1,L]
  const d0 = g.slice(d, 1, 0, 1); // [B,1,L]
  const season = g.median(g.slice(d, 1, 1, C + 1), 1, C); // [B,1,L]
  const lv0 = g.slice(level, 1, 0, 1); // [B,1,1]
  const f3 = g.unsqueeze('seasonal', [2]);
  const des = g.sub(d0, g.mul(f3, season)); // deseasonalised, so the season does not pass for a trend
  const m1 = g.median(g.slice(des, 2, 0, Q), 2, Q);
  const m2 = g.median(g.slice(des, 2, Q, 2 * Q), 2, Q);
  const slope = g.div(g.sub(m2, m1), g.scalar(Q));
  const ramp = g.float(Array.from({ length: L }, (_, j) => j - (L - 2) / 2), [1, 1, L]);
  const trend = g.mul(slope, ramp); // [B,1,L]
  const rem = g.sub(des, trend);
  const fit = g.add(g.mul(f3, season), trend);
  const scale = g.add(g.mul(g.abs(lv0), g.scalar(p.relFloor)), g.scalar(p.absFloor));
  const spread = g.mul(g.median(g.slice(g.abs(rem), 2, 0, L - 1), 2, L - 1), g.scalar(1.4826));
  const sigma = g.max(spread, scale);
  const r = g.op('Min', [g.div(g.abs(g.slice(rem, 2, L - 1, L)), sigma), g.scalar(R_CLIP)]);
  g.flat(g.div(r, g.add(r, g.scalar(p.k))), 'score');
  g.flat(r, 'r');
  const expected = g.add(lv0, g.slice(fit, 2, L - 1, L));
  g.band(expected, g.mul(sigma, g.scalar(p.bandK)));
  return g.spec(
    'tier3-robust',
    {
      inputs: [
        { name: 'cycles', dims: ['batch', C + 1, L] },
        { name: 'seasonal', dims: ['batch', 1] },
      ],
      outputs: ROBUST_OUTPUTS.map((name) => ({ name, dims: ['batch'] })),
    },
    metadata,
  );
}

/** One row's output: the same fields as Agile's. */
export type RobustRow = AgileRow;

/** The model's output for one row, in float64. `cycles` is row-major [C+1][L]. */
export function robustReference(p: RobustParams, cycles: ArrayLike<number>, seasonal: boolean): RobustRow {
  const L = p.window;
  const C = p.cycles;
  const Q = (L - 1) / 4;
  const row = (k: number) => Array.prototype.slice.call(cycles, k * L, (k + 1) * L) as number[];
  const levels = Array.from({ length: C + 1 }, (_, k) => medianOf(row(k).slice(0, L - 1)));
  const d = Array.from({ length: C + 1 }, (_, k) => row(k).map((v) => v - levels[k]!));
  const d0 = d[0]!;
  const season = Array.from({ length: L }, (_, j) => (seasonal ? medianOf(Array.from({ length: C }, (_, k) => d[k + 1]![j]!)) : 0));
  const des = d0.map((v, j) => v - season[j]!);
  const slope = (medianOf(des.slice(Q, 2 * Q)) - medianOf(des.slice(0, Q))) / Q;
  const rem = new Float64Array(L);
  const fit = new Float64Array(L);
  for (let j = 0; j < L; j++) {
    const trend = slope * (j - (L - 2) / 2);
    fit[j] = season[j]! + trend;
    rem[j] = des[j]! - trend;
  }
  const scale = p.relFloor * Math.abs(levels[0]!) + p.absFloor;
  const sigma = Math.max(1.4826 * medianOf(Array.from(rem.subarray(0, L - 1), Math.abs)), scale);
  const r = Math.min(Math.abs(rem[L - 1]!) / sigma, R_CLIP);
  const expected = levels[0]! + fit[L - 1]!;
  const half = p.bandK * sigma;
  return { expected, lower: expected - half, upper: expected + half, score: r / (r + p.k), r };
}
