// The topology document: the JSON form in which a service topology travels between the
// simulators (which write it), `PUT /api/v1/config/topology` (which accepts it) and the
// topology stores (which load it). Nodes and edges follow the Knowledge layer's model
// (ARCHITECTURE.md section 3; issue #8): Service, Host, Instance, Database, Queue, Cache and
// LoadBalancer nodes; CALLS, DEPENDS_ON, RUNS_ON and HOSTS edges.
//
// Edge directions (one reading everywhere):
//   CALLS       caller -> callee (synchronous request path; latency and errors flow back up)
//   DEPENDS_ON  dependent -> dependency (asynchronous or configuration dependency, e.g. a
//               consumer on the queue it reads, a service on a config store)
//   RUNS_ON     Service | Instance | Database | Queue | Cache | LoadBalancer -> Host
//   HOSTS       Service -> Instance (the instances of a service)
import { limitsOf } from './config.js';
import type { DecodeLimits } from './config.js';
import { guardDecode } from './errors.js';
import { checkArray, checkOneOf, checkString, fail, isPlainObject, show } from './validate.js';

export const TOPOLOGY_NODE_KINDS = ['Service', 'Host', 'Instance', 'Database', 'Queue', 'Cache', 'LoadBalancer'] as const;
export type TopologyNodeKind = (typeof TOPOLOGY_NODE_KINDS)[number];
export const TOPOLOGY_EDGE_KINDS = ['CALLS', 'DEPENDS_ON', 'RUNS_ON', 'HOSTS'] as const;
export type TopologyEdgeKind = (typeof TOPOLOGY_EDGE_KINDS)[number];
export const TOPOLOGY_DOCUMENT_VERSION = 1;

/** Property values: strings, finite numbers and booleans only (they map onto graph properties). */
export type TopologyProperties = Record<string, string | number | boolean>;

export interface TopologyNode {
  /** Unique within the document; by convention `<kind in lower case>:<name>`, e.g. `service:cart`. */
  id: string;
  kind: TopologyNodeKind;
  /** Human name, e.g. the service name that metrics carry in their `service` label. */
  name: string;
  properties?: TopologyProperties;
}

export interface TopologyEdge {
  from: string;
  to: string;
  kind: TopologyEdgeKind;
  /** e.g. protocol ("http", "grpc", "sql", "redis", "amqp"), calls_per_request, rate. */
  properties?: TopologyProperties;
}

export interface TopologyDocument {
  version: typeof TOPOLOGY_DOCUMENT_VERSION;
  /** Name of the system, e.g. "online-boutique". */
  name: string;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

const T = 'topology';
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:\/-]*$/;
const PROP_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_PROPERTIES = 64;

/** Kinds each edge kind may join (from -> to). */
const EDGE_RULES: Readonly<Record<TopologyEdgeKind, { from: readonly TopologyNodeKind[]; to: readonly TopologyNodeKind[] }>> = {
  CALLS: { from: ['Service', 'Instance', 'LoadBalancer'], to: ['Service', 'Instance', 'Database', 'Queue', 'Cache', 'LoadBalancer'] },
  DEPENDS_ON: { from: ['Service', 'Instance', 'Database', 'Queue', 'Cache', 'LoadBalancer'], to: ['Service', 'Instance', 'Database', 'Queue', 'Cache', 'LoadBalancer', 'Host'] },
  RUNS_ON: { from: ['Service', 'Instance', 'Database', 'Queue', 'Cache', 'LoadBalancer'], to: ['Host'] },
  HOSTS: { from: ['Service'], to: ['Instance'] },
};

function checkProperties(value: unknown, field: string, limits: DecodeLimits): TopologyProperties | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) fail(field, `must be an object (got ${show(value)})`);
  const keys = Object.keys(value);
  if (keys.length > MAX_PROPERTIES) fail(field, `${keys.length} properties exceed the limit ${MAX_PROPERTIES}`, 'TOO_LARGE');
  for (const k of keys) {
    if (!PROP_RE.test(k) || k.length > limits.maxLabelNameLength) fail(`${field}.${k}`, 'property names must match [A-Za-z_][A-Za-z0-9_]*');
    const v = value[k];
    if (typeof v === 'string') checkString(v, `${field}.${k}`, limits);
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(`${field}.${k}`, `must be a finite number (got ${show(v)})`);
    } else if (typeof v !== 'boolean') fail(`${field}.${k}`, `must be a string, a finite number or a boolean (got ${show(v)})`);
  }
  return value as TopologyProperties;
}

/**
 * Validates a topology document (already parsed from JSON): shape, unique node ids, edges that
 * reference existing nodes with kinds their edge kind allows, no duplicate edges, no
 * self-edges. Returns it unchanged; throws SchemaDecodeError naming the field path
 * (`topology.edges[3].to`).
 */
export function validateTopologyDocument(doc: unknown, limits?: Partial<DecodeLimits>): TopologyDocument {
  const lim = limitsOf(limits);
  return guardDecode(T, () => {
    if (!isPlainObject(doc)) fail(T, `must be an object (got ${show(doc)})`);
    const d = doc as unknown as TopologyDocument;
    if (d.version !== TOPOLOGY_DOCUMENT_VERSION) fail(`${T}.version`, `must be ${TOPOLOGY_DOCUMENT_VERSION} (got ${show(d.version)})`);
    checkString(d.name, `${T}.name`, lim, { nonEmpty: true });
    const nodes = checkArray(d.nodes, `${T}.nodes`, lim.maxListLength);
    const kinds = new Map<string, TopologyNodeKind>();
    for (let i = 0; i < nodes.length; i++) {
      const f = `${T}.nodes[${i}]`;
      const n = nodes[i];
      if (!isPlainObject(n)) fail(f, `must be an object (got ${show(n)})`);
      const node = n as unknown as TopologyNode;
      checkString(node.id, `${f}.id`, lim, { nonEmpty: true });
      if (!ID_RE.test(node.id)) fail(`${f}.id`, `must match ${ID_RE.source} (got ${show(node.id)})`);
      if (kinds.has(node.id)) fail(`${f}.id`, `duplicate node id ${show(node.id)}`);
      const kind = checkOneOf(node.kind, TOPOLOGY_NODE_KINDS, `${f}.kind`);
      checkString(node.name, `${f}.name`, lim, { nonEmpty: true });
      checkProperties(node.properties, `${f}.properties`, lim);
      kinds.set(node.id, kind);
    }
    const edges = checkArray(d.edges, `${T}.edges`, lim.maxListLength);
    const seen = new Set<string>();
    for (let i = 0; i < edges.length; i++) {
      const f = `${T}.edges[${i}]`;
      const e = edges[i];
      if (!isPlainObject(e)) fail(f, `must be an object (got ${show(e)})`);
      const edge = e as unknown as TopologyEdge;
      const kind = checkOneOf(edge.kind, TOPOLOGY_EDGE_KINDS, `${f}.kind`);
      checkString(edge.from, `${f}.from`, lim, { nonEmpty: true });
      checkString(edge.to, `${f}.to`, lim, { nonEmpty: true });
      const fromKind = kinds.get(edge.from);
      const toKind = kinds.get(edge.to);
      if (fromKind === undefined) fail(`${f}.from`, `unknown node id ${show(edge.from)}`);
      if (toKind === undefined) fail(`${f}.to`, `unknown node id ${show(edge.to)}`);
      if (edge.from === edge.to) fail(f, `${kind} edge from ${show(edge.from)} to itself`);
      const rule = EDGE_RULES[kind];
      if (!rule.from.includes(fromKind)) fail(`${f}.from`, `a ${kind} edge cannot start at a ${fromKind} (allowed: ${rule.from.join(', ')})`);
      if (!rule.to.includes(toKind)) fail(`${f}.to`, `a ${kind} edge cannot end at a ${toKind} (allowed: ${rule.to.join(', ')})`);
      const key = `${kind}\u0000${edge.from}\u0000${edge.to}`;
      if (seen.has(key)) fail(f, `duplicate ${kind} edge ${edge.from} -> ${edge.to}`);
      seen.add(key);
      checkProperties(edge.properties, `${f}.properties`, lim);
    }
    return d;
  });
}
