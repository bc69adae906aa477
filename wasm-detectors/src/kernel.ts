// The Tier-1 "Basic" kernel in plain TypeScript: the oracle that the WebAssembly build is tested
// against. It is written in the same shape as the AssemblyScript kernel (../assembly/tier1.ts) on
// purpose: one flat Float64Array of per-series state, the same slots, the same order of
// floating-point operations, only +, -, *, / and sqrt (correctly rounded everywhere), so the two
// agree bit-for-bit. Change one, change the other, and run the golden-vector tests.
//
// Per sample, against the state learned from earlier samples only (online):
//   (a) a lagging rolling-quantile band: the last BLOCK_COUNT completed blocks of BLOCK_SIZE
//       samples, each summarised by a low and a high order statistic (the block is sorted in place
//       when it fills); the band is the median of the block lows and of the block highs, widened
//       by `bandWidth` spreads. The block being filled and the newest `lagBlocks` blocks are left
//       out, so a slow drift does not drag the band along with it.
//   (b) an EWMA mean and variance (learning residual winsorised at zClamp standard deviations, so
//       one spike does not move the baseline) and the z-score of the sample against it;
//   (c) a two-sided CUSUM on the clamped z-score for level shifts; on an alarm the mean re-anchors.
// severity = bandWeight * (distance beyond the band, in spreads)
//          + zWeight * max(0, |z| - zThreshold) + cusumWeight * (CUSUM / threshold),
// capped by novelty: noveltyWeight * (|x - mean| beyond the largest |x - mean| of the last
// RECORD_COUNT record blocks) / (that largest deviation + sd), so that recurring patterns and the
// rest of an excursion already reported score low;
// score = severity / (1 + severity), in [0, 1).

import {
  BLOCK_COUNT,
  BLOCK_SIZE,
  FLAG_ANOMALY,
  FLAG_GAP,
  FLAG_INVALID,
  FLAG_LEVEL_SHIFT,
  FLAG_STALE,
  FLAG_WARMUP,
  P_ALPHA,
  P_BAND_WEIGHT,
  P_BAND_WIDTH,
  P_CUSUM_DRIFT,
  P_CUSUM_THRESHOLD,
  P_CUSUM_WEIGHT,
  P_FLAG_THRESHOLD,
  P_GAP_RESET_MS,
  P_LAG_BLOCKS,
  P_Q_HIGH_INDEX,
  P_Q_LOW_INDEX,
  P_REFRACTORY,
  P_SPREAD_FLOOR_ABS,
  P_SPREAD_FLOOR_REL,
  P_WARMUP,
  P_Z_CLAMP,
  P_Z_THRESHOLD,
  P_Z_WEIGHT,
  STATE_MAGIC,
  STATE_SLOTS,
  S_BLOCK,
  S_BLOCKS,
  S_CUSUM_NEG,
  S_CUSUM_POS,
  S_FILL,
  S_HEAD,
  S_HIGHS,
  S_LAST_TS,
  S_LOWER,
  S_LOWS,
  S_MAGIC,
  S_MEAN,
  S_N,
  S_REFRACTORY,
  S_SPREAD,
  S_UPPER,
  S_VAR,
  S_RECORD_CUR,
  S_RECORD_MAX,
  S_RECORDS,
  RECORD_COUNT,
  P_RECORD_BLOCK,
  P_NOVELTY_WEIGHT,
} from './layout.js';

/** Output arrays of a batch; index i describes input sample i. */
export interface Tier1Outputs {
  scores: Float64Array;
  flags: Uint32Array;
  lower: Float64Array;
  upper: Float64Array;
}

/** Clears one series' state (a new or retired series). */
export function resetState(st: Float64Array, base: number): void {
  for (let i = 0; i < STATE_SLOTS; i++) st[base + i] = 0;
  st[base + S_MAGIC] = STATE_MAGIC;
  st[base + S_LOWER] = NaN;
  st[base + S_UPPER] = NaN;
  st[base + S_SPREAD] = NaN;
}

const scratch = new Float64Array(BLOCK_COUNT);
/** Severity cap: score = sev / (1 + sev) stays below 1. */
export const SEVERITY_MAX = 1e12;

function sortRange(a: Float64Array, from: number, count: number): void {
  for (let i = from + 1; i < from + count; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= from && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

function medianOfBlocks(st: Float64Array, base: number, slot: number, head: number, lag: number, m: number): number {
  for (let j = 0; j < m; j++) {
    let k = head - 1 - lag - j;
    while (k < 0) k += BLOCK_COUNT;
    scratch[j] = st[base + slot + k]!;
  }
  sortRange(scratch, 0, m);
  const h = m >> 1;
  if ((m & 1) === 1) return scratch[h]!;
  return (scratch[h - 1]! + scratch[h]!) * 0.5;
}

function recomputeBand(st: Float64Array, base: number, p: Float64Array): void {
  const blocks = st[base + S_BLOCKS]!;
  const lag = p[P_LAG_BLOCKS]!;
  let m = blocks < BLOCK_COUNT ? blocks : BLOCK_COUNT;
  m = m - lag;
  if (m < 1) return;
  const head = st[base + S_HEAD]!;
  const lo = medianOfBlocks(st, base, S_LOWS, head, lag, m);
  const hi = medianOfBlocks(st, base, S_HIGHS, head, lag, m);
  const mid = (lo + hi) * 0.5;
  let spread = hi - lo;
  const amid = mid < 0 ? -mid : mid;
  const floor = p[P_SPREAD_FLOOR_ABS]! + p[P_SPREAD_FLOOR_REL]! * amid;
  if (spread < floor) spread = floor;
  const w = p[P_BAND_WIDTH]!;
  st[base + S_SPREAD] = spread;
  st[base + S_LOWER] = lo - w * spread;
  st[base + S_UPPER] = hi + w * spread;
}

function pushBlock(st: Float64Array, base: number, p: Float64Array, x: number): void {
  let fill = st[base + S_FILL]!;
  st[base + S_BLOCK + fill] = x;
  fill = fill + 1;
  if (fill === BLOCK_SIZE) {
    sortRange(st, base + S_BLOCK, BLOCK_SIZE);
    let head = st[base + S_HEAD]!;
    st[base + S_LOWS + head] = st[base + S_BLOCK + p[P_Q_LOW_INDEX]!]!;
    st[base + S_HIGHS + head] = st[base + S_BLOCK + p[P_Q_HIGH_INDEX]!]!;
    head = head + 1;
    if (head === BLOCK_COUNT) head = 0;
    st[base + S_HEAD] = head;
    st[base + S_BLOCKS] = st[base + S_BLOCKS]! + 1;
    fill = 0;
    recomputeBand(st, base, p);
  }
  st[base + S_FILL] = fill;
}

/**
 * Scores sample (x, ts) of the series whose state starts at `base`, then learns it.
 * Writes the result at index `i` of `out`. Returns 1 when the sample was flagged, else 0.
 */
export function step(st: Float64Array, base: number, p: Float64Array, x: number, ts: number, out: Tier1Outputs, i: number): number {
  // x - x is 0 for every finite x and NaN for NaN and the infinities.
  if (!(x - x === 0) || !(ts - ts === 0)) {
    out.scores[i] = 0;
    out.flags[i] = FLAG_INVALID;
    out.lower[i] = st[base + S_LOWER]!;
    out.upper[i] = st[base + S_UPPER]!;
    return 0;
  }
  const n = st[base + S_N]!;
  let flags = 0;
  const stale = n > 0 && ts <= st[base + S_LAST_TS]!;
  if (stale) flags |= FLAG_STALE;
  let cusPos = st[base + S_CUSUM_POS]!;
  let cusNeg = st[base + S_CUSUM_NEG]!;
  const gapMs = p[P_GAP_RESET_MS]!;
  if (n > 0 && !stale && gapMs > 0 && ts - st[base + S_LAST_TS]! > gapMs) {
    cusPos = 0;
    cusNeg = 0;
    flags |= FLAG_GAP;
  }

  let mean = st[base + S_MEAN]!;
  let variance = st[base + S_VAR]!;
  let sd = Math.sqrt(variance);
  const amean = mean < 0 ? -mean : mean;
  const sdFloor = p[P_SPREAD_FLOOR_ABS]! + p[P_SPREAD_FLOOR_REL]! * amean;
  if (sd < sdFloor) sd = sdFloor;
  const z = n > 0 ? (x - mean) / sd : 0;
  const zClamp = p[P_Z_CLAMP]!;
  let zc = z;
  if (zc > zClamp) zc = zClamp;
  else if (zc < -zClamp) zc = -zClamp;
  const drift = p[P_CUSUM_DRIFT]!;
  let cp = cusPos + zc - drift;
  if (cp < 0) cp = 0;
  let cn = cusNeg - zc - drift;
  if (cn < 0) cn = 0;
  const cmax = cp > cn ? cp : cn;
  const cusumH = p[P_CUSUM_THRESHOLD]!;

  const lower = st[base + S_LOWER]!;
  const upper = st[base + S_UPPER]!;
  let score = 0;
  let refractory = st[base + S_REFRACTORY]!;
  let recordCur = st[base + S_RECORD_CUR]!;
  if (n < p[P_WARMUP]!) {
    flags |= FLAG_WARMUP;
  } else {
    let eb = 0;
    if (upper - upper === 0) {
      const spread = st[base + S_SPREAD]!;
      if (x > upper) eb = (x - upper) / spread;
      else if (x < lower) eb = (lower - x) / spread;
    }
    const az = z < 0 ? -z : z;
    let ez = az - p[P_Z_THRESHOLD]!;
    if (ez < 0) ez = 0;
    let sev = p[P_BAND_WEIGHT]! * eb + p[P_Z_WEIGHT]! * ez + p[P_CUSUM_WEIGHT]! * (cmax / cusumH);
    // Novelty: a deviation counts only by how much it exceeds the largest deviation of the recent
    // record blocks (in standard deviations), so a pattern that recurs (a daily peak, a periodic
    // burst) stops scoring after its first time, and one excursion scores once, at its start.
    const recMax = st[base + S_RECORD_MAX]!;
    const prev = recordCur > recMax ? recordCur : recMax;
    const dev0 = x - mean;
    const dev = dev0 < 0 ? -dev0 : dev0;
    if (dev > recordCur) recordCur = dev;
    const novelty = dev > prev ? (p[P_NOVELTY_WEIGHT]! * (dev - prev)) / (prev + sd) : 0;
    if (novelty < sev) sev = novelty;
    // Bounded (and NaN-free) even for values near the float range: the score stays below 1.
    if (!(sev < SEVERITY_MAX)) sev = SEVERITY_MAX;
    score = sev / (1 + sev);
    if (score >= p[P_FLAG_THRESHOLD]! && refractory <= 0) {
      flags |= FLAG_ANOMALY;
      refractory = p[P_REFRACTORY]! + 1;
    }
  }

  if (!stale) {
    if (n === 0) {
      mean = x;
      variance = 0;
    } else {
      let d = x - mean;
      const lim = zClamp * sd;
      if (d > lim) d = lim;
      else if (d < -lim) d = -lim;
      const alpha = p[P_ALPHA]!;
      mean = mean + alpha * d;
      variance = (1 - alpha) * (variance + alpha * d * d);
      // Overflow (values near the float range) must not poison the series: re-anchor.
      if (!(mean - mean === 0) || !(variance - variance === 0)) {
        mean = x;
        variance = 0;
      }
    }
    if (n >= p[P_WARMUP]!) {
      if (cmax >= cusumH) {
        flags |= FLAG_LEVEL_SHIFT;
        cp = 0;
        cn = 0;
        mean = x;
      }
      st[base + S_CUSUM_POS] = cp;
      st[base + S_CUSUM_NEG] = cn;
    } else {
      st[base + S_CUSUM_POS] = cusPos;
      st[base + S_CUSUM_NEG] = cusNeg;
    }
    st[base + S_MEAN] = mean;
    st[base + S_VAR] = variance;
    if (refractory > 0) refractory = refractory - 1;
    st[base + S_N] = n + 1;
    const rb = p[P_RECORD_BLOCK]!;
    if ((n + 1) % rb === 0) {
      const slot = Math.floor((n + 1) / rb - 1) % RECORD_COUNT;
      st[base + S_RECORDS + slot] = recordCur;
      let m = 0;
      for (let j = 0; j < RECORD_COUNT; j++) {
        const r = st[base + S_RECORDS + j]!;
        if (r > m) m = r;
      }
      st[base + S_RECORD_MAX] = m;
      recordCur = 0;
    }
    st[base + S_RECORD_CUR] = recordCur;
    st[base + S_LAST_TS] = ts;
    pushBlock(st, base, p, x);
  }
  st[base + S_REFRACTORY] = refractory;
  out.scores[i] = score;
  out.flags[i] = flags;
  out.lower[i] = lower;
  out.upper[i] = upper;
  return (flags & FLAG_ANOMALY) !== 0 ? 1 : 0;
}
