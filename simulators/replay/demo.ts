#!/usr/bin/env node
// npm start (at this stage of the project): replays Tier-1 (the WebAssembly build) over a seeded
// sample series with four known incidents and prints what it flagged, next to what was injected.
// Later issues make `npm start` run the platform itself.

import { Command, InvalidArgumentError } from 'commander';
import { createWasmTier1Sync, FLAG_ANOMALY, FLAG_INVALID, FLAG_LEVEL_SHIFT } from '../../wasm-detectors/src/index.js';
import { makeSampleSeries } from './sample-series.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command()
  .name('aiops-demo')
  .description('Replay the Tier-1 WebAssembly detector over a generated sample series and print what it flagged.')
  .option('--seed <n>', 'seed of the sample series', positiveInt, 7)
  .option('--days <n>', 'days of one-minute samples', positiveInt, 4)
  .showHelpAfterError();
program.parse();
const opts = program.opts<{ seed: number; days: number }>();

const series = makeSampleSeries(opts.seed, opts.days);
const n = series.values.length;
const det = createWasmTier1Sync({ maxSeries: 1, batchCapacity: n });
// Zero-copy path: write straight into the module's input views, run, read the output views.
det.ids.fill(0, 0, n);
det.values.set(series.values);
det.timestamps.set(series.timestamps);
det.run(n);
const { scores, flags, lower, upper } = det.out;

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
console.log(`Tier-1 (WebAssembly) over "${series.name}": ${n} one-minute samples, ${opts.days} days, seed ${opts.seed}`);
console.log('\nInjected incidents:');
for (const inc of series.incidents) console.log(`  ${iso(series.timestamps[inc.start]!)}  ${inc.kind.padEnd(12)} ${inc.description}`);

console.log('\nFlagged samples (Tier-1 is tuned for recall; central tiers confirm before anything pages):');
console.log('  time              value   score  expected band      why');
let flagged = 0;
let invalid = 0;
const hit = new Set<number>();
for (let i = 0; i < n; i++) {
  const f = flags[i]!;
  if (f & FLAG_INVALID) invalid++;
  if (!(f & FLAG_ANOMALY)) continue;
  flagged++;
  const v = series.values[i]!;
  const band = `[${lower[i]!.toFixed(1)}, ${upper[i]!.toFixed(1)}]`;
  const why = [v > upper[i]! ? 'above band' : v < lower[i]! ? 'below band' : 'far from the EWMA mean', f & FLAG_LEVEL_SHIFT ? 'level shift (CUSUM)' : ''].filter(Boolean).join(', ');
  const inc = series.incidents.findIndex((x) => i >= x.start - 5 && i < x.start + x.length + 60);
  if (inc >= 0) hit.add(inc);
  console.log(`  ${iso(series.timestamps[i]!)}  ${v.toFixed(1).padStart(5)}  ${scores[i]!.toFixed(3)}  ${band.padEnd(17)}  ${why}${inc >= 0 ? `  <- ${series.incidents[inc]!.kind}` : ''}`);
}
console.log(
  `\n${flagged} samples flagged out of ${n}; ${invalid} invalid (NaN) samples skipped without disturbing the baseline; ` +
    `${hit.size} of the ${series.incidents.filter((x) => x.kind !== 'missing-data').length} anomalous incidents caught.`,
);
console.log('Next: npm run replay -- --detector tier1 --data ../shared/data/nab/data --out /tmp/nab  (then npm run score -- --detector tier1 --results /tmp/nab)');
