// The GraphQL topology API's schemas (issue #8, Deliver 3). One SDL, two executors:
//   - on Neo4j, `@neo4j/graphql` serves the type definitions and translates each query into
//     Cypher (the @cypher statements below; generated CRUD operations are switched off, so the
//     schema is exactly this SDL);
//   - on the embedded graph, graphql-js serves the SDL that @neo4j/graphql printed, with
//     resolvers over the TopologyStore - so a client cannot tell which backend answers (a test
//     runs the same queries on both and compares the answers, and the printed schemas).
// Semantics follow the TopologyStore: edges point from the dependent to its dependency; walks
// return each node once at its least hop count, ordered by depth then id; an unknown start node
// answers an empty list (or null), as a Cypher MATCH that finds nothing does.
//
// Relationship kinds are a GraphQL enum, so a bad kind is refused by validation before any
// Cypher runs; hop counts are checked by `apoc.util.validate` (Neo4j) and checkDepth (embedded).
import { createRequire } from 'node:module';
import { Neo4jGraphQL } from '@neo4j/graphql';
import { buildSchema, execute, getOperationAST, GraphQLError, parse, printSchema, specifiedRules, validate } from 'graphql/index.js';
import type { GraphQLSchema } from 'graphql/index.js';
import type { Driver } from 'neo4j-driver';
import type { TopologyDocument, TopologyEdgeKind } from '../../../shared-schemas/src/index.js';
import { TOPOLOGY_EDGE_KINDS } from '../../../shared-schemas/src/index.js';
import { checkDepth, MAX_DEPTH, TopologyError } from './graph.js';
import type { Reached } from './graph.js';
import type { StoredNode, TopologyStore } from './types.js';

// Loaded as CommonJS, like @neo4j/graphql and graphql/index.js: one instance of graphql (its ESM
// build is another "realm", whose types the CommonJS one refuses).
const requireCjs = createRequire(import.meta.url);
const depthLimit = requireCjs('graphql-depth-limit') as (n: number) => (typeof specifiedRules)[number];
const { createComplexityRule, simpleEstimator } = requireCjs('graphql-query-complexity') as typeof import('graphql-query-complexity');
const ALL_KINDS = `[${TOPOLOGY_EDGE_KINDS.map((k) => `'${k}'`).join(', ')}]`;
const DEPTH_CHECK = (arg: string) => `CALL apoc.util.validate($${arg} < 0 OR $${arg} > ${MAX_DEPTH}, '${arg} must be an integer 0..${MAX_DEPTH}', [0])`;
/** A breadth-first walk from `s` along `dir` ('>' downstream, '<' upstream, '' both) returning {node, depth} maps. */
const WALK = (dir: string, depthArg: string, kindsExpr: string) => `
  ${DEPTH_CHECK(depthArg)}
  MATCH (s:TopologyNode {tenant: $tenant, id: $id})
  WITH s, apoc.text.join([k IN ${kindsExpr} | k + '${dir}'], '|') AS filter
  CALL apoc.path.spanningTree(s, {relationshipFilter: filter, maxLevel: $${depthArg}, bfs: true}) YIELD path
  WITH last(nodes(path)) AS n, length(path) AS depth
  WHERE depth > 0
  WITH n, min(depth) AS depth
  RETURN {node: n {.*}, depth: depth} AS r ORDER BY depth, n.id`;

export const TOPOLOGY_SDL = /* GraphQL */ `
"""A node of the service topology: Service, Host, Instance, Database, Queue, Cache or LoadBalancer."""
type TopologyNode @node(labels: ["TopologyNode"]) @query(read: false, aggregate: false) @mutation(operations: []) @subscription(events: []) {
  """Unique in the tenant; by convention <kind in lower case>:<name>, e.g. service:cart."""
  id: ID!
  kind: String!
  name: String!
  """The node's properties as a JSON object."""
  properties: String!
  """declared (configuration) or discovered (agents, traces)."""
  origin: String!
  firstSeenMs: Float!
  lastSeenMs: Float!
}

"""An edge kind; edges point from the dependent to what it depends on."""
enum EdgeKind {
  CALLS
  DEPENDS_ON
  RUNS_ON
  HOSTS
}

"""A node reached by a walk, with its least hop count from the start."""
type Reached {
  node: TopologyNode!
  depth: Int!
}

type TopologyEdge {
  kind: EdgeKind!
  from: ID!
  to: ID!
  properties: String!
}

type Neighbourhood {
  nodes: [TopologyNode!]!
  edges: [TopologyEdge!]!
}

type Query {
  """One node by id; null when there is none."""
  topologyNode(id: ID!): TopologyNode
    @cypher(statement: "MATCH (n:TopologyNode {tenant: $tenant, id: $id}) RETURN n", columnName: "n")
  """Nodes of a kind (every kind when absent), by id, at most limit (1..1000)."""
  topologyNodes(kind: String, limit: Int! = 100): [TopologyNode!]!
    @cypher(
      statement: """
      CALL apoc.util.validate($limit < 1 OR $limit > 1000, 'limit must be 1..1000', [0])
      MATCH (n:TopologyNode {tenant: $tenant}) WHERE $kind IS NULL OR n.kind = $kind
      RETURN n ORDER BY n.id LIMIT $limit
      """
      columnName: "n"
    )
  """What a node depends on, transitively."""
  downstream(id: ID!, maxDepth: Int! = ${MAX_DEPTH}, kinds: [EdgeKind!]): [Reached!]!
    @cypher(statement: """${WALK('>', 'maxDepth', `coalesce($kinds, ${ALL_KINDS})`)}""", columnName: "r")
  """What depends on a node, transitively."""
  upstream(id: ID!, maxDepth: Int! = ${MAX_DEPTH}, kinds: [EdgeKind!]): [Reached!]!
    @cypher(statement: """${WALK('<', 'maxDepth', `coalesce($kinds, ${ALL_KINDS})`)}""", columnName: "r")
  """What is affected when a node fails: its upstream over every edge kind."""
  blastRadius(id: ID!, maxDepth: Int! = ${MAX_DEPTH}): [Reached!]!
    @cypher(statement: """${WALK('<', 'maxDepth', ALL_KINDS)}""", columnName: "r")
  """A shortest path (both ends included); empty when there is none within maxDepth hops."""
  shortestPath(from: ID!, to: ID!, directed: Boolean! = false, maxDepth: Int! = ${MAX_DEPTH}): [TopologyNode!]!
    @cypher(
      statement: """
      ${DEPTH_CHECK('maxDepth')}
      MATCH (a:TopologyNode {tenant: $tenant, id: $from}), (b:TopologyNode {tenant: $tenant, id: $to})
      OPTIONAL MATCH p = shortestPath((a)-[*..${MAX_DEPTH}]-(b))
      WITH a, b, [x IN CASE WHEN $directed THEN [] ELSE [p] END WHERE x IS NOT NULL AND length(x) <= $maxDepth] AS undirected
      OPTIONAL MATCH q = shortestPath((a)-[*..${MAX_DEPTH}]->(b))
      WITH a, b, undirected + [x IN CASE WHEN $directed THEN [q] ELSE [] END WHERE x IS NOT NULL AND length(x) <= $maxDepth] AS found
      WITH CASE WHEN a = b THEN [a] WHEN size(found) = 0 THEN [] ELSE nodes(found[0]) END AS ns
      UNWIND range(0, size(ns) - 1) AS i
      WITH ns[i] AS n ORDER BY i
      RETURN n
      """
      columnName: "n"
    )
  """The nodes within k hops (edges either way) and the edges among them."""
  neighbourhood(id: ID!, k: Int! = 1): Neighbourhood
    @cypher(
      statement: """
      ${DEPTH_CHECK('k')}
      MATCH (s:TopologyNode {tenant: $tenant, id: $id})
      CALL apoc.path.subgraphNodes(s, {maxLevel: $k}) YIELD node
      WITH s, collect(DISTINCT node) AS ns
      CALL (ns) {
        UNWIND ns AS a
        MATCH (a)-[r]->(b) WHERE b IN ns
        WITH {kind: type(r), from: a.id, to: b.id, properties: r.properties} AS e ORDER BY e.kind, e.from, e.to
        RETURN collect(e) AS es
      }
      RETURN {nodes: [x IN apoc.coll.sortNodes(ns, '^id') | x {.*}], edges: es} AS hood
      """
      columnName: "hood"
    )
}

type DeclareResult {
  nodes: Int!
  edges: Int!
  removedNodes: Int!
  removedEdges: Int!
}

type Mutation {
  """Replaces the declared topology (the JSON document of PUT /api/v1/config/topology). Admin scope."""
  declareTopology(document: String!): DeclareResult!
}
`;

/** What a mutation does with a declared document (the same path as PUT /api/v1/config/topology). */
export type DeclareTopology = (tenant: string, doc: TopologyDocument, actor: string) => Promise<{ nodes: number; edges: number; removed: { nodes: number; edges: number } }>;

export interface GraphqlContext {
  tenant: string;
  actor: string;
}

function declareResolver(declare: DeclareTopology) {
  return async (_: unknown, args: { document: string }, ctx: GraphqlContext | { cypherParams: GraphqlContext }) => {
    const c = 'cypherParams' in ctx ? ctx.cypherParams : ctx;
    let doc: unknown;
    try {
      doc = JSON.parse(args.document);
    } catch (err) {
      throw new TopologyError('INVALID_ARGUMENT', `document is not JSON: ${(err as Error).message}`);
    }
    const r = await declare(c.tenant, doc as TopologyDocument, c.actor);
    return { nodes: r.nodes, edges: r.edges, removedNodes: r.removed.nodes, removedEdges: r.removed.edges };
  };
}

/** The Neo4j-backed schema: @neo4j/graphql translates the queries; the mutation calls `declare`. */
export async function neo4jTopologySchema(driver: Driver, declare: DeclareTopology): Promise<GraphQLSchema> {
  const neo = new Neo4jGraphQL({ typeDefs: TOPOLOGY_SDL, driver, resolvers: { Mutation: { declareTopology: declareResolver(declare) } } });
  return neo.getSchema();
}

let printed: Promise<string> | undefined;
/** The SDL as @neo4j/graphql serves it (directives applied, nothing generated), printed once. */
export function servedSdl(): Promise<string> {
  printed ??= new Neo4jGraphQL({ typeDefs: TOPOLOGY_SDL }).getSchema().then((s) => printSchema(s));
  return printed;
}

const json = (p: unknown) => JSON.stringify(p ?? {});
const nodeOut = (n: StoredNode | undefined) => (n ? { ...n, properties: json(n.properties) } : null);

/** The embedded schema: the same printed SDL, resolvers over a TopologyStore. */
export async function embeddedTopologySchema(store: TopologyStore, declare: DeclareTopology): Promise<GraphQLSchema> {
  const schema = buildSchema(await servedSdl());
  const nodesOf = async (tenant: string) => new Map((await store.snapshot(tenant)).nodes.map((n) => [n.id, n]));
  /** A walk's answer: an unknown start is an empty list, as in Cypher. */
  const walk = async (tenant: string, fn: () => Promise<Reached[]>) => {
    let rs: Reached[];
    try {
      rs = await fn();
    } catch (err) {
      if (err instanceof TopologyError && err.code === 'NOT_FOUND') return [];
      throw err;
    }
    const nodes = await nodesOf(tenant);
    return rs.map((r) => ({ node: nodeOut(nodes.get(r.id)), depth: r.depth }));
  };
  const kindsOf = (k: TopologyEdgeKind[] | null | undefined) => (k === null || k === undefined ? undefined : k);
  const query: Record<string, (args: any, ctx: GraphqlContext) => unknown> = {
    topologyNode: async ({ id }: { id: string }, ctx) => nodeOut((await nodesOf(ctx.tenant)).get(id)),
    topologyNodes: async ({ kind, limit }: { kind?: string | null; limit: number }, ctx) => {
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new TopologyError('INVALID_ARGUMENT', 'limit must be 1..1000');
      return [...(await nodesOf(ctx.tenant)).values()].filter((n) => kind === null || kind === undefined || n.kind === kind).slice(0, limit).map(nodeOut);
    },
    downstream: ({ id, maxDepth, kinds }: { id: string; maxDepth: number; kinds?: TopologyEdgeKind[] | null }, ctx) => walk(ctx.tenant, () => store.downstream(ctx.tenant, id, checkDepth(maxDepth), kindsOf(kinds))),
    upstream: ({ id, maxDepth, kinds }: { id: string; maxDepth: number; kinds?: TopologyEdgeKind[] | null }, ctx) => walk(ctx.tenant, () => store.upstream(ctx.tenant, id, checkDepth(maxDepth), kindsOf(kinds))),
    blastRadius: ({ id, maxDepth }: { id: string; maxDepth: number }, ctx) => walk(ctx.tenant, () => store.blastRadius(ctx.tenant, id, checkDepth(maxDepth))),
    shortestPath: async ({ from, to, directed, maxDepth }: { from: string; to: string; directed: boolean; maxDepth: number }, ctx) => {
      checkDepth(maxDepth);
      const nodes = await nodesOf(ctx.tenant);
      if (!nodes.has(from) || !nodes.has(to)) return [];
      const p = await store.shortestPath(ctx.tenant, from, to, { directed, maxDepth });
      return p === undefined ? [] : p.map((id) => nodeOut(nodes.get(id)));
    },
    neighbourhood: async ({ id, k }: { id: string; k: number }, ctx) => {
      checkDepth(k, 'k');
      const nodes = await nodesOf(ctx.tenant);
      if (!nodes.has(id)) return null;
      const h = await store.neighbourhood(ctx.tenant, id, k);
      return { nodes: h.nodes.map((n) => nodeOut(nodes.get(n.id))), edges: h.edges.map((e) => ({ kind: e.kind, from: e.from, to: e.to, properties: json(e.properties) })) };
    },
  };
  const queryType = schema.getQueryType()!;
  for (const [name, field] of Object.entries(queryType.getFields())) {
    const fn = query[name];
    if (!fn) throw new Error(`embedded GraphQL: no resolver for Query.${name}`);
    field.resolve = (_src, args, ctx: GraphqlContext) => fn(args, ctx);
  }
  const declareField = schema.getMutationType()!.getFields()['declareTopology']!;
  const declareFn = declareResolver(declare);
  declareField.resolve = (src, args, ctx: GraphqlContext) => declareFn(src, args as { document: string }, ctx);
  return schema;
}

export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

export interface GraphqlLimits {
  /** Deepest selection allowed. Default 10. */
  maxDepth: number;
  /** Largest cost (one per field; list fields times their `limit`/100) allowed. Default 2,000. */
  maxCost: number;
}

export const GRAPHQL_LIMITS: GraphqlLimits = Object.freeze({ maxDepth: 10, maxCost: 2000 });

/** Outcome of one request: what to send, and whether it was refused before running. */
export interface GraphqlOutcome {
  status: 200 | 400 | 403;
  body: { data?: unknown; errors?: Array<{ message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }> };
}

/**
 * Parses, validates (the standard rules, a depth limit and a cost limit), checks that a
 * mutation comes with the admin scope, and executes. Errors from resolvers are answered in
 * `errors` with their message only (no stack, no Cypher).
 */
export async function executeGraphql(schema: GraphQLSchema, req: GraphqlRequest, ctx: GraphqlContext & { canMutate: boolean }, limits: GraphqlLimits = GRAPHQL_LIMITS): Promise<GraphqlOutcome> {
  let document;
  try {
    document = parse(req.query, { maxTokens: 5000 });
  } catch (err) {
    return { status: 400, body: { errors: [{ message: (err as Error).message }] } };
  }
  const op = getOperationAST(document, req.operationName ?? undefined);
  if (!op) return { status: 400, body: { errors: [{ message: req.operationName ? `no operation named ${JSON.stringify(req.operationName)}` : 'the document must hold exactly one operation, or name one with operationName' }] } };
  if (op.operation === 'subscription') return { status: 400, body: { errors: [{ message: 'subscriptions are not served' }] } };
  if (op.operation === 'mutation' && !ctx.canMutate) return { status: 403, body: { errors: [{ message: 'mutations need an API key with the admin scope' }] } };
  const variables = req.variables ?? {};
  const rules = [
    ...specifiedRules,
    depthLimit(limits.maxDepth),
    createComplexityRule({
      maximumComplexity: limits.maxCost,
      variables,
      ...(req.operationName ? { operationName: req.operationName } : {}),
      estimators: [
        ({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }) => {
          const n = typeof args['limit'] === 'number' ? Math.max(1, Math.ceil(args['limit'] / 100)) : 1;
          return n * (1 + childComplexity);
        },
        simpleEstimator({ defaultComplexity: 1 }),
      ],
      createError: (max: number, actual: number) => new GraphQLError(`query cost ${actual} exceeds the limit ${max}: select fewer fields or lower limit`),
    }),
  ];
  const problems = validate(schema, document, rules);
  if (problems.length > 0) return { status: 400, body: { errors: problems.slice(0, 20).map((e) => ({ message: e.message })) } };
  const contextValue = { tenant: ctx.tenant, actor: ctx.actor, cypherParams: { tenant: ctx.tenant, actor: ctx.actor } };
  const result = await execute({ schema, document, variableValues: variables, contextValue, ...(req.operationName ? { operationName: req.operationName } : {}) });
  const errors = result.errors?.map((e) => ({ message: cleanMessage(e.message), ...(e.path ? { path: e.path } : {}) }));
  return { status: 200, body: { data: result.data ?? null, ...(errors && errors.length > 0 ? { errors } : {}) } };
}

/** A Neo4j error carries the failed Cypher's text after the reason; only the reason is answered. */
function cleanMessage(m: string): string {
  const validate = /(\w+ must be [^"\n]*)/.exec(m);
  if (/apoc\.util\.validate|Failed to invoke procedure/.test(m) && validate) return validate[1]!;
  return m.split('\n')[0]!.slice(0, 500);
}
