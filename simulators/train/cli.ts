#!/usr/bin/env node
// aiops train: fit a Tier-2 (agile) or Tier-3 (robust) model on NAB-format data and register it.
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { train } from './train.js';

function fraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('must be a fraction in (0, 1]');
  return n;
}
function int(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

const program = new Command()
  .name('train')
  .description(
    'Train a detection model on NAB-format series (timestamp,value CSVs) and register it in the model registry\n' +
      'as a new version in stage "shadow". Only the head of each file is used (default 15%: NAB\'s probationary part).',
  )
  .argument('<tier>', 'agile (Tier-2) or robust (Tier-3)')
  .requiredOption('--data <dir>', 'folder of NAB-format CSV files; repeat for more', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .requiredOption('--out <dir>', 'model registry folder (central: <data_dir>/models)')
  .option('--head <fraction>', 'fraction of each file used, from its start', fraction, 0.15)
  .option('--seed <n>', 'seed of the row subsample', int, 1)
  .option('--max-period <steps>', 'longest period looked for', int, 400)
  .option('--quiet', 'no per-file progress')
  .addHelpText(
    'after',
    '\nExamples:\n  npm run train -- agile --data ../shared/data/nab/data --out .aiops-central/models\n  npm run train -- robust --data ../shared/data/nab/data --data /tmp/sim/nab/data --out .aiops-central/models\n\nThen promote it: POST /api/v1/models/<tier>/<version>/promote {"to": "production"} (admin key).\n',
  )
  .showHelpAfterError();

program.parse();
const [tier] = program.args;
const o = program.opts<{ data: string[]; out: string; head: number; seed: number; maxPeriod: number; quiet?: boolean }>();
if (tier !== 'agile' && tier !== 'robust') {
  console.error(`train: <tier> must be agile or robust (got ${JSON.stringify(tier)})`);
  process.exit(2);
}
try {
  const t0 = performance.now();
  const s = await train({ tier, data: o.data, out: o.out, head: o.head, seed: o.seed, maxPeriod: o.maxPeriod, actor: `cli:${userInfo().username}` }, (f) => {
    if (!o.quiet) process.stderr.write(`read ${f}\n`);
  });
  console.log(`registered ${tier} version ${s.version.version} (stage shadow) in ${o.out}: ${s.files} series, ${s.rows} rows, data ${s.version.metadata.training.dataDigest.slice(0, 19)}..., ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`metrics: ${JSON.stringify(s.version.metadata.metrics)}`);
} catch (err) {
  const e = err as Error & { code?: string };
  console.error(`train: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
  process.exitCode = 1;
}
