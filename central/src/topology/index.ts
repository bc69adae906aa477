// Public surface of the topology (issue #8, Knowledge layer): the in-memory graph and its
// queries, the TopologyStore interface with its embedded implementation (SQLite, the default)
// and its Neo4j implementation, discovery from the agents' labels and from OTLP traces, and
// expiry of stale discoveries. The GraphQL API is in graphql.ts.
export { checkDepth, checkKinds, MAX_DEPTH, MAX_RESULTS, TopologyError, TopologyGraph } from './graph.js';
export type { Direction, Reached, Subgraph } from './graph.js';
export { checkObservation, EmbeddedTopologyStore } from './embedded.js';
export type { PutResult, StoredEdge, StoredNode, TopologyOrigin, TopologySnapshot, TopologyStore } from './types.js';
export { Neo4jTopologyStore } from './neo4j.js';
export type { Neo4jTopologyOptions } from './neo4j.js';
export { topologyConfigSchema } from './config.js';
export type { TopologyConfig } from './config.js';
export { TopologyExpiry } from './expiry.js';
export type { TopologyExpiryOptions } from './expiry.js';
export { TopologyDiscovery } from './discovery.js';
export type { TopologyDiscoveryOptions } from './discovery.js';
export { TraceDiscovery } from './traces.js';
export type { TraceDiscoveryOptions, TraceSpan } from './traces.js';
