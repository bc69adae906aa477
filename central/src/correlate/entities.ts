// The topology as the correlation engine reads it: entities (topology nodes) resolved from an
// alert's labels, hop distances between them, and which of them the others depend on.
//
// Distances are undirected hop counts over every edge kind, with one rule: a Host is never a
// step in the middle of a path. Two services that merely share a machine are not related
// through it (co-location is not causality), but a host alert stays one hop from the workloads
// running on it. Edges point from the dependent to its dependency (shared-schemas topology: a
// caller CALLS its callee, a workload RUNS_ON its host); "depended on by most of the incident"
// is what makes an alert the representative (the cause end of the propagation).
//
// Two inputs: the project's TopologyDocument and a generic node-link JSON
// ({"nodes":[{"id","type"?,"name"?}],"edges":[{"source","target"}]}, source depends on target),
// the form public RCA datasets and `npm run correlate --topology` use.
import { TOPOLOGY_NODE_KINDS, validateTopologyDocument } from '../../../shared-schemas/src/index.js';
import type { TopologyDocument, TopologyNodeKind } from '../../../shared-schemas/src/index.js';
import { CodedError } from '../../../shared-schemas/src/runtime/index.js';

export const MAX_ENTITIES = 200_000;
const MAX_CACHED_ROWS = 4096;

export class EntityGraphError extends CodedError<'INVALID_TOPOLOGY'> {
  override name = 'EntityGraphError';
  constructor(message: string) {
    super('INVALID_TOPOLOGY', message);
  }
}

interface Entity {
  id: string;
  name: string;
  kind: TopologyNodeKind;
}

const KIND_BY_LOWER = new Map(TOPOLOGY_NODE_KINDS.map((k) => [k.toLowerCase(), k] as const));
const KIND_ALIASES: Record<string, TopologyNodeKind> = { node: 'Host', machine: 'Host', vm: 'Host', server: 'Host', pod: 'Instance', container: 'Instance', db: 'Database', datastore: 'Database', mq: 'Queue', lb: 'LoadBalancer' };

function kindOf(type: unknown): TopologyNodeKind {
  if (typeof type !== 'string') return 'Service';
  const t = type.trim().toLowerCase();
  return KIND_BY_LOWER.get(t) ?? KIND_ALIASES[t] ?? 'Service';
}

const HOST_LABELS = new Set(['host', 'node', 'hostname', 'nodename']);

export class EntityGraph {
  private readonly entities: Entity[];
  private readonly out: number[][];
  private readonly adj: number[][];
  private readonly byId = new Map<string, number>();
  private readonly byName = new Map<string, number[]>();
  private readonly rows = new Map<number, Int16Array>();
  private diameter: number | undefined;

  constructor(entities: readonly Entity[], edges: ReadonlyArray<{ from: string; to: string }>) {
    if (entities.length > MAX_ENTITIES) throw new EntityGraphError(`topology has ${entities.length} nodes, more than the limit ${MAX_ENTITIES}`);
    this.entities = entities.map((e) => ({ ...e }));
    this.entities.forEach((e, i) => {
      if (this.byId.has(e.id)) throw new EntityGraphError(`node id ${JSON.stringify(e.id)} appears twice`);
      this.byId.set(e.id, i);
      const list = this.byName.get(e.name);
      if (list) list.push(i);
      else this.byName.set(e.name, [i]);
    });
    this.out = this.entities.map(() => []);
    this.adj = this.entities.map(() => []);
    edges.forEach((e, i) => {
      const a = this.byId.get(e.from);
      const b = this.byId.get(e.to);
      if (a === undefined) throw new EntityGraphError(`edges[${i}] refers to an unknown node ${JSON.stringify(e.from)}`);
      if (b === undefined) throw new EntityGraphError(`edges[${i}] refers to an unknown node ${JSON.stringify(e.to)}`);
      if (a === b) return;
      if (!this.out[a]!.includes(b)) this.out[a]!.push(b);
      if (!this.adj[a]!.includes(b)) this.adj[a]!.push(b);
      if (!this.adj[b]!.includes(a)) this.adj[b]!.push(a);
    });
  }

  static fromTopology(doc: TopologyDocument): EntityGraph {
    return new EntityGraph(
      doc.nodes.map((n) => ({ id: n.id, name: n.name, kind: n.kind })),
      doc.edges.map((e) => ({ from: e.from, to: e.to })),
    );
  }

  /**
   * The project's topology document (`{"version":1,"nodes":[{"id","kind","name"}],"edges":[{"kind","from","to"}]}`)
   * or a node-link document; errors name the field.
   */
  static parse(value: unknown): EntityGraph {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EntityGraphError('topology must be a JSON object with "nodes" and "edges"');
    const v = value as Record<string, unknown>;
    if ('version' in v) {
      try {
        return EntityGraph.fromTopology(validateTopologyDocument(v));
      } catch (err) {
        throw new EntityGraphError(`topology document invalid: ${(err as Error).message}`);
      }
    }
    const nodes = v['nodes'];
    const edges = v['edges'] ?? v['links'] ?? [];
    if (!Array.isArray(nodes)) throw new EntityGraphError('topology.nodes must be an array');
    if (!Array.isArray(edges)) throw new EntityGraphError('topology.edges must be an array');
    const ents: Entity[] = nodes.map((n: unknown, i) => {
      if (typeof n !== 'object' || n === null) throw new EntityGraphError(`topology.nodes[${i}] must be an object`);
      const r = n as Record<string, unknown>;
      const id = r['id'];
      if ((typeof id !== 'string' || id === '' || id.length > 1024) && typeof id !== 'number') throw new EntityGraphError(`topology.nodes[${i}].id must be a non-empty string (got ${JSON.stringify(id)})`);
      const name = typeof r['name'] === 'string' && r['name'] !== '' ? r['name'] : String(id);
      return { id: String(id), name, kind: kindOf(r['type'] ?? r['kind']) };
    });
    const es = edges.map((e: unknown, i) => {
      if (typeof e !== 'object' || e === null) throw new EntityGraphError(`topology.edges[${i}] must be an object`);
      const r = e as Record<string, unknown>;
      const from = r['source'] ?? r['from'];
      const to = r['target'] ?? r['to'];
      if (typeof from !== 'string' && typeof from !== 'number') throw new EntityGraphError(`topology.edges[${i}].source must be a node id (got ${JSON.stringify(from)})`);
      if (typeof to !== 'string' && typeof to !== 'number') throw new EntityGraphError(`topology.edges[${i}].target must be a node id (got ${JSON.stringify(to)})`);
      return { from: String(from), to: String(to) };
    });
    return new EntityGraph(ents, es);
  }

  /** The entities entity i depends on (what it calls, the host it runs on). */
  dependencies(i: number): readonly number[] {
    return this.out[i] ?? [];
  }

  get size(): number {
    return this.entities.length;
  }

  entity(i: number): Entity | undefined {
    return this.entities[i];
  }

  /**
   * The entity an alert is about: the first of `labels` (in order) whose value is a node id
   * or name. A host label prefers Host nodes; other labels prefer the other kinds. -1 = none.
   */
  resolve(labels: Readonly<Record<string, string>>, entityLabels: readonly string[]): number {
    for (const name of entityLabels) {
      const value = labels[name];
      if (value === undefined || value === '') continue;
      const id = this.byId.get(value);
      if (id !== undefined) return id;
      const named = this.byName.get(value);
      if (!named) continue;
      const wantHost = HOST_LABELS.has(name);
      const pick = named.find((i) => (this.entities[i]!.kind === 'Host') === wantHost) ?? named[0]!;
      return pick;
    }
    return -1;
  }

  /** Hop distance (Hosts never in the middle); -1 when farther than `maxHops` or unreachable. */
  distance(a: number, b: number, maxHops: number): number {
    if (a === b) return 0;
    const row = this.row(a);
    const d = row[b]!;
    return d < 0 || d > maxHops ? -1 : d;
  }

  /** Whether `cause` is reachable from `from` following dependency edges (from depends on cause). */
  dependsOn(from: number, cause: number, maxHops: number): boolean {
    if (from === cause) return false;
    const seen = new Set<number>([from]);
    let frontier = [from];
    for (let d = 0; d < maxHops && frontier.length > 0; d++) {
      const next: number[] = [];
      for (const n of frontier) {
        for (const m of this.out[n]!) {
          if (m === cause) return true;
          if (seen.has(m)) continue;
          seen.add(m);
          next.push(m);
        }
      }
      frontier = next;
    }
    return false;
  }

  /**
   * The 90th percentile of the finite distances between non-host entities (from up to 256
   * sources, taken evenly): how far apart things typically are. 0 for a graph without edges.
   */
  effectiveDiameter(): number {
    if (this.diameter !== undefined) return this.diameter;
    const sources = this.entities.map((e, i) => (e.kind === 'Host' ? -1 : i)).filter((i) => i >= 0);
    const step = Math.max(1, Math.floor(sources.length / 256));
    const hist: number[] = [];
    for (let s = 0; s < sources.length; s += step) {
      const row = this.bfs(sources[s]!);
      for (const t of sources) {
        const d = row[t]!;
        if (d > 0) hist[d] = (hist[d] ?? 0) + 1;
      }
    }
    const total = hist.reduce((a, b) => a + (b ?? 0), 0);
    let acc = 0;
    let p90 = 0;
    for (let d = 1; d < hist.length; d++) {
      acc += hist[d] ?? 0;
      if (acc >= 0.9 * total) {
        p90 = d;
        break;
      }
    }
    this.diameter = p90;
    return p90;
  }

  /** The adaptive hop threshold: half the effective diameter, rounded up, at least 1. */
  adaptiveHops(): number {
    return Math.max(1, Math.ceil(this.effectiveDiameter() / 2));
  }

  private row(a: number): Int16Array {
    let r = this.rows.get(a);
    if (r) return r;
    r = this.bfs(a);
    if (this.rows.size >= MAX_CACHED_ROWS) this.rows.delete(this.rows.keys().next().value as number);
    this.rows.set(a, r);
    return r;
  }

  private bfs(start: number): Int16Array {
    const dist = new Int16Array(this.entities.length).fill(-1);
    dist[start] = 0;
    const queue = [start];
    for (let q = 0; q < queue.length; q++) {
      const n = queue[q]!;
      // A host is an end of a path, never a step through it (except where the walk starts).
      if (n !== start && this.entities[n]!.kind === 'Host') continue;
      const dn = dist[n]!;
      if (dn >= 32_000) continue;
      for (const m of this.adj[n]!) {
        if (dist[m] !== -1) continue;
        dist[m] = dn + 1;
        queue.push(m);
      }
    }
    return dist;
  }
}
