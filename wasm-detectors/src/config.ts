// Tier-1 detector configuration: typed, validated whole before anything is built, errors naming
// the path and the bad value (CONVENTIONS 7).

import {
  BLOCK_COUNT,
  BLOCK_SIZE,
  PARAM_COUNT,
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
  P_RECORD_BLOCK,
  P_NOVELTY_WEIGHT,
} from './layout.js';

export interface Tier1Config {
  /** EWMA smoothing factor in (0, 1): weight of the newest sample. */
  alpha: number;
  /** Samples learned before anything is scored. */
  warmup: number;
  /** Low quantile of each block, in [0, 1) (mapped to an order statistic of BLOCK_SIZE samples). */
  quantileLow: number;
  /** High quantile of each block, in (quantileLow, 1]. */
  quantileHigh: number;
  /** How many spreads (quantileHigh - quantileLow) the band is widened on each side. */
  bandWidth: number;
  /** Newest completed blocks left out of the band (the lag), 0..BLOCK_COUNT-1. */
  lagBlocks: number;
  /** |z| below this contributes nothing to the severity. */
  zThreshold: number;
  /** z is clamped to +-zClamp for the CUSUM, and learning residuals are winsorised there. */
  zClamp: number;
  /** CUSUM drift (allowance) k, in standard deviations. */
  cusumDrift: number;
  /** CUSUM decision threshold h: an accumulator above it is a level shift. */
  cusumThreshold: number;
  /** Floors for the spread and the standard deviation: abs + rel * |level|. */
  spreadFloorRel: number;
  spreadFloorAbs: number;
  /** Weights of the three components in the severity. */
  bandWeight: number;
  zWeight: number;
  cusumWeight: number;
  /** A sample is flagged when its score is at least this, in (0, 1). */
  flagThreshold: number;
  /** After a flag, further flags of the same series are suppressed for this many samples. */
  refractory: number;
  /** A gap longer than this (ms) resets the CUSUM accumulators; 0 disables. */
  gapResetMs: number;
  /**
   * Samples per record block. The largest |x - mean| of each of the last RECORD_COUNT blocks is
   * kept; novelty is how far a deviation exceeds the largest of them, in standard deviations.
   * Make RECORD_COUNT * recordBlock cover the longest period whose repeats should not alert
   * (a day at 5-minute resolution is 288 samples).
   */
  recordBlock: number;
  /** Severity is capped at noveltyWeight * novelty: only new behaviour scores. */
  noveltyWeight: number;
}

export const DEFAULT_TIER1_CONFIG: Readonly<Tier1Config> = Object.freeze({
  alpha: 0.03,
  warmup: 300,
  quantileLow: 0.05,
  quantileHigh: 1,
  bandWidth: 2,
  lagBlocks: 2,
  zThreshold: 2,
  zClamp: 16,
  cusumDrift: 2,
  cusumThreshold: 12,
  spreadFloorRel: 0.1,
  spreadFloorAbs: 1e-9,
  bandWeight: 2,
  zWeight: 0.5,
  cusumWeight: 0.5,
  flagThreshold: 0.2,
  refractory: 0,
  gapResetMs: 0,
  recordBlock: 42,
  noveltyWeight: 2,
});

export class Tier1ConfigError extends Error {
  override readonly name = 'Tier1ConfigError';
  readonly code = 'INVALID_CONFIG';
  readonly retryable = false;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function check(ok: boolean, path: string, rule: string, got: unknown): void {
  if (!ok) throw new Tier1ConfigError(path, `${path} ${rule} (got ${JSON.stringify(got)})`);
}

/**
 * Merges `partial` over the defaults and validates the whole result. Unknown keys are refused
 * (a typo must not silently fall back to a default). `prefix` names the config path in errors.
 */
export function resolveTier1Config(partial: Partial<Tier1Config> = {}, prefix = 'tier1'): Tier1Config {
  for (const key of Object.keys(partial)) {
    check(key in DEFAULT_TIER1_CONFIG, `${prefix}.${key}`, 'is not a known option', key);
  }
  const c: Tier1Config = { ...DEFAULT_TIER1_CONFIG, ...partial };
  const p = (k: keyof Tier1Config): string => `${prefix}.${k}`;
  for (const [k, v] of Object.entries(c)) {
    check(typeof v === 'number' && Number.isFinite(v), p(k as keyof Tier1Config), 'must be a finite number', v);
  }
  check(c.alpha > 0 && c.alpha < 1, p('alpha'), 'must be in (0, 1)', c.alpha);
  check(Number.isInteger(c.warmup) && c.warmup >= 1, p('warmup'), 'must be an integer >= 1', c.warmup);
  check(c.quantileLow >= 0 && c.quantileLow < 1, p('quantileLow'), 'must be in [0, 1)', c.quantileLow);
  check(c.quantileHigh > c.quantileLow && c.quantileHigh <= 1, p('quantileHigh'), 'must be in (quantileLow, 1]', c.quantileHigh);
  check(c.bandWidth >= 0, p('bandWidth'), 'must be >= 0', c.bandWidth);
  check(Number.isInteger(c.lagBlocks) && c.lagBlocks >= 0 && c.lagBlocks < BLOCK_COUNT, p('lagBlocks'), `must be an integer in [0, ${BLOCK_COUNT - 1}]`, c.lagBlocks);
  check(c.zThreshold >= 0, p('zThreshold'), 'must be >= 0', c.zThreshold);
  check(c.zClamp > 0, p('zClamp'), 'must be > 0', c.zClamp);
  check(c.cusumDrift >= 0, p('cusumDrift'), 'must be >= 0', c.cusumDrift);
  check(c.cusumThreshold > 0, p('cusumThreshold'), 'must be > 0', c.cusumThreshold);
  check(c.spreadFloorRel >= 0, p('spreadFloorRel'), 'must be >= 0', c.spreadFloorRel);
  check(c.spreadFloorAbs > 0, p('spreadFloorAbs'), 'must be > 0 (a flat series would divide by zero)', c.spreadFloorAbs);
  check(c.bandWeight >= 0, p('bandWeight'), 'must be >= 0', c.bandWeight);
  check(c.zWeight >= 0, p('zWeight'), 'must be >= 0', c.zWeight);
  check(c.cusumWeight >= 0, p('cusumWeight'), 'must be >= 0', c.cusumWeight);
  check(c.flagThreshold > 0 && c.flagThreshold < 1, p('flagThreshold'), 'must be in (0, 1)', c.flagThreshold);
  check(Number.isInteger(c.refractory) && c.refractory >= 0, p('refractory'), 'must be an integer >= 0', c.refractory);
  check(c.gapResetMs >= 0, p('gapResetMs'), 'must be >= 0', c.gapResetMs);
  check(Number.isInteger(c.recordBlock) && c.recordBlock >= 1 && c.recordBlock <= 1_000_000, p('recordBlock'), 'must be an integer in [1, 1000000]', c.recordBlock);
  check(c.noveltyWeight > 0, p('noveltyWeight'), 'must be > 0', c.noveltyWeight);
  return c;
}

/** The order statistic (0-based, within a sorted block) used for quantile q. */
export function quantileIndex(q: number): number {
  const idx = Math.round(q * (BLOCK_SIZE - 1));
  return Math.min(BLOCK_SIZE - 1, Math.max(0, idx));
}

/** Encodes a validated config into the parameter slots shared by every kernel. */
export function encodeParams(c: Tier1Config): Float64Array {
  const p = new Float64Array(PARAM_COUNT);
  p[P_ALPHA] = c.alpha;
  p[P_WARMUP] = c.warmup;
  p[P_Q_LOW_INDEX] = quantileIndex(c.quantileLow);
  p[P_Q_HIGH_INDEX] = quantileIndex(c.quantileHigh);
  p[P_BAND_WIDTH] = c.bandWidth;
  p[P_LAG_BLOCKS] = c.lagBlocks;
  p[P_Z_THRESHOLD] = c.zThreshold;
  p[P_Z_CLAMP] = c.zClamp;
  p[P_CUSUM_DRIFT] = c.cusumDrift;
  p[P_CUSUM_THRESHOLD] = c.cusumThreshold;
  p[P_SPREAD_FLOOR_REL] = c.spreadFloorRel;
  p[P_SPREAD_FLOOR_ABS] = c.spreadFloorAbs;
  p[P_FLAG_THRESHOLD] = c.flagThreshold;
  p[P_REFRACTORY] = c.refractory;
  p[P_GAP_RESET_MS] = c.gapResetMs;
  p[P_BAND_WEIGHT] = c.bandWeight;
  p[P_Z_WEIGHT] = c.zWeight;
  p[P_CUSUM_WEIGHT] = c.cusumWeight;
  p[P_RECORD_BLOCK] = c.recordBlock;
  p[P_NOVELTY_WEIGHT] = c.noveltyWeight;
  return p;
}
