// Entry point of the single executable (dist/aiops-agent). The WebAssembly modules travel inside
// the executable as SEA assets; everything else is in the esbuild bundle. Outside a single
// executable (e.g. running the bundle with node) the assets are read from the build instead.
import { getAsset, isSea } from 'node:sea';
import { main } from '../src/main.js';
import type { AgentAssets } from '../src/components.js';

// A single executable cannot load native addons: shared-schemas then skips the optional snappy
// addon instead of trying (and making Node warn). Read lazily, at first codec use.
process.env.AIOPS_NO_NATIVE_ADDONS = '1';

function assets(): AgentAssets {
  if (!isSea()) return {};
  return {
    tier1Wasm: new Uint8Array(getAsset('tier1.wasm')),
    sqlWasm: new Uint8Array(getAsset('sql-wasm.wasm')),
  };
}

main(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env }, assets()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`aiops-agent: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
