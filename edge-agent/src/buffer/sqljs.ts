// The one place that knows how sql.js is loaded. Under node (tests, `tsx`) the WASM binary is
// read from the installed package; the single-executable build embeds it as an asset and
// passes its bytes as `wasmBinary`, because a bundled binary cannot resolve node_modules.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import initSqlJs from 'sql.js';
import type { SqlJsStatic } from 'sql.js';

export type { SqlJsStatic };
export type { Database as SqlJsDatabase, Statement as SqlJsStatement } from 'sql.js';

export interface LoadSqlJsOptions {
  /** The bytes of `sql-wasm.wasm` (the single executable passes its embedded asset). */
  wasmBinary?: Uint8Array;
}

function defaultWasmBinary(): Uint8Array {
  // CommonJS bundles have __filename; under ESM import.meta.url is this module's URL.
  const base = typeof __filename === 'string' ? __filename : import.meta.url;
  return readFileSync(createRequire(base).resolve('sql.js/dist/sql-wasm.wasm'));
}

/**
 * Loads sql.js. sql.js itself instantiates its WASM module once per process and returns that
 * instance to later calls (the first caller's `wasmBinary` wins); every FrameBuffer opens its
 * own Database on it.
 */
export async function loadSqlJs(opts: LoadSqlJsOptions = {}): Promise<SqlJsStatic> {
  const wasmBinary = opts.wasmBinary ?? defaultWasmBinary();
  // sql.js copies what it needs; hand it an ArrayBuffer-backed view (Emscripten's contract).
  return initSqlJs({ wasmBinary: wasmBinary as unknown as ArrayBuffer });
}
