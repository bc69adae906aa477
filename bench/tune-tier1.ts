// Scores Tier-1 configurations on the NAB corpus in memory (no files): the tool used to choose
// the defaults in wasm-detectors/src/config.ts. usage: npx tsx bench/tune-tier1.ts '<json config>' ...
import { join } from 'node:path';
import { Tier1Reference } from '../wasm-detectors/src/index.js';
import type { Tier1Config } from '../wasm-detectors/src/index.js';
import { defaultNabRoot, loadNabCorpus, loadProfiles, scoreDetector } from '../simulators/scoring/index.js';

const root = defaultNabRoot();
const corpus = await loadNabCorpus(root);
const profiles = await loadProfiles(join(root, 'config', 'profiles.json'));

export function scoreConfig(config: Partial<Tier1Config>): Record<string, number> {
  const scores = new Map<string, Float64Array>();
  for (const f of corpus.files) {
    const n = f.values.length;
    const det = new Tier1Reference({ maxSeries: 1, batchCapacity: n, config });
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) ts[i] = f.timestamps[i]! / 1000;
    const out = det.process(new Uint32Array(n), f.values, ts, n);
    scores.set(f.relativePath, Float64Array.from(out.scores.subarray(0, n)));
  }
  const res = scoreDetector({ detector: 'tier1', scores }, corpus, profiles);
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(v.normalizedScore * 100) / 100]));
}

for (const arg of process.argv.slice(2).length ? process.argv.slice(2) : ['{}']) {
  console.log(arg, JSON.stringify(scoreConfig(JSON.parse(arg))));
}

/** Per-file breakdown at the standard profile's optimal threshold (when TUNE_FILES=1). */
if (process.env.TUNE_FILES) {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as Partial<Tier1Config>;
  const scores = new Map<string, Float64Array>();
  for (const f of corpus.files) {
    const n = f.values.length;
    const det = new Tier1Reference({ maxSeries: 1, batchCapacity: n, config: cfg });
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) ts[i] = f.timestamps[i]! / 1000;
    scores.set(f.relativePath, Float64Array.from(det.process(new Uint32Array(n), f.values, ts, n).scores.subarray(0, n)));
  }
  const res = scoreDetector({ detector: 'tier1', scores }, corpus, profiles, { profileNames: ['standard'] });
  const std = res.standard!;
  console.log('threshold', std.threshold);
  for (const f of std.files) console.log(f.relativePath.padEnd(58), `${f.windowsDetected}/${f.windows}`, `fp=${f.fp}`, f.score.toFixed(2));
}
