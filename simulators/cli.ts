#!/usr/bin/env node
/**
 * `npm run simulate -- <command>`: the simulators' command line.
 *
 *   run <scenario.yaml> --out <dir>   simulate a scenario and write every export
 *   validate <scenario.yaml...>       check scenario files (targets included) without running
 *   list                              the scenarios shipped in simulators/scenarios
 *   topology                          print a generated topology document
 *
 * Progress and errors go to stderr, results to stdout. Exit codes: 0 done, 1 the scenario or
 * a write failed, 2 bad command line. More subcommands (and extra scenario writers, such as
 * the alert-storm export) plug in through buildSimulateProgram's `extra` argument.
 */
import { realpathSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ExportError } from './exports/index.js';
import { FaultError } from './faults/index.js';
import { MetricsError } from './metrics/index.js';
import { PRESET_NAMES, TopologyError, generateTopology, listPresets } from './topology/index.js';
import type { TopologySpecInput } from './topology/index.js';
import { ScenarioError, formatDuration, listShippedScenarios, loadScenarioFile, prepareScenario, runScenario } from './scenario/index.js';
import type { ScenarioWriter } from './scenario/index.js';
import { AlertStormError, generateAlertStorm, writeAlertStorm } from './alerts/index.js';
import { virtualAgentsCommand } from './agents/index.js';
import { fleetCommand } from './fleet/index.js';

/**
 * The alert-storm export of every `run`: the scenario's `alerts:` section (rules, routing,
 * noise; simulators/alerts/config.ts) evaluated over the simulated metrics, written under
 * `<out>/alerts/` as Alertmanager webhook v4 notifications plus the flat alert list with truth.
 */
export const alertStormWriter: ScenarioWriter = {
  name: 'alert-storm',
  async write(ctx) {
    const storm = generateAlertStorm(ctx.metrics, ctx.groundTruth, ctx.topology, ctx.scenario.alerts ?? {});
    const files = await writeAlertStorm(storm, join(ctx.outDir, 'alerts'));
    return Object.values(files).map((f) => relative(ctx.outDir, f));
  },
};

export interface CliIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

export interface SimulateCliExtensions {
  /** Further subcommands, added after the built-in ones (e.g. `alerts`). */
  commands?: readonly Command[];
  /** Extra writers every `run` hands the finished simulation to (e.g. the alert-storm export). */
  writers?: readonly ScenarioWriter[];
}

const KNOWN_ERRORS = [ScenarioError, TopologyError, MetricsError, FaultError, ExportError, AlertStormError] as const;

function isKnown(err: unknown): err is Error & { code: string } {
  return KNOWN_ERRORS.some((C) => err instanceof C);
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n > 0xffff_ffff) throw new InvalidArgumentError(`must be an integer 0..4294967295 (got "${v}")`);
  return n;
}

function positiveInt(v: string): number {
  const n = nonNegativeInt(v);
  if (n === 0) throw new InvalidArgumentError(`must be a positive integer (got "${v}")`);
  return n;
}

/**
 * Builds the `simulate` program. Actions set `state.code`; nothing calls process.exit, so the
 * program can run inside tests and inside other tools.
 */
export function buildSimulateProgram(io: CliIo, extra: SimulateCliExtensions = {}, state: { code: number } = { code: 0 }): Command {
  const fail = (err: unknown): void => {
    if (isKnown(err)) {
      io.stderr.write(`simulate: error [${err.code}] ${err.message}\n`);
      state.code = 1;
      return;
    }
    throw err;
  };
  const program = new Command()
    .name('npm run simulate --')
    .description('Simulate microservice systems with faults and exact ground truth; export NAB and RCAEval data sets.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();

  program
    .command('run')
    .description('simulate a scenario and write topology.json, ground-truth.json, changes.json, metrics.csv, nab/ and rcaeval/ under --out')
    .argument('<scenario>', 'scenario YAML file (see simulators/scenarios/)')
    .requiredOption('--out <dir>', 'output folder (empty, new, or a previous run of the simulator)')
    .option('--seed <n>', 'override the scenario seed', nonNegativeInt)
    .option('--quiet', 'no progress lines on stderr')
    .addHelpText('after', '\nExample:\n  npm run simulate -- run simulators/scenarios/ob-cpu-hog.yaml --out /tmp/ob-cpu-hog\n')
    .action(async (file: string, o: { out: string; seed?: number; quiet?: boolean }) => {
      try {
        const scenario = await loadScenarioFile(file);
        if (o.seed !== undefined) scenario.seed = o.seed;
        const summary = await runScenario(scenario, o.out, {
          ...(o.quiet === true ? {} : { onProgress: (e) => io.stderr.write(`[${e.phase}] ${e.message}\n`) }),
          extraWriters: extra.writers ?? [],
        });
        const lines = [
          `scenario ${summary.scenario} (seed ${summary.seed}): ${summary.topology.name}, ${summary.topology.workloads} workloads on ${summary.topology.hosts} hosts`,
          `${summary.series} series x ${summary.steps} steps of ${formatDuration(summary.stepMs)}; ${summary.benignEvents} benign event(s)`,
          ...summary.faults.map((f) => `fault ${f.id}: ${f.type} at ${f.root}, ${new Date(f.onsetMs).toISOString()} .. ${new Date(f.endMs).toISOString()}, ${f.affected} affected entities`),
          `${summary.nabWindows} NAB window(s), ${summary.rcaevalCases} RCAEval case(s), ${summary.files.length} files under ${o.out}`,
        ];
        io.stdout.write(`${lines.join('\n')}\n`);
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('validate')
    .description('validate scenario files: fields, durations, topology, fault targets (nothing is simulated)')
    .argument('<scenarios...>', 'scenario YAML files')
    .action(async (files: string[]) => {
      for (const file of files) {
        try {
          const p = prepareScenario(await loadScenarioFile(file));
          io.stdout.write(`ok ${file}: ${p.scenario.name}, ${p.topology.name}, ${p.model.length} steps, ${p.scenario.faults.length} fault(s)\n`);
        } catch (err) {
          fail(err);
        }
      }
    });

  program
    .command('list')
    .description('list the scenarios shipped in simulators/scenarios')
    .action(async () => {
      try {
        for (const file of await listShippedScenarios()) {
          const s = await loadScenarioFile(file);
          const topo = s.topology.preset ?? `random ${s.topology.random?.services} services`;
          const faults = s.faults.map((f) => f.type).join(', ') || 'no faults';
          io.stdout.write(`${basename(file).padEnd(34)} ${topo.padEnd(18)} ${formatDuration(s.durationMs).padEnd(6)} ${faults}\n`);
        }
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('topology')
    .description('print a generated topology document (JSON) to stdout')
    .option('--preset <name>', `one of ${PRESET_NAMES.join(', ')}`)
    .option('--services <n>', 'random layered graph with n services', positiveInt)
    .option('--fan-out <n>', 'random graph: most calls per node', positiveInt, 3)
    .option('--queues <n>', 'random graph: queues', nonNegativeInt, 0)
    .option('--hosts <n>', 'hosts to place the workloads on', positiveInt)
    .option('--seed <n>', 'seed', nonNegativeInt, 1)
    .addHelpText('after', `\nPresets:\n${listPresets().map((p) => `  ${p.name.padEnd(16)} ${p.nodeCount} nodes  ${p.description}`).join('\n')}\n`)
    .action((o: { preset?: string; services?: number; fanOut: number; queues: number; hosts?: number; seed: number }) => {
      try {
        const spec: Record<string, unknown> = {};
        if (o.preset !== undefined) spec.preset = o.preset;
        if (o.services !== undefined) spec.random = { services: o.services, fanOut: o.fanOut, queues: o.queues };
        if (o.hosts !== undefined) spec.hosts = o.hosts;
        io.stdout.write(`${JSON.stringify(generateTopology(spec as TopologySpecInput, o.seed), null, 2)}\n`);
      } catch (err) {
        fail(err);
      }
    });

  for (const c of extra.commands ?? []) program.addCommand(c);
  return program;
}

/** Runs the CLI and returns the exit code (never calls process.exit). */
export async function runSimulateCli(argv: readonly string[], io: CliIo, extra: SimulateCliExtensions = {}): Promise<number> {
  const state = { code: 0 };
  const program = buildSimulateProgram(io, extra, state);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    throw err;
  }
  return state.code;
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

/**
 * What `npm run simulate` runs with. Hook point: further subcommands and scenario writers (the
 * alert-storm export: a ScenarioWriter calling generateAlertStorm(ctx.metrics, ctx.groundTruth,
 * ctx.topology, ctx.scenario.alerts) and writing under ctx.outDir) are registered here.
 */
export const DEFAULT_EXTENSIONS: SimulateCliExtensions = { commands: [virtualAgentsCommand(), fleetCommand()], writers: [alertStormWriter] };

if (isMain()) {
  runSimulateCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, DEFAULT_EXTENSIONS).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`simulate: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
