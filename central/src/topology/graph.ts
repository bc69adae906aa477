// The topology as an in-memory graph, with the queries the correlation and root-cause engines
// ask (issue #8, Deliver 2): k-hop neighbourhood, upstream and downstream reachability, the
// shortest path between two entities, the blast radius of a node, and the graph's density (for
// a hop threshold that adapts to it). The embedded topology store answers from this; the Neo4j
// store answers the same questions in Cypher, and both pass one contract suite.
//
// Dependency reading (shared-schemas/src/topology.ts): every edge kind points from the dependent
// to what it depends on - a caller on its callee (CALLS), a consumer on its queue (DEPENDS_ON),
// a workload on its host (RUNS_ON), a service on its instances (HOSTS). So "downstream of X" is
// what X depends on (edges followed forwards) and "upstream of X" is what depends on X (edges
// followed backwards); the blast radius of X is its upstream over every edge kind: when X
// fails, those are affected.
//
// Results are deterministic: by hop distance, then id. Walks are bounded by `maxDepth` and by
// MAX_RESULTS nodes so a query on a huge graph cannot run away.
import type { TopologyDocument, TopologyEdge, TopologyEdgeKind, TopologyNode } from '../../../shared-schemas/src/index.js';
import { TOPOLOGY_EDGE_KINDS, validateTopologyDocument } from '../../../shared-schemas/src/index.js';

export const MAX_DEPTH = 32;
export const MAX_RESULTS = 100_000;

export type Direction = 'downstream' | 'upstream' | 'both';

export interface Reached {
  id: string;
  /** Hops from the start. */
  depth: number;
  /** The node it was first reached from (undefined for the start). */
  via?: string;
}

export interface Subgraph {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

export class TopologyError extends Error {
  override name = 'TopologyError';
  constructor(
    readonly code: 'NOT_FOUND' | 'INVALID_ARGUMENT',
    message: string,
  ) {
    super(message);
  }
}

export function checkDepth(d: number, what = 'maxDepth'): number {
  if (!Number.isInteger(d) || d < 0 || d > MAX_DEPTH) throw new TopologyError('INVALID_ARGUMENT', `${what} must be an integer 0..${MAX_DEPTH} (got ${d})`);
  return d;
}

export function checkKinds(kinds: readonly TopologyEdgeKind[] | undefined): ReadonlySet<TopologyEdgeKind> {
  const k = kinds ?? TOPOLOGY_EDGE_KINDS;
  for (const x of k) if (!TOPOLOGY_EDGE_KINDS.includes(x)) throw new TopologyError('INVALID_ARGUMENT', `edge kind must be one of ${TOPOLOGY_EDGE_KINDS.join(', ')} (got ${JSON.stringify(x)})`);
  return new Set(k);
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** Identity of an edge: its kind and ends. */
export const edgeKey = (e: { kind: string; from: string; to: string }) => `${e.kind}\u0000${e.from}\u0000${e.to}`;

export class TopologyGraph {
  private readonly nodesById = new Map<string, TopologyNode>();
  private readonly out = new Map<string, TopologyEdge[]>();
  private readonly in = new Map<string, TopologyEdge[]>();
  private readonly edgeList: TopologyEdge[] = [];

  /** Builds the graph of a document (validated here: a bad document is refused whole). */
  constructor(doc: TopologyDocument) {
    validateTopologyDocument(doc);
    for (const n of [...doc.nodes].sort(byId)) {
      this.nodesById.set(n.id, n);
      this.out.set(n.id, []);
      this.in.set(n.id, []);
    }
    const edges = [...doc.edges].sort((a, b) => (edgeKey(a) < edgeKey(b) ? -1 : 1));
    for (const e of edges) {
      this.edgeList.push(e);
      this.out.get(e.from)!.push(e);
      this.in.get(e.to)!.push(e);
    }
  }

  get size(): { nodes: number; edges: number } {
    return { nodes: this.nodesById.size, edges: this.edgeList.length };
  }

  node(id: string): TopologyNode | undefined {
    return this.nodesById.get(id);
  }

  /** Nodes of a kind with a name (a service name from a metric's labels -> its node). */
  findByName(name: string, kind?: TopologyNode['kind']): TopologyNode[] {
    return [...this.nodesById.values()].filter((n) => n.name === name && (kind === undefined || n.kind === kind));
  }

  private need(id: string): void {
    if (!this.nodesById.has(id)) throw new TopologyError('NOT_FOUND', `no node ${JSON.stringify(id)} in the topology`);
  }

  /** Breadth-first walk from `id` along `direction`, up to maxDepth hops (the start at depth 0). */
  walk(id: string, direction: Direction, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Reached[] {
    this.need(id);
    checkDepth(maxDepth);
    const allowed = checkKinds(kinds);
    const seen = new Map<string, Reached>([[id, { id, depth: 0 }]]);
    let frontier = [id];
    for (let depth = 1; depth <= maxDepth && frontier.length > 0 && seen.size < MAX_RESULTS; depth++) {
      const next: string[] = [];
      for (const from of frontier) {
        const steps: string[] = [];
        if (direction !== 'upstream') for (const e of this.out.get(from)!) if (allowed.has(e.kind)) steps.push(e.to);
        if (direction !== 'downstream') for (const e of this.in.get(from)!) if (allowed.has(e.kind)) steps.push(e.from);
        for (const to of steps.sort()) {
          if (seen.has(to)) continue;
          seen.set(to, { id: to, depth, via: from });
          next.push(to);
        }
      }
      frontier = next.sort();
    }
    return [...seen.values()].sort((a, b) => a.depth - b.depth || byId(a, b));
  }

  /** The nodes within k hops (edges in either direction) and the edges among them. */
  neighbourhood(id: string, k: number, kinds?: readonly TopologyEdgeKind[]): Subgraph {
    const ids = new Set(this.walk(id, 'both', checkDepth(k, 'k'), kinds).map((r) => r.id));
    const allowed = checkKinds(kinds);
    return {
      nodes: [...ids].sort().map((i) => this.nodesById.get(i)!),
      edges: this.edgeList.filter((e) => allowed.has(e.kind) && ids.has(e.from) && ids.has(e.to)),
    };
  }

  /** What `id` depends on, transitively (edges forwards), without the start. */
  downstream(id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Reached[] {
    return this.walk(id, 'downstream', maxDepth, kinds).slice(1);
  }

  /** What depends on `id`, transitively (edges backwards), without the start. */
  upstream(id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Reached[] {
    return this.walk(id, 'upstream', maxDepth, kinds).slice(1);
  }

  /** What is affected when `id` fails: its upstream over every edge kind. */
  blastRadius(id: string, maxDepth = MAX_DEPTH): Reached[] {
    return this.upstream(id, maxDepth);
  }

  /**
   * A shortest path from `from` to `to` (node ids, both ends included), following edges
   * forwards (`directed`) or in either direction; undefined when none within maxDepth hops.
   * Of several shortest paths, the one whose ids come first in order at each step.
   */
  shortestPath(from: string, to: string, o: { directed?: boolean; maxDepth?: number; kinds?: readonly TopologyEdgeKind[] } = {}): string[] | undefined {
    this.need(to);
    const reached = this.walk(from, o.directed ? 'downstream' : 'both', o.maxDepth ?? MAX_DEPTH, o.kinds);
    const at = new Map(reached.map((r) => [r.id, r]));
    if (!at.has(to)) return undefined;
    const path = [to];
    for (let cur = at.get(to)!; cur.via !== undefined; cur = at.get(cur.via)!) path.push(cur.via);
    return path.reverse();
  }

  /** Hops between two nodes in either direction (undefined: not connected within maxDepth). */
  distance(a: string, b: string, maxDepth = MAX_DEPTH): number | undefined {
    const p = this.shortestPath(a, b, { maxDepth });
    return p === undefined ? undefined : p.length - 1;
  }

  /** Mean number of neighbours (in either direction) of a node: 2 x edges / nodes. */
  density(): number {
    return this.nodesById.size === 0 ? 0 : (2 * this.edgeList.length) / this.nodesById.size;
  }
}
