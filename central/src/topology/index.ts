// Public surface of the topology (issue #8, Knowledge layer): the in-memory graph and its
// queries. The TopologyStore interface with its embedded and Neo4j implementations, discovery
// and the GraphQL API are the rest of issue #8 (not built yet).
export { MAX_DEPTH, MAX_RESULTS, TopologyError, TopologyGraph } from './graph.js';
export type { Direction, Reached, Subgraph } from './graph.js';
