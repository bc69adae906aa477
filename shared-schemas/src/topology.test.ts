import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchemaDecodeError } from './errors.js';
import { validateTopologyDocument } from './topology.js';
import type { TopologyDocument } from './topology.js';

function doc(): TopologyDocument {
  return {
    version: 1,
    name: 'shop',
    nodes: [
      { id: 'service:frontend', kind: 'Service', name: 'frontend', properties: { tier: 'frontend', replicas: 2 } },
      { id: 'service:cart', kind: 'Service', name: 'cart' },
      { id: 'cache:redis-cart', kind: 'Cache', name: 'redis-cart' },
      { id: 'host:node-1', kind: 'Host', name: 'node-1' },
    ],
    edges: [
      { from: 'service:frontend', to: 'service:cart', kind: 'CALLS', properties: { protocol: 'grpc', calls_per_request: 1.5 } },
      { from: 'service:cart', to: 'cache:redis-cart', kind: 'CALLS', properties: { protocol: 'redis' } },
      { from: 'service:cart', to: 'host:node-1', kind: 'RUNS_ON' },
    ],
  };
}

function refused(mutate: (d: TopologyDocument & Record<string, unknown>) => void, field: string, message: RegExp): void {
  const d = structuredClone(doc()) as TopologyDocument & Record<string, unknown>;
  mutate(d);
  assert.throws(
    () => validateTopologyDocument(d),
    (e: unknown) => e instanceof SchemaDecodeError && e.field === field && message.test(e.message),
    `expected ${field} ${message}`,
  );
}

describe('topology document', () => {
  it('accepts a well-formed document unchanged', () => {
    const d = doc();
    assert.equal(validateTopologyDocument(d), d);
  });

  it('refuses bad shapes, naming the field', () => {
    refused((d) => ((d as Record<string, unknown>)['version'] = 2), 'topology.version', /must be 1/);
    refused((d) => (d.name = ''), 'topology.name', /empty/);
    refused((d) => ((d as Record<string, unknown>)['nodes'] = 'x'), 'topology.nodes', /array/);
    refused((d) => (d.nodes[1]!.id = 'service:frontend'), 'topology.nodes[1].id', /duplicate/);
    refused((d) => (d.nodes[1]!.id = 'bad id'), 'topology.nodes[1].id', /must match/);
    refused((d) => ((d.nodes[1] as unknown as Record<string, unknown>)['kind'] = 'Pod'), 'topology.nodes[1].kind', /Pod/);
    refused((d) => (d.nodes[0]!.properties = { 'bad-name': 1 }), 'topology.nodes[0].properties.bad-name', /property names/);
    refused((d) => (d.nodes[0]!.properties = { x: Infinity }), 'topology.nodes[0].properties.x', /finite/);
    refused((d) => (d.nodes[0]!.properties = { x: { y: 1 } as never }), 'topology.nodes[0].properties.x', /string, a finite number or a boolean/);
  });

  it('refuses dangling, self, duplicate and ill-kinded edges', () => {
    refused((d) => (d.edges[0]!.to = 'service:nope'), 'topology.edges[0].to', /unknown node id/);
    refused((d) => (d.edges[0]!.to = 'service:frontend'), 'topology.edges[0]', /itself/);
    refused((d) => d.edges.push({ ...d.edges[0]! }), 'topology.edges[3]', /duplicate CALLS edge/);
    refused((d) => (d.edges[2]!.to = 'service:frontend'), 'topology.edges[2].to', /RUNS_ON edge cannot end at a Service/);
    refused((d) => ((d.edges[1]!.from = 'cache:redis-cart'), (d.edges[1]!.to = 'service:cart')), 'topology.edges[1].from', /CALLS edge cannot start at a Cache/);
  });

  it('refuses hostile input without crashing', () => {
    for (const bad of [null, 42, 'x', [], { version: 1, name: 'n', nodes: new Array(300_000).fill(0), edges: [] }, { __proto__: { version: 1 } }]) {
      assert.throws(() => validateTopologyDocument(bad), SchemaDecodeError);
    }
    const big = doc();
    big.nodes[0]!.properties = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, i]));
    assert.throws(() => validateTopologyDocument(big), /exceed the limit 64/);
  });
});
