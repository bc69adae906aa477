// The embedded topology store (the default): nodes and edges in central's SQLite database
// (tables topology_nodes / topology_edges, migration 9), queries on an in-memory TopologyGraph
// per tenant built from them and rebuilt after a write. Production code: it passes the same
// contract suite as the Neo4j store.
import type { TopologyDocument, TopologyEdge, TopologyEdgeKind, TopologyNode, TopologyProperties } from '../../../shared-schemas/src/index.js';
import { validateTopologyDocument } from '../../../shared-schemas/src/index.js';
import type { SqliteDatabase } from '../storage/database.js';
import { checkNow, checkTenant } from '../storage/alert-store.js';
import { StorageError, toStorageError } from '../storage/errors.js';
import { edgeKey, TopologyGraph } from './graph.js';
import type { Reached, Subgraph } from './graph.js';
import type { PutResult, StoredEdge, StoredNode, TopologyOrigin, TopologySnapshot, TopologyStore } from './types.js';

interface NodeRow {
  id: string;
  kind: TopologyNode['kind'];
  name: string;
  properties: string;
  origin: TopologyOrigin;
  first_seen_ms: number;
  last_seen_ms: number;
}
interface EdgeRow {
  kind: TopologyEdgeKind;
  from_id: string;
  to_id: string;
  properties: string;
  origin: TopologyOrigin;
  first_seen_ms: number;
  last_seen_ms: number;
}

const props = (p: TopologyProperties | undefined) => JSON.stringify(p ?? {});

/** Validates nodes and edges as a document, with `known` nodes (already stored) available as edge ends. */
export function checkObservation(seen: { nodes: TopologyNode[]; edges: TopologyEdge[] }, known: readonly TopologyNode[]): void {
  if (seen === null || typeof seen !== 'object' || !Array.isArray(seen.nodes) || !Array.isArray(seen.edges)) throw new StorageError('INVALID_ARGUMENT', 'an observation needs nodes and edges lists');
  const ids = new Set(seen.nodes.map((n) => n.id));
  const doc = { version: 1, name: 'observation', nodes: [...seen.nodes, ...known.filter((n) => !ids.has(n.id))], edges: seen.edges };
  validateTopologyDocument(doc);
}

export class EmbeddedTopologyStore implements TopologyStore {
  private readonly st;
  private readonly graphs = new Map<string, TopologyGraph>();

  constructor(private readonly db: SqliteDatabase) {
    const h = db.handle;
    try {
      this.st = {
        nodes: h.prepare('SELECT * FROM topology_nodes WHERE tenant = ? ORDER BY id'),
        edges: h.prepare('SELECT * FROM topology_edges WHERE tenant = ? ORDER BY kind, from_id, to_id'),
        node: h.prepare('SELECT * FROM topology_nodes WHERE tenant = ? AND id = ?'),
        upsertNode: h.prepare(`INSERT INTO topology_nodes (tenant, id, kind, name, properties, origin, first_seen_ms, last_seen_ms) VALUES (@tenant, @id, @kind, @name, @properties, @origin, @now, @now)
          ON CONFLICT (tenant, id) DO UPDATE SET kind = excluded.kind, name = excluded.name,
            properties = CASE WHEN excluded.origin = 'declared' THEN excluded.properties ELSE json_patch(topology_nodes.properties, excluded.properties) END,
            origin = CASE WHEN topology_nodes.origin = 'declared' OR excluded.origin = 'declared' THEN 'declared' ELSE 'discovered' END,
            last_seen_ms = max(topology_nodes.last_seen_ms, excluded.last_seen_ms)`),
        upsertEdge: h.prepare(`INSERT INTO topology_edges (tenant, kind, from_id, to_id, properties, origin, first_seen_ms, last_seen_ms) VALUES (@tenant, @kind, @from, @to, @properties, @origin, @now, @now)
          ON CONFLICT (tenant, kind, from_id, to_id) DO UPDATE SET
            properties = CASE WHEN excluded.origin = 'declared' THEN excluded.properties ELSE json_patch(topology_edges.properties, excluded.properties) END,
            origin = CASE WHEN topology_edges.origin = 'declared' OR excluded.origin = 'declared' THEN 'declared' ELSE 'discovered' END,
            last_seen_ms = max(topology_edges.last_seen_ms, excluded.last_seen_ms)`),
        deleteEdge: h.prepare('DELETE FROM topology_edges WHERE tenant = ? AND kind = ? AND from_id = ? AND to_id = ?'),
        demoteNode: h.prepare("UPDATE topology_nodes SET origin = 'discovered' WHERE tenant = ? AND id = ?"),
        deleteNode: h.prepare('DELETE FROM topology_nodes WHERE tenant = ? AND id = ?'),
        nodeHasEdges: h.prepare('SELECT 1 FROM topology_edges WHERE tenant = ? AND (from_id = ? OR to_id = ?) LIMIT 1'),
        expireEdges: h.prepare("DELETE FROM topology_edges WHERE tenant = ? AND origin = 'discovered' AND last_seen_ms < ?"),
        expireNodes: h.prepare(`DELETE FROM topology_nodes WHERE tenant = ? AND origin = 'discovered' AND last_seen_ms < ?
          AND NOT EXISTS (SELECT 1 FROM topology_edges e WHERE e.tenant = topology_nodes.tenant AND (e.from_id = topology_nodes.id OR e.to_id = topology_nodes.id))`),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the topology store (is the database migrated?)');
    }
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.graphs.clear();
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the topology store is closed (its database was closed)');
  }

  private write<T>(tenant: string, what: string, fn: () => T): T {
    this.ensureOpen();
    try {
      return this.db.handle.transaction(fn)();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (err instanceof Error && err.name === 'SchemaDecodeError') throw err;
      throw toStorageError(err, what);
    } finally {
      this.graphs.delete(tenant);
    }
  }

  async putDeclared(tenant: string, doc: TopologyDocument, nowMs: number): Promise<PutResult> {
    checkTenant(tenant);
    checkNow(nowMs);
    validateTopologyDocument(doc);
    return this.write(tenant, 'topology not stored', () => {
      const nodeIds = new Set(doc.nodes.map((n) => n.id));
      const edgeKeys = new Set(doc.edges.map(edgeKey));
      let removedEdges = 0;
      let removedNodes = 0;
      // What the previous declaration said and this one does not: gone.
      for (const e of this.st.edges.all(tenant) as EdgeRow[]) {
        if (e.origin === 'declared' && !edgeKeys.has(edgeKey({ kind: e.kind, from: e.from_id, to: e.to_id }))) {
          this.st.deleteEdge.run(tenant, e.kind, e.from_id, e.to_id);
          removedEdges++;
        }
      }
      for (const n of this.st.nodes.all(tenant) as NodeRow[]) {
        if (n.origin !== 'declared' || nodeIds.has(n.id)) continue;
        // Still an end of a discovered edge: it stays, as discovered.
        if (this.st.nodeHasEdges.get(tenant, n.id, n.id)) this.st.demoteNode.run(tenant, n.id);
        else {
          this.st.deleteNode.run(tenant, n.id);
          removedNodes++;
        }
      }
      for (const n of doc.nodes) this.st.upsertNode.run({ tenant, id: n.id, kind: n.kind, name: n.name, properties: props(n.properties), origin: 'declared', now: nowMs });
      for (const e of doc.edges) this.st.upsertEdge.run({ tenant, kind: e.kind, from: e.from, to: e.to, properties: props(e.properties), origin: 'declared', now: nowMs });
      return { nodes: doc.nodes.length, edges: doc.edges.length, removed: { nodes: removedNodes, edges: removedEdges } };
    });
  }

  async observe(tenant: string, seen: { nodes: TopologyNode[]; edges: TopologyEdge[] }, nowMs: number): Promise<{ nodes: number; edges: number }> {
    checkTenant(tenant);
    checkNow(nowMs);
    return this.write(tenant, 'observation not stored', () => {
      const given = new Set((seen?.nodes ?? []).map((n) => n.id));
      const ends = new Set<string>();
      for (const e of seen?.edges ?? []) for (const id of [e?.from, e?.to]) if (typeof id === 'string' && !given.has(id)) ends.add(id);
      const known: TopologyNode[] = [];
      for (const id of ends) {
        const r = this.st.node.get(tenant, id) as NodeRow | undefined;
        if (r) known.push({ id: r.id, kind: r.kind, name: r.name });
      }
      checkObservation(seen, known);
      for (const n of seen.nodes) {
        const cur = this.st.node.get(tenant, n.id) as NodeRow | undefined;
        if (cur && cur.kind !== n.kind) throw new StorageError('INVALID_ARGUMENT', `node ${JSON.stringify(n.id)} is a ${cur.kind}, observed as a ${n.kind}`);
        this.st.upsertNode.run({ tenant, id: n.id, kind: n.kind, name: n.name, properties: props(n.properties), origin: 'discovered', now: nowMs });
      }
      for (const e of seen.edges) this.st.upsertEdge.run({ tenant, kind: e.kind, from: e.from, to: e.to, properties: props(e.properties), origin: 'discovered', now: nowMs });
      return { nodes: seen.nodes.length, edges: seen.edges.length };
    });
  }

  async expire(tenant: string, beforeMs: number): Promise<{ nodes: number; edges: number }> {
    checkTenant(tenant);
    checkNow(beforeMs);
    return this.write(tenant, 'topology expiry failed', () => {
      const edges = this.st.expireEdges.run(tenant, beforeMs).changes;
      const nodes = this.st.expireNodes.run(tenant, beforeMs).changes;
      return { nodes, edges };
    });
  }

  async snapshot(tenant: string): Promise<TopologySnapshot> {
    checkTenant(tenant);
    this.ensureOpen();
    try {
      const nodes: StoredNode[] = (this.st.nodes.all(tenant) as NodeRow[]).map((r) => ({ id: r.id, kind: r.kind, name: r.name, properties: JSON.parse(r.properties) as TopologyProperties, origin: r.origin, firstSeenMs: r.first_seen_ms, lastSeenMs: r.last_seen_ms }));
      const edges: StoredEdge[] = (this.st.edges.all(tenant) as EdgeRow[]).map((r) => ({ kind: r.kind, from: r.from_id, to: r.to_id, properties: JSON.parse(r.properties) as TopologyProperties, origin: r.origin, firstSeenMs: r.first_seen_ms, lastSeenMs: r.last_seen_ms }));
      return { nodes, edges };
    } catch (err) {
      throw toStorageError(err, 'topology read failed');
    }
  }

  /** The tenant's graph (cached until the next write). */
  async graph(tenant: string): Promise<TopologyGraph> {
    let g = this.graphs.get(tenant);
    if (g === undefined) {
      const s = await this.snapshot(tenant);
      g = new TopologyGraph({ version: 1, name: tenant, nodes: s.nodes.map((n) => ({ id: n.id, kind: n.kind, name: n.name, properties: n.properties ?? {} })), edges: s.edges.map((e) => ({ kind: e.kind, from: e.from, to: e.to, properties: e.properties ?? {} })) });
      this.graphs.set(tenant, g);
    }
    return g;
  }

  async neighbourhood(tenant: string, id: string, k: number, kinds?: readonly TopologyEdgeKind[]): Promise<Subgraph> {
    return (await this.graph(tenant)).neighbourhood(id, k, kinds);
  }

  async downstream(tenant: string, id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Promise<Reached[]> {
    return (await this.graph(tenant)).downstream(id, maxDepth, kinds);
  }

  async upstream(tenant: string, id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Promise<Reached[]> {
    return (await this.graph(tenant)).upstream(id, maxDepth, kinds);
  }

  async blastRadius(tenant: string, id: string, maxDepth?: number): Promise<Reached[]> {
    return (await this.graph(tenant)).blastRadius(id, maxDepth);
  }

  async shortestPath(tenant: string, from: string, to: string, o: { directed?: boolean; maxDepth?: number; kinds?: readonly TopologyEdgeKind[] } = {}): Promise<string[] | undefined> {
    return (await this.graph(tenant)).shortestPath(from, to, o);
  }
}
