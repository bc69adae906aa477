// The topology graph's queries: known answers on a small shop, errors that name the problem,
// and a property test of every distance against an all-pairs brute force.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TopologyDocument, TopologyEdgeKind } from '../../../shared-schemas/src/index.js';
import { TopologyError, TopologyGraph } from './graph.js';
import { SHOP } from './testing/index.js';

// The contract suite's shop, plus an instance of cart and a second host.
const shop: TopologyDocument = {
  ...SHOP,
  nodes: [...SHOP.nodes, { id: 'instance:cart-0', kind: 'Instance', name: 'cart-0' }, { id: 'host:node-2', kind: 'Host', name: 'node-2' }],
  edges: [...SHOP.edges, { from: 'service:cart', to: 'instance:cart-0', kind: 'HOSTS' }, { from: 'service:payment', to: 'host:node-2', kind: 'RUNS_ON' }],
};

const ids = (rs: Array<{ id: string }>) => rs.map((r) => r.id);

describe('topology graph', () => {
  const g = new TopologyGraph(shop);

  it('blast radius: what depends on a node, transitively, nearest first', () => {
    assert.deepEqual(
      g.blastRadius('cache:redis').map((r) => [r.id, r.depth]),
      [
        ['service:cart', 1],
        ['service:checkout', 2],
        ['service:frontend', 2],
        ['lb:edge', 3],
      ],
    );
    // A host takes down what runs on it and everything depending on those.
    assert.deepEqual(ids(g.blastRadius('host:node-1')), ['cache:redis', 'service:cart', 'service:checkout', 'service:frontend', 'lb:edge']);
    assert.deepEqual(ids(g.blastRadius('queue:orders')), ['service:checkout', 'service:mailer', 'service:frontend', 'lb:edge']);
    assert.deepEqual(g.blastRadius('lb:edge'), []);
  });

  it('downstream and upstream, filtered by edge kind and depth', () => {
    assert.deepEqual(ids(g.downstream('service:checkout', 1, ['CALLS'])), ['queue:orders', 'service:cart', 'service:payment']);
    assert.deepEqual(ids(g.downstream('service:checkout', 2, ['CALLS'])), ['queue:orders', 'service:cart', 'service:payment', 'cache:redis']);
    assert.deepEqual(ids(g.downstream('service:cart', 1)), ['cache:redis', 'host:node-1', 'instance:cart-0']);
    assert.deepEqual(ids(g.upstream('service:cart', 1, ['CALLS'])), ['service:checkout', 'service:frontend']);
    assert.deepEqual(ids(g.upstream('service:cart', 0)), []);
  });

  it('shortest paths, directed or not; none is undefined', () => {
    assert.deepEqual(g.shortestPath('lb:edge', 'cache:redis', { directed: true }), ['lb:edge', 'service:frontend', 'service:cart', 'cache:redis']);
    assert.equal(g.shortestPath('cache:redis', 'lb:edge', { directed: true }), undefined, 'edges are not walked backwards when directed');
    assert.deepEqual(g.shortestPath('service:payment', 'service:mailer'), ['service:payment', 'service:checkout', 'queue:orders', 'service:mailer']);
    assert.equal(g.distance('service:payment', 'service:mailer'), 3);
    assert.equal(g.distance('service:payment', 'service:mailer', 2), undefined);
    assert.equal(g.distance('service:cart', 'service:cart'), 0);
  });

  it('k-hop neighbourhood with the edges among its nodes; density', () => {
    const n = g.neighbourhood('service:checkout', 1);
    assert.deepEqual(ids(n.nodes), ['queue:orders', 'service:cart', 'service:checkout', 'service:frontend', 'service:payment']);
    assert.deepEqual(
      n.edges.map((e) => `${e.from}>${e.to}`),
      ['service:checkout>queue:orders', 'service:checkout>service:cart', 'service:checkout>service:payment', 'service:frontend>service:cart', 'service:frontend>service:checkout'],
    );
    assert.equal(n.edges.find((e) => e.to === 'service:checkout')?.properties?.['protocol'], 'grpc', 'edge properties kept');
    assert.equal(g.density(), (2 * 12) / 11);
    assert.deepEqual(ids(g.findByName('cart', 'Service')), ['service:cart']);
  });

  it('refuses unknown nodes, impossible depths, unknown edge kinds and bad documents, naming them', () => {
    assert.throws(() => g.blastRadius('service:nope'), (e: unknown) => e instanceof TopologyError && e.code === 'NOT_FOUND' && /service:nope/.test(e.message));
    assert.throws(() => g.shortestPath('service:cart', 'nope'), /no node "nope"/);
    for (const d of [-1, 1.5, 33, Number.NaN]) assert.throws(() => g.downstream('service:cart', d), (e: unknown) => e instanceof TopologyError && e.code === 'INVALID_ARGUMENT');
    assert.throws(() => g.neighbourhood('service:cart', 99), /k must be an integer 0\.\.32/);
    assert.throws(() => g.downstream('service:cart', 1, ['CALLZ' as TopologyEdgeKind]), /edge kind must be one of/);
    assert.throws(() => new TopologyGraph({ ...shop, edges: [...shop.edges, { from: 'service:cart', to: 'ghost', kind: 'CALLS' }] }), /topology\.edges\[12\]\.to.*unknown node id/);
  });

  it('every distance equals the all-pairs brute force (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 14 }), fc.array(fc.tuple(fc.nat(13), fc.nat(13)), { maxLength: 40 }), (n, pairs) => {
        const doc: TopologyDocument = { version: 1, name: 'p', nodes: Array.from({ length: n }, (_, i) => ({ id: `service:s${i}`, kind: 'Service' as const, name: `s${i}` })), edges: [] };
        const seen = new Set<string>();
        for (const [a0, b0] of pairs) {
          const a = a0 % n;
          const b = b0 % n;
          if (a === b || seen.has(`${a}>${b}`)) continue;
          seen.add(`${a}>${b}`);
          doc.edges.push({ from: `service:s${a}`, to: `service:s${b}`, kind: 'CALLS' });
        }
        // Floyd-Warshall, directed and undirected.
        const INF = 1e9;
        const dir: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : INF)));
        const und = dir.map((r) => [...r]);
        for (const s of seen) {
          const [a, b] = s.split('>').map(Number) as [number, number];
          dir[a]![b] = 1;
          und[a]![b] = 1;
          und[b]![a] = 1;
        }
        for (const m of [dir, und]) for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (m[i]![k]! + m[k]![j]! < m[i]![j]!) m[i]![j] = m[i]![k]! + m[k]![j]!;
        const g2 = new TopologyGraph(doc);
        for (let i = 0; i < n; i++) {
          const down = new Map(g2.walk(`service:s${i}`, 'downstream', 32).map((r) => [r.id, r.depth]));
          const both = new Map(g2.walk(`service:s${i}`, 'both', 32).map((r) => [r.id, r.depth]));
          for (let j = 0; j < n; j++) {
            const id = `service:s${j}`;
            assert.equal(down.get(id), dir[i]![j]! >= INF ? undefined : dir[i]![j]);
            assert.equal(both.get(id), und[i]![j]! >= INF ? undefined : und[i]![j]);
            const p = g2.shortestPath(`service:s${i}`, id, { directed: true });
            assert.equal(p === undefined ? undefined : p.length - 1, down.get(id));
            if (p) for (let q = 1; q < p.length; q++) assert.ok(seen.has(`${p[q - 1]!.slice(9)}>${p[q]!.slice(9)}`.replace(/s/g, '')), 'every step is an edge');
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
