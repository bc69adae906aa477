// The TypeScript reference Tier-1 detector: the oracle for the WebAssembly build, and a fallback
// where WebAssembly is unavailable. Same state layout as the WASM module, so snapshots move
// between the two.

import { resolveTier1Config, encodeParams } from './config.js';
import type { Tier1Config } from './config.js';
import { Tier1Error } from './detector.js';
import type { Tier1Detector } from './detector.js';
import { resetState, step } from './kernel.js';
import type { Tier1Outputs } from './kernel.js';
import { STATE_BYTES, STATE_MAGIC, STATE_SLOTS, S_MAGIC } from './layout.js';

export interface Tier1Options {
  maxSeries: number;
  batchCapacity: number;
  config?: Partial<Tier1Config>;
}

export function checkSlot(id: number, maxSeries: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= maxSeries) {
    throw new Tier1Error('BAD_SERIES_ID', `series id ${id} is outside [0, ${maxSeries - 1}]`);
  }
}

export function checkSnapshot(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== STATE_BYTES) {
    throw new Tier1Error('BAD_SNAPSHOT', `snapshot must be ${STATE_BYTES} bytes (got ${bytes?.byteLength})`);
  }
  const magic = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(S_MAGIC * 8, true);
  if (magic !== STATE_MAGIC) {
    throw new Tier1Error('BAD_SNAPSHOT', `snapshot has layout tag ${magic}, expected ${STATE_MAGIC}`);
  }
}

export function checkOptions(o: Tier1Options): void {
  if (!Number.isInteger(o.maxSeries) || o.maxSeries < 1 || o.maxSeries > 2_000_000) {
    throw new Tier1Error('WASM_INIT_FAILED', `maxSeries must be an integer in [1, 2000000] (got ${o.maxSeries})`);
  }
  if (!Number.isInteger(o.batchCapacity) || o.batchCapacity < 1 || o.batchCapacity > 4_000_000) {
    throw new Tier1Error('WASM_INIT_FAILED', `batchCapacity must be an integer in [1, 4000000] (got ${o.batchCapacity})`);
  }
}

export class Tier1Reference implements Tier1Detector {
  readonly kind = 'reference' as const;
  readonly maxSeries: number;
  readonly batchCapacity: number;
  readonly config: Tier1Config;
  lastFlagged = 0;
  private readonly state: Float64Array;
  private readonly params: Float64Array;
  private readonly out: Tier1Outputs;

  constructor(opts: Tier1Options) {
    checkOptions(opts);
    this.maxSeries = opts.maxSeries;
    this.batchCapacity = opts.batchCapacity;
    this.config = resolveTier1Config(opts.config);
    this.params = encodeParams(this.config);
    this.state = new Float64Array(this.maxSeries * STATE_SLOTS);
    for (let s = 0; s < this.maxSeries; s++) resetState(this.state, s * STATE_SLOTS);
    this.out = {
      scores: new Float64Array(this.batchCapacity),
      flags: new Uint32Array(this.batchCapacity),
      lower: new Float64Array(this.batchCapacity),
      upper: new Float64Array(this.batchCapacity),
    };
  }

  process(ids: ArrayLike<number>, values: ArrayLike<number>, timestamps: ArrayLike<number>, n = ids.length): Tier1Outputs {
    if (n > this.batchCapacity) {
      throw new Tier1Error('BATCH_TOO_LARGE', `batch of ${n} exceeds batchCapacity ${this.batchCapacity}`);
    }
    for (let i = 0; i < n; i++) checkSlot(ids[i]!, this.maxSeries);
    let flagged = 0;
    for (let i = 0; i < n; i++) {
      flagged += step(this.state, ids[i]! * STATE_SLOTS, this.params, values[i]!, timestamps[i]!, this.out, i);
    }
    this.lastFlagged = flagged;
    return this.out;
  }

  resetSeries(id: number): void {
    checkSlot(id, this.maxSeries);
    resetState(this.state, id * STATE_SLOTS);
  }

  snapshotSeries(id: number): Uint8Array {
    checkSlot(id, this.maxSeries);
    const copy = this.state.slice(id * STATE_SLOTS, (id + 1) * STATE_SLOTS);
    return new Uint8Array(copy.buffer);
  }

  restoreSeries(id: number, bytes: Uint8Array): void {
    checkSlot(id, this.maxSeries);
    checkSnapshot(bytes);
    const src = new Float64Array(bytes.slice().buffer);
    this.state.set(src, id * STATE_SLOTS);
  }
}
