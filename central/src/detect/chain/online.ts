// Tier-2 and Tier-3 over one series, online and batched (the replay tool, the training jobs and
// the NAB figures use this; the detect role's server batches across series the same way):
// the score at row t depends on rows 0..t only. The series is profiled (period, route) from its
// own past at checkpoints; each row's model inputs are cut from the values up to it; rows are
// scored by ONNX Runtime a batch at a time.
import { profileSeries } from '../profile/index.js';
import type { Route } from '../profile/index.js';
import { OnnxRuntime } from '../onnx/index.js';
import type { AgileParams } from '../agile/model.js';
import type { RobustParams } from '../robust/model.js';
import { NoveltyRecord } from './novelty.js';
import { fillGaps } from '../stats.js';

type Session = Awaited<ReturnType<OnnxRuntime['session']>>;

export interface TierSessions {
  agile: { session: Session; params: AgileParams };
  robust: { session: Session; params: RobustParams };
}

export interface OnlineOptions {
  /** Rows per ONNX run. Default 1,024. */
  batch?: number;
  /** Re-profile every this many rows. Default 500. */
  profileEvery?: number;
  /** Profile over at most this many latest rows. Default 2,000. */
  profileHistory?: number;
  /** Longest period used (steps). Default 400. */
  maxPeriod?: number;
  /** Rows needed before the first profile (before it: warming up, Tier-1 only). Default 96. */
  minSamples?: number;
}

export interface TierScores {
  tier2: Float64Array;
  tier3: Float64Array;
  /** Route of each row from the latest profile ('tier1' while warming up). */
  route: Route[];
  /** Period used by each row (0: none). */
  period: Int32Array;
}

/** Route and period of every row, from profiles of the rows before it (inclusive). */
export function onlineProfile(x: Float64Array, o: OnlineOptions = {}): { route: Route[]; period: Int32Array } {
  const every = o.profileEvery ?? 500;
  const hist = o.profileHistory ?? 2000;
  const maxPeriod = o.maxPeriod ?? 400;
  const minSamples = o.minSamples ?? 96;
  const n = x.length;
  const route: Route[] = new Array<Route>(n);
  const period = new Int32Array(n);
  let cur: Route = 'tier1';
  let p = 0;
  let last = -Infinity;
  for (let t = 0; t < n; t++) {
    if (t + 1 >= minSamples && t + 1 - last >= every) {
      const from = Math.max(0, t + 1 - hist);
      const prof = profileSeries(x.subarray(from, t + 1), { minSamples, maxPeriod: Math.min(maxPeriod, Math.floor((t + 1 - from) / 3)) });
      cur = prof.route;
      p = prof.period ?? 0;
      last = t + 1;
    }
    route[t] = cur;
    period[t] = p;
  }
  return { route, period };
}

/** Scores every row with Tier-2 and Tier-3 (0 where a row has too little history). */
export async function scoreTiersOnline(values: ArrayLike<number>, m: TierSessions, o: OnlineOptions = {}): Promise<TierScores> {
  const x = fillGaps(values);
  const n = x.length;
  const { route, period } = onlineProfile(x, o);
  const B = o.batch ?? 1024;
  const tier2 = new Float64Array(n);
  const tier3 = new Float64Array(n);
  const r2 = new Float64Array(n).fill(NaN);
  const r3 = new Float64Array(n).fill(NaN);

  // Tier-2: rows t >= W-1; xs is the window one period earlier when the series has one.
  const W = m.agile.params.window;
  await scoreRows(m.agile.session, W - 1, n, B, [['x', [W]], ['xs', [W]], ['seasonal', [1]]], r2, (t, [xb, xsb, fb], i) => {
    xb!.set(x.subarray(t - W + 1, t + 1), i * W);
    const P = period[t]!;
    const seasonal = P > 0 && t - P - W + 1 >= 0;
    xsb!.set(seasonal ? x.subarray(t - P - W + 1, t - P + 1) : x.subarray(t - W + 1, t + 1), i * W);
    fb![i] = seasonal ? 1 : 0;
  });
  // Tier-3: rows t >= L-1; cycles 1..C are the windows 1..C periods earlier.
  const L = m.robust.params.window;
  const C = m.robust.params.cycles;
  const R = (C + 1) * L;
  await scoreRows(m.robust.session, L - 1, n, B, [['cycles', [C + 1, L]], ['seasonal', [1]]], r3, (t, [cb, fb], i) => {
    cb!.set(x.subarray(t - L + 1, t + 1), i * R);
    const P = period[t]!;
    const seasonal = P > 0 && t - C * P - L + 1 >= 0;
    if (seasonal) for (let c = 1; c <= C; c++) cb!.set(x.subarray(t - c * P - L + 1, t - c * P + 1), i * R + c * L);
    else cb!.fill(0, i * R + L, (i + 1) * R);
    fb![i] = seasonal ? 1 : 0;
  });
  novelty(r2, tier2, m.agile.params);
  novelty(r3, tier3, m.robust.params);
  return { tier2, tier3, route, period };
}

/** Runs rows first..n-1 through a session, `batch` rows per run; `fill` writes row t's inputs at position i; r goes to `out`. */
async function scoreRows(
  session: Session,
  first: number,
  n: number,
  batch: number,
  inputs: ReadonlyArray<[string, number[]]>,
  out: Float64Array,
  fill: (t: number, buffers: Float32Array[], i: number) => void,
): Promise<void> {
  const sizes = inputs.map(([, shape]) => shape.reduce((a, b) => a * b, 1));
  const buffers = sizes.map((size) => new Float32Array(batch * size));
  const rows: number[] = [];
  const flush = async () => {
    const k = rows.length;
    if (k === 0) return;
    const feeds: Record<string, ReturnType<typeof OnnxRuntime.tensor>> = {};
    inputs.forEach(([name, shape], j) => (feeds[name] = OnnxRuntime.tensor(buffers[j]!.subarray(0, k * sizes[j]!), [k, ...shape])));
    const r = (await OnnxRuntime.run(session, feeds))['r']!.data as Float32Array;
    for (let i = 0; i < k; i++) out[rows[i]!] = r[i]!;
    rows.length = 0;
  };
  for (let t = first; t < n; t++) {
    fill(t, buffers, rows.length);
    rows.push(t);
    if (rows.length === batch) await flush();
  }
  await flush();
}

/** Final scores from the rows' r, in order (rows without r keep score 0 and leave the record alone). */
function novelty(r: Float64Array, out: Float64Array, p: { k: number; novelty: { window: number; multiplier: number } }): void {
  const rec = new NoveltyRecord(p.novelty.window);
  for (let t = 0; t < r.length; t++) if (!Number.isNaN(r[t]!)) out[t] = rec.score(r[t]!, p.k, p.novelty.multiplier);
}
