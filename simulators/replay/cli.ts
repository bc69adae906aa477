#!/usr/bin/env node
// aiops replay: run a detector offline over NAB-format CSVs and write NAB result files.
import { Command, InvalidArgumentError } from 'commander';
import { productionModels, REPLAY_DETECTORS, runReplay } from './index.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command()
  .name('replay')
  .description(
    'Run a detector online over every NAB-format CSV (timestamp,value) under --data, recursively, and write\n' +
      '<out>/<detector>/<category>/<detector>_<name>.csv with timestamp,value,anomaly_score.',
  )
  .requiredOption('--detector <name>', `detector to run: ${Object.keys(REPLAY_DETECTORS).join(' | ')}`)
  .requiredOption('--data <dir>', 'folder of NAB-format CSV files')
  .requiredOption('--out <dir>', 'output folder')
  .option('--max-file-bytes <n>', 'refuse input files larger than this', positiveInt, 256 * 1024 * 1024)
  .option('--models <dir>', 'model registry folder: Tier-2/3 use its production versions (default: the built-in, untrained models)')
  .option('--quiet', 'no per-file progress')
  .addHelpText('after', '\nExamples:\n  npm run replay -- --detector tier1 --data ../shared/data/nab/data --out /tmp/nab-results\n  npm run replay -- --detector chain --models .aiops-central/models --data ../shared/data/nab/data --out /tmp/nab-results\n')
  .showHelpAfterError();

program.parse();
const o = program.opts<{ detector: string; data: string; out: string; maxFileBytes: number; models?: string; quiet?: boolean }>();

try {
  const summary = await runReplay(
    { detector: o.detector, dataDir: o.data, outDir: o.out, maxFileBytes: o.maxFileBytes },
    o.models === undefined ? {} : await productionModels(o.models),
    {
      onFile: (done, total, f) => {
        if (!o.quiet) process.stderr.write(`[${done}/${total}] ${f.relPath} (${f.rows} rows, max score ${f.maxScore.toFixed(3)})\n`);
      },
    },
  );
  const rate = summary.rows / Math.max(summary.elapsedMs / 1000, 1e-9);
  console.log(
    `replayed ${summary.files.length} files, ${summary.rows} rows with ${summary.detector} in ${(summary.elapsedMs / 1000).toFixed(2)} s ` +
      `(${Math.round(rate)} rows/s); results under ${o.out}/${summary.detector}/`,
  );
} catch (err) {
  const e = err as Error & { code?: string };
  console.error(`replay: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
  process.exitCode = 1;
}
