// Statistics of root-cause analysis: linear-interpolated percentiles (numpy's default, which the
// published baselines' scalers use), the Granger-causality F test with lag selection by BIC, and
// Benjamini-Hochberg control of the false discovery rate over many such tests.
//
// The F distribution's tail is computed from the regularized incomplete beta function by its
// continued fraction (Lentz's method), accurate to ~1e-10 over the degrees of freedom used here.

/** Percentile with linear interpolation between closest ranks (numpy.percentile's default). NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

/** The finite values of `xs[from, to)`, sorted ascending. */
export function sortedFinite(xs: ArrayLike<number>, from = 0, to = xs.length): Float64Array {
  let n = 0;
  for (let i = from; i < to; i++) if (Number.isFinite(xs[i]!)) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = from; i < to; i++) {
    const v = xs[i]!;
    if (Number.isFinite(v)) out[k++] = v;
  }
  return out.sort();
}

export function meanStd(xs: ArrayLike<number>): { mean: number; std: number } {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    if (Number.isFinite(v)) {
      sum += v;
      n++;
    }
  }
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    if (Number.isFinite(v)) ss += (v - mean) * (v - mean);
  }
  return { mean, std: Math.sqrt(ss / n) };
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-12) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const bt = Math.exp(lbt);
  if (x < (a + 1) / (a + b + 2)) return (bt * betaContinuedFraction(a, b, x)) / a;
  return 1 - (bt * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(F > f) for an F(d1, d2) variable. */
export function fSurvival(f: number, d1: number, d2: number): number {
  if (!(f > 0)) return 1;
  if (!Number.isFinite(f)) return 0;
  return incompleteBeta(d2 / (d2 + d1 * f), d2 / 2, d1 / 2);
}

/**
 * Residual sum of squares of the least-squares fit y ~ X (X given column-major, with an
 * intercept added), solved by the normal equations with Cholesky; ridge 1e-9 keeps it defined
 * when columns are collinear (a flat series).
 */
export function olsRss(y: Float64Array, cols: readonly Float64Array[]): number {
  const n = y.length;
  const p = cols.length + 1;
  const col = (j: number, i: number): number => (j === 0 ? 1 : cols[j - 1]![i]!);
  const a = new Float64Array(p * p);
  const b = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    for (let k = j; k < p; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += col(j, i) * col(k, i);
      a[j * p + k] = s;
      a[k * p + j] = s;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += col(j, i) * y[i]!;
    b[j] = s;
  }
  let trace = 0;
  for (let j = 0; j < p; j++) trace += a[j * p + j]!;
  const ridge = 1e-9 * (trace / p + 1);
  for (let j = 0; j < p; j++) a[j * p + j] = a[j * p + j]! + ridge;
  // Cholesky a = L L^T in place (lower triangle).
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j]!;
    for (let k = 0; k < j; k++) d -= a[j * p + k]! * a[j * p + k]!;
    const l = Math.sqrt(Math.max(d, 1e-300));
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j]!;
      for (let k = 0; k < j; k++) s -= a[i * p + k]! * a[j * p + k]!;
      a[i * p + j] = s / l;
    }
  }
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[i * p + k]! * z[k]!;
    z[i] = s / a[i * p + i]!;
  }
  const beta = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < p; k++) s -= a[k * p + i]! * beta[k]!;
    beta[i] = s / a[i * p + i]!;
  }
  let rss = 0;
  for (let i = 0; i < n; i++) {
    let fit = 0;
    for (let j = 0; j < p; j++) fit += beta[j]! * col(j, i);
    rss += (y[i]! - fit) * (y[i]! - fit);
  }
  return rss;
}

function lagged(x: Float64Array, lag: number, maxLag: number): Float64Array {
  const n = x.length - maxLag;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[maxLag + i - lag]!;
  return out;
}

export interface GrangerResult {
  /** The lags of x chosen by BIC on the unrestricted model, 1..maxLag. */
  lag: number;
  f: number;
  pValue: number;
}

/**
 * Does x Granger-cause y? Compares y's regression on its own past (2 maxLag values) with the one
 * that adds x's last `lag` values: F = ((RSS_r - RSS_u) / lag) / (RSS_u / (n - 2 maxLag - lag -
 * 1)). The lag is chosen by BIC of the unrestricted model over 1..maxLag (fixed sample: the
 * first 2 maxLag rows are dropped for every candidate). Why 2 maxLag own lags: when y is x
 * delayed by d rows, y's lag l is x's lag l + d; with fewer own lags the test would credit y
 * with x's own older past and find a reverse direction that is not there - likely on first
 * differences of noisy levels (non-invertible, so older lags keep predicting). Null when there
 * are too few rows for the test.
 */
export function grangerTest(x: Float64Array, y: Float64Array, maxLag: number): GrangerResult | null {
  const own = 2 * maxLag;
  const n = y.length - own;
  if (maxLag < 1 || n < 4 * own + 8) return null;
  const target = lagged(y, 0, own);
  const yl: Float64Array[] = [];
  const xl: Float64Array[] = [];
  for (let l = 1; l <= own; l++) yl.push(lagged(y, l, own));
  for (let l = 1; l <= maxLag; l++) xl.push(lagged(x, l, own));
  let best: { lag: number; bic: number; rssU: number } | null = null;
  for (let l = 1; l <= maxLag; l++) {
    const rssU = olsRss(target, [...yl, ...xl.slice(0, l)]);
    const k = own + l + 1;
    const bic = n * Math.log(Math.max(rssU, 1e-300) / n) + k * Math.log(n);
    if (best === null || bic < best.bic) best = { lag: l, bic, rssU };
  }
  const lag = best!.lag;
  const rssR = olsRss(target, yl);
  const rssU = best!.rssU;
  const d2 = n - own - lag - 1;
  if (rssU <= 1e-12 * Math.max(rssR, 1e-300)) return { lag, f: Infinity, pValue: rssR > rssU ? 0 : 1 };
  const f = (Math.max(0, rssR - rssU) / lag) / (rssU / d2);
  return { lag, f, pValue: fSurvival(f, lag, d2) };
}

/** Which of the p-values are discoveries at false discovery rate `q` (Benjamini-Hochberg). */
export function benjaminiHochberg(pValues: readonly number[], q: number): boolean[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  let cut = -1;
  order.forEach(([p], k) => {
    if (p <= ((k + 1) / m) * q) cut = k;
  });
  const out = new Array<boolean>(m).fill(false);
  for (let k = 0; k <= cut; k++) out[order[k]![1]] = true;
  return out;
}
