// Ground truth by measurement: a fault's run (benign effects + this fault) against the baseline
// run (benign effects only) of the same model. Both are noise-free and deterministic, so every
// difference is the fault's doing. Per entity: the first step anything differs (its onset), the
// metrics that moved materially, the hops along changed entities back to the root, and the share
// of the root's effect on the propagated quantity that reached it.
import { HOST_METRICS, SERVICE_METRICS } from '../model/index.js';
import type { AffectedEntity, GroundTruthFault, HostMetric, ServiceMetric } from '../model/index.js';
import { hostSeries, workloadSeries } from '../metrics/index.js';
import type { CoreRun, MetricModel } from '../metrics/index.js';
import { FAULT_CATALOG } from './catalog.js';
import type { ResolvedFault } from './catalog.js';

/** Relative difference below which two samples count as equal (float rounding, not physics). */
export const DIFF_TOLERANCE = 1e-9;

/** Below these, a change is measured against the floor instead of the (tiny) baseline. */
const SERVICE_FLOOR: Readonly<Record<ServiceMetric, number>> = {
  request_rate: 0.01,
  latency_p50: 0.001,
  latency_p95: 0.001,
  latency_p99: 0.001,
  error_rate: 0.001,
  cpu: 0.01,
  memory: 1024 * 1024,
  gc_pause: 0.001,
  saturation: 0.01,
};
/** Cost of the host -> workload step in the hop search (longer than any call path). */
const HOST_TO_WORKLOAD_COST = 1000;

const HOST_FLOOR: Readonly<Record<HostMetric, number>> = { cpu: 0.01, memory: 0.01, disk: 0.01, network_rx: 1000, network_tx: 1000 };

/** The floor a metric's change is measured against (see diffSeries). */
export function changeFloor(metric: ServiceMetric | HostMetric, onHost: boolean): number {
  return onHost ? HOST_FLOOR[metric as HostMetric] : SERVICE_FLOOR[metric as ServiceMetric];
}

/** True when two samples differ: one is missing and the other is not, or beyond DIFF_TOLERANCE. */
export function samplesDiffer(a: number, b: number): boolean {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an !== bn;
  return Math.abs(a - b) > DIFF_TOLERANCE * Math.max(Math.abs(a), Math.abs(b), 1e-12);
}

export interface SeriesDiff {
  /** First differing step, -1 when none. */
  first: number;
  /** Largest |change| / max(|baseline|, floor); a sample that appears or vanishes counts 1. */
  peakRel: number;
  /** Largest |change| where both samples exist, in the metric's unit. */
  peakAbs: number;
}

export function diffSeries(base: Float64Array, run: Float64Array, floor: number): SeriesDiff {
  let first = -1;
  let peakRel = 0;
  let peakAbs = 0;
  for (let t = 0; t < base.length; t++) {
    const a = base[t]!;
    const b = run[t]!;
    if (!samplesDiffer(a, b)) continue;
    if (first < 0) first = t;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      peakRel = Math.max(peakRel, 1);
      continue;
    }
    const d = Math.abs(b - a);
    peakAbs = Math.max(peakAbs, d);
    peakRel = Math.max(peakRel, d / Math.max(Math.abs(a), floor));
  }
  return { first, peakRel, peakAbs };
}

/** Largest relative change of a series (|change| / baseline) where both samples exist. */
function peakRelative(base: Float64Array, run: Float64Array): number {
  let peak = 0;
  for (let t = 0; t < base.length; t++) {
    const a = base[t]!;
    const b = run[t]!;
    if (Number.isNaN(a) || Number.isNaN(b) || a === 0) continue;
    peak = Math.max(peak, Math.abs(b - a) / Math.abs(a));
  }
  return peak;
}

interface EntityDiff {
  entity: string;
  nodeId: string;
  /** Workloads 0..nW-1, hosts nW..nW+nH-1. */
  node: number;
  first: number;
  material: Array<ServiceMetric | HostMetric>;
  /** The entity's effect on the propagated quantity (undefined for hosts). */
  quantity: number | undefined;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Measures one fault's ground truth from its isolated run against the baseline. */
export function measureGroundTruth(model: MetricModel, fault: ResolvedFault, baseline: CoreRun, run: CoreRun, minEffect: number): GroundTruthFault {
  const { graph, options } = model;
  const def = FAULT_CATALOG[fault.type];
  const rootMetric = def.rootMetric(fault);
  const quantity = def.propagated(fault);
  const nW = graph.workloads.length;
  const rootNode = def.targets === 'host' ? nW + fault.index : fault.index;
  const diffs: EntityDiff[] = [];

  graph.workloads.forEach((node, i) => {
    let first = -1;
    const material: ServiceMetric[] = [];
    for (const m of SERVICE_METRICS) {
      const d = diffSeries(workloadSeries(baseline.workloads[i]!, m), workloadSeries(run.workloads[i]!, m), SERVICE_FLOOR[m]);
      if (d.first >= 0 && (first < 0 || d.first < first)) first = d.first;
      if (d.peakRel >= minEffect || (i === rootNode && m === rootMetric)) material.push(m);
    }
    if (first < 0 && i !== rootNode) return;
    let q: number;
    if (quantity === 'latency') q = diffSeries(baseline.workloads[i]!.p95, run.workloads[i]!.p95, 0).peakAbs;
    else if (quantity === 'errors') q = diffSeries(baseline.workloads[i]!.err, run.workloads[i]!.err, 0).peakAbs;
    else q = peakRelative(baseline.workloads[i]!.rate, run.workloads[i]!.rate);
    diffs.push({ entity: node.name, nodeId: node.id, node: i, first, material, quantity: q });
  });
  graph.hosts.forEach((node, j) => {
    let first = -1;
    const material: HostMetric[] = [];
    for (const m of HOST_METRICS) {
      const d = diffSeries(hostSeries(baseline.hosts[j]!, m), hostSeries(run.hosts[j]!, m), HOST_FLOOR[m]);
      if (d.first >= 0 && (first < 0 || d.first < first)) first = d.first;
      if (d.peakRel >= minEffect || (nW + j === rootNode && m === rootMetric)) material.push(m);
    }
    if (first < 0 && nW + j !== rootNode) return;
    diffs.push({ entity: node.name, nodeId: node.id, node: nW + j, first, material, quantity: undefined });
  });

  // Hops: shortest path from the root through entities the fault changed, over CALLS and
  // DEPENDS_ON (both ways) and workload <-> host. A step from a host to a workload on it costs
  // more than any call-graph path, so co-location is only the path when nothing else explains
  // the change (noisy neighbour, a full disk); hops counts the edges of the cheapest path.
  const changed = new Set(diffs.map((d) => d.node));
  const edgesOf = (x: number): Array<[node: number, cost: number]> => {
    if (x >= nW) {
      const j = x - nW;
      return Array.from(graph.onHost.to.subarray(graph.onHost.start[j]!, graph.onHost.start[j + 1]!), (y): [number, number] => [y, HOST_TO_WORKLOAD_COST]);
    }
    const out: Array<[number, number]> = [];
    for (const adj of [graph.calls, graph.callers, graph.dependsOn, graph.dependents]) {
      for (let k = adj.start[x]!; k < adj.start[x + 1]!; k++) out.push([adj.to[k]!, 1]);
    }
    if (graph.hostOf[x]! >= 0) out.push([nW + graph.hostOf[x]!, 1]);
    return out;
  };
  const shortest = (allowed: (y: number) => boolean): Map<number, number> => {
    const cost = new Map<number, number>([[rootNode, 0]]);
    const hopCount = new Map<number, number>([[rootNode, 0]]);
    const done = new Set<number>();
    for (;;) {
      let x = -1;
      for (const [y, c] of cost) if (!done.has(y) && (x < 0 || c < cost.get(x)! || (c === cost.get(x)! && hopCount.get(y)! < hopCount.get(x)!))) x = y;
      if (x < 0) return hopCount;
      done.add(x);
      for (const [y, w] of edgesOf(x)) {
        if (!allowed(y) || done.has(y)) continue;
        const c = cost.get(x)! + w;
        const h = hopCount.get(x)! + 1;
        const prev = cost.get(y);
        if (prev === undefined || c < prev || (c === prev && h < hopCount.get(y)!)) {
          cost.set(y, c);
          hopCount.set(y, h);
        }
      }
    }
  };
  const hops = shortest((y) => changed.has(y));
  // Every change travels through changed entities, so this fallback (plain distance in the
  // topology) only guards against an entity the restricted search cannot reach.
  let plain: Map<number, number> | undefined;
  const hopsOf = (node: number): number => hops.get(node) ?? (plain ??= shortest(() => true)).get(node) ?? -1;

  // Attenuation: the entity's effect on the propagated quantity over the root's. A down root
  // fails every call (error effect 1); a host root passes its effect to its workloads, whose
  // strongest effect is the reference. A host that is not the root carries the strongest
  // attenuation among the affected workloads on it.
  const byNode = new Map(diffs.map((d) => [d.node, d]));
  let reference: number;
  if (fault.type === 'dependency_outage') reference = 1;
  else if (def.targets === 'host') {
    reference = 0;
    for (let k = graph.onHost.start[fault.index]!; k < graph.onHost.start[fault.index + 1]!; k++) reference = Math.max(reference, byNode.get(graph.onHost.to[k]!)?.quantity ?? 0);
  } else reference = byNode.get(rootNode)!.quantity ?? 0;
  const attenuation = (d: EntityDiff): number => {
    if (d.node === rootNode) return 1;
    if (d.quantity === undefined || reference <= 0) return 0;
    return round6(d.quantity / reference);
  };

  const affected: Array<AffectedEntity & { node: number }> = [];
  for (const d of diffs) {
    if (d.node !== rootNode && d.material.length === 0) continue;
    const onStep = d.node === rootNode ? fault.onStep : d.first;
    affected.push({
      entity: d.entity,
      nodeId: d.nodeId,
      metrics: d.material,
      onsetMs: options.startMs + onStep * options.stepMs,
      hops: hopsOf(d.node),
      attenuation: attenuation(d),
      node: d.node,
    });
  }
  for (const a of affected) {
    if (a.node < nW || a.node === rootNode) continue;
    const j = a.node - nW;
    let best = 0;
    for (let k = graph.onHost.start[j]!; k < graph.onHost.start[j + 1]!; k++) {
      const w = affected.find((x) => x.node === graph.onHost.to[k]!);
      if (w !== undefined) best = Math.max(best, w.attenuation);
    }
    a.attenuation = best;
  }
  affected.sort((a, b) => (a.node === rootNode ? -1 : b.node === rootNode ? 1 : a.onsetMs - b.onsetMs || a.hops - b.hops || (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0)));
  return {
    id: fault.id,
    type: fault.type,
    rootEntity: fault.target.name,
    rootNodeId: fault.target.id,
    rootMetric,
    onsetMs: options.startMs + fault.onStep * options.stepMs,
    endMs: options.startMs + fault.endStep * options.stepMs,
    severity: fault.severity,
    affected: affected.map(({ node: _node, ...a }) => a),
  };
}
