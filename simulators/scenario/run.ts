// Running a scenario: validate everything (topology, options, faults and their targets) before
// writing anything, simulate, then hand the results to the writers: the run's JSON documents,
// the wide metrics CSV, the NAB corpus, the RCAEval cases, and any extra writers the caller
// plugs in (the alert-storm export is one: see ScenarioWriter).
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Rng } from '../model/index.js';
import type { GroundTruth, SimMetrics, TopologyDocument } from '../model/index.js';
import { createMetricModel } from '../metrics/index.js';
import type { ChangeEvent, MetricModel } from '../metrics/index.js';
import { injectFaults, resolveFaults } from '../faults/index.js';
import { generateTopology } from '../topology/index.js';
import { jsonText, writeChangesJson, writeGroundTruthJson, writeMetricsCsv, writeNabCorpus, writeRcaevalCases, writeText, writeTopologyJson } from '../exports/index.js';
import type { Scenario } from './config.js';
import { ScenarioError } from './errors.js';

/** What a writer gets: the whole run, and its own seeded randomness. */
export interface ScenarioRunContext {
  scenario: Scenario;
  outDir: string;
  topology: TopologyDocument;
  metrics: SimMetrics;
  groundTruth: GroundTruth;
  changes: ChangeEvent[];
  /** `new Rng(scenario.seed).fork("writer:<name>")`: the same seed gives the same draws. */
  rng: Rng;
}

/**
 * An extra output of a scenario run, written after the built-in ones. The alert-storm
 * generator plugs in here (it reads `ctx.scenario.alerts`, the file's `alerts:` section as
 * written). A writer must be deterministic: same context, same bytes.
 */
export interface ScenarioWriter {
  /** Short name for progress lines and the manifest, e.g. "alert-storm". */
  name: string;
  /** Writes under ctx.outDir; returns the written paths relative to it. */
  write(ctx: ScenarioRunContext): Promise<string[]>;
}

export interface ScenarioProgress {
  phase: 'topology' | 'simulate' | 'write' | 'done';
  message: string;
}

export interface RunScenarioOptions {
  onProgress?: (e: ScenarioProgress) => void;
  /** Writers run after the built-in exports, in order. */
  extraWriters?: readonly ScenarioWriter[];
}

export interface ScenarioSummary {
  scenario: string;
  seed: number;
  topology: { name: string; workloads: number; hosts: number };
  steps: number;
  stepMs: number;
  series: number;
  faults: Array<{ id: string; type: string; root: string; onsetMs: number; endMs: number; affected: number }>;
  benignEvents: number;
  nabWindows: number;
  rcaevalCases: number;
  /** Every file written, relative to the output folder, sorted. */
  files: string[];
  elapsedMs: number;
}

/** Top-level names a run writes besides what writers report. */
const MANIFEST = 'manifest.json';

/** A prepared run: everything validated and built, nothing written. */
export interface PreparedScenario {
  scenario: Scenario;
  topology: TopologyDocument;
  model: MetricModel;
}

/**
 * Builds the topology and the metric model and resolves every fault against them, so that
 * `validate` finds every problem a run would (unknown targets included) without simulating.
 */
export function prepareScenario(scenario: Scenario): PreparedScenario {
  const wrap = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (cause) {
      if (cause instanceof ScenarioError) throw cause;
      const e = cause as Error;
      throw new ScenarioError('BAD_SCENARIO', `scenario ${scenario.name}: ${what}: ${e.message}`, { cause });
    }
  };
  let topology!: TopologyDocument;
  let model!: MetricModel;
  wrap('topology', () => {
    topology = generateTopology(scenario.topology, scenario.seed);
  });
  wrap('metrics', () => {
    model = createMetricModel(
      topology,
      { startMs: scenario.startMs, stepMs: scenario.stepMs, durationMs: scenario.durationMs, noise: scenario.noise, hopLagSteps: scenario.hopLagSteps, benign: scenario.benign },
      scenario.seed,
    );
  });
  wrap('faults', () => {
    resolveFaults(model, scenario.faults);
  });
  return { scenario, topology, model };
}

async function prepareOutDir(outDir: string): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(outDir)).isDirectory()) throw new ScenarioError('OUT_DIR_NOT_EMPTY', `output ${outDir} exists and is not a folder`);
    entries = await readdir(outDir);
  } catch (err) {
    if (err instanceof ScenarioError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ScenarioError('IO', `cannot read output folder ${outDir}: ${(err as Error).message}`, { cause: err });
  }
  if (entries.length === 0) return;
  // A previous run's folder is replaced: remove exactly the top-level entries its manifest lists.
  let previous: { outputs?: unknown };
  try {
    previous = JSON.parse(await readFile(join(outDir, MANIFEST), 'utf8')) as { outputs?: unknown };
  } catch {
    throw new ScenarioError('OUT_DIR_NOT_EMPTY', `output folder ${outDir} is not empty and holds no simulator ${MANIFEST}: choose an empty or new folder`);
  }
  const outputs = Array.isArray(previous.outputs) ? previous.outputs.filter((x): x is string => typeof x === 'string' && x !== '' && !x.includes('/') && !x.includes('\\') && x !== '..' && x !== '.') : [];
  for (const name of [...outputs, MANIFEST]) await rm(join(outDir, name), { recursive: true, force: true });
}

/** Runs a validated scenario and writes every export under outDir. */
export async function runScenario(scenario: Scenario, outDir: string, options: RunScenarioOptions = {}): Promise<ScenarioSummary> {
  const began = performance.now();
  const progress = (phase: ScenarioProgress['phase'], message: string): void => options.onProgress?.({ phase, message });
  const names = new Set<string>();
  for (const w of options.extraWriters ?? []) {
    if (names.has(w.name)) throw new ScenarioError('BAD_SCENARIO', `two extra writers are named ${JSON.stringify(w.name)}`);
    names.add(w.name);
  }

  const { topology, model } = prepareScenario(scenario);
  const g = model.graph;
  progress('topology', `topology ${topology.name}: ${g.workloads.length} workloads on ${g.hosts.length} hosts, ${topology.edges.length} edges`);
  progress('simulate', `simulating ${model.length} steps of ${scenario.stepMs / 1000} s with ${scenario.faults.length} fault(s)`);
  const run = injectFaults(model, scenario.faults, { scenario: scenario.name, minEffect: scenario.minEffect });
  progress('simulate', `simulated ${run.metrics.series.length} series; ${run.groundTruth.benign.length} benign event(s)`);

  await prepareOutDir(outDir);
  const files: string[] = [];
  const outputs: string[] = [];
  const track = (top: string, written: readonly string[]): void => {
    if (!outputs.includes(top)) outputs.push(top);
    files.push(...written);
  };
  await writeText(join(outDir, 'scenario.json'), jsonText({ ...scenario }));
  track('scenario.json', ['scenario.json']);
  await writeTopologyJson(join(outDir, 'topology.json'), topology);
  track('topology.json', ['topology.json']);
  await writeGroundTruthJson(join(outDir, 'ground-truth.json'), run.groundTruth);
  track('ground-truth.json', ['ground-truth.json']);
  await writeChangesJson(join(outDir, 'changes.json'), run.changes);
  track('changes.json', ['changes.json']);
  progress('write', 'wrote scenario.json, topology.json, ground-truth.json, changes.json');
  if (scenario.exports.metricsCsv) {
    await writeMetricsCsv(join(outDir, 'metrics.csv'), run.metrics);
    track('metrics.csv', ['metrics.csv']);
    progress('write', `wrote metrics.csv (${run.metrics.series.length} columns x ${run.metrics.length} rows)`);
  }
  let nabWindows = 0;
  if (scenario.exports.nab.enabled) {
    const nab = await writeNabCorpus(join(outDir, 'nab'), run.metrics, run.groundTruth, scenario.name, scenario.exports.nab);
    track('nab', nab.files.map((f) => posix.join('nab', f)));
    nabWindows = nab.windowCount;
    progress('write', `wrote nab/: ${nab.series.length} series, ${nab.windowCount} labelled window(s)`);
  }
  let rcaevalCases = 0;
  if (scenario.exports.rcaeval.enabled) {
    const rc = await writeRcaevalCases(join(outDir, 'rcaeval'), run.metrics, run.groundTruth, scenario.exports.rcaeval);
    track('rcaeval', rc.files.map((f) => posix.join('rcaeval', f)));
    rcaevalCases = rc.cases.length;
    progress('write', `wrote rcaeval/: ${rc.cases.length} case(s)`);
  }
  // Hook point for further exports (the alert-storm generator): each writer sees the whole run.
  for (const w of options.extraWriters ?? []) {
    const ctx: ScenarioRunContext = { scenario, outDir, topology, metrics: run.metrics, groundTruth: run.groundTruth, changes: run.changes, rng: new Rng(scenario.seed).fork(`writer:${w.name}`) };
    const written = await w.write(ctx);
    for (const f of written) track(f.split(/[\\/]/)[0]!, [f]);
    progress('write', `${w.name}: wrote ${written.length} file(s)`);
  }
  files.sort();
  const manifest = {
    scenario: scenario.name,
    seed: scenario.seed,
    topology: topology.name,
    startMs: scenario.startMs,
    stepMs: scenario.stepMs,
    steps: model.length,
    series: run.metrics.series.length,
    faults: run.groundTruth.faults.map((f) => f.id),
    writers: [...names],
    outputs,
    files,
  };
  await writeText(join(outDir, MANIFEST), jsonText(manifest));
  files.push(MANIFEST);
  files.sort();
  const elapsedMs = performance.now() - began;
  progress('done', `done: ${files.length} files under ${outDir} in ${(elapsedMs / 1000).toFixed(2)} s`);
  return {
    scenario: scenario.name,
    seed: scenario.seed,
    topology: { name: topology.name, workloads: g.workloads.length, hosts: g.hosts.length },
    steps: model.length,
    stepMs: scenario.stepMs,
    series: run.metrics.series.length,
    faults: run.groundTruth.faults.map((f) => ({ id: f.id, type: f.type, root: f.rootEntity, onsetMs: f.onsetMs, endMs: f.endMs, affected: f.affected.length })),
    benignEvents: run.groundTruth.benign.length,
    nabWindows,
    rcaevalCases,
    files,
    elapsedMs,
  };
}
