// The WebAssembly Tier-1 detector: loads the AssemblyScript build through @assemblyscript/loader
// and keeps one set of typed-array views over the module's linear memory (the input and output
// regions) so that callers write samples and read results in place.
//
// Why the loader and not `asc --bindings`: the kernel's ABI is scalars only, so the generated
// bindings' marshalling is not needed; `--bindings esm` needs top-level await, which esbuild cannot
// bundle into the CommonJS file that the agent's single executable needs, and `--bindings raw` is
// a per-build generated file. The loader is one pinned dependency that instantiates synchronously
// or asynchronously from bytes (a file or a single-executable asset) and decodes abort() messages.
// See docs/decisions/001-wasm-loader.md.

import { readFileSync } from 'node:fs';
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import { encodeParams, resolveTier1Config } from './config.js';
import type { Tier1Config } from './config.js';
import { Tier1Error } from './detector.js';
import type { Tier1Detector } from './detector.js';
import type { Tier1Outputs } from './kernel.js';
import { BLOCK_COUNT, BLOCK_SIZE, PARAM_COUNT, STATE_BYTES, STATE_MAGIC, STATE_SLOTS } from './layout.js';
import { checkOptions, checkSlot, checkSnapshot } from './reference.js';
import type { Tier1Options } from './reference.js';

/** The scalar ABI exported by wasm-detectors/assembly/tier1.ts. */
export interface Tier1Exports extends Record<string, unknown> {
  memory: { readonly buffer: ArrayBuffer };
  init(series: number, batchCapacity: number): number;
  setParam(slot: number, value: number): number;
  getParam(slot: number): number;
  process(n: number): number;
  resetSeries(id: number): number;
  statePtr(id: number): number;
  idsPtr(): number;
  valuesPtr(): number;
  timestampsPtr(): number;
  scoresPtr(): number;
  flagsPtr(): number;
  lowerPtr(): number;
  upperPtr(): number;
  stateSlots(): number;
  stateBytes(): number;
  blockSize(): number;
  blockCount(): number;
  paramCount(): number;
  stateMagic(): number;
}

const INIT_ERRORS: Record<number, string> = {
  [-1]: 'module already initialised',
  [-2]: 'bad size',
  [-3]: 'out of memory (maxSeries * 512 bytes + batch buffers must fit in 4 GiB)',
};

/**
 * Where the build puts the module (npm run build:wasm). A function, not a constant: in a
 * CommonJS bundle (the agent's single executable) import.meta.url is not defined, and the
 * bytes come from an embedded asset instead.
 */
export function defaultWasmUrl(): URL {
  return new URL('../build/tier1.wasm', import.meta.url);
}

export interface WasmTier1Options extends Tier1Options {
  /** The module's bytes; read from defaultWasmUrl() when absent. */
  wasmBytes?: Uint8Array;
}

function loadBytes(opts: WasmTier1Options): Uint8Array {
  if (opts.wasmBytes) return opts.wasmBytes;
  let url: URL | undefined;
  try {
    url = defaultWasmUrl();
    return readFileSync(url);
  } catch (cause) {
    throw new Tier1Error('WASM_LOAD_FAILED', `cannot read ${url?.pathname ?? 'the Tier-1 module'}: run "npm run build:wasm" first`, { cause });
  }
}

export class WasmTier1 implements Tier1Detector {
  readonly kind = 'wasm' as const;
  readonly maxSeries: number;
  readonly batchCapacity: number;
  readonly config: Tier1Config;
  lastFlagged = 0;
  /** Live views over the module's input regions: write samples here, then call run(n). */
  ids!: Uint32Array;
  values!: Float64Array;
  timestamps!: Float64Array;
  /** Live views over the output regions, valid after run(n). */
  readonly out: Tier1Outputs;
  private readonly ex: Tier1Exports;
  private buffer!: ArrayBuffer;

  /** Use createWasmTier1() / createWasmTier1Sync(). */
  constructor(ex: Tier1Exports, opts: Tier1Options) {
    checkOptions(opts);
    this.ex = ex;
    this.maxSeries = opts.maxSeries;
    this.batchCapacity = opts.batchCapacity;
    this.config = resolveTier1Config(opts.config);
    const layout: Array<[string, number, number]> = [
      ['stateSlots', ex.stateSlots(), STATE_SLOTS],
      ['stateBytes', ex.stateBytes(), STATE_BYTES],
      ['blockSize', ex.blockSize(), BLOCK_SIZE],
      ['blockCount', ex.blockCount(), BLOCK_COUNT],
      ['paramCount', ex.paramCount(), PARAM_COUNT],
      ['stateMagic', ex.stateMagic(), STATE_MAGIC],
    ];
    for (const [what, got, want] of layout) {
      if (got !== want) {
        throw new Tier1Error('WASM_INIT_FAILED', `module ${what} is ${got}, host expects ${want}: rebuild with "npm run build:wasm"`);
      }
    }
    const rc = ex.init(this.maxSeries, this.batchCapacity);
    if (rc !== 0) {
      throw new Tier1Error('WASM_INIT_FAILED', `init(${this.maxSeries}, ${this.batchCapacity}) failed: ${INIT_ERRORS[rc] ?? rc}`);
    }
    const params = encodeParams(this.config);
    for (let i = 0; i < params.length; i++) ex.setParam(i, params[i]!);
    this.out = { scores: new Float64Array(0), flags: new Uint32Array(0), lower: new Float64Array(0), upper: new Float64Array(0) };
    this.refreshViews();
  }

  /** Views are rebuilt only if the memory was replaced (it grows once, in init). */
  private refreshViews(): void {
    const buf = this.ex.memory.buffer;
    if (buf === this.buffer) return;
    this.buffer = buf;
    const cap = this.batchCapacity;
    this.ids = new Uint32Array(buf, this.ex.idsPtr() >>> 0, cap);
    this.values = new Float64Array(buf, this.ex.valuesPtr() >>> 0, cap);
    this.timestamps = new Float64Array(buf, this.ex.timestampsPtr() >>> 0, cap);
    this.out.scores = new Float64Array(buf, this.ex.scoresPtr() >>> 0, cap);
    this.out.flags = new Uint32Array(buf, this.ex.flagsPtr() >>> 0, cap);
    this.out.lower = new Float64Array(buf, this.ex.lowerPtr() >>> 0, cap);
    this.out.upper = new Float64Array(buf, this.ex.upperPtr() >>> 0, cap);
  }

  /**
   * Processes the first n samples already written into `ids`, `values` and `timestamps`.
   * Returns the number flagged. The zero-copy path.
   */
  run(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > this.batchCapacity) {
      throw new Tier1Error('BATCH_TOO_LARGE', `batch of ${n} exceeds batchCapacity ${this.batchCapacity}`);
    }
    const rc = this.ex.process(n);
    if (rc === -6) {
      let bad = -1;
      for (let i = 0; i < n; i++) {
        if (this.ids[i]! >= this.maxSeries) {
          bad = this.ids[i]!;
          break;
        }
      }
      throw new Tier1Error('BAD_SERIES_ID', `series id ${bad} is outside [0, ${this.maxSeries - 1}]`);
    }
    if (rc < 0) throw new Tier1Error('WASM_INIT_FAILED', `process(${n}) failed with code ${rc}`);
    this.lastFlagged = rc;
    return rc;
  }

  /** Convenience path: copies the inputs in (one bulk copy per array), then run(n). */
  process(ids: ArrayLike<number>, values: ArrayLike<number>, timestamps: ArrayLike<number>, n = ids.length): Tier1Outputs {
    if (n > this.batchCapacity) {
      throw new Tier1Error('BATCH_TOO_LARGE', `batch of ${n} exceeds batchCapacity ${this.batchCapacity}`);
    }
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.maxSeries) checkSlot(id, this.maxSeries);
    }
    copyInto(this.ids, ids, n);
    copyInto(this.values, values, n);
    copyInto(this.timestamps, timestamps, n);
    this.run(n);
    return this.out;
  }

  resetSeries(id: number): void {
    checkSlot(id, this.maxSeries);
    this.ex.resetSeries(id);
  }

  snapshotSeries(id: number): Uint8Array {
    checkSlot(id, this.maxSeries);
    const ptr = this.ex.statePtr(id) >>> 0;
    return new Uint8Array(this.ex.memory.buffer, ptr, STATE_BYTES).slice();
  }

  restoreSeries(id: number, bytes: Uint8Array): void {
    checkSlot(id, this.maxSeries);
    checkSnapshot(bytes);
    const ptr = this.ex.statePtr(id) >>> 0;
    new Uint8Array(this.ex.memory.buffer, ptr, STATE_BYTES).set(bytes);
  }
}

function copyInto(dst: Uint32Array | Float64Array, src: ArrayLike<number>, n: number): void {
  if ((src instanceof Float64Array || src instanceof Uint32Array) && src.length >= n) {
    dst.set(src.length === n ? src : src.subarray(0, n));
  } else {
    for (let i = 0; i < n; i++) dst[i] = src[i]!;
  }
}

function onAbort(): never {
  throw new Tier1Error('WASM_INIT_FAILED', 'the Tier-1 module aborted');
}

/** Instantiates a fresh module (each detector owns one) asynchronously. */
export async function createWasmTier1(opts: WasmTier1Options): Promise<WasmTier1> {
  checkOptions(opts);
  const bytes = loadBytes(opts);
  let ex: Tier1Exports;
  try {
    const res = await instantiate<Tier1Exports>(bytes, { env: { abort: onAbort } });
    ex = res.exports as unknown as Tier1Exports;
  } catch (cause) {
    throw new Tier1Error('WASM_LOAD_FAILED', `cannot instantiate the Tier-1 module: ${(cause as Error).message}`, { cause });
  }
  return new WasmTier1(ex, opts);
}

/** Synchronous variant, for start-up paths that cannot await. */
export function createWasmTier1Sync(opts: WasmTier1Options): WasmTier1 {
  checkOptions(opts);
  const bytes = loadBytes(opts);
  let ex: Tier1Exports;
  try {
    ex = instantiateSync<Tier1Exports>(bytes, { env: { abort: onAbort } }).exports as unknown as Tier1Exports;
  } catch (cause) {
    throw new Tier1Error('WASM_LOAD_FAILED', `cannot instantiate the Tier-1 module: ${(cause as Error).message}`, { cause });
  }
  return new WasmTier1(ex, opts);
}
