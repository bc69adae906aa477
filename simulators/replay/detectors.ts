// Detectors that replay can run over a whole series, online: the score at row t depends on rows
// up to t only. Later tiers register here too.

import { createWasmTier1Sync, Tier1Reference } from '../../wasm-detectors/src/index.js';
import type { Tier1Config, Tier1Detector } from '../../wasm-detectors/src/index.js';

export interface ReplayDetector {
  readonly name: string;
  /** Scores one series in time order; returns one score in [0, 1] per row. */
  scoreSeries(timestamps: Float64Array, values: Float64Array): Float64Array;
}

export interface ReplayDetectorOptions {
  tier1?: Partial<Tier1Config>;
}

const CHUNK = 4096;

/** Feeds a series through a one-slot Tier-1 detector in chunks of CHUNK rows. */
function tier1Scorer(name: string, make: () => Tier1Detector): ReplayDetector {
  return {
    name,
    scoreSeries(timestamps, values) {
      const det = make();
      const n = values.length;
      const scores = new Float64Array(n);
      const ids = new Uint32Array(CHUNK);
      for (let from = 0; from < n; from += CHUNK) {
        const m = Math.min(CHUNK, n - from);
        const out = det.process(ids, values.subarray(from, from + m), timestamps.subarray(from, from + m), m);
        scores.set(out.scores.subarray(0, m), from);
      }
      return scores;
    },
  };
}

export const REPLAY_DETECTORS: Readonly<Record<string, (o: ReplayDetectorOptions) => ReplayDetector>> = Object.freeze({
  /** Tier-1, the WebAssembly build (what the agent runs). */
  tier1: (o: ReplayDetectorOptions) =>
    tier1Scorer('tier1', () => createWasmTier1Sync({ maxSeries: 1, batchCapacity: CHUNK, config: o.tier1 ?? {} })),
  /** Tier-1, the TypeScript reference (same output; slower). */
  'tier1-reference': (o: ReplayDetectorOptions) =>
    tier1Scorer('tier1-reference', () => new Tier1Reference({ maxSeries: 1, batchCapacity: CHUNK, config: o.tier1 ?? {} })),
});
