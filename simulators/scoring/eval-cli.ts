/**
 * The evaluation subcommands of `npm run score`:
 *
 *   npm run score -- detection   --input <file.json>  [--early-tolerance ms] [--late-tolerance ms] [--fp-merge ms] [--json]
 *   npm run score -- correlation --alerts <file.json> [--include-noise] [--exclude-unassigned] [--json]
 *   npm run score -- rca         --cases <file.json>  [--services <name...>] [--json]
 *   npm run score -- remediation --input <file.json>  [--late-mitigation count|unmitigated] [--json]
 *
 * Each reads one JSON document (shapes in `--help` of each subcommand), scores it with the
 * matching pure scorer and prints a table (or the whole result as JSON; NaN prints as null).
 * Exit codes as the NAB command: 0 scored, 1 bad input, 2 bad command line. `cli.ts` routes
 * here when the first argument names a subcommand, so the NAB invocation is unchanged.
 */
import { readFile } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { CliIo } from './cli.js';
import { scoreCorrelation, type CorrelationScore } from './correlation.js';
import { scoreDetection, type DetectionScore } from './detection.js';
import { EvalScoringError } from './eval-errors.js';
import { scoreRca, type RcaAccuracy, type RcaScore } from './rca.js';
import { scoreRemediation, type RemediationScore } from './remediation.js';
import type { SummaryStats } from './stats.js';
import { isRecord } from './validate.js';

export const EVAL_SUBCOMMANDS = ['detection', 'correlation', 'rca', 'remediation'] as const;
export type EvalSubcommand = (typeof EVAL_SUBCOMMANDS)[number];

export function isEvalSubcommand(arg: string | undefined): arg is EvalSubcommand {
  return (EVAL_SUBCOMMANDS as readonly (string | undefined)[]).includes(arg);
}

function fmt(x: number, digits = 3): string {
  return Number.isNaN(x) ? 'n/a' : x.toFixed(digits);
}

function ms(x: number): string {
  return Number.isNaN(x) ? 'n/a' : String(Number(x.toFixed(3)));
}

/** The first `leftColumns` columns left-aligned, the rest right-aligned, two spaces apart. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  leftColumns = 1,
): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c < leftColumns ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function statsRow(name: string, s: SummaryStats): string[] {
  return [name, String(s.count), ms(s.mean), ms(s.median), ms(s.p95), ms(s.min), ms(s.max)];
}

const STATS_HEADER = ['quantity (ms)', 'count', 'mean', 'median', 'p95', 'min', 'max'];

export function formatDetectionScore(s: DetectionScore): string {
  const o = s.options;
  return [
    `Detection: ${s.events} events, ${s.detections} detections (early tolerance ${o.earlyToleranceMs} ms, ` +
      `late tolerance ${o.lateToleranceMs} ms, false alarms merged within ${o.falsePositiveMergeMs} ms)`,
    ...formatTable(
      ['detected', 'missed', 'false alarms', 'precision', 'recall', 'F1'],
      [[String(s.detectedEvents), String(s.missedEvents), String(s.falsePositives), fmt(s.precision), fmt(s.recall), fmt(s.f1)]],
    ),
    '',
    ...formatTable(STATS_HEADER, [statsRow('detection delay', s.delay)]),
    '',
    'precision = TP/(TP+FP), recall = TP/events, F1 = 2TP/(2TP+FP+FN); TP = events detected, FP = false alarms.',
    '',
  ].join('\n');
}

export function formatCorrelationScore(s: CorrelationScore): string {
  const o = s.options;
  return [
    `Correlation: ${s.alerts} alerts (${s.faultAlerts} from ${s.faults} faults, ${s.noiseAlerts} noise) in ${s.incidents} incidents; ` +
      `scored ${s.scoredAlerts} alerts (${o.includeNoise ? 'noise included' : 'fault alerts only'}, unassigned ${o.unassigned})`,
    ...formatTable(
      ['compression', 'purity', 'inv. purity', 'ARI', 'NMI', 'noise suppressed', 'fault alerts unassigned'],
      [
        [
          fmt(s.compressionRatio, 2),
          fmt(s.purity),
          fmt(s.inversePurity),
          fmt(s.ari),
          fmt(s.nmi),
          `${s.noiseSuppressed}/${s.noiseAlerts} (${fmt(s.noiseSuppressionRate)})`,
          String(s.faultAlertsUnassigned),
        ],
      ],
    ),
    '',
    'compression = alerts/incidents; NMI normalised by the arithmetic mean of the entropies (scikit-learn default).',
    '',
  ].join('\n');
}

function accuracyRow(group: string, level: string, a: RcaAccuracy): string[] {
  return [group, level, String(a.cases), fmt(a.ac1), fmt(a.ac3), fmt(a.ac5), fmt(a.avg5)];
}

export function formatRcaScore(s: RcaScore): string {
  const rows = [accuracyRow('all', 'service', s.service), accuracyRow('all', 'metric', s.metric)];
  for (const [type, l] of Object.entries(s.byFaultType)) {
    rows.push(accuracyRow(type, 'service', l.service), accuracyRow(type, 'metric', l.metric));
  }
  return [
    `RCA: ${s.cases} cases (${s.metric.cases} with a root metric)`,
    ...formatTable(['fault type', 'level', 'cases', 'AC@1', 'AC@3', 'AC@5', 'Avg@5'], rows, 2),
    '',
    'AC@k = fraction of cases with the root cause in the top k; Avg@5 = mean of AC@1..AC@5 (RCAEval).',
    '',
  ].join('\n');
}

export function formatRemediationScore(s: RemediationScore): string {
  return [
    `Remediation: ${s.faults} faults, ${s.detected} detected, ${s.acted} acted on, ${s.mitigated} mitigated, ` +
      `${s.unmitigated} unmitigated (${s.mitigatedAfterEnd} mitigated after their end, counted as ` +
      `${s.options.lateMitigation === 'count' ? 'mitigated' : 'unmitigated'}); ` +
      `spurious: ${s.spuriousRemediations} remediations, ${s.spuriousDetections} detections`,
    ...formatTable(STATS_HEADER, [
      statsRow('time to detect', s.timeToDetect),
      statsRow('time to act', s.timeToAct),
      statsRow('time to mitigate', s.timeToMitigate),
    ]),
    '',
  ].join('\n');
}

function parseMs(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`must be a number of ms >= 0 (got "${value}")`);
  }
  return n;
}

function parseLateMitigation(value: string): string {
  if (value !== 'count' && value !== 'unmitigated') {
    throw new InvalidArgumentError(`must be "count" or "unmitigated" (got "${value}")`);
  }
  return value;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new EvalScoringError('BAD_FILE', `cannot read ${file}: ${(cause as Error).message}`, { file, cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new EvalScoringError('BAD_FILE', `${file} is not JSON: ${(cause as Error).message}`, { file, cause });
  }
}

/** `{ "<key>": [...] }` or a bare array. */
function listIn(doc: unknown, key: string): unknown {
  return Array.isArray(doc) ? doc : isRecord(doc) ? doc[key] : doc;
}

function field(doc: unknown, key: string): unknown {
  return isRecord(doc) ? doc[key] : undefined;
}

interface Job {
  /** Scores the parsed command and returns what to print. */
  run(opts: Record<string, unknown>): Promise<{ report: unknown; text: string }>;
}

function subcommand(name: EvalSubcommand, io: CliIo): { command: Command; job: Job } {
  const command = new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .option('--json', 'print the whole result (per item too) as JSON');
  command.name(`npm run score -- ${name}`);
  switch (name) {
    case 'detection':
      command
        .description('Event-based detection scoring: event precision, recall, F1 and detection delay.')
        .requiredOption('--input <file>', 'JSON {"events": [{"startMs", "endMs", "series"?, "id"?}], "detections": [{"atMs", "series"?}]}')
        .option('--early-tolerance <ms>', 'a detection this long before an event start still counts', parseMs, 0)
        .option('--late-tolerance <ms>', 'a detection this long after an event end still counts', parseMs, 0)
        .option('--fp-merge <ms>', 'out-of-window detections of a series this close form one false alarm', parseMs, 0);
      return {
        command,
        job: {
          async run(o) {
            const doc = await readJson(o['input'] as string);
            const report = scoreDetection(field(doc, 'events') as never, field(doc, 'detections') as never, {
              earlyToleranceMs: o['earlyTolerance'] as number,
              lateToleranceMs: o['lateTolerance'] as number,
              falsePositiveMergeMs: o['fpMerge'] as number,
            });
            return { report, text: formatDetectionScore(report) };
          },
        },
      };
    case 'correlation':
      command
        .description('Alert-to-incident correlation scoring: compression, purity, ARI, NMI, noise suppression.')
        .requiredOption('--alerts <file>', 'JSON [{"incident": "<id>" | null, "truth": "<fault id>" | "none"}] (or {"alerts": [...]})')
        .option('--include-noise', 'score noise alerts too, each as its own true class')
        .option('--exclude-unassigned', 'leave unassigned alerts out of the clustering metrics (default: singletons)');
      return {
        command,
        job: {
          async run(o) {
            const doc = await readJson(o['alerts'] as string);
            const report = scoreCorrelation(listIn(doc, 'alerts') as never, {
              includeNoise: o['includeNoise'] === true,
              unassigned: o['excludeUnassigned'] === true ? 'exclude' : 'singleton',
            });
            return { report, text: formatCorrelationScore(report) };
          },
        },
      };
    case 'rca':
      command
        .description('Root-cause ranking scoring (RCAEval): AC@1, AC@3, AC@5, Avg@5 at service and service+metric level.')
        .requiredOption(
          '--cases <file>',
          'JSON [{"ranking": ["svc_metric" | "svc", ...], "root": {"service", "metric"?}, "faultType"?, "id"?}] (or {"cases": [...], "services"?: [...]})',
        )
        .option('--services <name...>', 'known service names, to split candidates whose service names contain "_"');
      return {
        command,
        job: {
          async run(o) {
            const doc = await readJson(o['cases'] as string);
            const services = (o['services'] as string[] | undefined) ?? field(doc, 'services');
            const report = scoreRca(listIn(doc, 'cases') as never, services === undefined ? {} : { services: services as never });
            return { report, text: formatRcaScore(report) };
          },
        },
      };
    case 'remediation':
      command
        .description('Remediation scoring: time to detect, act and mitigate per fault, unmitigated faults.')
        .requiredOption(
          '--input <file>',
          'JSON {"faults": [{"id", "onsetMs", "endMs"}], "remediations": [{"faultId" | "incidentId", "actionMs"?, "mitigatedMs"?}], ' +
            '"detections"?: [{"faultId" | "incidentId", "atMs"}], "incidentFaults"?: {"<incident>": ["<fault id>"]}}',
        )
        .option('--late-mitigation <mode>', 'a mitigation after the fault end: "count" or "unmitigated"', parseLateMitigation, 'count');
      return {
        command,
        job: {
          async run(o) {
            const report = scoreRemediation((await readJson(o['input'] as string)) as never, {
              lateMitigation: o['lateMitigation'] as never,
            });
            return { report, text: formatRemediationScore(report) };
          },
        },
      };
  }
}

/** Runs `npm run score -- <subcommand> ...` (argv[0] is the subcommand) and returns the exit code. */
export async function runEvalCli(argv: readonly string[], io: CliIo): Promise<number> {
  const name = argv[0];
  if (!isEvalSubcommand(name)) {
    io.stderr.write(`score: unknown subcommand "${String(name)}" (expected ${EVAL_SUBCOMMANDS.join(', ')})\n`);
    return 2;
  }
  const { command, job } = subcommand(name, io);
  let opts: Record<string, unknown>;
  try {
    command.parse(argv.slice(1), { from: 'user' });
    opts = command.opts();
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    throw err;
  }
  try {
    const { report, text } = await job.run(opts);
    io.stdout.write(opts['json'] === true ? `${JSON.stringify(report, null, 2)}\n` : text);
    return 0;
  } catch (err) {
    if (err instanceof EvalScoringError) {
      io.stderr.write(`score ${name}: error [${err.code}] ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
