// Public surface of the topology (issue #8, Knowledge layer): the in-memory graph and its
// queries, the TopologyStore interface and its embedded implementation (SQLite, the default).
// The Neo4j store, discovery and the GraphQL API are the rest of issue #8 (not built yet).
export { MAX_DEPTH, MAX_RESULTS, TopologyError, TopologyGraph } from './graph.js';
export type { Direction, Reached, Subgraph } from './graph.js';
export { checkObservation, EmbeddedTopologyStore } from './embedded.js';
export type { PutResult, StoredEdge, StoredNode, TopologyOrigin, TopologySnapshot, TopologyStore } from './types.js';
