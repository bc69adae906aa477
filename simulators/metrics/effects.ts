// Effects: the one way anything changes a simulated node's behaviour over time. Benign events
// (deploys, level shifts) and injected faults are both lists of effects; the engine compiles
// them into per-node channel arrays and applies its physics on top, so a fault only ever
// touches its root and everything else follows from propagation.
import { MetricsError } from './errors.js';

/** Channels of a workload (any non-host node). */
export const WORKLOAD_CHANNELS = [
  'work_mul', // multiplies the node's own processing time (all latency quantiles)
  'lat_add', // seconds added to the node's own p50 (x1.2 at p95, x1.5 at p99): network delay
  'err_add', // fraction of requests failing at the node itself
  'cpu_add', // cores of extra CPU demand (a hog)
  'cpu_per_req_mul', // multiplies CPU per request
  'mem_mul', // multiplies resident memory at rest
  'leak', // bytes leaked per step while active (accumulates; released at an OOM kill or when it ends)
  'down', // 1 = the process is not running: serves nothing, reports nothing
  'restart', // 1 at a step = the process restarts there (deploy): memory dips, CPU warms up
  'demand_mul', // multiplies external demand (entry points)
  'demand_add', // external demand added, in multiples of the node's mean request rate
] as const;
export type WorkloadChannel = (typeof WORKLOAD_CHANNELS)[number];

/** Channels of a host. */
export const HOST_CHANNELS = [
  'disk_add', // fraction of the filesystem added (capped at full)
  'mem_add', // fraction of host memory used by something outside the simulated workloads
] as const;
export type HostChannel = (typeof HOST_CHANNELS)[number];

interface EffectBase {
  /** First step (inclusive) and end step (exclusive). */
  fromStep: number;
  toStep: number;
  value: number;
  /** "step" (default): value over the whole range; "ramp": value * min(1, (t - from + 1) / rampSteps). */
  shape?: 'step' | 'ramp';
  rampSteps?: number;
}
export interface WorkloadEffect extends EffectBase {
  target: 'workload';
  index: number;
  channel: WorkloadChannel;
}
export interface HostEffect extends EffectBase {
  target: 'host';
  index: number;
  channel: HostChannel;
}
export type Effect = WorkloadEffect | HostEffect;

/** How effects on one channel combine, and the channel's value when nothing touches it. */
const MULTIPLICATIVE = new Set<string>(['work_mul', 'cpu_per_req_mul', 'mem_mul', 'demand_mul']);

/** Channel arrays per node; a channel no effect touches is absent (its identity applies). */
export type ChannelArrays<C extends string> = Partial<Record<C, Float64Array>>;

export interface CompiledEffects {
  workloads: Array<ChannelArrays<WorkloadChannel>>;
  hosts: Array<ChannelArrays<HostChannel>>;
}

function shapeAt(e: EffectBase, t: number): number {
  if (e.shape !== 'ramp') return e.value;
  const steps = Math.max(1, e.rampSteps ?? 1);
  return e.value * Math.min(1, (t - e.fromStep + 1) / steps);
}

function check(e: Effect, k: number, nodes: number): void {
  const where = `effects[${k}]`;
  if (!Number.isInteger(e.index) || e.index < 0 || e.index >= nodes) {
    throw new MetricsError('BAD_EFFECT', `${where}.index must be a ${e.target} index 0..${nodes - 1} (got ${e.index})`);
  }
  const channels: readonly string[] = e.target === 'workload' ? WORKLOAD_CHANNELS : HOST_CHANNELS;
  if (!channels.includes(e.channel)) throw new MetricsError('BAD_EFFECT', `${where}.channel must be one of ${channels.join(', ')} (got ${JSON.stringify(e.channel)})`);
  if (!Number.isInteger(e.fromStep) || !Number.isInteger(e.toStep) || e.fromStep < 0 || e.toStep <= e.fromStep) {
    throw new MetricsError('BAD_EFFECT', `${where} must cover steps fromStep < toStep, both integers >= 0 (got ${e.fromStep}..${e.toStep})`);
  }
  if (!Number.isFinite(e.value)) throw new MetricsError('BAD_EFFECT', `${where}.value must be finite (got ${e.value})`);
}

/** Compiles effects into channel arrays of `length` steps (ranges are clipped to the run). */
export function compileEffects(effects: readonly Effect[], workloads: number, hosts: number, length: number): CompiledEffects {
  const out: CompiledEffects = {
    workloads: Array.from({ length: workloads }, () => ({})),
    hosts: Array.from({ length: hosts }, () => ({})),
  };
  effects.forEach((e, k) => {
    check(e, k, e.target === 'workload' ? workloads : hosts);
    const slot = (e.target === 'workload' ? out.workloads[e.index] : out.hosts[e.index]) as Record<string, Float64Array | undefined>;
    const mul = MULTIPLICATIVE.has(e.channel);
    let arr = slot[e.channel];
    if (arr === undefined) {
      arr = new Float64Array(length);
      if (mul) arr.fill(1);
      slot[e.channel] = arr;
    }
    const end = Math.min(e.toStep, length);
    for (let t = e.fromStep; t < end; t++) {
      const v = shapeAt(e, t);
      if (mul) arr[t]! *= v;
      else if (e.channel === 'down' || e.channel === 'restart') arr[t] = Math.max(arr[t]!, v);
      else arr[t]! += v;
    }
  });
  return out;
}
