// Public surface of wasm-detectors: the Tier-1 detector (WebAssembly build and TypeScript
// reference), its configuration and its layout constants.

export { createWasmTier1, createWasmTier1Sync, WasmTier1, defaultWasmUrl } from './wasm.js';
export type { WasmTier1Options, Tier1Exports } from './wasm.js';
export { Tier1Reference } from './reference.js';
export type { Tier1Options } from './reference.js';
export { Tier1Error } from './detector.js';
export type { Tier1Detector, Tier1ErrorCode, Tier1Outputs } from './detector.js';
export { DEFAULT_TIER1_CONFIG, resolveTier1Config, Tier1ConfigError, encodeParams, quantileIndex } from './config.js';
export type { Tier1Config } from './config.js';
export { SeriesSlots } from './series-slots.js';
export type { SeriesSlotsOptions } from './series-slots.js';
export {
  STATE_BYTES,
  STATE_SLOTS,
  BLOCK_SIZE,
  BLOCK_COUNT,
  FLAG_ANOMALY,
  FLAG_INVALID,
  FLAG_WARMUP,
  FLAG_STALE,
  FLAG_GAP,
  FLAG_LEVEL_SHIFT,
} from './layout.js';
