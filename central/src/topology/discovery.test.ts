// Discovery from ingested frames: which services run on which hosts reaches the topology store
// (once per refresh interval per pair), frames pass on unchanged and are never held up by the
// store, and labels that cannot be node ids are skipped and counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SelfMetrics, metricSum, silentLogger } from '../../../shared-schemas/src/runtime/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';
import { ManualClock } from '../../../edge-agent/src/testing/index.js';
import type { IngestedFrame } from '../component.js';
import { openDatabase } from '../storage/database.js';
import { EmbeddedTopologyStore } from './embedded.js';
import { TopologyDiscovery } from './discovery.js';

const row = (labels: Labels): IngestedFrame['rows'][number] => ({ labels, row: { count: 1, min: 1, max: 1, mean: 1, std: 0, last: 1, p50: 1, p95: 1, tier1MaxScore: 0, flags: 0, bandLower: 0, bandUpper: 0 } });
const frame = (seq: number, rows: Labels[], tenant = 'default'): IngestedFrame => ({ tenant, agentId: 'a1', sequence: seq, windowStartMs: seq * 10_000, windowEndMs: (seq + 1) * 10_000, rows: rows.map(row) });

function rig() {
  const db = openDatabase(':memory:', { now: () => Date.now() });
  const store = new EmbeddedTopologyStore(db);
  const clock = new ManualClock(Date.UTC(2026, 10, 27));
  const self = new SelfMetrics();
  const metrics = self.forComponent('topology/discovery');
  const passed: IngestedFrame[] = [];
  const d = new TopologyDiscovery({ store, next: { consumeFrame: async (f) => void passed.push(f) }, logger: silentLogger(), metrics, clock, refreshMs: 60_000 });
  return { db, store, clock, metrics: self, passed, d };
}

describe('topology discovery from ingested frames', () => {
  it('reports each service-on-host pair once per refresh interval; frames pass on unchanged', async () => {
    const r = rig();
    const labels: Labels[] = [{ __name__: 'cpu', service: 'cart', host: 'node-1' }, { __name__: 'mem', service: 'cart', host: 'node-1' }, { __name__: 'cpu', service: 'redis', host: 'node-1' }, { __name__: 'load', host: 'node-1' }];
    const f = frame(1, labels);
    await r.d.consumeFrame(f);
    assert.equal(r.passed[0], f, 'the same frame object, unchanged');
    await r.d.drain();
    const snap = await r.store.snapshot('default');
    assert.deepEqual(snap.edges.map((e) => `${e.from} ${e.kind} ${e.to} ${e.origin}`), ['service:cart RUNS_ON host:node-1 discovered', 'service:redis RUNS_ON host:node-1 discovered']);
    assert.deepEqual(snap.nodes.map((n) => `${n.id}/${n.kind}`), ['host:node-1/Host', 'service:cart/Service', 'service:redis/Service']);
    assert.equal(await metricSum(r.metrics, 'aiops_central_topology_discovered_total'), 2);
    // Within the interval: nothing written again; after it, the last sighting moves.
    r.clock.advance(30_000);
    await r.d.consumeFrame(frame(2, labels));
    await r.d.drain();
    assert.equal(await metricSum(r.metrics, 'aiops_central_topology_discovered_total'), 2);
    r.clock.advance(31_000);
    await r.d.consumeFrame(frame(3, labels));
    await r.d.drain();
    assert.equal(await metricSum(r.metrics, 'aiops_central_topology_discovered_total'), 4);
    const edge = (await r.store.snapshot('default')).edges[0]!;
    assert.equal(edge.lastSeenMs - edge.firstSeenMs, 61_000);
    r.db.close();
  });

  it('skips labels that cannot be node ids, and never holds a frame up when the store fails', async () => {
    const r = rig();
    await r.d.consumeFrame(frame(1, [{ service: 'bad name!', host: 'node-1' }, { service: 'ok', host: 'node 2' }]));
    await r.d.drain();
    assert.equal(await metricSum(r.metrics, 'aiops_central_topology_discovery_skipped_total'), 2);
    assert.equal((await r.store.snapshot('default')).edges.length, 0);
    r.db.close();
    await r.d.consumeFrame(frame(2, [{ service: 'cart', host: 'node-1' }]));
    await r.d.drain();
    assert.equal(r.passed.length, 2, 'both frames passed on');
    assert.equal(await metricSum(r.metrics, 'aiops_central_topology_discovery_failures_total'), 1);
  });

  it('a label naming a declared workload (a Cache, a Host) reuses that node', async () => {
    const r = rig();
    await r.store.putDeclared('default', { version: 1, name: 'shop', nodes: [{ id: 'cache:redis', kind: 'Cache', name: 'redis' }, { id: 'host:n1', kind: 'Host', name: 'node-1' }], edges: [] }, Date.UTC(2026, 10, 27));
    await r.d.consumeFrame(frame(1, [{ service: 'redis', host: 'node-1' }, { service: 'cart', host: 'node-1' }]));
    await r.d.drain();
    const snap = await r.store.snapshot('default');
    assert.deepEqual(snap.edges.map((e) => `${e.from}>${e.to}`), ['cache:redis>host:n1', 'service:cart>host:n1']);
    assert.deepEqual(snap.nodes.map((n) => n.id), ['cache:redis', 'host:n1', 'service:cart']);
    r.db.close();
  });
});
