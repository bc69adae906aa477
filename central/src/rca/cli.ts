// `npm run rca`: root-cause ranking of public benchmark cases offline (issue #9, Deliver 2-3),
// with the engine and `rca:` configuration of central's online path.
//
//   npm run rca -- --case <data.csv> [--detected-at <unix s>] [--topology <graph.json>] [--changes <changes.json>]
//                  [--focus <service,...>] [--method ours|baro|nsigma] [--json] [--config central.yaml]
//   npm run rca -- --petshop <scenario dir> [--method ...] [--json]
//
// --case reads RCAEval's layout (a `time` column in unix seconds, then `<service>_<metric>`
// columns); without --detected-at the case folder's inject_time.txt is used. --json prints
// {"method","detectedAt","window","ranks":[{"service","metric","score","probability","onsetAt",
// "evidence"}],"metrics":[{"service","metric","score"}]} (ranks best first, one per service).
// --petshop runs every issue of a PetShop scenario folder and prints each ranking and the
// top-1/top-3 accuracy against the dataset's root causes.
// Exit codes: 0 done, 1 bad input (the message names the file, line and column), 2 bad command line.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { CommandIo } from '../cli/io.js';
import { loadCentralConfig } from '../config/config.js';
import type { RcaConfig } from './config.js';
import { parseChanges, readJsonFile, readPetshopScenario, readRcaevalCsv, topologyFromJson } from './datasets.js';
import { RcaError } from './frame.js';
import type { RcaCase, RcaResult } from './frame.js';
import { rankCauses, rankPetshopIssue, RCA_METHODS } from './methods.js';
import type { RcaMethod } from './methods.js';

interface Options {
  case?: string;
  detectedAt?: string;
  topology?: string;
  changes?: string;
  focus?: string;
  petshop?: string;
  method: RcaMethod;
  json?: boolean;
  top: string;
  config?: string;
}

function program(io: CommandIo): Command {
  return new Command()
    .name('npm run rca --')
    .description(
      'Rank the root causes of an incident offline, with the same engine and configuration as central.\n' +
        'Input: an RCAEval case (CSV: "time" in unix seconds, then <service>_<metric> columns) or a PetShop scenario folder.',
    )
    .option('--case <file.csv>', 'an RCAEval case file')
    .option('--detected-at <unix seconds>', 'when the anomaly was detected (default: inject_time.txt beside the case file)')
    .option('--topology <file>', 'the project\'s topology document or node-link JSON {"nodes":[{"id"}],"edges":[{"source","target"}]} (source calls or runs on target)')
    .option('--changes <file>', 'change log: JSON array of {atMs|time, entity|service, kind, description} (deploys, config changes)')
    .option('--focus <services>', 'comma-separated services where the trouble shows (an incident\'s services, an SLO\'s target)')
    .option('--petshop <dir>', 'a PetShop scenario folder (graph.csv, noissue/, train/, test/): every issue is ranked and scored')
    .addOption(new Option('--method <name>', 'ranking method').choices([...RCA_METHODS]).default('ours'))
    .option('--json', 'print JSON instead of text')
    .option('--top <n>', 'causes to print (text output)', '10')
    .option('--config <central.yaml>', "central's config file: its rca: section is used (default: the built-in defaults)")
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npm run simulate -- run simulators/scenarios/ob-cpu-hog.yaml --out /tmp/ob\n' +
        '  npm run rca -- --case /tmp/ob/rcaeval/productcatalog_cpu/1/data.csv --topology /tmp/ob/topology.json\n' +
        '  npm run rca -- --case data.csv --detected-at 1709708400 --method baro --json\n' +
        '  npm run rca -- --petshop ../shared/data/rca/petshop/dataset/high_traffic\n',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function resultJson(r: RcaResult, detectedAtMs: number): unknown {
  return {
    method: r.method,
    detectedAt: iso(detectedAtMs),
    window: { from: iso(r.window.fromMs), to: iso(r.window.toMs) },
    ranks: r.causes.map((c) => ({ service: c.entity, metric: c.metric, score: round(c.score), probability: round(c.probability), onsetAt: iso(c.onsetMs), method: c.method, evidence: c.evidence })),
    metrics: r.metrics.map((m) => ({ service: m.entity, metric: m.metric, score: round(m.score) })),
  };
}

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : 0;
}

function resultText(r: RcaResult, top: number): string {
  const lines: string[] = [`method ${r.method}, window ${iso(r.window.fromMs)} .. ${iso(r.window.toMs)}`, ''];
  r.causes.slice(0, top).forEach((c, i) => {
    lines.push(`${String(i + 1).padStart(3)}. ${c.entity}  ${c.metric}  score ${c.score.toFixed(2)}  p=${c.probability.toFixed(3)}${c.onsetMs !== null ? `  onset ${iso(c.onsetMs)}` : ''}${c.method !== r.method && c.method !== 'bayesian' ? `  [${c.method}]` : ''}`);
    if (i < 3) for (const e of c.evidence) lines.push(`        - ${e}`);
  });
  return `${lines.join('\n')}\n`;
}

/** Runs the command; resolves to the exit code. */
export async function rcaCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const cmd = program(io);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = cmd.opts<Options>();
  const usage = (m: string): number => {
    io.stderr.write(`rca: ${m}\n  see npm run rca -- --help\n`);
    return 2;
  };
  if ((o.case === undefined) === (o.petshop === undefined)) return usage('give exactly one of --case <file.csv> and --petshop <dir>');
  const top = Number(o.top);
  if (!Number.isInteger(top) || top < 1) return usage(`--top must be a positive integer (got ${JSON.stringify(o.top)})`);
  try {
    const cfg = loadCentralConfig(o.config, {}).rca;
    if (o.petshop !== undefined) return petshop(o, cfg, io, top);
    const file = o.case!;
    let topology: RcaCase['topology'];
    let known: Set<string> | undefined;
    if (o.topology) {
      const t = topologyFromJson(readJsonFile(o.topology, 'topology'), o.topology);
      topology = t.topology;
      known = t.names;
    }
    let detectedSec: number;
    if (o.detectedAt !== undefined) {
      detectedSec = Number(o.detectedAt);
      if (!Number.isFinite(detectedSec) || detectedSec <= 0) return usage(`--detected-at must be unix seconds (got ${JSON.stringify(o.detectedAt)})`);
    } else {
      const inject = join(dirname(file), 'inject_time.txt');
      if (!existsSync(inject)) return usage(`--detected-at is required (no inject_time.txt beside ${file})`);
      detectedSec = Number(readFileSync(inject, 'utf8').trim());
      if (!Number.isFinite(detectedSec) || detectedSec <= 0) throw new RcaError('BAD_INPUT', `${inject}: not unix seconds`);
    }
    const frame = readRcaevalCsv(file, known);
    const changes = o.changes ? parseChanges(readJsonFile(o.changes, 'change log'), o.changes) : undefined;
    const focus = o.focus ? o.focus.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    const c: RcaCase = { frame, detectedAtMs: detectedSec * 1000, ...(topology ? { topology } : {}), ...(changes ? { changes } : {}), ...(focus ? { focus } : {}) };
    const t0 = performance.now();
    const r = rankCauses(o.method, c, cfg);
    const ms = performance.now() - t0;
    if (o.json) io.stdout.write(`${JSON.stringify(resultJson(r, c.detectedAtMs))}\n`);
    else {
      io.stdout.write(resultText(r, top));
      io.stderr.write(`ranked ${r.causes.length} services from ${frame.series.length} series x ${frame.timesMs.length} rows in ${ms.toFixed(1)} ms\n`);
    }
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e instanceof RcaError || e.name === 'CentralConfigError') {
      io.stderr.write(`rca: ${e.message}\n`);
      return 1;
    }
    throw err;
  }
}

function petshop(o: Options, cfg: RcaConfig, io: CommandIo, top: number): number {
  const s = readPetshopScenario(o.petshop!);
  const out: unknown[] = [];
  let top1 = 0;
  let top3 = 0;
  for (const issue of s.issues) {
    const { result: r, rank, detectedAtMs } = rankPetshopIssue(o.method, s, issue, cfg);
    if (rank === 1) top1++;
    if (rank >= 1 && rank <= 3) top3++;
    if (o.json) out.push({ issue: issue.name, target: { node: issue.targetNode, metric: issue.targetMetric, statistic: issue.targetStatistic }, rootCause: issue.rootCause, rank: rank || null, ...(resultJson(r, detectedAtMs) as object) });
    else {
      io.stdout.write(`== ${s.name}/${issue.name}: ${issue.targetNode} ${issue.targetMetric}-${issue.targetStatistic}; root cause ${issue.rootCause} ranked ${rank || 'absent'}\n`);
      io.stdout.write(resultText(r, Math.min(top, 5)));
    }
  }
  const n = s.issues.length;
  if (o.json) io.stdout.write(`${JSON.stringify({ scenario: s.name, method: o.method, issues: out, top1: top1 / n, top3: top3 / n })}\n`);
  else io.stdout.write(`\n${s.name}: ${n} issues, top-1 ${(top1 / n).toFixed(3)}, top-3 ${(top3 / n).toFixed(3)} (${o.method})\n`);
  return 0;
}
