// The time-topology engine: windows, the topology gate and its adaptive threshold, opening
// severity, merging, the representative, flap-damped resolution, co-occurrence learning,
// labels-and-time fallback, bounds, and the entity graph it reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertFingerprint } from '../../../shared-schemas/src/index.js';
import type { TopologyDocument } from '../../../shared-schemas/src/index.js';
import { correlationConfig, CorrelationEngine, EntityGraph, EntityGraphError } from './index.js';
import type { CorrelationConfigInput, EngineAlert } from './index.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 2, 4, 8);

function alert(name: string, labels: Record<string, string>, atMin: number, severity = 'critical'): EngineAlert {
  const l = { alertname: name, severity, ...labels };
  return { fingerprint: alertFingerprint(l), labels: l, annotations: { summary: `${name} on ${labels['service'] ?? labels['host']}` }, startsAtMs: T0 + atMin * MIN };
}

/** frontend -> checkout -> payment -> db, frontend -> cart -> redis; everything on node-1 or node-2. */
function shop(): TopologyDocument {
  const svc = (n: string) => ({ id: `service:${n}`, kind: 'Service' as const, name: n });
  return {
    version: 1,
    name: 'shop',
    nodes: [svc('frontend'), svc('checkout'), svc('payment'), svc('cart'), { id: 'database:db', kind: 'Database', name: 'db' }, { id: 'cache:redis', kind: 'Cache', name: 'redis' }, { id: 'host:node-1', kind: 'Host', name: 'node-1' }, { id: 'host:node-2', kind: 'Host', name: 'node-2' }],
    edges: [
      { kind: 'CALLS', from: 'service:frontend', to: 'service:checkout' },
      { kind: 'CALLS', from: 'service:checkout', to: 'service:payment' },
      { kind: 'CALLS', from: 'service:payment', to: 'database:db' },
      { kind: 'CALLS', from: 'service:frontend', to: 'service:cart' },
      { kind: 'CALLS', from: 'service:cart', to: 'cache:redis' },
      { kind: 'RUNS_ON', from: 'service:frontend', to: 'host:node-1' },
      { kind: 'RUNS_ON', from: 'service:checkout', to: 'host:node-1' },
      { kind: 'RUNS_ON', from: 'service:payment', to: 'host:node-2' },
      { kind: 'RUNS_ON', from: 'service:cart', to: 'host:node-2' },
      { kind: 'RUNS_ON', from: 'database:db', to: 'host:node-2' },
      { kind: 'RUNS_ON', from: 'cache:redis', to: 'host:node-1' },
    ],
  };
}

/** Mechanics tests: one hop, a threshold a 1-hop alert a minute or two later passes on topology and time. */
function engine(o: CorrelationConfigInput = {}, graph: EntityGraph | null = EntityGraph.fromTopology(shop())): CorrelationEngine {
  return new CorrelationEngine(correlationConfig({ max_hops: 1, threshold: 0.35, ...o }), graph ?? undefined);
}

describe('EntityGraph', () => {
  it('resolves entities from labels, prefers hosts for host labels, and never walks through a host', () => {
    const g = EntityGraph.fromTopology(shop());
    const id = (l: Record<string, string>) => g.entity(g.resolve(l, ['service', 'database', 'host']))?.id;
    assert.equal(id({ service: 'payment', host: 'node-2' }), 'service:payment');
    assert.equal(id({ host: 'node-2' }), 'host:node-2');
    assert.equal(id({ database: 'database:db' }), 'database:db');
    assert.equal(g.resolve({ service: 'nope' }, ['service']), -1);
    const at = (l: Record<string, string>) => g.resolve(l, ['service', 'database', 'cache', 'host']);
    assert.equal(g.distance(at({ service: 'payment' }), at({ database: 'db' }), 5), 1);
    assert.equal(g.distance(at({ host: 'node-2' }), at({ service: 'cart' }), 5), 1);
    // checkout (node-1) and cart (node-2) are 2 hops via frontend; frontend and redis share node-1
    // but are related only through cart (2 hops), not through the host.
    assert.equal(g.distance(at({ service: 'checkout' }), at({ service: 'cart' }), 5), 2);
    assert.equal(g.distance(at({ service: 'frontend' }), at({ cache: 'redis' }), 5), 2);
    assert.equal(g.distance(at({ service: 'frontend' }), at({ cache: 'redis' }), 1), -1);
    assert.ok(g.dependsOn(at({ service: 'frontend' }), at({ database: 'db' }), 32));
    assert.ok(!g.dependsOn(at({ database: 'db' }), at({ service: 'frontend' }), 32));
  });

  it('derives the hop threshold from the graph: a star gets 1, a long chain more', () => {
    const star = EntityGraph.parse({ nodes: [{ id: 'hub' }, ...Array.from({ length: 10 }, (_, i) => ({ id: `s${i}` }))], edges: Array.from({ length: 10 }, (_, i) => ({ source: 'hub', target: `s${i}` })) });
    assert.equal(star.effectiveDiameter(), 2);
    assert.equal(star.adaptiveHops(), 1);
    const chain = EntityGraph.parse({ nodes: Array.from({ length: 12 }, (_, i) => ({ id: `c${i}`, type: 'service' })), edges: Array.from({ length: 11 }, (_, i) => ({ source: `c${i}`, target: `c${i + 1}` })) });
    assert.ok(chain.adaptiveHops() >= 3, `chain hops ${chain.adaptiveHops()}`);
    assert.equal(new CorrelationEngine(correlationConfig(), chain).maxHops, chain.adaptiveHops());
    assert.equal(new CorrelationEngine(correlationConfig({ max_hops: 4 }), chain).maxHops, 4);
  });

  it('refuses malformed topologies with the field named', () => {
    assert.throws(() => EntityGraph.parse([]), EntityGraphError);
    assert.throws(() => EntityGraph.parse({ nodes: 'x' }), /topology.nodes must be an array/);
    assert.throws(() => EntityGraph.parse({ nodes: [{ id: '' }] }), /nodes\[0\].id/);
    assert.throws(() => EntityGraph.parse({ nodes: [{ id: 'a' }, { id: 'a' }] }), /appears twice/);
    assert.throws(() => EntityGraph.parse({ nodes: [{ id: 'a' }], edges: [{ source: 'a', target: 'b' }] }), /edges\[0\] refers to an unknown node "b"/);
    assert.throws(() => EntityGraph.parse({ nodes: [{ id: 'a' }], edges: [{ source: {}, target: 'a' }] }), /edges\[0\].source/);
    assert.throws(() => EntityGraph.parse({ version: 1, name: 'x', nodes: [{ id: 'a', kind: 'Planet', name: 'a' }], edges: [] }), /topology document invalid/);
    // node kinds by type name and alias; unknown types are services
    const g = EntityGraph.parse({ nodes: [{ id: 'h', type: 'node' }, { id: 'd', type: 'Database' }, { id: 'x', type: 'whatever' }], edges: [] });
    assert.deepEqual([0, 1, 2].map((i) => g.entity(i)!.kind), ['Host', 'Database', 'Service']);
  });
});

describe('CorrelationEngine', () => {
  it('groups alerts close in time and topology, and opens a new incident when either is far', () => {
    const e = engine();
    const a = e.fire(alert('HighLatency', { service: 'payment' }, 0));
    assert.ok(a.incident);
    assert.deepEqual(a.events.map((x) => x.type), ['opened']);
    // db is 1 hop from payment, 2 minutes later: joins.
    assert.equal(e.fire(alert('DbSlow', { database: 'db' }, 2)).incident, a.incident);
    // cart is 2 hops from payment and 3 from db: beyond max_hops 1, a new incident.
    const c = e.fire(alert('HighLatency', { service: 'cart' }, 3));
    assert.notEqual(c.incident, a.incident);
    // checkout is 1 hop from payment but 20 minutes after the last alert there: window closed.
    const d = e.fire(alert('HighErrors', { service: 'checkout' }, 20));
    assert.notEqual(d.incident, a.incident);
    assert.equal(e.counters.opened, 3);
    assert.equal(e.counters.joined, 1);
  });

  it('extends the window while related alerts keep arriving, up to the cap', () => {
    const e = engine({ window: '5m', extend: '5m', cap: '20m' });
    const first = e.fire(alert('A', { service: 'payment' }, 0)).incident;
    for (const m of [4, 8, 12, 16, 19]) assert.equal(e.fire(alert(`A${m}`, { service: 'payment' }, m)).incident, first, `minute ${m}`);
    // 21 minutes: within 5 minutes of the last alert, but past the 20-minute cap.
    assert.notEqual(e.fire(alert('A21', { service: 'payment' }, 21)).incident, first);
  });

  it('co-located services are not related through their host; a host alert joins its workloads', () => {
    const e = engine();
    const fe = e.fire(alert('HighLatency', { service: 'frontend' }, 0)).incident;
    // redis runs on node-1 with frontend, 2 hops away by calls: not joined at max_hops 1.
    assert.notEqual(e.fire(alert('CacheMisses', { cache: 'redis' }, 1)).incident, fe);
    // node-1 (host of frontend) is 1 hop: joins the first incident it qualifies for; it also
    // qualifies for the redis incident, so the two merge (one machine under both).
    const h = e.fire(alert('HostCpuHigh', { host: 'node-1' }, 2));
    assert.equal(h.incident, fe);
    assert.ok(h.events.some((x) => x.type === 'merged'));
  });

  it('merges two incidents when an alert ties them together', () => {
    const e = engine();
    const a = e.fire(alert('HighErrors', { service: 'checkout' }, 0)).incident!;
    const b = e.fire(alert('DbDown', { database: 'db' }, 1)).incident!;
    assert.notEqual(a, b);
    const r = e.fire(alert('HighErrors', { service: 'payment' }, 2));
    assert.equal(r.incident, a, 'merged into the older incident');
    const merged = r.events.find((x) => x.type === 'merged');
    assert.equal(merged?.other, b);
    assert.equal(e.get(a)!.members.size, 3);
    assert.equal(e.open().length, 1);
    assert.equal(e.counters.merged, 1);
    // the representative is the alert the others depend on: the database
    const rep = e.get(a)!.members.get(e.get(a)!.representative)!;
    assert.equal(rep.labels['alertname'], 'DbDown');
  });

  it('picks the representative: most depended on, then most severe, then earliest', () => {
    const e = engine({ max_hops: 3 });
    const id = e.fire(alert('FrontendErrors', { service: 'frontend' }, 0, 'critical')).incident!;
    const inc = e.get(id)!;
    const rep = () => inc.members.get(inc.representative)!.labels['alertname'];
    assert.equal(rep(), 'FrontendErrors');
    const r = e.fire(alert('CheckoutSlow', { service: 'checkout' }, 1, 'warning'));
    assert.equal(rep(), 'CheckoutSlow', 'checkout is depended on by frontend');
    assert.ok(r.events.some((x) => x.type === 'representative_changed'));
    e.fire(alert('PaymentSlow', { service: 'payment' }, 2, 'warning'));
    e.fire(alert('PaymentErrors', { service: 'payment' }, 3, 'critical'));
    assert.equal(rep(), 'PaymentErrors', 'same entity: the more severe');
    e.fire(alert('PaymentSaturated', { service: 'payment' }, 4, 'critical'));
    assert.equal(rep(), 'PaymentErrors', 'same severity: the earlier');
  });

  it('info alerts join incidents but never open one', () => {
    const e = engine();
    assert.equal(e.fire(alert('LogVolumeHigh', { service: 'payment' }, 0, 'info')).incident, null);
    assert.equal(e.counters.unassigned, 1);
    const id = e.fire(alert('HighErrors', { service: 'payment' }, 1)).incident;
    assert.equal(e.fire(alert('SwapInUse', { host: 'node-2' }, 2, 'info')).incident, id);
    assert.equal(engine({ open_severity: 'info' }).fire(alert('LogVolumeHigh', { service: 'payment' }, 0, 'info')).incident === null, false);
  });

  it('resolves an incident resolve_hold after its last alert resolved, unless one fires again', () => {
    const e = engine({ resolve_hold: '5m' });
    const a = alert('HighErrors', { service: 'payment' }, 0);
    const b = alert('DbSlow', { database: 'db' }, 1);
    const id = e.fire(a).incident!;
    e.fire(b);
    assert.deepEqual(e.resolve(a.fingerprint, T0 + 3 * MIN).map((x) => x.type), ['alert_resolved']);
    e.resolve(b.fingerprint, T0 + 4 * MIN);
    assert.equal(e.get(id)!.quietSinceMs, T0 + 4 * MIN);
    assert.deepEqual(e.advance(T0 + 8 * MIN), [], 'still within the hold');
    // a flap: the same alert fires again within the hold and goes back to its incident
    const re = e.fire({ ...a, startsAtMs: T0 + 8 * MIN });
    assert.equal(re.incident, id);
    assert.deepEqual(re.events.map((x) => x.type), ['alert_refired']);
    e.resolve(a.fingerprint, T0 + 9 * MIN);
    const done = e.advance(T0 + 14 * MIN);
    assert.deepEqual(done.map((x) => x.type), ['resolved']);
    assert.equal(e.get(id)!.resolvedAtMs, T0 + 9 * MIN);
    assert.equal(e.open().length, 0);
    // after resolution the same alert starts a new incident
    assert.notEqual(e.fire({ ...a, startsAtMs: T0 + 30 * MIN }).incident, id);
    // resolving an unknown fingerprint is harmless
    assert.deepEqual(e.resolve('0000000000000000', T0 + 31 * MIN), []);
  });

  it('without a topology, correlates by shared entity labels and time alone', () => {
    const e = engine({ max_hops: 'auto' }, null);
    assert.equal(e.maxHops, 0);
    const a = e.fire(alert('HighErrors', { service: 'payment' }, 0)).incident;
    assert.equal(e.fire(alert('HighLatency', { service: 'payment' }, 1)).incident, a);
    assert.notEqual(e.fire(alert('HighLatency', { service: 'checkout' }, 1)).incident, a);
    // unknown entities in a topology fall back the same way
    const g = engine();
    const x = g.fire(alert('QueueBacklog', { service: 'not-in-topology' }, 0)).incident;
    assert.equal(g.fire(alert('QueueLag', { service: 'not-in-topology' }, 1)).incident, x);
  });

  it('learns which alert names occur together and lets that tip a join', () => {
    // topology alone (0.5) is under the threshold; learnt co-occurrence (1.0) decides.
    const e = engine({ threshold: 0.9, weights: { topology: 0.5, time: 0, text: 0, labels: 0, cooccurrence: 1 }, cooccurrence_min: 3 });
    const x = alert('QueueBacklog', { service: 'payment' }, 0);
    const y = alert('ConsumerLag', { service: 'payment' }, 0);
    assert.notEqual(e.fire(x).incident, e.fire({ ...y, startsAtMs: T0 + 1000 }).incident, 'not joined before learning');
    e.resolve(x.fingerprint, T0 + MIN);
    e.resolve(y.fingerprint, T0 + MIN);
    e.advance(T0 + 10 * MIN);
    for (let i = 0; i < 3; i++) {
      const at = T0 + (20 + i * 20) * MIN;
      e.adopt({ id: `learn-${i}`, openedAtMs: at, updatedAtMs: at }, [
        { ...x, startsAtMs: at, firing: false },
        { ...y, startsAtMs: at, firing: false },
      ]);
      e.advance(at + 10 * MIN);
    }
    assert.equal(e.counters.resolved, 5);
    const at = T0 + 200 * MIN;
    const a = e.fire({ ...x, startsAtMs: at }).incident;
    assert.equal(e.fire({ ...y, startsAtMs: at + 1000 }).incident, a, 'joined after three incidents held both');
  });

  it('re-resolves the entities of open incidents when the topology changes', () => {
    const e = engine();
    const id = e.fire(alert('HighErrors', { service: 'payment' }, 0)).incident;
    // a new topology where payment is far from db but next to a new service
    e.setTopology(
      EntityGraph.parse({
        nodes: [{ id: 'x:new' }, { id: 'payment' }, { id: 'mid' }, { id: 'db', type: 'Database' }],
        edges: [
          { source: 'payment', target: 'x:new' },
          { source: 'payment', target: 'mid' },
          { source: 'mid', target: 'db' },
        ],
      }),
    );
    assert.equal(e.fire(alert('Down', { service: 'x:new' }, 1)).incident, id, 'one hop in the new graph');
    assert.notEqual(e.fire(alert('DbSlow', { database: 'db' }, 1)).incident, id, 'two hops now: beyond max_hops 1');
  });

  it('takes over incidents from before a restart without events', () => {
    const e = engine();
    const a = alert('HighErrors', { service: 'payment' }, 0);
    e.adopt({ id: 'inc-restored', openedAtMs: T0, updatedAtMs: T0 + MIN }, [{ ...a, firing: true }]);
    assert.equal(e.open()[0]!.id, 'inc-restored');
    assert.equal(e.counters.opened, 0);
    assert.equal(e.fire(alert('DbSlow', { database: 'db' }, 2)).incident, 'inc-restored');
    const re = e.fire(a);
    assert.equal(re.incident, 'inc-restored');
  });

  it('is deterministic: the same alerts give the same incident ids', () => {
    const run = () => {
      const e = engine();
      return [alert('A', { service: 'payment' }, 0), alert('B', { service: 'cart' }, 1), alert('C', { database: 'db' }, 2)].map((x) => e.fire(x).incident);
    };
    assert.deepEqual(run(), run());
    assert.match(run()[0]!, /^inc-[0-9a-f]{16}$/);
  });

  it('bounds open incidents and incident size, counting what it closed or left out', () => {
    const e = engine({ max_open_incidents: 10, max_incident_alerts: 10 }, null);
    for (let i = 0; i < 12; i++) e.fire(alert('X', { service: `s${i}` }, 0));
    assert.equal(e.open().length, 10);
    assert.equal(e.counters.evicted, 2);
    const f = engine({ max_incident_alerts: 10 }, null);
    const first = f.fire(alert('X0', { service: 'big' }, 0)).incident;
    for (let i = 1; i < 12; i++) f.fire(alert(`X${i}`, { service: 'big' }, 0));
    assert.equal(f.get(first!)!.members.size, 10);
    assert.equal(f.counters.opened, 2, 'the 11th alert opened a new incident');
  });
});
