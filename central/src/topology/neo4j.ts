// The topology store on Neo4j (issue #8, Deliver 2): the same contract as the embedded store,
// answered by the database. Model: one `:TopologyNode` per (tenant, id) with `kind`, `name`,
// `properties` (a JSON object of scalars, kept as a string), `origin`, `firstSeenMs`,
// `lastSeenMs`; relationships typed CALLS, DEPENDS_ON, RUNS_ON and HOSTS with the same
// bookkeeping. Walks use APOC's breadth-first spanning tree (each node once, at its least hop
// count), shortest paths Cypher's shortestPath; writes of one call run in one transaction.
//
// Relationship types cannot be query parameters in Cypher: they are written into the query
// text, only ever from the fixed list TOPOLOGY_EDGE_KINDS after validation.
import neo4j from 'neo4j-driver';
import type { Driver, ManagedTransaction } from 'neo4j-driver';
import type { TopologyDocument, TopologyEdge, TopologyEdgeKind, TopologyNode, TopologyProperties } from '../../../shared-schemas/src/index.js';
import { TOPOLOGY_EDGE_KINDS, validateTopologyDocument } from '../../../shared-schemas/src/index.js';
import { checkNow, checkTenant } from '../storage/alert-store.js';
import { StorageError } from '../storage/errors.js';
import { checkObservation } from './embedded.js';
import { checkDepth, checkKinds, edgeKey, MAX_DEPTH, MAX_RESULTS, TopologyError } from './graph.js';
import type { Reached, Subgraph } from './graph.js';
import type { PutResult, StoredEdge, StoredNode, TopologyOrigin, TopologySnapshot, TopologyStore } from './types.js';

export interface Neo4jTopologyOptions {
  /** bolt:// or neo4j:// URL. */
  url: string;
  username?: string;
  password?: string;
  database?: string;
}

const json = (p: TopologyProperties | undefined) => JSON.stringify(p ?? {});

function relFilter(kinds: ReadonlySet<TopologyEdgeKind>, dir: '>' | '<' | ''): string {
  return TOPOLOGY_EDGE_KINDS.filter((k) => kinds.has(k))
    .map((k) => `${k}${dir}`)
    .join('|');
}

export class Neo4jTopologyStore implements TopologyStore {
  private driver: Driver | undefined;

  constructor(private readonly o: Neo4jTopologyOptions) {}

  async start(): Promise<void> {
    if (this.driver) return;
    const auth = this.o.username !== undefined ? neo4j.auth.basic(this.o.username, this.o.password ?? '') : undefined;
    const d = neo4j.driver(this.o.url, auth, { disableLosslessIntegers: true, maxConnectionPoolSize: 20, connectionAcquisitionTimeout: 30_000 });
    try {
      await d.verifyConnectivity();
      await this.withSession(d, 'WRITE', (tx) => tx.run('CREATE CONSTRAINT topology_node_key IF NOT EXISTS FOR (n:TopologyNode) REQUIRE (n.tenant, n.id) IS UNIQUE'));
    } catch (err) {
      await d.close();
      throw new StorageError('IO', `Neo4j at ${this.o.url}: ${(err as Error).message}`, true, { cause: err });
    }
    this.driver = d;
  }

  /** The open driver (for the GraphQL API's @neo4j/graphql executor); undefined before start. */
  get connection(): Driver | undefined {
    return this.driver;
  }

  async shutdown(): Promise<void> {
    const d = this.driver;
    this.driver = undefined;
    await d?.close();
  }

  private async withSession<T>(d: Driver, mode: 'READ' | 'WRITE', fn: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const s = d.session({ defaultAccessMode: mode === 'READ' ? neo4j.session.READ : neo4j.session.WRITE, ...(this.o.database ? { database: this.o.database } : {}) });
    try {
      return mode === 'READ' ? await s.executeRead(fn) : await s.executeWrite(fn);
    } finally {
      await s.close();
    }
  }

  private run<T>(mode: 'READ' | 'WRITE', fn: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    if (!this.driver) return Promise.reject(new StorageError('CLOSED', 'the Neo4j topology store is not started (or shut down)'));
    return this.withSession(this.driver, mode, fn);
  }

  private static async upsert(tx: ManagedTransaction, tenant: string, nodes: Array<TopologyNode & { props: string }>, edges: Array<TopologyEdge & { props: string }>, origin: TopologyOrigin, nowMs: number): Promise<void> {
    await tx.run(
      `UNWIND $nodes AS x
       MERGE (n:TopologyNode {tenant: $tenant, id: x.id})
       ON CREATE SET n.firstSeenMs = $now, n.lastSeenMs = $now, n.origin = $origin
       SET n.kind = x.kind, n.name = x.name, n.properties = x.props,
           n.origin = CASE WHEN n.origin = 'declared' OR $origin = 'declared' THEN 'declared' ELSE 'discovered' END,
           n.lastSeenMs = CASE WHEN n.lastSeenMs > $now THEN n.lastSeenMs ELSE $now END`,
      { tenant, nodes: nodes.map((n) => ({ id: n.id, kind: n.kind, name: n.name, props: n.props })), origin, now: nowMs },
    );
    for (const kind of TOPOLOGY_EDGE_KINDS) {
      const of = edges.filter((e) => e.kind === kind);
      if (of.length === 0) continue;
      await tx.run(
        `UNWIND $edges AS x
         MATCH (a:TopologyNode {tenant: $tenant, id: x.from}), (b:TopologyNode {tenant: $tenant, id: x.to})
         MERGE (a)-[r:${kind}]->(b)
         ON CREATE SET r.firstSeenMs = $now, r.lastSeenMs = $now, r.origin = $origin, r.tenant = $tenant
         SET r.properties = x.props,
             r.origin = CASE WHEN r.origin = 'declared' OR $origin = 'declared' THEN 'declared' ELSE 'discovered' END,
             r.lastSeenMs = CASE WHEN r.lastSeenMs > $now THEN r.lastSeenMs ELSE $now END`,
        { tenant, edges: of.map((e) => ({ from: e.from, to: e.to, props: e.props })), origin, now: nowMs },
      );
    }
  }

  async putDeclared(tenant: string, doc: TopologyDocument, nowMs: number): Promise<PutResult> {
    checkTenant(tenant);
    checkNow(nowMs);
    validateTopologyDocument(doc);
    return this.run('WRITE', async (tx) => {
      const nodeIds = new Set(doc.nodes.map((n) => n.id));
      const keys = new Set(doc.edges.map(edgeKey));
      const declaredEdges = (await tx.run("MATCH (a:TopologyNode {tenant: $tenant})-[r]->(b:TopologyNode) WHERE r.origin = 'declared' RETURN type(r) AS kind, a.id AS f, b.id AS t", { tenant })).records;
      let removedEdges = 0;
      for (const rec of declaredEdges) {
        const e = { kind: rec.get('kind') as string, from: rec.get('f') as string, to: rec.get('t') as string };
        if (keys.has(edgeKey(e))) continue;
        await tx.run(`MATCH (a:TopologyNode {tenant: $tenant, id: $f})-[r:${TOPOLOGY_EDGE_KINDS.find((k) => k === e.kind)!}]->(b:TopologyNode {tenant: $tenant, id: $t}) DELETE r`, { tenant, f: e.from, t: e.to });
        removedEdges++;
      }
      const gone = (await tx.run("MATCH (n:TopologyNode {tenant: $tenant, origin: 'declared'}) WHERE NOT n.id IN $ids RETURN n.id AS id, COUNT { (n)--() } AS degree", { tenant, ids: [...nodeIds] })).records;
      let removedNodes = 0;
      for (const rec of gone) {
        if ((rec.get('degree') as number) > 0) await tx.run("MATCH (n:TopologyNode {tenant: $tenant, id: $id}) SET n.origin = 'discovered'", { tenant, id: rec.get('id') });
        else {
          await tx.run('MATCH (n:TopologyNode {tenant: $tenant, id: $id}) DELETE n', { tenant, id: rec.get('id') });
          removedNodes++;
        }
      }
      await Neo4jTopologyStore.upsert(
        tx,
        tenant,
        doc.nodes.map((n) => ({ ...n, props: json(n.properties) })),
        doc.edges.map((e) => ({ ...e, props: json(e.properties) })),
        'declared',
        nowMs,
      );
      return { nodes: doc.nodes.length, edges: doc.edges.length, removed: { nodes: removedNodes, edges: removedEdges } };
    });
  }

  async observe(tenant: string, seen: { nodes: TopologyNode[]; edges: TopologyEdge[] }, nowMs: number): Promise<{ nodes: number; edges: number }> {
    checkTenant(tenant);
    checkNow(nowMs);
    return this.run('WRITE', async (tx) => {
      const given = new Set((seen?.nodes ?? []).map((n) => n?.id));
      const ends = new Set<string>();
      for (const e of seen?.edges ?? []) for (const id of [e?.from, e?.to]) if (typeof id === 'string' && !given.has(id)) ends.add(id);
      const ids = [...new Set([...ends, ...[...given].filter((x): x is string => typeof x === 'string')])];
      const stored = new Map(
        (await tx.run('MATCH (n:TopologyNode {tenant: $tenant}) WHERE n.id IN $ids RETURN n.id AS id, n.kind AS kind, n.name AS name, n.properties AS props', { tenant, ids })).records.map((r) => [
          r.get('id') as string,
          { id: r.get('id') as string, kind: r.get('kind') as TopologyNode['kind'], name: r.get('name') as string, props: r.get('props') as string },
        ]),
      );
      checkObservation(seen, [...ends].flatMap((id) => (stored.has(id) ? [{ id, kind: stored.get(id)!.kind, name: stored.get(id)!.name }] : [])));
      for (const n of seen.nodes) {
        const cur = stored.get(n.id);
        if (cur && cur.kind !== n.kind) throw new StorageError('INVALID_ARGUMENT', `node ${JSON.stringify(n.id)} is a ${cur.kind}, observed as a ${n.kind}`);
      }
      // Discovered properties are merged into what is stored (a declared node's too).
      const edgeProps = new Map<string, string>();
      for (const kind of TOPOLOGY_EDGE_KINDS) {
        const of = seen.edges.filter((e) => e.kind === kind);
        if (of.length === 0) continue;
        const recs = (await tx.run(`UNWIND $pairs AS p MATCH (a:TopologyNode {tenant: $tenant, id: p.f})-[r:${kind}]->(b:TopologyNode {tenant: $tenant, id: p.t}) RETURN a.id AS f, b.id AS t, r.properties AS props`, { tenant, pairs: of.map((e) => ({ f: e.from, t: e.to })) })).records;
        for (const r of recs) edgeProps.set(edgeKey({ kind, from: r.get('f') as string, to: r.get('t') as string }), r.get('props') as string);
      }
      const merge = (old: string | undefined, add: TopologyProperties | undefined) => JSON.stringify({ ...(old ? (JSON.parse(old) as TopologyProperties) : {}), ...(add ?? {}) });
      await Neo4jTopologyStore.upsert(
        tx,
        tenant,
        seen.nodes.map((n) => ({ ...n, props: merge(stored.get(n.id)?.props, n.properties) })),
        seen.edges.map((e) => ({ ...e, props: merge(edgeProps.get(edgeKey(e)), e.properties) })),
        'discovered',
        nowMs,
      );
      return { nodes: seen.nodes.length, edges: seen.edges.length };
    });
  }

  async expire(tenant: string, beforeMs: number): Promise<{ nodes: number; edges: number }> {
    checkTenant(tenant);
    checkNow(beforeMs);
    return this.run('WRITE', async (tx) => {
      const edges = (await tx.run("MATCH (:TopologyNode {tenant: $tenant})-[r]->(:TopologyNode) WHERE r.origin = 'discovered' AND r.lastSeenMs < $before DELETE r RETURN count(r) AS n", { tenant, before: beforeMs })).records[0]!.get('n') as number;
      const nodes = (await tx.run("MATCH (n:TopologyNode {tenant: $tenant, origin: 'discovered'}) WHERE n.lastSeenMs < $before AND NOT (n)--() DELETE n RETURN count(n) AS n", { tenant, before: beforeMs })).records[0]!.get('n') as number;
      return { nodes, edges };
    });
  }

  async snapshot(tenant: string): Promise<TopologySnapshot> {
    checkTenant(tenant);
    return this.run('READ', async (tx) => {
      const nodes: StoredNode[] = (await tx.run('MATCH (n:TopologyNode {tenant: $tenant}) RETURN n ORDER BY n.id', { tenant })).records.map((r) => {
        const p = r.get('n').properties as Record<string, unknown>;
        return { id: p['id'] as string, kind: p['kind'] as TopologyNode['kind'], name: p['name'] as string, properties: JSON.parse(p['properties'] as string) as TopologyProperties, origin: p['origin'] as TopologyOrigin, firstSeenMs: p['firstSeenMs'] as number, lastSeenMs: p['lastSeenMs'] as number };
      });
      const edges: StoredEdge[] = (await tx.run('MATCH (a:TopologyNode {tenant: $tenant})-[r]->(b:TopologyNode) RETURN type(r) AS kind, a.id AS f, b.id AS t, r ORDER BY kind, f, t', { tenant })).records.map((rec) => {
        const p = rec.get('r').properties as Record<string, unknown>;
        return { kind: rec.get('kind') as TopologyEdgeKind, from: rec.get('f') as string, to: rec.get('t') as string, properties: JSON.parse(p['properties'] as string) as TopologyProperties, origin: p['origin'] as TopologyOrigin, firstSeenMs: p['firstSeenMs'] as number, lastSeenMs: p['lastSeenMs'] as number };
      });
      return { nodes, edges };
    });
  }

  /** Breadth-first walk (APOC spanning tree): each node once, at its least hop count; the start at 0. */
  private async walk(tenant: string, id: string, dir: '>' | '<' | '', maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Promise<Reached[]> {
    checkTenant(tenant);
    checkDepth(maxDepth);
    const allowed = checkKinds(kinds);
    return this.run('READ', async (tx) => {
      const start = await tx.run('MATCH (s:TopologyNode {tenant: $tenant, id: $id}) RETURN s.id AS id', { tenant, id });
      if (start.records.length === 0) throw new TopologyError('NOT_FOUND', `no node ${JSON.stringify(id)} in the topology`);
      if (maxDepth === 0 || allowed.size === 0) return [{ id, depth: 0 }];
      const res = await tx.run(
        `MATCH (s:TopologyNode {tenant: $tenant, id: $id})
         CALL apoc.path.spanningTree(s, {relationshipFilter: $filter, maxLevel: $depth, bfs: true, limit: $limit}) YIELD path
         WITH last(nodes(path)) AS n, length(path) AS depth, nodes(path) AS ns
         RETURN n.id AS id, depth, CASE WHEN depth > 0 THEN ns[depth - 1].id ELSE null END AS via`,
        { tenant, id, filter: relFilter(allowed, dir), depth: neo4j.int(maxDepth), limit: neo4j.int(MAX_RESULTS) },
      );
      const best = new Map<string, Reached>([[id, { id, depth: 0 }]]);
      for (const r of res.records) {
        const rid = r.get('id') as string;
        const depth = r.get('depth') as number;
        const cur = best.get(rid);
        if (cur === undefined || depth < cur.depth) best.set(rid, { id: rid, depth, via: r.get('via') as string });
      }
      return [...best.values()].sort((a, b) => a.depth - b.depth || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }

  async downstream(tenant: string, id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Promise<Reached[]> {
    return (await this.walk(tenant, id, '>', maxDepth, kinds)).slice(1);
  }

  async upstream(tenant: string, id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Promise<Reached[]> {
    return (await this.walk(tenant, id, '<', maxDepth, kinds)).slice(1);
  }

  async blastRadius(tenant: string, id: string, maxDepth = MAX_DEPTH): Promise<Reached[]> {
    return this.upstream(tenant, id, maxDepth);
  }

  async neighbourhood(tenant: string, id: string, k: number, kinds?: readonly TopologyEdgeKind[]): Promise<Subgraph> {
    const allowed = checkKinds(kinds);
    const ids = (await this.walk(tenant, id, '', checkDepth(k, 'k'), kinds)).map((r) => r.id);
    return this.run('READ', async (tx) => {
      const nodes = (await tx.run('MATCH (n:TopologyNode {tenant: $tenant}) WHERE n.id IN $ids RETURN n ORDER BY n.id', { tenant, ids })).records.map((r) => {
        const p = r.get('n').properties as Record<string, unknown>;
        return { id: p['id'] as string, kind: p['kind'] as TopologyNode['kind'], name: p['name'] as string, properties: JSON.parse(p['properties'] as string) as TopologyProperties };
      });
      const edges = (await tx.run('MATCH (a:TopologyNode {tenant: $tenant})-[r]->(b:TopologyNode) WHERE a.id IN $ids AND b.id IN $ids AND type(r) IN $kinds RETURN type(r) AS kind, a.id AS f, b.id AS t, r.properties AS props ORDER BY kind, f, t', { tenant, ids, kinds: [...allowed] })).records.map((r) => ({
        kind: r.get('kind') as TopologyEdgeKind,
        from: r.get('f') as string,
        to: r.get('t') as string,
        properties: JSON.parse(r.get('props') as string) as TopologyProperties,
      }));
      return { nodes, edges };
    });
  }

  async shortestPath(tenant: string, from: string, to: string, o: { directed?: boolean; maxDepth?: number; kinds?: readonly TopologyEdgeKind[] } = {}): Promise<string[] | undefined> {
    checkTenant(tenant);
    const depth = checkDepth(o.maxDepth ?? MAX_DEPTH);
    const allowed = checkKinds(o.kinds);
    return this.run('READ', async (tx) => {
      const ends = await tx.run('MATCH (n:TopologyNode {tenant: $tenant}) WHERE n.id IN [$from, $to] RETURN n.id AS id', { tenant, from, to });
      const found = new Set(ends.records.map((r) => r.get('id') as string));
      for (const x of [from, to]) if (!found.has(x)) throw new TopologyError('NOT_FOUND', `no node ${JSON.stringify(x)} in the topology`);
      if (from === to) return [from];
      if (depth === 0 || allowed.size === 0) return undefined;
      const types = TOPOLOGY_EDGE_KINDS.filter((k) => allowed.has(k)).join('|');
      const arrow = o.directed ? '->' : '-';
      const res = await tx.run(
        `MATCH (a:TopologyNode {tenant: $tenant, id: $from}), (b:TopologyNode {tenant: $tenant, id: $to})
         MATCH p = shortestPath((a)-[:${types}*..${depth}]${arrow}(b))
         RETURN [n IN nodes(p) | n.id] AS ids`,
        { tenant, from, to },
      );
      return res.records.length === 0 ? undefined : (res.records[0]!.get('ids') as string[]);
    });
  }
}
