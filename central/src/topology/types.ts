// The topology store (issue #8, Deliver 2): where the service topology lives, per tenant, with
// two implementations that pass one contract suite (runTopologyStoreContract): the embedded
// graph (SQLite tables in central's database, queries on an in-memory TopologyGraph; the
// default) and Neo4j.
//
// Two ways in:
//   - `putDeclared` replaces the declared topology (PUT /api/v1/config/topology, the
//     simulators' topology): what a person said exists. It never ages out.
//   - `observe` merges what discovery saw (agents' enrichment, OTLP traces) at a time; each
//     node and edge keeps its first and last sighting, and `expire` removes what discovery has
//     not seen since a cut-off. A declared node or edge seen by discovery stays declared.
// Queries answer over the union, with the semantics of TopologyGraph (edges point from the
// dependent to its dependency).
import type { TopologyDocument, TopologyEdge, TopologyEdgeKind, TopologyNode } from '../../../shared-schemas/src/index.js';
import type { Reached, Subgraph } from './graph.js';

/** Where a node or edge comes from: declared by configuration, or discovered. */
export type TopologyOrigin = 'declared' | 'discovered';

export interface StoredNode extends TopologyNode {
  origin: TopologyOrigin;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface StoredEdge extends TopologyEdge {
  origin: TopologyOrigin;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface TopologySnapshot {
  nodes: StoredNode[];
  edges: StoredEdge[];
}

export interface PutResult {
  nodes: number;
  edges: number;
  /** Declared nodes and edges of the previous declaration that are gone. */
  removed: { nodes: number; edges: number };
}

export interface TopologyStore {
  start(): Promise<void>;
  /** Idempotent; safe without start. */
  shutdown(): Promise<void>;
  /** Replaces the tenant's declared topology with `doc` (validated whole; refused whole). */
  putDeclared(tenant: string, doc: TopologyDocument, nowMs: number): Promise<PutResult>;
  /** Merges discovered nodes and edges seen at `nowMs`; edges may end at nodes already stored. */
  observe(tenant: string, seen: { nodes: TopologyNode[]; edges: TopologyEdge[] }, nowMs: number): Promise<{ nodes: number; edges: number }>;
  /** Removes discovered edges, then discovered nodes left without edges, last seen before `beforeMs`. */
  expire(tenant: string, beforeMs: number): Promise<{ nodes: number; edges: number }>;
  /** Everything stored for a tenant, sorted (nodes by id; edges by kind, from, to). */
  snapshot(tenant: string): Promise<TopologySnapshot>;
  neighbourhood(tenant: string, id: string, k: number, kinds?: readonly TopologyEdgeKind[]): Promise<Subgraph>;
  downstream(tenant: string, id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Promise<Reached[]>;
  upstream(tenant: string, id: string, maxDepth: number, kinds?: readonly TopologyEdgeKind[]): Promise<Reached[]>;
  blastRadius(tenant: string, id: string, maxDepth?: number): Promise<Reached[]>;
  shortestPath(tenant: string, from: string, to: string, o?: { directed?: boolean; maxDepth?: number; kinds?: readonly TopologyEdgeKind[] }): Promise<string[] | undefined>;
}
