// Tier-1 configurations scored on the NAB corpus in memory: the tool that chose the defaults in
// wasm-detectors/src/config.ts, and the check of how much of that is fitted to NAB.
//
//   npx tsx bench/tune-tier1.ts                       scores of the defaults, three profiles
//   npx tsx bench/tune-tier1.ts '{"alpha":0.05}' ...  scores of configurations (JSON overrides)
//   npx tsx bench/tune-tier1.ts --files '{...}'       per-file breakdown at the standard optimum
//   npx tsx bench/tune-tier1.ts --search [--start '{...}']
//        coordinate search over the grid below (objective: standard + 0.2 * (low FP + low FN))
//   npx tsx bench/tune-tier1.ts --cv [--start '{...}']
//        2-fold check: search on half of the files, score the other half, both ways
//
// The data: ../shared/data/nab (or $AIOPS_SHARED_DATA). Progress goes to stderr.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TIER1_CONFIG, Tier1Reference } from '../wasm-detectors/src/index.js';
import type { Tier1Config } from '../wasm-detectors/src/index.js';
import { defaultNabRoot, loadNabCorpus, loadProfiles, scoreDetector } from '../simulators/scoring/index.js';
import type { NabCorpus } from '../simulators/scoring/index.js';

type Overrides = Partial<Record<keyof Tier1Config, number>>;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    files: { type: 'boolean' },
    search: { type: 'boolean' },
    cv: { type: 'boolean' },
    start: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: npx tsx bench/tune-tier1.ts [--files | --search | --cv] [--start JSON] [JSON config ...]');
  process.exit(0);
}

const root = defaultNabRoot();
const corpus = await loadNabCorpus(root);
const profiles = await loadProfiles(join(root, 'config', 'profiles.json'));

function detect(c: NabCorpus, config: Overrides): Map<string, Float64Array> {
  const scores = new Map<string, Float64Array>();
  for (const f of c.files) {
    const n = f.values.length;
    const det = new Tier1Reference({ maxSeries: 1, batchCapacity: n, config });
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) ts[i] = f.timestamps[i]! / 1000; // scorer keeps microseconds
    scores.set(f.relativePath, Float64Array.from(det.process(new Uint32Array(n), f.values, ts, n).scores.subarray(0, n)));
  }
  return scores;
}

function scoreOn(c: NabCorpus, config: Overrides): Record<string, number> {
  const res = scoreDetector({ detector: 'tier1', scores: detect(c, config) }, c, profiles);
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(v.normalizedScore * 100) / 100]));
}

const objective = (s: Record<string, number>): number => s.standard! + 0.2 * (s.reward_low_FP_rate! + s.reward_low_FN_rate!);

const GRID: Partial<Record<keyof Tier1Config, number[]>> = {
  alpha: [0.01, 0.02, 0.03, 0.05, 0.08],
  warmup: [64, 150, 300, 600],
  quantileLow: [0, 0.05, 0.1, 0.2],
  quantileHigh: [0.8, 0.9, 1],
  bandWidth: [1, 2, 3, 4],
  lagBlocks: [0, 1, 2, 3],
  zThreshold: [1, 2, 3],
  zClamp: [6, 8, 12, 16, 24],
  cusumDrift: [0.5, 1, 2, 3],
  cusumThreshold: [8, 12, 16],
  spreadFloorRel: [0.001, 0.01, 0.05, 0.1, 0.2],
  bandWeight: [0.5, 1, 2, 4],
  zWeight: [0.25, 0.5, 1],
  cusumWeight: [0, 0.5, 1],
  recordBlock: [24, 36, 42, 48, 64],
  noveltyWeight: [0.5, 1, 2, 3, 5],
};

function search(c: NabCorpus, start: Overrides, label: string): Overrides {
  let best = { ...start };
  let bestScore = objective(scoreOn(c, best));
  for (let pass = 0; pass < 3; pass++) {
    let improved = false;
    for (const [k, vals] of Object.entries(GRID) as Array<[keyof Tier1Config, number[]]>) {
      for (const v of vals) {
        if ((best[k] ?? DEFAULT_TIER1_CONFIG[k]) === v) continue;
        const cand = { ...best, [k]: v };
        const s = objective(scoreOn(c, cand));
        if (s > bestScore + 1e-9) {
          bestScore = s;
          best = cand;
          improved = true;
          process.stderr.write(`[${label}] pass ${pass} ${k}=${v} objective ${s.toFixed(2)}\n`);
        }
      }
    }
    if (!improved) break;
  }
  return best;
}

const start = JSON.parse(args.start ?? '{}') as Overrides;

if (args.search) {
  const best = search(corpus, start, 'all');
  console.log(JSON.stringify(best), JSON.stringify(scoreOn(corpus, best)));
} else if (args.cv) {
  const folds: NabCorpus[] = [0, 1].map((k) => {
    const files = corpus.files.filter((_, i) => i % 2 === k);
    return { ...corpus, files, windowCount: files.reduce((a, f) => a + f.windows.length, 0) };
  });
  for (const [train, test] of [[0, 1], [1, 0]] as const) {
    const best = search(folds[train]!, start, `fold ${train}`);
    console.log(
      `tuned on fold ${train} (${folds[train]!.files.length} files): held-out fold ${test} ${JSON.stringify(scoreOn(folds[test]!, best))}, ` +
        `shipped defaults on fold ${test} ${JSON.stringify(scoreOn(folds[test]!, {}))}, start point on fold ${test} ${JSON.stringify(scoreOn(folds[test]!, start))}`,
    );
  }
} else if (args.files) {
  const cfg = JSON.parse(positionals[0] ?? '{}') as Overrides;
  const res = scoreDetector({ detector: 'tier1', scores: detect(corpus, cfg) }, corpus, profiles, { profileNames: ['standard'] });
  const std = res.standard!;
  console.log(`standard ${std.normalizedScore.toFixed(2)} at threshold ${std.threshold}`);
  for (const f of std.files) console.log(f.relativePath.padEnd(58), `${f.windowsDetected}/${f.windows}`, `fp=${f.fp}`, f.score.toFixed(2));
} else {
  for (const arg of positionals.length ? positionals : ['{}']) console.log(arg, JSON.stringify(scoreOn(corpus, JSON.parse(arg) as Overrides)));
}
