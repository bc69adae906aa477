import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { validateTopologyDocument } from '../../shared-schemas/src/index.js';
import type { TopologyDocument } from '../../shared-schemas/src/index.js';
import { PRESET_NAMES, TopologyError, buildTopologyGraph, findNode, generateTopology, listPresets } from './index.js';

/** Independent acyclicity check (DFS with colours) over CALLS edges. */
function callsAcyclic(doc: TopologyDocument): boolean {
  const out = new Map<string, string[]>();
  for (const e of doc.edges) if (e.kind === 'CALLS') out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  const colour = new Map<string, 1 | 2>();
  const visit = (n: string): boolean => {
    if (colour.get(n) === 1) return false;
    if (colour.get(n) === 2) return true;
    colour.set(n, 1);
    for (const m of out.get(n) ?? []) if (!visit(m)) return false;
    colour.set(n, 2);
    return true;
  };
  return doc.nodes.every((n) => visit(n.id));
}

const DOCUMENTED_SIZES: Record<string, number> = { 'online-boutique': 12, 'sock-shop': 14, 'social-network': 28, 'train-ticket': 65 };

describe('topology presets', () => {
  for (const name of PRESET_NAMES) {
    it(`${name}: validates, acyclic calls, documented size, one host per workload`, () => {
      const doc = generateTopology({ preset: name }, 1);
      validateTopologyDocument(doc);
      assert.equal(doc.name, name);
      assert.ok(callsAcyclic(doc), 'CALLS must be acyclic');
      const workloads = doc.nodes.filter((n) => n.kind !== 'Host');
      const hosts = doc.nodes.filter((n) => n.kind === 'Host');
      assert.equal(workloads.length, DOCUMENTED_SIZES[name]);
      assert.equal(listPresets().find((p) => p.name === name)!.nodeCount, DOCUMENTED_SIZES[name]);
      assert.equal(hosts.length, listPresets().find((p) => p.name === name)!.defaultHosts);
      for (const n of doc.nodes) assert.equal(n.id, `${n.kind.toLowerCase()}:${n.name}`);
      assert.equal(new Set(doc.nodes.map((n) => n.name)).size, doc.nodes.length, 'names are unique');
      for (const w of workloads) {
        assert.equal(doc.edges.filter((e) => e.kind === 'RUNS_ON' && e.from === w.id).length, 1, `${w.id} runs on one host`);
      }
      for (const e of doc.edges.filter((x) => x.kind === 'CALLS')) {
        assert.equal(typeof e.properties?.protocol, 'string');
        assert.ok((e.properties?.calls_per_request as number) > 0, `${e.from} -> ${e.to} calls_per_request`);
      }
      // Every workload but the entry load balancer is reached by a call or consumes a queue.
      const g = buildTopologyGraph(doc);
      assert.deepEqual([...g.entries].map((i) => g.workloads[i]!.kind), ['LoadBalancer']);
      // Balanced placement: host loads differ by at most one workload.
      const perHost = hosts.map((h) => doc.edges.filter((e) => e.kind === 'RUNS_ON' && e.to === h.id).length);
      assert.ok(Math.max(...perHost) - Math.min(...perHost) <= 1, `balanced placement ${perHost.join(',')}`);
    });
  }

  it('has the shapes of the systems it names', () => {
    const ob = generateTopology({ preset: 'online-boutique' }, 1);
    const has = (doc: TopologyDocument, kind: string, from: string, to: string): boolean => doc.edges.some((e) => e.kind === kind && e.from === from && e.to === to);
    assert.ok(has(ob, 'CALLS', 'service:cart', 'cache:redis-cart'));
    assert.ok(has(ob, 'CALLS', 'service:checkout', 'service:payment'));
    assert.ok(has(ob, 'CALLS', 'loadbalancer:frontend-external', 'service:frontend'));
    const ss = generateTopology({ preset: 'sock-shop' }, 1);
    assert.ok(has(ss, 'DEPENDS_ON', 'service:queue-master', 'queue:rabbitmq'));
    assert.ok(has(ss, 'CALLS', 'service:orders', 'database:orders-db'));
    const sn = generateTopology({ preset: 'social-network' }, 1);
    assert.ok(has(sn, 'CALLS', 'service:compose-post-service', 'service:text-service'));
    const tt = generateTopology({ preset: 'train-ticket' }, 1);
    assert.equal(tt.nodes.filter((n) => n.kind === 'Service' && /^ts-.*-service$/.test(n.name)).length, 39);
    assert.ok(has(tt, 'DEPENDS_ON', 'service:ts-delivery-service', 'queue:ts-rabbitmq'));
  });

  it('honours hosts and places deterministically per seed', () => {
    const a = generateTopology({ preset: 'sock-shop', hosts: 3 }, 11);
    const b = generateTopology({ preset: 'sock-shop', hosts: 3 }, 11);
    const c = generateTopology({ preset: 'sock-shop', hosts: 3 }, 12);
    assert.equal(a.nodes.filter((n) => n.kind === 'Host').length, 3);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.edges.filter((e) => e.kind === 'RUNS_ON'),
      c.edges.filter((e) => e.kind === 'RUNS_ON'),
    );
  });
});

describe('random topologies', () => {
  it('honour size and fan-out, stay acyclic and connected (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 2 }), (services, fanOut, seed, queues) => {
        let doc: TopologyDocument;
        try {
          doc = generateTopology({ random: { services, fanOut, queues } }, seed);
        } catch (err) {
          // A tiny graph may have no room for a queue; that is reported, never silently dropped.
          assert.ok(err instanceof TopologyError && err.code === 'BAD_SPEC' && queues > 0, String(err));
          return;
        }
        validateTopologyDocument(doc);
        assert.ok(callsAcyclic(doc), 'acyclic');
        assert.equal(doc.nodes.filter((n) => n.kind === 'Service').length, services);
        assert.equal(doc.nodes.filter((n) => n.kind === 'Queue').length, queues);
        const outdeg = new Map<string, number>();
        for (const e of doc.edges) if (e.kind === 'CALLS') outdeg.set(e.from, (outdeg.get(e.from) ?? 0) + 1);
        for (const [from, d] of outdeg) assert.ok(d <= fanOut, `${from} has ${d} callees > fanOut ${fanOut}`);
        const g = buildTopologyGraph(doc);
        assert.deepEqual([...g.entries].map((i) => g.workloads[i]!.name), ['edge-lb']);
      }),
      { numRuns: 60, seed: 4242 },
    );
  });

  it('fills the fan-out budget for larger graphs and respects depth', () => {
    const doc = generateTopology({ random: { services: 60, fanOut: 3, depth: 5 } }, 9);
    const g = buildTopologyGraph(doc);
    // Longest call path from the load balancer, in services.
    const depth = new Map<number, number>();
    for (const i of g.flowOrder) {
      let d = 0;
      for (let k = g.callers.start[i]!; k < g.callers.start[i + 1]!; k++) d = Math.max(d, depth.get(g.callers.to[k]!)! + 1);
      depth.set(i, d);
    }
    const serviceDepth = Math.max(...[...depth].filter(([i]) => g.workloads[i]!.kind === 'Service').map(([, d]) => d));
    assert.ok(serviceDepth >= 5, `services reach depth ${serviceDepth}`);
    const calls = doc.edges.filter((e) => e.kind === 'CALLS').length;
    assert.ok(calls >= 60, `${calls} calls for 60 services`);
  });

  it('is deterministic by seed and differs across seeds', () => {
    const spec = { random: { services: 30, fanOut: 3, queues: 1 } };
    assert.deepEqual(generateTopology(spec, 5), generateTopology(spec, 5));
    assert.notDeepEqual(generateTopology(spec, 5).edges, generateTopology(spec, 6).edges);
  });
});

describe('topology errors', () => {
  it('names the field and the bad value', () => {
    assert.throws(() => generateTopology({ preset: 'petshop' as never }, 1), (e: unknown) => e instanceof TopologyError && e.code === 'BAD_SPEC' && /topology\.preset/.test(e.message) && /"petshop"/.test(e.message));
    assert.throws(() => generateTopology({ random: { services: 0, fanOut: 2 } }, 1), /topology\.random\.services .*\(got 0\)/);
    assert.throws(() => generateTopology({ preset: 'sock-shop', random: { services: 3, fanOut: 2 } }, 1), /exactly one of "preset" or "random"/);
    assert.throws(() => generateTopology({ preset: 'sock-shop', colour: 'red' } as never, 1), /topology has unknown key\(s\) "colour"/);
  });

  it('rejects a call cycle, naming it', () => {
    const doc: TopologyDocument = {
      version: 1,
      name: 'loop',
      nodes: ['a', 'b', 'c'].map((n) => ({ id: `service:${n}`, kind: 'Service', name: n })),
      edges: [
        { from: 'service:a', to: 'service:b', kind: 'CALLS' },
        { from: 'service:b', to: 'service:c', kind: 'CALLS' },
        { from: 'service:c', to: 'service:a', kind: 'CALLS' },
      ],
    };
    assert.throws(() => buildTopologyGraph(doc), (e: unknown) => e instanceof TopologyError && e.code === 'CYCLE' && /service:a -> service:b -> service:c -> service:a|service:b -> service:c -> service:a -> service:b|service:c -> service:a -> service:b -> service:c/.test(e.message));
  });

  it('rejects an invalid document with the schema path', () => {
    const bad = { version: 1, name: 'x', nodes: [{ id: 'service:a', kind: 'Service', name: 'a' }], edges: [{ from: 'service:a', to: 'service:zz', kind: 'CALLS' }] } as TopologyDocument;
    assert.throws(() => buildTopologyGraph(bad), (e: unknown) => e instanceof TopologyError && e.code === 'INVALID_DOCUMENT' && /topology\.edges\[0\]\.to/.test(e.message));
  });

  it('finds nodes by name or id and explains misses', () => {
    const g = buildTopologyGraph(generateTopology({ preset: 'online-boutique' }, 1));
    assert.equal(findNode(g, 'cart').node.id, 'service:cart');
    assert.equal(findNode(g, 'cache:redis-cart').kind, 'workload');
    assert.equal(findNode(g, 'node-1').kind, 'host');
    assert.throws(() => findNode(g, 'carts', 'faults[0].target'), /faults\[0\]\.target "carts" is not a node of topology "online-boutique" \(known: frontend-external, frontend/);
  });
});
