// The interface both Tier-1 implementations (WebAssembly and the TypeScript reference) offer, and
// the error type they share.

import type { Tier1Outputs } from './kernel.js';

export type { Tier1Outputs };

export type Tier1ErrorCode =
  | 'BAD_SERIES_ID'
  | 'BATCH_TOO_LARGE'
  | 'BAD_SNAPSHOT'
  | 'WASM_LOAD_FAILED'
  | 'WASM_INIT_FAILED';

export class Tier1Error extends Error {
  override readonly name = 'Tier1Error';
  readonly retryable = false;
  constructor(
    readonly code: Tier1ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A batch Tier-1 detector over a fixed number of series slots (0 .. maxSeries-1). Slots are
 * handed out by the caller (see SeriesSlots); a slot's state is a fixed STATE_BYTES.
 */
export interface Tier1Detector {
  readonly kind: 'wasm' | 'reference';
  readonly maxSeries: number;
  readonly batchCapacity: number;
  /**
   * Scores then learns n samples; sample i belongs to slot ids[i]. Results go to `out` (or to
   * arrays owned by the detector, valid until the next call). Samples of one slot must come in
   * time order; within a batch they are processed in index order.
   */
  process(
    ids: ArrayLike<number>,
    values: ArrayLike<number>,
    timestamps: ArrayLike<number>,
    n?: number,
  ): Tier1Outputs;
  /** Number of samples flagged by the last process() call. */
  readonly lastFlagged: number;
  /** Clears a slot (new series, or retiring one). */
  resetSeries(id: number): void;
  /** The slot's state as bytes (a copy), to persist across restarts. */
  snapshotSeries(id: number): Uint8Array;
  /** Restores a slot from snapshotSeries() bytes; refuses bytes of the wrong size or layout. */
  restoreSeries(id: number, bytes: Uint8Array): void;
}
