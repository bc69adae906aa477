// Fault injection: resolves faults against a metric model, runs the model once without faults
// (the baseline), once per fault (for its ground truth) and once with every fault (the metrics
// that are published), and returns the metrics, the ground truth and the change log.
import type { GroundTruth, GroundTruthFault, SimMetrics } from '../model/index.js';
import { renderMetrics, simulateCore } from '../metrics/index.js';
import type { ChangeEvent, Effect, MetricModel } from '../metrics/index.js';
import { TopologyError, findNode } from '../topology/index.js';
import { FAULT_CATALOG } from './catalog.js';
import type { ResolvedFault } from './catalog.js';
import { validateFaults, validateInjectOptions } from './config.js';
import type { InjectOptionsInput, ValidFault } from './config.js';
import { FaultError } from './errors.js';
import { measureGroundTruth } from './ground-truth.js';

export interface FaultRun {
  /** Metrics with every fault applied (and the benign events), with measurement noise. */
  metrics: SimMetrics;
  groundTruth: GroundTruth;
  /** Change log: benign deploys plus the deploys, rollbacks and config changes faults made. */
  changes: ChangeEvent[];
  /** The faults as resolved against the topology and the step grid. */
  faults: ResolvedFault[];
}

/** Resolves validated faults: target node, allowed kind, steps on the model's grid. */
export function resolveFaults(model: MetricModel, faults: readonly ValidFault[], prefix = 'faults'): ResolvedFault[] {
  const { stepMs, durationMs } = model.options;
  return faults.map((f, k) => {
    const field = `${prefix}[${k}]`;
    const def = FAULT_CATALOG[f.type];
    let found;
    try {
      found = findNode(model.graph, f.target, `${field}.target`);
    } catch (cause) {
      if (cause instanceof TopologyError) throw new FaultError('UNKNOWN_TARGET', cause.message, { cause });
      throw cause;
    }
    if (found.kind !== def.targets) {
      const want = def.targets === 'host' ? 'a Host' : 'a Service, Database, Cache, Queue or LoadBalancer (not a Host)';
      throw new FaultError('BAD_TARGET', `${field}.target ${JSON.stringify(f.target)} is a ${found.node.kind}; ${f.type} needs ${want}`);
    }
    const onStep = Math.ceil(f.onsetMs / stepMs);
    if (onStep < 1 || onStep >= model.length) {
      throw new FaultError('OUT_OF_RANGE', `${field}.onsetMs must fall after the first step and before the end of the run (0 < onset < ${durationMs} ms; got ${f.onsetMs})`);
    }
    const endStep = Math.min(model.length, onStep + Math.max(1, Math.round(f.durationMs / stepMs)));
    const resolved: ResolvedFault = { id: f.id ?? `f${k + 1}`, type: f.type, target: found.node, index: found.index, onStep, endStep, severity: f.severity };
    if (f.type === 'config_change') resolved.variant = f.variant ?? 'latency';
    return resolved;
  });
}

/**
 * Injects faults into a model's run. Faults may overlap in time and share parts of the
 * topology; each fault's ground truth is measured on its own (baseline + that fault) so that
 * it names exactly what that fault changed.
 */
export function injectFaults(model: MetricModel, faultInputs: readonly unknown[], optionsInput?: InjectOptionsInput): FaultRun {
  const options = validateInjectOptions(optionsInput);
  const faults = resolveFaults(model, validateFaults(faultInputs));
  const baseline = simulateCore(model);
  const all: Effect[] = [];
  const changes: ChangeEvent[] = [...model.changes];
  const truths: GroundTruthFault[] = [];
  for (const f of faults) {
    const built = FAULT_CATALOG[f.type].effects(f, model, baseline);
    all.push(...built.effects);
    changes.push(...built.changes);
    truths.push(measureGroundTruth(model, f, baseline, simulateCore(model, built.effects), options.minEffect));
  }
  const metrics = renderMetrics(model, faults.length === 0 ? baseline : simulateCore(model, all));
  changes.sort((a, b) => a.atMs - b.atMs || (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0));
  return {
    metrics,
    groundTruth: { scenario: options.scenario, seed: model.seed, faults: truths, benign: model.benign },
    changes,
    faults,
  };
}
