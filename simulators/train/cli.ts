#!/usr/bin/env node
// aiops train: fit a Tier-2 (agile) or Tier-3 (robust) model on NAB-format data, or the Tier-3
// multivariate bundle on simulator runs, and register it.
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
    'Train a detection model and register it in the model registry as a new version in stage "shadow".\n' +
      '  agile, robust: on NAB-format series (timestamp,value CSVs); only the head of each file is used\n' +
      '                (default 15%: NAB\'s probationary part).\n' +
      '  multivariate:  on simulator runs (folders with metrics.csv, from `npm run simulate -- run`): one model per\n' +
      '                service over its metrics, all services in one version; a run is used up to its first\n' +
      '                fault (ground-truth.json) and --head (default 100%).',
  )
  .argument('<tier>', 'agile (Tier-2), robust (Tier-3) or multivariate (Tier-3)')
  .requiredOption('--data <dir>', 'folder of NAB-format CSV files (agile, robust) or of simulator runs (multivariate); repeat for more', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .requiredOption('--out <registry>', 'model registry: a folder (central: <data_dir>/models) or s3://bucket/prefix (models.registry.s3)')
  .option('--s3-endpoint <url>', 'S3-compatible endpoint for an s3:// registry (default: AWS S3)')
  .option('--s3-path-style', 'path-style addressing for an s3:// registry (most S3-compatible stores)')
  .option('--head <fraction>', 'fraction of each file used, from its start (default 0.15; multivariate 1)', fraction)
  .option('--seed <n>', 'seed of the row subsample', int, 1)
  .option('--max-period <steps>', 'longest period looked for', int, 400)
  .option('--quiet', 'no per-file progress')
  .addHelpText(
    'after',
    '\nExamples:\n  npm run train -- agile --data ../shared/data/nab/data --out .aiops-central/models\n  npm run train -- robust --data ../shared/data/nab/data --data /tmp/sim/nab/data --out .aiops-central/models\n  npm run simulate -- run simulators/scenarios/ob-baseline.yaml --out /tmp/sim/baseline\n  npm run train -- multivariate --data /tmp/sim/baseline --out .aiops-central/models\n\nThen promote it: POST /api/v1/models/<tier>/<version>/promote {"to": "production"} (admin key).\n',
  )
  .showHelpAfterError();

program.parse();
const [tier] = program.args;
const o = program.opts<{ data: string[]; out: string; head?: number; seed: number; maxPeriod: number; quiet?: boolean; s3Endpoint?: string; s3PathStyle?: boolean }>();
if (tier !== 'agile' && tier !== 'robust' && tier !== 'multivariate') {
  console.error(`train: <tier> must be agile, robust or multivariate (got ${JSON.stringify(tier)})`);
  process.exit(2);
}
try {
  const t0 = performance.now();
  const head = o.head ?? (tier === 'multivariate' ? 1 : 0.15);
  const s3 = { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.s3PathStyle ? { forcePathStyle: true } : {}) };
  const s = await train({ tier, data: o.data, out: o.out, s3, head, seed: o.seed, maxPeriod: o.maxPeriod, actor: `cli:${userInfo().username}` }, (f) => {
    if (!o.quiet) process.stderr.write(`read ${f}\n`);
  });
  console.log(`registered ${tier} version ${s.version.version} (stage shadow) in ${o.out}: ${s.files} ${tier === 'multivariate' ? 'services' : 'series'}, ${s.rows} rows, data ${s.version.metadata.training.dataDigest.slice(0, 19)}..., ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`metrics: ${JSON.stringify(s.version.metadata.metrics)}`);
} catch (err) {
  const e = err as Error & { code?: string };
  console.error(`train: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
  process.exitCode = 1;
}
