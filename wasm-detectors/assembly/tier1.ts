// Tier-1 "Basic" detector kernel, AssemblyScript -> WebAssembly.
//
// ABI (scalars only, CONVENTIONS 13): the host calls init(maxSeries, batchCapacity) once, sets the
// parameters with setParam(slot, value), then for every batch writes series ids (u32), values
// (f64) and timestamps (f64, ms) into the regions at idsPtr()/valuesPtr()/timestampsPtr() through
// views it keeps of this module's memory, calls process(n), and reads scores (f64), flags (u32),
// lower and upper (f64) from scoresPtr()/flagsPtr()/lowerPtr()/upperPtr(). Nothing is allocated
// per sample and nothing is copied across the boundary per sample.
//
// The algorithm, the state slots and the order of floating-point operations mirror the TypeScript
// reference (../src/kernel.ts, ../src/layout.ts) exactly; the golden-vector tests hold the two to
// bit-for-bit agreement. Read that file for the description of the algorithm.

const BLOCK_SIZE: i32 = 16;
const BLOCK_COUNT: i32 = 8;
const STATE_SLOTS: i32 = 64;
const STATE_MAGIC: f64 = 0x74310001;
const PARAM_COUNT: i32 = 20;
const RECORD_COUNT: i32 = 8;
const SEVERITY_MAX: f64 = 1e12;

const S_MAGIC: i32 = 0;
const S_N: i32 = 1;
const S_LAST_TS: i32 = 2;
const S_MEAN: i32 = 3;
const S_VAR: i32 = 4;
const S_CUSUM_POS: i32 = 5;
const S_CUSUM_NEG: i32 = 6;
const S_FILL: i32 = 7;
const S_BLOCKS: i32 = 8;
const S_HEAD: i32 = 9;
const S_LOWER: i32 = 10;
const S_UPPER: i32 = 11;
const S_SPREAD: i32 = 12;
const S_REFRACTORY: i32 = 13;
const S_RECORD_MAX: i32 = 14;
const S_RECORD_CUR: i32 = 15;
const S_BLOCK: i32 = 16;
const S_LOWS: i32 = S_BLOCK + BLOCK_SIZE;
const S_HIGHS: i32 = S_LOWS + BLOCK_COUNT;
const S_RECORDS: i32 = S_HIGHS + BLOCK_COUNT;

const FLAG_ANOMALY: u32 = 1;
const FLAG_INVALID: u32 = 2;
const FLAG_WARMUP: u32 = 4;
const FLAG_STALE: u32 = 8;
const FLAG_GAP: u32 = 16;
const FLAG_LEVEL_SHIFT: u32 = 32;

const P_ALPHA: i32 = 0;
const P_WARMUP: i32 = 1;
const P_Q_LOW_INDEX: i32 = 2;
const P_Q_HIGH_INDEX: i32 = 3;
const P_BAND_WIDTH: i32 = 4;
const P_LAG_BLOCKS: i32 = 5;
const P_Z_THRESHOLD: i32 = 6;
const P_Z_CLAMP: i32 = 7;
const P_CUSUM_DRIFT: i32 = 8;
const P_CUSUM_THRESHOLD: i32 = 9;
const P_SPREAD_FLOOR_REL: i32 = 10;
const P_SPREAD_FLOOR_ABS: i32 = 11;
const P_FLAG_THRESHOLD: i32 = 12;
const P_REFRACTORY: i32 = 13;
const P_GAP_RESET_MS: i32 = 14;
const P_BAND_WEIGHT: i32 = 15;
const P_Z_WEIGHT: i32 = 16;
const P_CUSUM_WEIGHT: i32 = 17;
const P_RECORD_BLOCK: i32 = 18;
const P_NOVELTY_WEIGHT: i32 = 19;

// Error codes returned by init() and process().
const OK: i32 = 0;
const ERR_ALREADY_INITIALISED: i32 = -1;
const ERR_BAD_SIZE: i32 = -2;
const ERR_OUT_OF_MEMORY: i32 = -3;
const ERR_NOT_INITIALISED: i32 = -4;
const ERR_BATCH_TOO_LARGE: i32 = -5;
const ERR_BAD_SERIES_ID: i32 = -6;

let maxSeries: i32 = 0;
let capacity: i32 = 0;
let paramsBase: usize = 0;
let scratchBase: usize = 0;
let stateBase: usize = 0;
let idsBase: usize = 0;
let valuesBase: usize = 0;
let tsBase: usize = 0;
let scoresBase: usize = 0;
let flagsBase: usize = 0;
let lowerBase: usize = 0;
let upperBase: usize = 0;

// ---- layout constants, exported so the host can check they match its own ----
export function stateSlots(): i32 {
  return STATE_SLOTS;
}
export function stateBytes(): i32 {
  return STATE_SLOTS * 8;
}
export function blockSize(): i32 {
  return BLOCK_SIZE;
}
export function blockCount(): i32 {
  return BLOCK_COUNT;
}
export function paramCount(): i32 {
  return PARAM_COUNT;
}
export function stateMagic(): f64 {
  return STATE_MAGIC;
}

// ---- memory ----
function align16(x: usize): usize {
  return (x + 15) & ~(15 as usize);
}

/** Reserves all regions once. Returns OK or a negative error code. */
export function init(series: i32, batchCapacity: i32): i32 {
  if (maxSeries != 0) return ERR_ALREADY_INITIALISED;
  if (series < 1 || series > 2000000 || batchCapacity < 1 || batchCapacity > 4000000) return ERR_BAD_SIZE;
  const need: u64 =
    (PARAM_COUNT as u64) * 8 +
    (BLOCK_COUNT as u64) * 8 +
    (series as u64) * (STATE_SLOTS as u64) * 8 +
    (batchCapacity as u64) * (4 + 8 + 8 + 8 + 4 + 8 + 8) +
    16 * 16;
  const start: usize = align16(__heap_base);
  const end: u64 = (start as u64) + need;
  const havePages: i32 = memory.size();
  const needPages: i64 = ((end + 65535) >> 16) as i64;
  if (needPages > 65536) return ERR_OUT_OF_MEMORY;
  if (needPages > (havePages as i64)) {
    if (memory.grow((needPages as i32) - havePages) < 0) return ERR_OUT_OF_MEMORY;
  }
  let p = start;
  paramsBase = p;
  p = align16(p + (PARAM_COUNT as usize) * 8);
  scratchBase = p;
  p = align16(p + (BLOCK_COUNT as usize) * 8);
  stateBase = p;
  p = align16(p + (series as usize) * (STATE_SLOTS as usize) * 8);
  idsBase = p;
  p = align16(p + (batchCapacity as usize) * 4);
  valuesBase = p;
  p = align16(p + (batchCapacity as usize) * 8);
  tsBase = p;
  p = align16(p + (batchCapacity as usize) * 8);
  scoresBase = p;
  p = align16(p + (batchCapacity as usize) * 8);
  flagsBase = p;
  p = align16(p + (batchCapacity as usize) * 4);
  lowerBase = p;
  p = align16(p + (batchCapacity as usize) * 8);
  upperBase = p;
  maxSeries = series;
  capacity = batchCapacity;
  for (let s: i32 = 0; s < series; s++) resetSeries(s);
  return OK;
}

export function idsPtr(): usize {
  return idsBase;
}
export function valuesPtr(): usize {
  return valuesBase;
}
export function timestampsPtr(): usize {
  return tsBase;
}
export function scoresPtr(): usize {
  return scoresBase;
}
export function flagsPtr(): usize {
  return flagsBase;
}
export function lowerPtr(): usize {
  return lowerBase;
}
export function upperPtr(): usize {
  return upperBase;
}
export function paramsPtr(): usize {
  return paramsBase;
}
export function stateBasePtr(): usize {
  return stateBase;
}

export function setParam(slot: i32, value: f64): i32 {
  if (slot < 0 || slot >= PARAM_COUNT || paramsBase == 0) return ERR_BAD_SIZE;
  store<f64>(paramsBase + ((slot as usize) << 3), value);
  return OK;
}

export function getParam(slot: i32): f64 {
  if (slot < 0 || slot >= PARAM_COUNT || paramsBase == 0) return NaN;
  return load<f64>(paramsBase + ((slot as usize) << 3));
}

// ---- state access ----
@inline function sget(base: usize, slot: i32): f64 {
  return load<f64>(base + ((slot as usize) << 3));
}
@inline function sset(base: usize, slot: i32, v: f64): void {
  store<f64>(base + ((slot as usize) << 3), v);
}
@inline function par(slot: i32): f64 {
  return load<f64>(paramsBase + ((slot as usize) << 3));
}

/** Byte address of a series' state, or 0 for a bad id. */
export function statePtr(id: i32): usize {
  if (id < 0 || id >= maxSeries) return 0;
  return stateBase + (id as usize) * ((STATE_SLOTS as usize) << 3);
}

export function resetSeries(id: i32): i32 {
  if (id < 0 || id >= maxSeries) return ERR_BAD_SERIES_ID;
  const b = statePtr(id);
  for (let i: i32 = 0; i < STATE_SLOTS; i++) sset(b, i, 0);
  sset(b, S_MAGIC, STATE_MAGIC);
  sset(b, S_LOWER, NaN);
  sset(b, S_UPPER, NaN);
  sset(b, S_SPREAD, NaN);
  return OK;
}

// ---- the kernel ----
@inline function sortRange(base: usize, count: i32): void {
  for (let i: i32 = 1; i < count; i++) {
    const v = load<f64>(base + ((i as usize) << 3));
    let j: i32 = i - 1;
    while (j >= 0) {
      const a = load<f64>(base + ((j as usize) << 3));
      if (!(a > v)) break;
      store<f64>(base + (((j + 1) as usize) << 3), a);
      j--;
    }
    store<f64>(base + (((j + 1) as usize) << 3), v);
  }
}

function medianOfBlocks(b: usize, slot: i32, head: i32, lag: i32, m: i32): f64 {
  for (let j: i32 = 0; j < m; j++) {
    let k = head - 1 - lag - j;
    while (k < 0) k += BLOCK_COUNT;
    store<f64>(scratchBase + ((j as usize) << 3), sget(b, slot + k));
  }
  sortRange(scratchBase, m);
  const h = m >> 1;
  if ((m & 1) == 1) return load<f64>(scratchBase + ((h as usize) << 3));
  return (load<f64>(scratchBase + (((h - 1) as usize) << 3)) + load<f64>(scratchBase + ((h as usize) << 3))) * 0.5;
}

function recomputeBand(b: usize): void {
  const blocks = sget(b, S_BLOCKS);
  const lag = par(P_LAG_BLOCKS);
  let m = blocks < (BLOCK_COUNT as f64) ? blocks : (BLOCK_COUNT as f64);
  m = m - lag;
  if (m < 1) return;
  const head = sget(b, S_HEAD) as i32;
  const lagI = lag as i32;
  const mI = m as i32;
  const lo = medianOfBlocks(b, S_LOWS, head, lagI, mI);
  const hi = medianOfBlocks(b, S_HIGHS, head, lagI, mI);
  const mid = (lo + hi) * 0.5;
  let spread = hi - lo;
  const amid = mid < 0 ? -mid : mid;
  const floor = par(P_SPREAD_FLOOR_ABS) + par(P_SPREAD_FLOOR_REL) * amid;
  if (spread < floor) spread = floor;
  const w = par(P_BAND_WIDTH);
  sset(b, S_SPREAD, spread);
  sset(b, S_LOWER, lo - w * spread);
  sset(b, S_UPPER, hi + w * spread);
}

@inline function pushBlock(b: usize, x: f64): void {
  let fill = sget(b, S_FILL) as i32;
  sset(b, S_BLOCK + fill, x);
  fill = fill + 1;
  if (fill == BLOCK_SIZE) {
    sortRange(b + ((S_BLOCK as usize) << 3), BLOCK_SIZE);
    let head = sget(b, S_HEAD) as i32;
    sset(b, S_LOWS + head, sget(b, S_BLOCK + (par(P_Q_LOW_INDEX) as i32)));
    sset(b, S_HIGHS + head, sget(b, S_BLOCK + (par(P_Q_HIGH_INDEX) as i32)));
    head = head + 1;
    if (head == BLOCK_COUNT) head = 0;
    sset(b, S_HEAD, head as f64);
    sset(b, S_BLOCKS, sget(b, S_BLOCKS) + 1);
    fill = 0;
    recomputeBand(b);
  }
  sset(b, S_FILL, fill as f64);
}

/** One sample; mirrors step() in ../src/kernel.ts. Returns 1 when flagged. */
@inline function step(b: usize, x: f64, ts: f64, i: usize): i32 {
  if (!(x - x == 0) || !(ts - ts == 0)) {
    store<f64>(scoresBase + (i << 3), 0);
    store<u32>(flagsBase + (i << 2), FLAG_INVALID);
    store<f64>(lowerBase + (i << 3), sget(b, S_LOWER));
    store<f64>(upperBase + (i << 3), sget(b, S_UPPER));
    return 0;
  }
  const n = sget(b, S_N);
  let flags: u32 = 0;
  const stale = n > 0 && ts <= sget(b, S_LAST_TS);
  if (stale) flags |= FLAG_STALE;
  let cusPos = sget(b, S_CUSUM_POS);
  let cusNeg = sget(b, S_CUSUM_NEG);
  const gapMs = par(P_GAP_RESET_MS);
  if (n > 0 && !stale && gapMs > 0 && ts - sget(b, S_LAST_TS) > gapMs) {
    cusPos = 0;
    cusNeg = 0;
    flags |= FLAG_GAP;
  }

  let mean = sget(b, S_MEAN);
  let variance = sget(b, S_VAR);
  let sd = Math.sqrt(variance);
  const amean = mean < 0 ? -mean : mean;
  const sdFloor = par(P_SPREAD_FLOOR_ABS) + par(P_SPREAD_FLOOR_REL) * amean;
  if (sd < sdFloor) sd = sdFloor;
  const z: f64 = n > 0 ? (x - mean) / sd : 0;
  const zClamp = par(P_Z_CLAMP);
  let zc = z;
  if (zc > zClamp) zc = zClamp;
  else if (zc < -zClamp) zc = -zClamp;
  const drift = par(P_CUSUM_DRIFT);
  let cp = cusPos + zc - drift;
  if (cp < 0) cp = 0;
  let cn = cusNeg - zc - drift;
  if (cn < 0) cn = 0;
  const cmax = cp > cn ? cp : cn;
  const cusumH = par(P_CUSUM_THRESHOLD);

  const lower = sget(b, S_LOWER);
  const upper = sget(b, S_UPPER);
  let score: f64 = 0;
  let refractory = sget(b, S_REFRACTORY);
  let recordCur = sget(b, S_RECORD_CUR);
  if (n < par(P_WARMUP)) {
    flags |= FLAG_WARMUP;
  } else {
    let eb: f64 = 0;
    if (upper - upper == 0) {
      const spread = sget(b, S_SPREAD);
      if (x > upper) eb = (x - upper) / spread;
      else if (x < lower) eb = (lower - x) / spread;
    }
    const az = z < 0 ? -z : z;
    let ez = az - par(P_Z_THRESHOLD);
    if (ez < 0) ez = 0;
    let sev = par(P_BAND_WEIGHT) * eb + par(P_Z_WEIGHT) * ez + par(P_CUSUM_WEIGHT) * (cmax / cusumH);
    const recMax = sget(b, S_RECORD_MAX);
    const prev = recordCur > recMax ? recordCur : recMax;
    const dev0 = x - mean;
    const dev = dev0 < 0 ? -dev0 : dev0;
    if (dev > recordCur) recordCur = dev;
    const novelty: f64 = dev > prev ? (par(P_NOVELTY_WEIGHT) * (dev - prev)) / (prev + sd) : 0;
    if (novelty < sev) sev = novelty;
    if (!(sev < SEVERITY_MAX)) sev = SEVERITY_MAX;
    score = sev / (1 + sev);
    if (score >= par(P_FLAG_THRESHOLD) && refractory <= 0) {
      flags |= FLAG_ANOMALY;
      refractory = par(P_REFRACTORY) + 1;
    }
  }

  if (!stale) {
    if (n == 0) {
      mean = x;
      variance = 0;
    } else {
      let d = x - mean;
      const lim = zClamp * sd;
      if (d > lim) d = lim;
      else if (d < -lim) d = -lim;
      const alpha = par(P_ALPHA);
      mean = mean + alpha * d;
      variance = (1 - alpha) * (variance + alpha * d * d);
      if (!(mean - mean == 0) || !(variance - variance == 0)) {
        mean = x;
        variance = 0;
      }
    }
    if (n >= par(P_WARMUP)) {
      if (cmax >= cusumH) {
        flags |= FLAG_LEVEL_SHIFT;
        cp = 0;
        cn = 0;
        mean = x;
      }
      sset(b, S_CUSUM_POS, cp);
      sset(b, S_CUSUM_NEG, cn);
    } else {
      sset(b, S_CUSUM_POS, cusPos);
      sset(b, S_CUSUM_NEG, cusNeg);
    }
    sset(b, S_MEAN, mean);
    sset(b, S_VAR, variance);
    if (refractory > 0) refractory = refractory - 1;
    sset(b, S_N, n + 1);
    const rb = par(P_RECORD_BLOCK) as i64;
    const nn = (n as i64) + 1;
    if (nn % rb == 0) {
      const slot = ((nn / rb - 1) % (RECORD_COUNT as i64)) as i32;
      sset(b, S_RECORDS + slot, recordCur);
      let m: f64 = 0;
      for (let j: i32 = 0; j < RECORD_COUNT; j++) {
        const r = sget(b, S_RECORDS + j);
        if (r > m) m = r;
      }
      sset(b, S_RECORD_MAX, m);
      recordCur = 0;
    }
    sset(b, S_RECORD_CUR, recordCur);
    sset(b, S_LAST_TS, ts);
    pushBlock(b, x);
  }
  sset(b, S_REFRACTORY, refractory);
  store<f64>(scoresBase + (i << 3), score);
  store<u32>(flagsBase + (i << 2), flags);
  store<f64>(lowerBase + (i << 3), lower);
  store<f64>(upperBase + (i << 3), upper);
  return (flags & FLAG_ANOMALY) != 0 ? 1 : 0;
}

/**
 * Processes the first n samples of the input regions. Returns the number flagged, or a negative
 * error code (nothing is processed when an id is out of range: ids are checked first).
 */
export function process(n: i32): i32 {
  if (maxSeries == 0) return ERR_NOT_INITIALISED;
  if (n < 0 || n > capacity) return ERR_BATCH_TOO_LARGE;
  const max = maxSeries as u32;
  for (let i: i32 = 0; i < n; i++) {
    if (load<u32>(idsBase + ((i as usize) << 2)) >= max) return ERR_BAD_SERIES_ID;
  }
  let flagged: i32 = 0;
  const slotBytes: usize = (STATE_SLOTS as usize) << 3;
  for (let i: i32 = 0; i < n; i++) {
    const iu = i as usize;
    const id = load<u32>(idsBase + (iu << 2));
    flagged += step(stateBase + (id as usize) * slotBytes, load<f64>(valuesBase + (iu << 3)), load<f64>(tsBase + (iu << 3)), iu);
  }
  return flagged;
}
