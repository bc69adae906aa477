// The four detectors on the Numenta Anomaly Benchmark, in one command (issue #7, Acceptance):
//   npm run bench:nab [-- --out <dir>]
// 1. trains Tier-2 Agile and Tier-3 Robust on the head (15%) of each bundled NAB series (NAB's
//    probationary part, which the scorer never counts) and of each series of a simulated day
//    without faults (the simulators' ob-baseline scenario, its NAB export), into a fresh model
//    registry, and promotes both;
// 2. replays tier1, tier2, tier3 and the chain over the 41 series, online (simulators/replay);
// 3. scores each with the project's NAB scorer (threshold optimised per profile, as NAB does)
//    and prints the table for bench/RESULTS.md.
// The data: ../shared/data/nab (or $AIOPS_SHARED_DATA). Progress goes to stderr.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FilesystemArtifactStore, ModelRegistry } from '../central/src/detect/registry/index.js';
import { productionModels, runReplay } from '../simulators/replay/index.js';
import { defaultNabRoot, loadDetectorResults, loadNabCorpus, loadProfiles, scoreDetector } from '../simulators/scoring/index.js';
import { train } from '../simulators/train/index.js';
import { spawnSync } from 'node:child_process';

const { values: args } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (args.help) {
  console.log('usage: npm run bench:nab [-- --out <dir>]   (trains, replays and scores tier1, tier2, tier3 and chain on ../shared/data/nab)');
  process.exit(0);
}
const root = defaultNabRoot();
const data = join(root, 'data');
const work = args.out ?? (await mkdtemp(join(tmpdir(), 'aiops-nab-tiers-')));
const registryDir = join(work, 'models');
const log = (m: string) => process.stderr.write(`${m}\n`);

const t0 = performance.now();
const sim = join(work, 'sim-baseline');
const simRun = spawnSync(process.execPath, ['--import', 'tsx', 'simulators/cli.ts', 'run', 'simulators/scenarios/ob-baseline.yaml', '--out', sim], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8' });
if (simRun.status !== 0) throw new Error(`simulating ob-baseline failed: ${simRun.stderr}`);
for (const tier of ['agile', 'robust'] as const) {
  const s = await train({ tier, data: [data, join(sim, 'nab', 'data')], out: registryDir, head: 0.15, seed: 1, maxPeriod: 400, actor: 'bench' });
  await new ModelRegistry(new FilesystemArtifactStore(registryDir)).promote(tier, s.version.version, 'production', 'bench');
  log(`trained ${tier} version ${s.version.version} on ${s.files} heads (${s.rows} rows), promoted`);
}
const models = await productionModels(registryDir);
const corpus = await loadNabCorpus(root);
const profiles = await loadProfiles(join(root, 'config', 'profiles.json'));
const rows: string[] = [];
const detectors = ['tier1', 'tier2', 'tier3', 'chain'] as const;
const table: Record<string, Record<string, { score: number; threshold: number; tp: number; fp: number; fn: number }>> = {};
for (const d of detectors) {
  const t = performance.now();
  const summary = await runReplay({ detector: d, dataDir: data, outDir: join(work, 'results') }, models);
  const results = await loadDetectorResults(join(work, 'results'), d, corpus);
  const scores = scoreDetector(results, corpus, profiles);
  table[d] = {};
  for (const [p, s] of Object.entries(scores)) table[d]![p] = { score: s.normalizedScore, threshold: s.threshold, tp: s.tp, fp: s.fp, fn: s.fn };
  log(`${d}: ${summary.rows} rows replayed and scored in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const P = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];
rows.push(`NAB scores, 41 bundled series (Tier-2/3 trained on the first 15% of each NAB file and of each series of a simulated fault-free day: agile v${models.versions.agile}, robust v${models.versions.robust})`);
rows.push('');
rows.push('| detector | standard | reward_low_FP | reward_low_FN | standard threshold | TP / FP (standard) |');
rows.push('|---|---|---|---|---|---|');
for (const d of detectors) {
  const r = table[d]!;
  rows.push(`| ${d} | ${P.map((p) => r[p]!.score.toFixed(2)).join(' | ')} | ${r['standard']!.threshold.toPrecision(4)} | ${r['standard']!.tp} / ${r['standard']!.fp} |`);
}
rows.push('');
rows.push(`(${((performance.now() - t0) / 1000).toFixed(0)} s; results under ${work})`);
console.log(rows.join('\n'));
if (args.out === undefined) await rm(work, { recursive: true, force: true });
