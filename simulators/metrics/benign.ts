// Benign events: deploys that change nothing that matters and level shifts that stay within
// normal operation. They happen in every run of a seed (with or without faults), so they are the
// same in a fault-free baseline; they are recorded in the ground truth as "not causes".
import type { GroundTruth, HostMetric, Rng, ServiceMetric } from '../model/index.js';
import type { TopologyGraph } from '../topology/index.js';
import type { Effect } from './effects.js';

/** A change the platform could see in a change log (deploys, config changes, rollbacks). */
export interface ChangeEvent {
  atMs: number;
  entity: string;
  nodeId: string;
  kind: 'deploy' | 'config_change' | 'rollback';
  description: string;
}

export type BenignEvent = GroundTruth['benign'][number];

export interface BenignDraw {
  events: BenignEvent[];
  effects: Effect[];
  changes: ChangeEvent[];
}

interface Settings {
  startMs: number;
  stepMs: number;
  length: number;
  deploysPerDay: number;
  levelShiftsPerDay: number;
}

const DAY_MS = 86_400_000;

/** Event steps of a Poisson process with `perDay` events per day over the run (never step 0). */
function poissonSteps(rng: Rng, perDay: number, s: Settings): number[] {
  if (perDay <= 0) return [];
  const perStep = (perDay * s.stepMs) / DAY_MS;
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += -Math.log(1 - rng.uniform()) / perStep;
    const step = Math.ceil(t);
    if (step >= s.length) return out;
    out.push(step);
  }
}

/** A factor in [0.75, 0.92] or [1.08, 1.3]: visible, but within normal operation. */
function shiftFactor(rng: Rng): number {
  return rng.chance(0.5) ? rng.between(0.75, 0.92) : rng.between(1.08, 1.3);
}

export function drawBenign(graph: TopologyGraph, rng: Rng, s: Settings): BenignDraw {
  const draw: BenignDraw = { events: [], effects: [], changes: [] };
  const services = graph.workloads.map((n, i) => ({ n, i })).filter((x) => x.n.kind === 'Service' || x.n.kind === 'Instance');
  const at = (step: number): number => s.startMs + step * s.stepMs;

  const deployRng = rng.fork('deploys');
  if (services.length > 0) {
    for (const step of poissonSteps(deployRng, s.deploysPerDay, s)) {
      const { n, i } = deployRng.pick(services);
      draw.events.push({ kind: 'deploy', entity: n.name, atMs: at(step) });
      draw.changes.push({ atMs: at(step), entity: n.name, nodeId: n.id, kind: 'deploy', description: `rolled out a new version of ${n.name}` });
      draw.effects.push({ target: 'workload', index: i, channel: 'restart', fromStep: step, toStep: step + 1, value: 1 });
      // A new version is a little faster or slower than the old one.
      draw.effects.push({ target: 'workload', index: i, channel: 'work_mul', fromStep: step, toStep: s.length, value: deployRng.between(0.95, 1.05) });
    }
  }

  const shiftRng = rng.fork('level-shifts');
  for (const step of poissonSteps(shiftRng, s.levelShiftsPerDay, s)) {
    const onHost = graph.hosts.length > 0 && shiftRng.chance(0.3);
    if (onHost) {
      const j = shiftRng.int(0, graph.hosts.length - 1);
      const h = graph.hosts[j]!;
      const metric: HostMetric = shiftRng.chance(0.5) ? 'disk' : 'memory';
      const delta = (shiftRng.chance(0.5) ? -1 : 1) * shiftRng.between(0.03, 0.08);
      draw.events.push({ kind: 'level_shift', entity: h.name, metric, atMs: at(step) });
      draw.effects.push({ target: 'host', index: j, channel: metric === 'disk' ? 'disk_add' : 'mem_add', fromStep: step, toStep: s.length, value: delta });
    } else {
      const i = shiftRng.int(0, graph.workloads.length - 1);
      const n = graph.workloads[i]!;
      const pick = shiftRng.int(0, 2);
      const metric: ServiceMetric = pick === 0 ? 'latency_p50' : pick === 1 ? 'memory' : 'cpu';
      const channel = pick === 0 ? 'work_mul' : pick === 1 ? 'mem_mul' : 'cpu_per_req_mul';
      draw.events.push({ kind: 'level_shift', entity: n.name, metric, atMs: at(step) });
      draw.effects.push({ target: 'workload', index: i, channel, fromStep: step, toStep: s.length, value: shiftFactor(shiftRng) });
    }
  }
  draw.events.sort((a, b) => a.atMs - b.atMs);
  draw.changes.sort((a, b) => a.atMs - b.atMs);
  return draw;
}
