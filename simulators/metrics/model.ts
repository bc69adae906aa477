// A metric model: everything about a simulated system that does not depend on faults. Built
// once per (topology, options, seed); every core run of it (baseline, one per fault, all
// faults) sees the same demand, the same node parameters and the same benign events, which is
// what makes "fault run minus baseline" an exact measure of what a fault did.
import { Rng } from '../model/index.js';
import type { SimMetrics, TopologyDocument } from '../model/index.js';
import { buildTopologyGraph } from '../topology/index.js';
import type { TopologyGraph } from '../topology/index.js';
import { drawBenign } from './benign.js';
import type { BenignEvent, ChangeEvent } from './benign.js';
import { MAX_NODE_STEPS, validateMetricsOptions } from './config.js';
import type { MetricsOptions, MetricsOptionsInput } from './config.js';
import type { Effect } from './effects.js';
import { simulateCore } from './engine.js';
import { MetricsError } from './errors.js';
import { drawProfiles } from './profile.js';
import type { HostProfile, WorkloadProfile } from './profile.js';
import { renderMetrics } from './render.js';
import { demandSeries, drawSeason, peakFactor } from './seasonality.js';
import type { SeasonProfile } from './seasonality.js';

export interface MetricModel {
  topology: TopologyDocument;
  graph: TopologyGraph;
  options: MetricsOptions;
  seed: number;
  /** Steps in the run. */
  length: number;
  season: SeasonProfile;
  profiles: { workloads: WorkloadProfile[]; hosts: HostProfile[] };
  /** External demand per step for entry workloads (undefined elsewhere), requests/s. */
  demand: Array<Float64Array | undefined>;
  benign: BenignEvent[];
  benignEffects: Effect[];
  changes: ChangeEvent[];
}

/** Builds the model of a topology for a run; throws MetricsError / TopologyError on bad input. */
export function createMetricModel(topology: TopologyDocument, optionsInput: MetricsOptionsInput, seed: number): MetricModel {
  const options = validateMetricsOptions(optionsInput);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new MetricsError('BAD_OPTION', `seed must be an integer 0..4294967295 (got ${seed})`);
  const graph = buildTopologyGraph(topology);
  const length = options.durationMs / options.stepMs;
  const nodes = graph.workloads.length + graph.hosts.length;
  if (nodes * length > MAX_NODE_STEPS) {
    throw new MetricsError('TOO_LARGE', `durationMs ${options.durationMs} at stepMs ${options.stepMs} gives ${length} steps x ${nodes} nodes = ${nodes * length} node-steps, over the limit ${MAX_NODE_STEPS}: shorten the run or use a larger step`);
  }
  const rng = new Rng(seed).fork('metrics');
  const season = drawSeason(rng.fork('season'));
  const profiles = drawProfiles(graph, rng.fork('profiles'), peakFactor(season, options.durationMs));
  const demand: Array<Float64Array | undefined> = graph.workloads.map(() => undefined);
  for (const e of graph.entries) {
    const base = profiles.workloads[e]!.demandBase;
    if (base > 0) demand[e] = demandSeries(season, base, options.startMs, options.stepMs, length, 0.04 * options.noise, rng.fork(`demand:${graph.workloads[e]!.id}`));
  }
  const benign = drawBenign(graph, rng.fork('benign'), {
    startMs: options.startMs,
    stepMs: options.stepMs,
    length,
    deploysPerDay: options.benign.deploysPerDay,
    levelShiftsPerDay: options.benign.levelShiftsPerDay,
  });
  return {
    topology: graph.doc,
    graph,
    options,
    seed,
    length,
    season,
    profiles,
    demand,
    benign: benign.events,
    benignEffects: benign.effects,
    changes: benign.changes,
  };
}

/** Fault-free metrics of a model (benign events included). */
export function generateMetrics(model: MetricModel): SimMetrics {
  return renderMetrics(model, simulateCore(model));
}
