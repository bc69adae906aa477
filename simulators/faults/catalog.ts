// What each fault type does at its root, as effects on the metric engine. A fault touches only
// its root (or, for disk_fill, the root host's filesystem); everything downstream or upstream
// of it follows from the engine's propagation, which is why the ground truth can be measured
// instead of asserted.
import type { FaultType, HostMetric, ServiceMetric } from '../model/index.js';
import type { TopologyNode } from '../../shared-schemas/src/index.js';
import type { ChangeEvent, CoreRun, Effect, MetricModel } from '../metrics/index.js';
import type { ConfigChangeVariant } from './config.js';

/** The quantity whose spread the ground truth's attenuation measures. */
export type PropagatedQuantity = 'latency' | 'errors' | 'rate';

export interface ResolvedFault {
  id: string;
  type: FaultType;
  target: TopologyNode;
  /** Index of the target among the graph's workloads, or among its hosts for disk_fill. */
  index: number;
  onStep: number;
  /** First step after the fault (exclusive), clipped to the run. */
  endStep: number;
  severity: number;
  variant?: ConfigChangeVariant;
}

export interface FaultDefinition {
  /** Which nodes can carry the fault. */
  targets: 'workload' | 'host';
  /** The metric the fault moves first at its root. */
  rootMetric(f: ResolvedFault): ServiceMetric | HostMetric;
  propagated(f: ResolvedFault): PropagatedQuantity;
  /** The effects on the engine, and what a change log would show. */
  effects(f: ResolvedFault, model: MetricModel, baseline: CoreRun): { effects: Effect[]; changes: ChangeEvent[] };
  description: string;
}

function wl(f: ResolvedFault, channel: Extract<Effect, { target: 'workload' }>['channel'], value: number, from = f.onStep, to = f.endStep): Effect {
  return { target: 'workload', index: f.index, channel, fromStep: from, toStep: to, value };
}

function change(f: ResolvedFault, model: MetricModel, step: number, kind: ChangeEvent['kind'], description: string): ChangeEvent {
  return { atMs: model.options.startMs + step * model.options.stepMs, entity: f.target.name, nodeId: f.target.id, kind, description };
}

export const FAULT_CATALOG: Readonly<Record<FaultType, FaultDefinition>> = {
  cpu_hog: {
    targets: 'workload',
    description: 'a process burns CPU: the root saturates its CPU limit at onset; throttling slows its requests from the next step',
    rootMetric: () => 'cpu',
    propagated: () => 'latency',
    effects: (f, model) => ({ effects: [wl(f, 'cpu_add', f.severity * 0.9 * model.profiles.workloads[f.index]!.cpuLimit)], changes: [] }),
  },
  memory_leak: {
    targets: 'workload',
    description: 'memory grows from onset (at severity 1 it reaches the limit after 70% of the duration): GC pauses past 65% of the limit, then latency, then an OOM kill and restart',
    rootMetric: () => 'memory',
    propagated: () => 'latency',
    effects: (f, model) => {
      const p = model.profiles.workloads[f.index]!;
      const steps = Math.max(1, (f.endStep - f.onStep) * 0.7);
      return { effects: [wl(f, 'leak', (f.severity * (p.memLimit - p.memBase)) / steps)], changes: [] };
    },
  },
  disk_fill: {
    targets: 'host',
    description: 'a host filesystem fills from onset (full after 60% of the duration at severity 1): past 92% its workloads slow down and fail writes',
    rootMetric: () => 'disk',
    propagated: () => 'errors',
    effects: (f, _model, baseline) => {
      const d0 = baseline.hosts[f.index]!.disk[f.onStep]!;
      const room = Math.max(0.01, 1 - d0);
      const rampSteps = Math.max(1, Math.round(((f.endStep - f.onStep) * 0.6) / f.severity));
      // disk_add rises by room/rampSteps per step: full after rampSteps, capped there.
      return { effects: [{ target: 'host', index: f.index, channel: 'disk_add', fromStep: f.onStep, toStep: f.endStep, value: room + 0.01, shape: 'ramp', rampSteps: Math.round(rampSteps * (room + 0.01) / room) }], changes: [] };
    },
  },
  network_delay: {
    targets: 'workload',
    description: 'responses of the root are delayed by 100 ms x severity (more at the tail)',
    rootMetric: () => 'latency_p95',
    propagated: () => 'latency',
    effects: (f) => ({ effects: [wl(f, 'lat_add', 0.1 * f.severity)], changes: [] }),
  },
  packet_loss: {
    targets: 'workload',
    description: 'packets to and from the root are lost: 5% x severity of requests fail after retries, retransmissions add latency',
    rootMetric: () => 'error_rate',
    propagated: () => 'errors',
    effects: (f) => ({ effects: [wl(f, 'err_add', Math.min(0.9, 0.05 * f.severity)), wl(f, 'lat_add', 0.04 * f.severity)], changes: [] }),
  },
  error_injection: {
    targets: 'workload',
    description: '25% x severity of the root\'s requests fail',
    rootMetric: () => 'error_rate',
    propagated: () => 'errors',
    effects: (f) => ({ effects: [wl(f, 'err_add', Math.min(0.95, 0.25 * f.severity))], changes: [] }),
  },
  dependency_outage: {
    targets: 'workload',
    description: 'the root (typically a database, cache or queue) is down: it serves and reports nothing; calls to it fail fast',
    rootMetric: () => 'request_rate',
    propagated: () => 'errors',
    effects: (f) => ({ effects: [wl(f, 'down', 1)], changes: [] }),
  },
  bad_deploy: {
    targets: 'workload',
    description: 'a deploy of the root (restart signature) brings errors (6% x severity) and slower requests until it is rolled back at the end',
    rootMetric: () => 'error_rate',
    propagated: () => 'errors',
    effects: (f, model) => {
      const effects: Effect[] = [wl(f, 'restart', 1, f.onStep, f.onStep + 1), wl(f, 'err_add', Math.min(0.9, 0.06 * f.severity)), wl(f, 'work_mul', 1 + 0.8 * f.severity)];
      const changes = [change(f, model, f.onStep, 'deploy', `rolled out a new version of ${f.target.name}`)];
      if (f.endStep < model.length) {
        effects.push(wl(f, 'restart', 1, f.endStep, f.endStep + 1));
        changes.push(change(f, model, f.endStep, 'rollback', `rolled ${f.target.name} back to the previous version`));
      }
      return { effects, changes };
    },
  },
  config_change: {
    targets: 'workload',
    description: 'a configuration change of the root makes it slower (x(1 + 1.5 x severity)) or fail (8% x severity) until reverted at the end',
    rootMetric: (f) => (f.variant === 'errors' ? 'error_rate' : 'latency_p95'),
    propagated: (f) => (f.variant === 'errors' ? 'errors' : 'latency'),
    effects: (f, model) => {
      const effects = [f.variant === 'errors' ? wl(f, 'err_add', Math.min(0.9, 0.08 * f.severity)) : wl(f, 'work_mul', 1 + 1.5 * f.severity)];
      const changes = [change(f, model, f.onStep, 'config_change', `changed the configuration of ${f.target.name}`)];
      if (f.endStep < model.length) changes.push(change(f, model, f.endStep, 'config_change', `reverted the configuration of ${f.target.name}`));
      return { effects, changes };
    },
  },
  traffic_surge: {
    targets: 'workload',
    description: 'external requests to the root grow by 300% x severity: more load downstream, saturation and latency where capacity runs out',
    rootMetric: () => 'request_rate',
    propagated: () => 'rate',
    effects: (f, model) => {
      // An entry point's own demand is multiplied; any other node gets extra external demand
      // of the same relative size (e.g. a batch job calling an internal service).
      const entry = model.demand[f.index] !== undefined;
      return { effects: [entry ? wl(f, 'demand_mul', 1 + 3 * f.severity) : wl(f, 'demand_add', 3 * f.severity)], changes: [] };
    },
  },
};
