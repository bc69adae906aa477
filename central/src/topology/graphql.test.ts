// The GraphQL topology API on both backends: @neo4j/graphql over a real Neo4j with APOC
// (deploy/dev/neo4j.sh) and graphql-js over the embedded store serve the same printed schema and
// give the same answers to the same queries; depth, cost, mutation scope and bad input are
// refused alike. The Neo4j half is skipped loudly without a server (failed under CI=true).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { printSchema } from 'graphql/index.js';
import type { GraphQLSchema } from 'graphql/index.js';
import type { TopologyDocument } from '../../../shared-schemas/src/index.js';
import { startDevPeer } from '../../../edge-agent/src/testing/index.js';
import { openDatabase } from '../storage/database.js';
import { EmbeddedTopologyStore } from './embedded.js';
import { embeddedTopologySchema, executeGraphql, neo4jTopologySchema, servedSdl } from './graphql.js';
import type { DeclareTopology } from './graphql.js';
import { Neo4jTopologyStore } from './neo4j.js';
import { SHOP } from './testing/index.js';
import type { TopologyStore } from './types.js';

const PASSWORD = 'graphql-test-pass';
const peer = await startDevPeer({ script: 'neo4j.sh', suites: 'the GraphQL-on-Neo4j tests', env: (port) => ({ NEO4J_PORT: String(port), NEO4J_PASSWORD: PASSWORD }) });
const T0 = Date.UTC(2026, 10, 27);
const TENANT = 'gql';

interface Backend {
  name: string;
  store: TopologyStore;
  schema: GraphQLSchema;
}
const backends: Backend[] = [];
const db = openDatabase(':memory:', { now: () => T0 });
const declareOn = (store: TopologyStore): DeclareTopology => (tenant, doc) => store.putDeclared(tenant, doc, T0 + 1);

before(async () => {
  const embedded = new EmbeddedTopologyStore(db);
  backends.push({ name: 'embedded', store: embedded, schema: await embeddedTopologySchema(embedded, declareOn(embedded)) });
  if (peer.ok) {
    const neo = new Neo4jTopologyStore({ url: `bolt://127.0.0.1:${peer.port}`, username: 'neo4j', password: PASSWORD });
    await neo.start();
    backends.push({ name: 'neo4j', store: neo, schema: await neo4jTopologySchema(neo.connection!, declareOn(neo)) });
  }
  for (const b of backends) await b.store.putDeclared(TENANT, SHOP, T0);
});
after(async () => {
  for (const b of backends) await b.store.shutdown();
  db.close();
  await peer.dispose();
});

const run = (b: Backend, query: string, variables?: Record<string, unknown>, canMutate = false) => executeGraphql(b.schema, { query, variables: variables ?? null }, { tenant: TENANT, actor: 'test', canMutate });

/** Runs a query on every backend and checks that they agree; returns the answer. */
async function same(query: string, variables?: Record<string, unknown>) {
  const outs = [];
  for (const b of backends) outs.push({ name: b.name, out: await run(b, query, variables) });
  for (const o of outs.slice(1)) assert.deepEqual(o.out, outs[0]!.out, `${o.name} answers as ${outs[0]!.name} to ${query}`);
  return outs[0]!.out;
}

describe('GraphQL topology API', () => {
  it('both backends serve the same schema', async (t) => {
    if (!peer.ok) t.diagnostic(`Neo4j half skipped: ${peer.reason}`);
    for (const b of backends) assert.equal(printSchema(b.schema), await servedSdl(), `${b.name} serves the printed SDL`);
  });

  it('the same queries give the same answers', async () => {
    const blast = await same('query ($id: ID!) { blastRadius(id: $id) { depth node { id kind name origin } } }', { id: 'cache:redis' });
    assert.equal(blast.status, 200);
    assert.deepEqual(
      (blast.body.data as { blastRadius: Array<{ depth: number; node: { id: string } }> }).blastRadius.map((r) => `${r.node.id}@${r.depth}`),
      ['service:cart@1', 'service:checkout@2', 'service:frontend@2', 'lb:edge@3'],
    );
    const down = await same('{ downstream(id: "service:checkout", maxDepth: 2, kinds: [CALLS]) { depth node { id } } }');
    assert.equal((down.body.data as { downstream: unknown[] }).downstream.length, 4);
    await same('{ upstream(id: "queue:orders", maxDepth: 3) { depth node { id firstSeenMs lastSeenMs } } }');
    await same('{ topologyNode(id: "service:frontend") { id kind name properties origin firstSeenMs } }');
    const props = await same('{ topologyNode(id: "service:frontend") { properties } }');
    assert.deepEqual(JSON.parse((props.body.data as { topologyNode: { properties: string } }).topologyNode.properties), { team: 'web', replicas: 3 });
    await same('{ topologyNodes(kind: "Service", limit: 3) { id } }');
    await same('{ topologyNodes { id kind } }');
    const path = await same('{ shortestPath(from: "lb:edge", to: "cache:redis", directed: true) { id } }');
    assert.deepEqual((path.body.data as { shortestPath: Array<{ id: string }> }).shortestPath.map((n) => n.id), ['lb:edge', 'service:frontend', 'service:cart', 'cache:redis']);
    await same('{ shortestPath(from: "cache:redis", to: "lb:edge", directed: true) { id } }');
    await same('{ shortestPath(from: "service:payment", to: "service:mailer") { id } }');
    await same('{ shortestPath(from: "service:payment", to: "service:mailer", maxDepth: 2) { id } }');
    const hood = await same('{ neighbourhood(id: "service:checkout", k: 1) { nodes { id } edges { kind from to properties } } }');
    assert.equal((hood.body.data as { neighbourhood: { nodes: unknown[] } }).neighbourhood.nodes.length, 5);
    // Unknown nodes: an empty list or null, on both.
    const none = await same('{ blastRadius(id: "service:nope") { depth } topologyNode(id: "service:nope") { id } neighbourhood(id: "nope") { nodes { id } } }');
    assert.deepEqual(JSON.parse(JSON.stringify(none.body.data)), { blastRadius: [], topologyNode: null, neighbourhood: null });
  });

  it('refuses what it should, alike: bad kinds, impossible depths, deep or costly queries, mutations without admin', async () => {
    const badKind = await same('{ downstream(id: "service:cart", kinds: [CALLZ]) { depth } }');
    assert.equal(badKind.status, 400);
    for (const b of backends) {
      const deep = await run(b, '{ downstream(id: "service:cart", maxDepth: 99) { depth } }');
      assert.equal(deep.status, 200);
      assert.match(String(deep.body.errors?.[0]?.message), /maxDepth must be an integer 0\.\.32/, `${b.name}: ${JSON.stringify(deep.body)}`);
      assert.equal(deep.body.errors?.[0]?.message.includes('MATCH'), false, 'no Cypher in the answer');
    }
    const costly = await same(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: topologyNodes(limit: 1000) { id kind name properties origin firstSeenMs lastSeenMs }`).join(' ')} }`);
    assert.equal(costly.status, 400);
    assert.match(String(costly.body.errors?.[0]?.message), /query cost \d+ exceeds the limit 2000/);
    const nested = await same('{ __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }');
    assert.equal(nested.status, 400);
    assert.match(String(nested.body.errors?.[0]?.message), /depth/i);
    const mut = await same('mutation { declareTopology(document: "{}") { nodes } }');
    assert.equal(mut.status, 403);
    const syntax = await same('{ blastRadius(id: ');
    assert.equal(syntax.status, 400);
    const two = await same('query A { topologyNodes { id } } query B { topologyNodes { id } }');
    assert.equal(two.status, 400);
  });

  it('declareTopology replaces the declared topology on either backend (admin)', async () => {
    const tiny: TopologyDocument = { version: 1, name: 'tiny', nodes: [{ id: 'service:a', kind: 'Service', name: 'a' }, { id: 'service:b', kind: 'Service', name: 'b' }], edges: [{ from: 'service:a', to: 'service:b', kind: 'CALLS' }] };
    for (const b of backends) {
      const r = await run(b, 'mutation ($d: String!) { declareTopology(document: $d) { nodes edges removedNodes removedEdges } }', { d: JSON.stringify(tiny) }, true);
      assert.deepEqual(JSON.parse(JSON.stringify(r.body)), { data: { declareTopology: { nodes: 2, edges: 1, removedNodes: 9, removedEdges: 10 } } }, b.name);
      const bad = await run(b, 'mutation { declareTopology(document: "{not json") { nodes } }', undefined, true);
      assert.match(String(bad.body.errors?.[0]?.message), /document is not JSON/);
      const invalid = await run(b, 'mutation ($d: String!) { declareTopology(document: $d) { nodes } }', { d: JSON.stringify({ ...tiny, edges: [{ from: 'service:a', to: 'ghost', kind: 'CALLS' }] }) }, true);
      assert.match(String(invalid.body.errors?.[0]?.message), /topology\.edges\[0\]\.to/);
      await b.store.putDeclared(TENANT, SHOP, T0 + 2);
    }
  });
});
