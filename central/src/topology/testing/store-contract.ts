// The topology store contract (issue #8, Deliver 2): the embedded graph and Neo4j must answer
// alike - the declared topology replaced whole, discovery merged with first and last
// sightings, stale discoveries aged out, tenants apart, bad input refused whole, and the
// queries the correlation and root-cause engines ask (k-hop neighbourhood, upstream,
// downstream, shortest path, blast radius) with the same answers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { TopologyDocument, TopologyEdge, TopologyNode } from '../../../../shared-schemas/src/index.js';
import type { TopologyStore } from '../types.js';

export interface TopologyStoreContractOptions {
  /** Why the suite is skipped (its server is missing). */
  skip?: string;
}

export const SHOP: TopologyDocument = {
  version: 1,
  name: 'shop',
  nodes: [
    { id: 'lb:edge', kind: 'LoadBalancer', name: 'edge' },
    { id: 'service:frontend', kind: 'Service', name: 'frontend', properties: { team: 'web', replicas: 3 } },
    { id: 'service:checkout', kind: 'Service', name: 'checkout' },
    { id: 'service:cart', kind: 'Service', name: 'cart' },
    { id: 'service:payment', kind: 'Service', name: 'payment' },
    { id: 'service:mailer', kind: 'Service', name: 'mailer' },
    { id: 'cache:redis', kind: 'Cache', name: 'redis' },
    { id: 'queue:orders', kind: 'Queue', name: 'orders' },
    { id: 'host:node-1', kind: 'Host', name: 'node-1' },
  ],
  edges: [
    { from: 'lb:edge', to: 'service:frontend', kind: 'CALLS' },
    { from: 'service:frontend', to: 'service:checkout', kind: 'CALLS', properties: { protocol: 'grpc' } },
    { from: 'service:frontend', to: 'service:cart', kind: 'CALLS' },
    { from: 'service:checkout', to: 'service:cart', kind: 'CALLS' },
    { from: 'service:checkout', to: 'service:payment', kind: 'CALLS' },
    { from: 'service:checkout', to: 'queue:orders', kind: 'CALLS' },
    { from: 'service:mailer', to: 'queue:orders', kind: 'DEPENDS_ON' },
    { from: 'service:cart', to: 'cache:redis', kind: 'CALLS' },
    { from: 'service:cart', to: 'host:node-1', kind: 'RUNS_ON' },
    { from: 'cache:redis', to: 'host:node-1', kind: 'RUNS_ON' },
  ],
};

const T0 = Date.UTC(2026, 10, 27);
const ids = (rs: Array<{ id: string }>) => rs.map((r) => r.id);
const pairs = (rs: Array<{ id: string; depth: number }>) => rs.map((r) => `${r.id}@${r.depth}`);

export function runTopologyStoreContract(name: string, make: () => Promise<TopologyStore>, opts: TopologyStoreContractOptions = {}): void {
  describe(`topology store contract: ${name}`, { skip: opts.skip }, () => {
    const open: TopologyStore[] = [];
    after(async () => {
      for (const s of open) await s.shutdown();
    });
    const fresh = async () => {
      const s = await make();
      await s.start();
      open.push(s);
      return { s, tenant: `t-${randomUUID().slice(0, 8)}` };
    };

    it('stores a declared topology and answers the queries over it', async () => {
      const { s, tenant } = await fresh();
      const r = await s.putDeclared(tenant, SHOP, T0);
      assert.deepEqual(r, { nodes: 9, edges: 10, removed: { nodes: 0, edges: 0 } });
      const snap = await s.snapshot(tenant);
      assert.equal(snap.nodes.length, 9);
      assert.equal(snap.edges.length, 10);
      const fe = snap.nodes.find((n) => n.id === 'service:frontend')!;
      assert.deepEqual([fe.kind, fe.name, fe.origin, fe.firstSeenMs, fe.lastSeenMs], ['Service', 'frontend', 'declared', T0, T0]);
      assert.deepEqual(fe.properties, { team: 'web', replicas: 3 });
      assert.deepEqual(snap.edges.find((e) => e.to === 'service:checkout')?.properties, { protocol: 'grpc' });
      assert.deepEqual(ids(snap.nodes), [...ids(snap.nodes)].sort(), 'nodes sorted by id');

      assert.deepEqual(pairs(await s.blastRadius(tenant, 'cache:redis')), ['service:cart@1', 'service:checkout@2', 'service:frontend@2', 'lb:edge@3']);
      assert.deepEqual(pairs(await s.blastRadius(tenant, 'host:node-1')), ['cache:redis@1', 'service:cart@1', 'service:checkout@2', 'service:frontend@2', 'lb:edge@3']);
      assert.deepEqual(pairs(await s.downstream(tenant, 'service:checkout', 1, ['CALLS'])), ['queue:orders@1', 'service:cart@1', 'service:payment@1']);
      assert.deepEqual(pairs(await s.downstream(tenant, 'service:checkout', 2, ['CALLS'])), ['queue:orders@1', 'service:cart@1', 'service:payment@1', 'cache:redis@2']);
      assert.deepEqual(pairs(await s.upstream(tenant, 'queue:orders', 3)), ['service:checkout@1', 'service:mailer@1', 'service:frontend@2', 'lb:edge@3']);
      const n = await s.neighbourhood(tenant, 'service:checkout', 1);
      assert.deepEqual(ids(n.nodes), ['queue:orders', 'service:cart', 'service:checkout', 'service:frontend', 'service:payment']);
      assert.equal(n.edges.length, 5);
      assert.deepEqual(await s.shortestPath(tenant, 'lb:edge', 'cache:redis', { directed: true }), ['lb:edge', 'service:frontend', 'service:cart', 'cache:redis']);
      assert.equal(await s.shortestPath(tenant, 'cache:redis', 'lb:edge', { directed: true }), undefined);
      const p = await s.shortestPath(tenant, 'service:payment', 'service:mailer');
      assert.deepEqual(p, ['service:payment', 'service:checkout', 'queue:orders', 'service:mailer']);
      assert.equal(await s.shortestPath(tenant, 'service:payment', 'service:mailer', { maxDepth: 2 }), undefined);
    });

    it('a new declaration replaces the old one; a node a discovered edge still uses stays, as discovered', async () => {
      const { s, tenant } = await fresh();
      await s.putDeclared(tenant, SHOP, T0);
      await s.observe(tenant, { nodes: [{ id: 'service:audit', kind: 'Service', name: 'audit' }], edges: [{ from: 'service:audit', to: 'service:mailer', kind: 'CALLS' }] }, T0 + 1000);
      const smaller: TopologyDocument = { ...SHOP, nodes: SHOP.nodes.filter((x) => x.id !== 'service:mailer' && x.id !== 'service:payment'), edges: SHOP.edges.filter((e) => !['service:mailer', 'service:payment'].includes(e.from) && !['service:mailer', 'service:payment'].includes(e.to)) };
      const r = await s.putDeclared(tenant, smaller, T0 + 2000);
      assert.deepEqual(r.removed, { nodes: 1, edges: 2 }, 'payment and its edge, mailer\'s DEPENDS_ON edge; mailer is kept');
      const snap = await s.snapshot(tenant);
      assert.equal(snap.nodes.find((x) => x.id === 'service:payment'), undefined);
      assert.equal(snap.nodes.find((x) => x.id === 'service:mailer')?.origin, 'discovered');
      assert.equal(snap.nodes.find((x) => x.id === 'service:frontend')?.lastSeenMs, T0 + 2000);
      assert.equal(snap.nodes.find((x) => x.id === 'service:frontend')?.firstSeenMs, T0);
    });

    it('merges discoveries: first sighting kept, last sighting moved, properties merged; declared stays declared', async () => {
      const { s, tenant } = await fresh();
      await s.putDeclared(tenant, SHOP, T0);
      // A trace shows frontend calling a new service and checkout calling payment (declared).
      const seen: { nodes: TopologyNode[]; edges: TopologyEdge[] } = {
        nodes: [{ id: 'service:reco', kind: 'Service' as const, name: 'reco', properties: { lang: 'go' } }],
        edges: [
          { from: 'service:frontend', to: 'service:reco', kind: 'CALLS' as const, properties: { protocol: 'grpc', rate: 4.5 } },
          { from: 'service:checkout', to: 'service:payment', kind: 'CALLS' as const, properties: { rate: 2 } },
        ],
      };
      assert.deepEqual(await s.observe(tenant, seen, T0 + 60_000), { nodes: 1, edges: 2 });
      await s.observe(tenant, { nodes: [{ id: 'service:reco', kind: 'Service', name: 'reco', properties: { version: '1.2' } }], edges: [{ from: 'service:frontend', to: 'service:reco', kind: 'CALLS', properties: { rate: 5 } }] }, T0 + 120_000);
      const snap = await s.snapshot(tenant);
      const reco = snap.nodes.find((x) => x.id === 'service:reco')!;
      assert.deepEqual([reco.origin, reco.firstSeenMs, reco.lastSeenMs], ['discovered', T0 + 60_000, T0 + 120_000]);
      assert.deepEqual(reco.properties, { lang: 'go', version: '1.2' });
      const call = snap.edges.find((e) => e.to === 'service:reco')!;
      assert.deepEqual(call.properties, { protocol: 'grpc', rate: 5 });
      const pay = snap.edges.find((e) => e.to === 'service:payment')!;
      assert.deepEqual([pay.origin, pay.firstSeenMs, pay.lastSeenMs], ['declared', T0, T0 + 60_000]);
      assert.deepEqual(pairs(await s.upstream(tenant, 'service:reco', 5)), ['service:frontend@1', 'lb:edge@2'], 'queries see the union');
    });

    it('ages out what discovery has not seen since the cut-off, never the declared', async () => {
      const { s, tenant } = await fresh();
      await s.putDeclared(tenant, SHOP, T0);
      await s.observe(tenant, { nodes: [{ id: 'service:old', kind: 'Service', name: 'old' }, { id: 'service:new', kind: 'Service', name: 'new' }], edges: [{ from: 'service:old', to: 'service:cart', kind: 'CALLS' }, { from: 'service:checkout', to: 'service:payment', kind: 'CALLS' }] }, T0 + 1000);
      await s.observe(tenant, { nodes: [{ id: 'service:new', kind: 'Service', name: 'new' }], edges: [{ from: 'service:new', to: 'service:cart', kind: 'CALLS' }] }, T0 + 10_000);
      assert.deepEqual(await s.expire(tenant, T0 + 5000), { nodes: 1, edges: 1 });
      const snap = await s.snapshot(tenant);
      assert.equal(snap.nodes.find((x) => x.id === 'service:old'), undefined);
      assert.ok(snap.nodes.find((x) => x.id === 'service:new'));
      assert.ok(snap.edges.find((e) => e.to === 'service:payment'), 'a declared edge never ages');
      assert.equal(snap.nodes.length, 10);
    });

    it('keeps tenants apart', async () => {
      const { s, tenant } = await fresh();
      const other = `${tenant}-b`;
      await s.putDeclared(tenant, SHOP, T0);
      await s.putDeclared(other, { version: 1, name: 'tiny', nodes: [{ id: 'service:a', kind: 'Service', name: 'a' }, { id: 'service:b', kind: 'Service', name: 'b' }], edges: [{ from: 'service:a', to: 'service:b', kind: 'CALLS' }] }, T0);
      assert.equal((await s.snapshot(other)).nodes.length, 2);
      assert.equal((await s.snapshot(tenant)).nodes.length, 9);
      await assert.rejects(s.blastRadius(other, 'cache:redis'), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
      assert.deepEqual(await s.snapshot(`${tenant}-none`), { nodes: [], edges: [] });
    });

    it('refuses bad input whole and names it; the stored topology is unchanged', async () => {
      const { s, tenant } = await fresh();
      await s.putDeclared(tenant, SHOP, T0);
      const before = await s.snapshot(tenant);
      await assert.rejects(s.putDeclared(tenant, { ...SHOP, edges: [...SHOP.edges, { from: 'service:cart', to: 'ghost', kind: 'CALLS' }] }, T0 + 1), /topology\.edges\[10\]\.to/);
      await assert.rejects(s.putDeclared(tenant, { ...SHOP, version: 2 } as unknown as TopologyDocument, T0 + 1), /topology\.version/);
      await assert.rejects(s.observe(tenant, { nodes: [], edges: [{ from: 'service:cart', to: 'service:nowhere', kind: 'CALLS' }] }, T0 + 1), /unknown node id "service:nowhere"/);
      await assert.rejects(s.observe(tenant, { nodes: [{ id: 'service:cart', kind: 'Host', name: 'cart' }], edges: [] }, T0 + 1), /node "service:cart" is a Service, observed as a Host/);
      await assert.rejects(s.observe(tenant, { nodes: [{ id: 'x y', kind: 'Service', name: 'x' }], edges: [] }, T0 + 1), /nodes\[0\]\.id/);
      await assert.rejects(s.observe(tenant, { nodes: [{ id: 'service:z', kind: 'Service', name: 'z', properties: { deep: { a: 1 } as unknown as string } }], edges: [] }, T0 + 1), /properties\.deep/);
      await assert.rejects(s.observe(tenant, null as never, T0 + 1), /nodes and edges/);
      await assert.rejects(s.putDeclared(tenant, SHOP, -1), /nowMs/);
      await assert.rejects(s.putDeclared('x'.repeat(300), SHOP, T0), /tenant/);
      await assert.rejects(s.downstream(tenant, 'service:cart', 99), /maxDepth must be an integer 0\.\.32/);
      await assert.rejects(s.downstream(tenant, 'service:nope', 1), /no node "service:nope"/);
      assert.deepEqual(await s.snapshot(tenant), before);
    });
  });
}
