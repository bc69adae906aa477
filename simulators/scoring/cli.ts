#!/usr/bin/env node
/**
 * `npm run score -- --detector <name> --results <dir> [--data <nab root>] [--json]`
 *
 * Scores a detector's NAB result files with the NAB scorer and prints one row per profile.
 * The table (or JSON) goes to stdout, progress and errors to stderr. Exit codes: 0 scored,
 * 1 scoring failed (bad or missing input), 2 bad command line.
 *
 * `npm run score -- detection|correlation|rca|remediation ...` runs the evaluation scorers
 * instead (eval-cli.ts): a first argument naming one of them is routed there, anything else is
 * the NAB command above, unchanged.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { defaultNabRoot, NAB_PROBATION_PERCENT } from './config.js';
import { NabScoringError } from './errors.js';
import { EVAL_SUBCOMMANDS, isEvalSubcommand, runEvalCli } from './eval-cli.js';
import { createNabScorer, type NabDetectorReport, type NabProgressEvent } from './nab-scorer.js';

export interface CliIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

interface CliOptions {
  readonly detector: string;
  readonly results: string;
  readonly data: string;
  readonly labels?: string;
  readonly profiles?: string;
  readonly profile?: string[];
  readonly probation: number;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

function parseFraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
    throw new InvalidArgumentError(`must be a number in [0, 1) (got "${value}")`);
  }
  return n;
}

function pad(s: string, width: number, right = false): string {
  return right ? s.padStart(width) : s.padEnd(width);
}

export function formatReport(report: NabDetectorReport): string {
  const header = ['profile', 'threshold', 'score', 'raw', 'null', 'TP', 'FP', 'FN', 'windows'];
  const rows = Object.values(report.profiles).map((p) => [
    p.profile,
    String(Number(p.threshold.toPrecision(12))),
    Number.isNaN(p.normalizedScore) ? 'n/a' : p.normalizedScore.toFixed(2),
    p.rawScore.toFixed(3),
    p.nullScore.toFixed(3),
    String(p.tp),
    String(p.fp),
    String(p.fn),
    `${p.windowsDetected}/${p.windows}`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, c) => pad(cell, widths[c]!, c > 0)).join('  ');
  return [
    `NAB scores for detector "${report.detector}" (${report.files} files, ${report.windows} windows, ` +
      `probation ${(report.probationPercent * 100).toFixed(0)}%)`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    'score = 100 * (raw - null) / (perfect - null), threshold optimised per profile over the corpus.',
    'TP/FP/FN count rows after the probationary period (NAB convention); windows = detected/scored.',
    '',
  ].join('\n');
}

function progressPrinter(io: CliIo): (e: NabProgressEvent) => void {
  return (e) => {
    if (e.phase === 'scoring') {
      io.stderr.write(`scoring ${e.detector}: profiles ${e.profiles.join(', ')}\n`);
    } else if (e.done === e.total || e.done % 10 === 0) {
      const what = e.phase === 'corpus' ? 'data files' : 'result files';
      io.stderr.write(`loaded ${e.done}/${e.total} ${what}\n`);
    }
  };
}

export function buildProgram(io: CliIo): Command {
  return new Command()
    .name('npm run score --')
    .description(
      'Score a detector on the Numenta Anomaly Benchmark (NAB) with a reimplementation of the ' +
        'official scorer: threshold optimised per profile over the whole corpus, scores ' +
        'normalised so the null detector gets 0 and a perfect detector 100.',
    )
    .requiredOption('--detector <name>', 'detector name; result files are <results>/<name>/<category>/<name>_<file>.csv')
    .requiredOption('--results <dir>', 'results root holding one folder per detector (NAB layout)')
    .option(
      '--data <dir>',
      'NAB root holding data/, labels/combined_windows.json and config/profiles.json',
      defaultNabRoot(io.env),
    )
    .option('--labels <path>', 'anomaly windows file (default <data>/labels/combined_windows.json)')
    .option('--profiles <path>', 'profiles file (default <data>/config/profiles.json)')
    .option('--profile <name...>', 'score only these profiles (default: all in the profiles file)')
    .option('--probation <fraction>', 'probationary fraction of each file', parseFraction, NAB_PROBATION_PERCENT)
    .option('--json', 'print the full report (with per-file scores) as JSON')
    .option('--quiet', 'no progress output on stderr')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npm run score -- --detector numenta --results ../shared/data/nab/results\n' +
        '  npm run score -- --detector mine --results out/nab --json > mine.json\n' +
        '\nThe default --data is $AIOPS_SHARED_DATA/nab, else <repo>/../shared/data/nab.\n' +
        `\nEvaluation scorers (each has --help): npm run score -- <${EVAL_SUBCOMMANDS.join('|')}> ...\n` +
        '  npm run score -- rca --cases cases.json\n',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
}

/** Runs the CLI and returns the exit code (never calls process.exit). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (isEvalSubcommand(argv[0])) return runEvalCli(argv, io);
  const program = buildProgram(io);
  let opts: CliOptions;
  try {
    program.parse([...argv], { from: 'user' });
    opts = program.opts<CliOptions>();
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    throw err;
  }
  try {
    const scorer = createNabScorer(
      {
        nabRoot: opts.data,
        ...(opts.labels === undefined ? {} : { labelsPath: opts.labels }),
        ...(opts.profiles === undefined ? {} : { profilesPath: opts.profiles }),
        probationPercent: opts.probation,
        ...(opts.profile === undefined ? {} : { profiles: opts.profile }),
      },
      opts.quiet === true ? {} : { onProgress: progressPrinter(io) },
    );
    const report = await scorer.scoreResults(opts.detector, opts.results);
    io.stdout.write(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } catch (err) {
    if (err instanceof NabScoringError) {
      io.stderr.write(`score: error [${err.code}] ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`score: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
