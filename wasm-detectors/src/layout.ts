// The Tier-1 per-series state layout and parameter slots. This file is the contract between the
// TypeScript reference (reference.ts), the AssemblyScript kernel (../assembly/tier1.ts) and the C
// benchmark kernel (bench/c/tier1.c): all three use the same slot numbers, the same f64 state and
// the same order of floating-point operations, so that their outputs and their state snapshots
// agree bit-for-bit (the golden-vector tests check it; the WASM module reports its constants and a
// test compares them with these).

/** Samples per quantile block. The block is sorted in place when it fills. */
export const BLOCK_SIZE = 16;
/** Completed blocks kept in the lagging window (the band covers BLOCK_SIZE * BLOCK_COUNT samples). */
export const BLOCK_COUNT = 8;
/** f64 slots per series. 64 slots = 512 bytes, the per-series budget. */
export const STATE_SLOTS = 64;
export const STATE_BYTES = STATE_SLOTS * 8;
/** Written into S_MAGIC so that a restored snapshot can be recognised (and its layout version). */
export const STATE_MAGIC = 0x7431_0001; // "t1", layout version 1

// State slots (f64 each; counters are exact integers below 2^53).
export const S_MAGIC = 0;
export const S_N = 1; // samples learned
export const S_LAST_TS = 2; // timestamp (ms) of the last learned sample
export const S_MEAN = 3; // EWMA mean
export const S_VAR = 4; // EWMA variance
export const S_CUSUM_POS = 5;
export const S_CUSUM_NEG = 6;
export const S_FILL = 7; // samples in the current block
export const S_BLOCKS = 8; // completed blocks so far (not capped)
export const S_HEAD = 9; // ring index of the next block slot
export const S_LOWER = 10; // cached band lower bound (NaN until the band is ready)
export const S_UPPER = 11; // cached band upper bound
export const S_SPREAD = 12; // cached band spread (quantile high - quantile low, floored)
export const S_REFRACTORY = 13; // samples left during which a repeated flag is suppressed
export const S_RECORD_MAX = 14; // max |x - mean| over the completed record blocks (cached)
export const S_RECORD_CUR = 15; // max |x - mean| within the record block being filled
export const S_BLOCK = 16; // BLOCK_SIZE slots: the current block's samples
export const S_LOWS = S_BLOCK + BLOCK_SIZE; // BLOCK_COUNT slots: per-block low quantile
export const S_HIGHS = S_LOWS + BLOCK_COUNT; // BLOCK_COUNT slots: per-block high quantile
export const S_RECORDS = S_HIGHS + BLOCK_COUNT; // RECORD_COUNT slots: per-record-block max |x - mean|
export const S_END = S_RECORDS + 8; // first unused slot (<= STATE_SLOTS)
/** Record blocks kept: novelty is the deviation in excess of the largest one over them. */
export const RECORD_COUNT = 8;

// Output flag bits.
export const FLAG_ANOMALY = 1;
/** The value or the timestamp was NaN or infinite: not scored, not learned. */
export const FLAG_INVALID = 2;
/** Fewer than `warmup` samples learned: score is 0. */
export const FLAG_WARMUP = 4;
/** Timestamp not after the last learned one (repeat or out of order): scored, not learned. */
export const FLAG_STALE = 8;
/** The gap since the last sample exceeded gapResetMs: the CUSUM accumulators were reset. */
export const FLAG_GAP = 16;
/** The CUSUM crossed its threshold on this sample (a level shift): the mean was re-anchored. */
export const FLAG_LEVEL_SHIFT = 32;

// Parameter slots (one f64 each), shared by every series of one detector instance.
export const P_ALPHA = 0;
export const P_WARMUP = 1;
export const P_Q_LOW_INDEX = 2;
export const P_Q_HIGH_INDEX = 3;
export const P_BAND_WIDTH = 4;
export const P_LAG_BLOCKS = 5;
export const P_Z_THRESHOLD = 6;
export const P_Z_CLAMP = 7;
export const P_CUSUM_DRIFT = 8;
export const P_CUSUM_THRESHOLD = 9;
export const P_SPREAD_FLOOR_REL = 10;
export const P_SPREAD_FLOOR_ABS = 11;
export const P_FLAG_THRESHOLD = 12;
export const P_REFRACTORY = 13;
export const P_GAP_RESET_MS = 14;
export const P_BAND_WEIGHT = 15;
export const P_Z_WEIGHT = 16;
export const P_CUSUM_WEIGHT = 17;
export const P_RECORD_BLOCK = 18;
export const P_NOVELTY_WEIGHT = 19;
export const PARAM_COUNT = 20;
