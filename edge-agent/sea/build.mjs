#!/usr/bin/env node
// npm run build:agent -> dist/aiops-agent: one executable that runs on a host without
// node_modules. Steps (ENGINEERING-NOTES, "Node single executable"):
//   1. esbuild bundles edge-agent/sea/entry.ts and everything it imports into one CommonJS file
//      (a SEA main script must be CommonJS on Node 20);
//   2. node --experimental-sea-config writes the preparation blob, embedding the Tier-1 and
//      sql.js WebAssembly modules as assets;
//   3. a copy of this node binary gets the blob injected with postject.
// Progress goes to stderr; the result's path and size are printed at the end.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const out = join(root, 'dist');
const work = join(out, 'agent-build');
const step = (s) => process.stderr.write(`[build:agent] ${s}\n`);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tier1Wasm = join(root, 'wasm-detectors', 'build', 'tier1.wasm');
const sqlWasm = require.resolve('sql.js/dist/sql-wasm.wasm');
if (!existsSync(tier1Wasm)) throw new Error(`${relative(root, tier1Wasm)} is missing: run npm run build:wasm first`);

/**
 * Optional peers that libraries try to require() at load time inside try/catch (ws: bufferutil,
 * utf-8-validate; debug: supports-color; pino: pino-pretty). Bundled as modules that throw, so the
 * libraries take their fallback and the executable never asks Node to load a file from disk
 * (which a single executable cannot do, and warns about on every start).
 */
const OPTIONAL_PEERS = ['bufferutil', 'utf-8-validate', 'supports-color', 'pino-pretty'];
const optionalPeersUnavailable = {
  name: 'optional-peers-unavailable',
  setup(b) {
    const filter = new RegExp(`^(${OPTIONAL_PEERS.join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'unavailable' }));
    b.onLoad({ filter: /.*/, namespace: 'unavailable' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is not part of the aiops-agent executable`)});`,
      loader: 'js',
    }));
  },
};

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

step('bundling with esbuild');
const bundle = join(work, 'aiops-agent.cjs');
const result = await build({
  entryPoints: [join(root, 'edge-agent', 'sea', 'entry.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  // snappy is a native addon: a single executable cannot load it; shared-schemas reports the
  // codec unavailable (entry.ts sets AIOPS_NO_NATIVE_ADDONS so it does not even try).
  external: ['snappy'],
  plugins: [optionalPeersUnavailable],
  define: { __AIOPS_AGENT_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': 'undefined' },
  logLevel: 'warning',
  metafile: true,
});
writeFileSync(join(work, 'meta.json'), JSON.stringify(result.metafile));
step(`bundle ${(statSync(bundle).size / 1e6).toFixed(1)} MB`);

step('writing the SEA preparation blob');
const blob = join(work, 'sea-prep.blob');
const seaConfig = join(work, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    assets: { 'tier1.wasm': tier1Wasm, 'sql-wasm.wasm': sqlWasm },
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'inherit', 'inherit'] });

step('injecting the blob into a copy of node');
const exe = join(out, 'aiops-agent');
rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
const postject = join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
try {
  // postject prints harmless ELF section warnings; show its output only when it fails
  execFileSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (err) {
  process.stderr.write(String(err.stdout ?? '') + String(err.stderr ?? ''));
  throw err;
}
step(`done: ${relative(root, exe)} (${(statSync(exe).size / 1e6).toFixed(0)} MB)`);
console.log(exe);
