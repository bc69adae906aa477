// Per-node parameters, drawn once per seed: how long a node's own work takes, how much CPU and
// memory it uses, how big its pools are. Capacities are sized from the node's steady-state load
// (derived from the call graph) so that a healthy system at its seasonal peak stays below the
// knees of the contention curves; faults push nodes past them. A topology document may pin
// values: a workload's `work_seconds` property (its own p50 work time), a host's `cores` and
// `memory_bytes`; everything else is drawn.
import type { Rng } from '../model/index.js';
import type { TopologyGraph } from '../topology/index.js';

const MB = 1024 * 1024;

export interface WorkloadProfile {
  /** External requests per second at demand factor 1 (entry points only; 0 elsewhere). */
  demandBase: number;
  /** Steady-state requests per second at demand factor 1. */
  meanRate: number;
  /** Own processing time at p50 without contention, seconds; tail multipliers for p95/p99. */
  work: number;
  tail95: number;
  tail99: number;
  /** Fraction of requests failing at the node in normal operation. */
  baseErr: number;
  /** Cores at rest, core-seconds per request, and the CPU limit in cores. */
  cpuBase: number;
  cpuPerReq: number;
  cpuLimit: number;
  /** Resident bytes at rest, the memory limit, and how much memory grows with load. */
  memBase: number;
  memLimit: number;
  memLoadSens: number;
  /** GC (or allocator) pause fraction at mean load. */
  gcBase: number;
  /** Concurrent requests the node can hold (threads, connections). */
  pool: number;
  /** Network bytes received / sent per request. */
  bytesIn: number;
  bytesOut: number;
}

export interface HostProfile {
  cores: number;
  memBytes: number;
  /** Cores and bytes used by the OS and agents. */
  baseCores: number;
  baseMem: number;
  /** Filesystem use at the start and its growth per day (fractions). */
  diskBase: number;
  diskGrowthPerDay: number;
  /** Background network bytes per second. */
  netBase: number;
}

interface KindRanges {
  work: [number, number];
  cpuPerReq: [number, number];
  cpuBase: [number, number];
  memBase: [number, number];
  gcBase: [number, number];
  baseErr: [number, number];
  bytesIn: [number, number];
  bytesOut: [number, number];
}

const RANGES: Record<string, KindRanges> = {
  Service: { work: [0.003, 0.025], cpuPerReq: [0.0005, 0.004], cpuBase: [0.02, 0.1], memBase: [150 * MB, 900 * MB], gcBase: [0.003, 0.015], baseErr: [0.0001, 0.0015], bytesIn: [800, 6000], bytesOut: [2000, 30000] },
  Instance: { work: [0.003, 0.025], cpuPerReq: [0.0005, 0.004], cpuBase: [0.02, 0.1], memBase: [150 * MB, 900 * MB], gcBase: [0.003, 0.015], baseErr: [0.0001, 0.0015], bytesIn: [800, 6000], bytesOut: [2000, 30000] },
  Database: { work: [0.001, 0.006], cpuPerReq: [0.0002, 0.001], cpuBase: [0.05, 0.2], memBase: [512 * MB, 3072 * MB], gcBase: [0.001, 0.004], baseErr: [0.0001, 0.0008], bytesIn: [300, 2000], bytesOut: [1000, 20000] },
  Cache: { work: [0.0002, 0.0008], cpuPerReq: [0.00003, 0.0001], cpuBase: [0.01, 0.05], memBase: [128 * MB, 1024 * MB], gcBase: [0.0005, 0.002], baseErr: [0.00005, 0.0003], bytesIn: [100, 1000], bytesOut: [300, 5000] },
  Queue: { work: [0.0005, 0.002], cpuPerReq: [0.0001, 0.0004], cpuBase: [0.03, 0.1], memBase: [150 * MB, 512 * MB], gcBase: [0.002, 0.006], baseErr: [0.0001, 0.0005], bytesIn: [500, 4000], bytesOut: [500, 4000] },
  LoadBalancer: { work: [0.0005, 0.0015], cpuPerReq: [0.00005, 0.0002], cpuBase: [0.02, 0.08], memBase: [64 * MB, 256 * MB], gcBase: [0.0005, 0.002], baseErr: [0.0001, 0.0005], bytesIn: [800, 6000], bytesOut: [2000, 30000] },
};

function numberProperty(props: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = props?.[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/**
 * Draws every node's parameters. `peak` is the largest seasonal demand factor of the run.
 * Each node draws from its own fork, so adding a node does not change the others.
 */
export function drawProfiles(graph: TopologyGraph, rng: Rng, peak: number): { workloads: WorkloadProfile[]; hosts: HostProfile[] } {
  const n = graph.workloads.length;
  const demandBase = new Float64Array(n);
  for (const e of graph.entries) demandBase[e] = rng.fork(`demand-base:${graph.workloads[e]!.id}`).between(60, 400);

  // Steady-state rates: external demand flowing along CALLS (x calls_per_request) and from
  // queues to their consumers.
  const meanRate = new Float64Array(n);
  for (const i of graph.flowOrder) {
    let r = demandBase[i]!;
    for (let k = graph.callers.start[i]!; k < graph.callers.start[i + 1]!; k++) r += meanRate[graph.callers.to[k]!]! * graph.callers.weight[k]!;
    for (let k = graph.consumes.start[i]!; k < graph.consumes.start[i + 1]!; k++) r += meanRate[graph.consumes.to[k]!]!;
    meanRate[i] = r;
  }

  const draws = graph.workloads.map((node) => {
    const r = rng.fork(`profile:${node.id}`);
    const k = RANGES[node.kind] ?? RANGES.Service!;
    return {
      work: numberProperty(node.properties, 'work_seconds') ?? r.between(...k.work),
      tail95: r.between(2, 3.5),
      tail99ratio: r.between(1.4, 2.2),
      baseErr: r.between(...k.baseErr),
      cpuPerReq: r.between(...k.cpuPerReq),
      cpuBase: r.between(...k.cpuBase),
      cpuHeadroom: r.between(0.3, 0.5),
      memBase: r.between(...k.memBase),
      memHeadroom: r.between(0.3, 0.45),
      memLoadSens: r.between(0.04, 0.12),
      gcBase: r.between(...k.gcBase),
      poolHeadroom: r.between(0.08, 0.2),
      bytesIn: r.between(...k.bytesIn),
      bytesOut: r.between(...k.bytesOut),
    };
  });

  // Steady-state p50 (own work plus callees, x calls per request) sizes the pools.
  const lat = new Float64Array(n);
  for (const i of graph.depOrder) {
    let l = draws[i]!.work;
    for (let k = graph.calls.start[i]!; k < graph.calls.start[i + 1]!; k++) l += graph.calls.weight[k]! * lat[graph.calls.to[k]!]!;
    lat[i] = l;
  }

  const workloads: WorkloadProfile[] = draws.map((d, i) => {
    const rate = Math.max(meanRate[i]!, 0.01);
    const peakRate = rate * peak;
    return {
      demandBase: demandBase[i]!,
      meanRate: rate,
      work: d.work,
      tail95: d.tail95,
      tail99: d.tail95 * d.tail99ratio,
      baseErr: d.baseErr,
      cpuBase: d.cpuBase,
      cpuPerReq: d.cpuPerReq,
      cpuLimit: Math.max(0.25, Math.ceil(((d.cpuBase + d.cpuPerReq * peakRate) / d.cpuHeadroom) * 20) / 20),
      memBase: d.memBase,
      memLimit: Math.ceil(d.memBase / d.memHeadroom / MB) * MB,
      memLoadSens: d.memLoadSens,
      gcBase: d.gcBase,
      pool: Math.max(4, Math.ceil((peakRate * lat[i]!) / d.poolHeadroom)),
      bytesIn: d.bytesIn,
      bytesOut: d.bytesOut,
    };
  });

  const hosts: HostProfile[] = graph.hosts.map((h, j) => {
    const r = rng.fork(`host-profile:${h.id}`);
    let sumMem = 0;
    for (let k = graph.onHost.start[j]!; k < graph.onHost.start[j + 1]!; k++) sumMem += workloads[graph.onHost.to[k]!]!.memLimit;
    // Hosts without a declared size get one that fits their workloads' peak CPU at ~60%
    // and their memory limits with 10% to spare; a declared size is kept as given.
    let peakCores = 0;
    for (let k = graph.onHost.start[j]!; k < graph.onHost.start[j + 1]!; k++) {
      const w = workloads[graph.onHost.to[k]!]!;
      peakCores += w.cpuBase + w.cpuPerReq * w.meanRate * peak;
    }
    const cores = numberProperty(h.properties, 'cores') ?? Math.max(4, Math.ceil(peakCores / r.between(0.45, 0.6)));
    const memBytes = numberProperty(h.properties, 'memory_bytes') ?? Math.max(8 * 1024 * MB, Math.ceil((sumMem * 1.1) / (1024 * MB)) * 1024 * MB);
    return {
      cores,
      memBytes,
      baseCores: r.between(0.1, 0.4),
      baseMem: memBytes * r.between(0.05, 0.12),
      diskBase: r.between(0.25, 0.6),
      diskGrowthPerDay: r.between(0, 0.01),
      netBase: r.between(5e3, 5e4),
    };
  });
  return { workloads, hosts };
}
