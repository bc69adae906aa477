// An indexed, checked view of a TopologyDocument for the simulators: workloads (every non-host
// node) and hosts by dense index, CALLS / DEPENDS_ON / RUNS_ON as compact adjacency lists, and
// the two processing orders the metric generator needs. Building it rejects what the
// simulators cannot run: cycles in the request flow or in the dependency graph.
import { validateTopologyDocument } from '../../shared-schemas/src/index.js';
import type { TopologyDocument, TopologyNode } from '../../shared-schemas/src/index.js';
import { TopologyError } from './errors.js';

/** Compressed adjacency: the neighbours of node i are `to[start[i] .. start[i+1])`. */
export interface Adjacency {
  start: Int32Array;
  to: Int32Array;
  /** calls_per_request for CALLS (1 for others). */
  weight: Float64Array;
  /** Fraction of the neighbour's failures that fail this node's request (0..1). */
  criticality: Float64Array;
}

export interface TopologyGraph {
  doc: TopologyDocument;
  /** Every node that is not a Host, in document order. */
  workloads: TopologyNode[];
  hosts: TopologyNode[];
  workloadIndex: ReadonlyMap<string, number>;
  hostIndex: ReadonlyMap<string, number>;
  /** Callees of each workload (CALLS caller -> callee). */
  calls: Adjacency;
  /** Callers of each workload (the reverse of `calls`, same weights). */
  callers: Adjacency;
  /** Dependencies of each workload (DEPENDS_ON), queues included. */
  dependsOn: Adjacency;
  /** Reverse of `dependsOn`. */
  dependents: Adjacency;
  /** Queues each workload consumes (DEPENDS_ON to a Queue): messages flow queue -> consumer. */
  consumes: Adjacency;
  /** Host index of each workload, -1 when it runs on no host. */
  hostOf: Int32Array;
  /** Workloads on each host. */
  onHost: Adjacency;
  /** Request flow order: every caller (and every queue) before its callees (consumers). */
  flowOrder: Int32Array;
  /** Dependency order: every callee and dependency before its callers and dependents. */
  depOrder: Int32Array;
  /** Workloads that receive external traffic: no callers and no consumed queue. */
  entries: Int32Array;
}

const DEFAULT_CALL_CRITICALITY = 0.8;
const DEFAULT_DEPENDS_CRITICALITY = 0.5;

function numberProp(props: Record<string, unknown> | undefined, key: string, dflt: number, lo: number, hi: number, where: string): number {
  const v = props?.[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new TopologyError('INVALID_DOCUMENT', `${where}.properties.${key} must be a number in [${lo}, ${hi}] (got ${JSON.stringify(v)})`);
  }
  return v;
}

function adjacency(n: number, edges: Array<[from: number, to: number, weight: number, crit: number]>): Adjacency {
  const start = new Int32Array(n + 1);
  for (const [a] of edges) start[a + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const to = new Int32Array(edges.length);
  const weight = new Float64Array(edges.length);
  const criticality = new Float64Array(edges.length);
  for (const [a, b, w, c] of edges) {
    const k = fill[a]!++;
    to[k] = b;
    weight[k] = w;
    criticality[k] = c;
  }
  return { start, to, weight, criticality };
}

/** Kahn's algorithm over `edges` (a must come before b); on a cycle, names one. */
function order(n: number, edges: Array<[number, number]>, names: (i: number) => string, what: string): Int32Array {
  const indeg = new Int32Array(n);
  const out: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    out[a]!.push(b);
    indeg[b]!++;
  }
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i);
  const res = new Int32Array(n);
  let k = 0;
  for (let q = 0; q < queue.length; q++) {
    const a = queue[q]!;
    res[k++] = a;
    for (const b of out[a]!) if (--indeg[b]! === 0) queue.push(b);
  }
  if (k === n) return res;
  // Walk from a node left on the cycle until a node repeats.
  let cur = indeg.findIndex((d) => d > 0);
  const seen = new Map<number, number>();
  const path: number[] = [];
  while (!seen.has(cur)) {
    seen.set(cur, path.length);
    path.push(cur);
    cur = out[cur]!.find((b) => indeg[b]! > 0)!;
  }
  const cycle = [...path.slice(seen.get(cur)!), cur].map(names);
  throw new TopologyError('CYCLE', `topology.edges: the ${what} has a cycle: ${cycle.join(' -> ')}`);
}

/**
 * Validates the document (shared-schemas rules) and indexes it. Throws TopologyError
 * INVALID_DOCUMENT (with the schema error as cause) or CYCLE.
 */
export function buildTopologyGraph(input: TopologyDocument): TopologyGraph {
  let doc: TopologyDocument;
  try {
    doc = validateTopologyDocument(input);
  } catch (cause) {
    throw new TopologyError('INVALID_DOCUMENT', (cause as Error).message, { cause });
  }
  const workloads = doc.nodes.filter((n) => n.kind !== 'Host');
  const hosts = doc.nodes.filter((n) => n.kind === 'Host');
  const workloadIndex = new Map(workloads.map((n, i) => [n.id, i]));
  const hostIndex = new Map(hosts.map((n, i) => [n.id, i]));
  const n = workloads.length;
  const callEdges: Array<[number, number, number, number]> = [];
  const depEdges: Array<[number, number, number, number]> = [];
  const consumeEdges: Array<[number, number, number, number]> = [];
  const hostOf = new Int32Array(n).fill(-1);
  doc.edges.forEach((e, k) => {
    const where = `topology.edges[${k}]`;
    if (e.kind === 'CALLS') {
      const a = workloadIndex.get(e.from);
      const b = workloadIndex.get(e.to);
      if (a === undefined || b === undefined) return; // Instance endpoints: validated, not simulated
      callEdges.push([a, b, numberProp(e.properties, 'calls_per_request', 1, 0, 1000, where), numberProp(e.properties, 'criticality', DEFAULT_CALL_CRITICALITY, 0, 1, where)]);
    } else if (e.kind === 'DEPENDS_ON') {
      const a = workloadIndex.get(e.from);
      const b = workloadIndex.get(e.to);
      if (a === undefined || b === undefined) return; // dependency on a host: not simulated
      const crit = numberProp(e.properties, 'criticality', DEFAULT_DEPENDS_CRITICALITY, 0, 1, where);
      depEdges.push([a, b, 1, crit]);
      if (workloads[b]!.kind === 'Queue') consumeEdges.push([a, b, 1, crit]);
    } else if (e.kind === 'RUNS_ON') {
      const a = workloadIndex.get(e.from);
      const h = hostIndex.get(e.to);
      if (a === undefined || h === undefined) return;
      if (hostOf[a] !== -1) throw new TopologyError('INVALID_DOCUMENT', `${where}: ${e.from} already RUNS_ON ${hosts[hostOf[a]!]!.id}; the simulators place a workload on one host`);
      hostOf[a] = h;
    }
  });
  const name = (i: number): string => workloads[i]!.id;
  const calls = adjacency(n, callEdges);
  const callers = adjacency(n, callEdges.map(([a, b, w, c]) => [b, a, w, c]));
  const dependsOn = adjacency(n, depEdges);
  const dependents = adjacency(n, depEdges.map(([a, b, w, c]) => [b, a, w, c]));
  const consumes = adjacency(n, consumeEdges);
  const onHost = adjacency(
    hosts.length,
    [...hostOf].flatMap((h, i): Array<[number, number, number, number]> => (h >= 0 ? [[h, i, 1, 1]] : [])),
  );
  // Requests flow caller -> callee and queue -> consumer.
  const flowOrder = order(n, [...callEdges.map(([a, b]): [number, number] => [a, b]), ...consumeEdges.map(([c, q]): [number, number] => [q, c])], name, 'request flow (CALLS plus queue -> consumer)');
  // Latency and errors flow from callees and dependencies back to their users.
  const depOrder = order(n, [...callEdges, ...depEdges].map(([a, b]): [number, number] => [b, a]), name, 'dependency graph (CALLS plus DEPENDS_ON)');
  const entries: number[] = [];
  for (let i = 0; i < n; i++) if (callers.start[i + 1] === callers.start[i] && consumes.start[i + 1] === consumes.start[i]) entries.push(i);
  return { doc, workloads, hosts, workloadIndex, hostIndex, calls, callers, dependsOn, dependents, consumes, hostOf, onHost, flowOrder, depOrder, entries: Int32Array.from(entries) };
}

/** Finds a node by id or by name; throws UNKNOWN_NODE (listing a few known names) when absent or ambiguous. */
export function findNode(graph: TopologyGraph, ref: string, field = 'target'): { node: TopologyNode; kind: 'workload' | 'host'; index: number } {
  const w = graph.workloadIndex.get(ref);
  if (w !== undefined) return { node: graph.workloads[w]!, kind: 'workload', index: w };
  const h = graph.hostIndex.get(ref);
  if (h !== undefined) return { node: graph.hosts[h]!, kind: 'host', index: h };
  const matches: Array<{ node: TopologyNode; kind: 'workload' | 'host'; index: number }> = [];
  graph.workloads.forEach((node, index) => node.name === ref && matches.push({ node, kind: 'workload', index }));
  graph.hosts.forEach((node, index) => node.name === ref && matches.push({ node, kind: 'host', index }));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new TopologyError('UNKNOWN_NODE', `${field} ${JSON.stringify(ref)} names ${matches.length} nodes (${matches.map((m) => m.node.id).join(', ')}): use the node id`);
  }
  const names = [...graph.workloads, ...graph.hosts].map((x) => x.name);
  const shown = names.slice(0, 12).join(', ') + (names.length > 12 ? `, ... (${names.length} in all)` : '');
  throw new TopologyError('UNKNOWN_NODE', `${field} ${JSON.stringify(ref)} is not a node of topology ${JSON.stringify(graph.doc.name)} (known: ${shown})`);
}

/** Every workload reachable from `from` by following CALLS forward (callees, transitively). */
export function downstreamOf(graph: TopologyGraph, from: number): Set<number> {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length > 0) {
    const a = stack.pop()!;
    for (let k = graph.calls.start[a]!; k < graph.calls.start[a + 1]!; k++) {
      const b = graph.calls.to[k]!;
      if (!seen.has(b)) {
        seen.add(b);
        stack.push(b);
      }
    }
  }
  return seen;
}
