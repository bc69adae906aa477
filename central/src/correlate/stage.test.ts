// The correlation stage in central's alert chain, on the embedded stores (SQLite in memory)
// and the embedded topology: alert store -> correlation -> incidents with their timeline,
// alerts linked, notifications per incident, resolution by the clock, acknowledgement kept,
// take-over after a restart, store failures surfaced.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { alertFingerprint } from '../../../shared-schemas/src/index.js';
import type { Alert, Incident } from '../../../shared-schemas/src/index.js';
import { runLifecycleContract } from '../../../edge-agent/src/testing/index.js';
import { ManualClock, metricValue, testSettings } from '../detect/dynamic-xy/testdata/helpers.js';
import { AlertStoreSink } from '../pipeline/index.js';
import { openSqliteStores } from '../storage/index.js';
import type { IncidentStore, SqliteStores } from '../storage/index.js';
import { EmbeddedTopologyStore } from '../topology/index.js';
import { correlationConfig, CorrelationStage } from './index.js';
import type { IncidentChange, IncidentConsumer } from './index.js';

const T0 = Date.UTC(2026, 2, 4, 8);
const MIN = 60_000;
const TENANT = 'acme';

function alert(name: string, labels: Record<string, string>, atMs: number, status: Alert['status'] = 'firing', endsAtMs = 0): Alert {
  const l = { alertname: name, severity: 'critical', ...labels };
  return { status, labels: l, annotations: { summary: `${name}` }, startsAtMs: atMs, endsAtMs, generatorUrl: '', fingerprint: alertFingerprint(l), tenant: TENANT, source: 'test' };
}

class Notifications implements IncidentConsumer {
  readonly changes: IncidentChange[] = [];
  async consumeIncidents(changes: readonly IncidentChange[]): Promise<void> {
    this.changes.push(...changes);
  }
}

describe('CorrelationStage', () => {
  let stores: SqliteStores;
  let clock: ManualClock;
  let topology: EmbeddedTopologyStore;

  beforeEach(async () => {
    clock = new ManualClock(T0);
    stores = openSqliteStores(':memory:', { now: () => clock.now() });
    topology = new EmbeddedTopologyStore(stores.db);
    await topology.start();
    await topology.putDeclared(
      TENANT,
      {
        version: 1,
        name: 'shop',
        nodes: [
          { id: 'service:checkout', kind: 'Service', name: 'checkout' },
          { id: 'service:payment', kind: 'Service', name: 'payment' },
          { id: 'database:db', kind: 'Database', name: 'db' },
          { id: 'service:search', kind: 'Service', name: 'search' },
        ],
        edges: [
          { kind: 'CALLS', from: 'service:checkout', to: 'service:payment' },
          { kind: 'CALLS', from: 'service:payment', to: 'database:db' },
        ],
      },
      T0,
    );
  });
  afterEach(async () => {
    await topology.shutdown();
    await stores.close();
  });

  function chain(o: { incidents?: IncidentStore; restore?: boolean } = {}) {
    const settings = testSettings('alerts/correlation', clock);
    const notes = new Notifications();
    const stage = new CorrelationStage(settings, correlationConfig({ max_hops: 2 }), { alerts: stores.alerts, incidents: o.incidents ?? stores.incidents, topology, next: [notes] }, o.restore ? [TENANT] : []);
    const sink = new AlertStoreSink({ store: stores.alerts, clock, logger: settings.logger, metrics: settings.metrics, downstream: [stage] });
    return { stage, sink, notes, settings };
  }

  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => chain().stage);
  });

  it('turns related alerts into one incident with its alerts, services, representative and timeline', async () => {
    const { stage, sink, notes, settings } = chain();
    await stage.start();
    const a = alert('HighErrorRate', { service: 'payment' }, T0);
    const b = alert('DbConnectionsExhausted', { database: 'db' }, T0 + MIN);
    const c = alert('HighLatency', { service: 'search' }, T0 + MIN);
    await sink.consumeAlerts([a]);
    await sink.consumeAlerts([b, c]);
    await sink.consumeAlerts([a]); // a duplicate: stops at the alert store
    const list = await stores.incidents.list(TENANT, {});
    assert.equal(list.length, 2);
    const inc = list.find((i) => i.alertFingerprints.length === 2)!;
    assert.deepEqual(new Set(inc.alertFingerprints), new Set([a.fingerprint, b.fingerprint]));
    assert.deepEqual(inc.services, ['db', 'payment']);
    assert.equal(inc.representativeFingerprint, b.fingerprint, 'payment depends on db');
    assert.equal(inc.status, 'open');
    assert.equal(inc.severity, 'critical');
    assert.match(inc.title, /^DbConnectionsExhausted \(database=db\) and 1 related alert on 2 services$/);
    assert.equal(inc.openedAtMs, T0);
    assert.equal((await stores.alerts.get(TENANT, a.fingerprint))!.incidentId, inc.id);
    assert.equal((await stores.alerts.get(TENANT, b.fingerprint))!.incidentId, inc.id);
    const other = list.find((i) => i.id !== inc.id)!;
    assert.deepEqual(other.services, ['search']);
    const tl = await stores.incidents.timeline(TENANT, inc.id);
    assert.deepEqual(tl.map((e) => e.type), ['opened', 'alert_added', 'representative_changed']);
    assert.ok(tl.every((e) => e.actor === 'correlation'));
    // one notification per incident change, never per child alert
    assert.deepEqual(notes.changes.map((c) => [c.kind, c.incident.id === inc.id]), [['new', true], ['changed', true], ['new', false]]);
    assert.equal(await metricValue(settings, 'aiops_central_correlation_alerts_total', { result: 'opened' }), 2);
    assert.equal(await metricValue(settings, 'aiops_central_correlation_alerts_total', { result: 'joined' }), 1);
    await stage.shutdown();
  });

  it('resolves an incident by the clock once every alert resolved and the hold passed', async () => {
    const { stage, sink, notes } = chain();
    await stage.start();
    const a = alert('HighErrorRate', { service: 'payment' }, T0);
    await sink.consumeAlerts([a]);
    await sink.consumeAlerts([alert('HighErrorRate', { service: 'payment' }, T0, 'resolved', T0 + 2 * MIN)]);
    const [inc] = await stores.incidents.list(TENANT, {});
    assert.equal(inc!.status, 'open', 'within resolve_hold');
    clock.advance(10 * MIN);
    await stage.tick();
    const done = (await stores.incidents.get(TENANT, inc!.id))!;
    assert.equal(done.status, 'resolved');
    assert.equal(done.resolvedAtMs, T0 + 2 * MIN);
    assert.deepEqual((await stores.incidents.timeline(TENANT, inc!.id)).map((e) => e.type), ['opened', 'alert_resolved', 'resolved']);
    assert.equal(notes.changes.at(-1)!.incident.status, 'resolved');
    await stage.shutdown();
  });

  it('keeps a person\'s acknowledgement when the incident grows', async () => {
    const { stage, sink } = chain();
    await stage.start();
    await sink.consumeAlerts([alert('HighErrorRate', { service: 'payment' }, T0)]);
    const [inc] = await stores.incidents.list(TENANT, {});
    await stores.incidents.put({ ...inc!, status: 'acknowledged', updatedAtMs: T0 + 1 });
    await sink.consumeAlerts([alert('HighLatency', { service: 'checkout' }, T0 + MIN)]);
    const grown = (await stores.incidents.get(TENANT, inc!.id)) as Incident;
    assert.equal(grown.alertFingerprints.length, 2);
    assert.equal(grown.status, 'acknowledged');
    await stage.shutdown();
  });

  it('takes over the open incidents after a restart', async () => {
    const first = chain();
    await first.stage.start();
    await first.sink.consumeAlerts([alert('HighErrorRate', { service: 'payment' }, T0)]);
    await first.stage.shutdown();
    const [inc] = await stores.incidents.list(TENANT, {});
    const second = chain({ restore: true });
    await second.stage.start();
    assert.equal(second.stage.engine(TENANT)!.open()[0]!.id, inc!.id);
    await second.sink.consumeAlerts([alert('DbSlow', { database: 'db' }, T0 + MIN)]);
    const after = await stores.incidents.list(TENANT, {});
    assert.equal(after.length, 1, 'the related alert joined the incident from before the restart');
    assert.equal(after[0]!.alertFingerprints.length, 2);
    await second.stage.shutdown();
  });

  it('rejects a batch whose incidents cannot be stored, counts it, and carries on afterwards', async () => {
    let fail = true;
    const flaky: IncidentStore = {
      put: async (i) => {
        if (fail) throw Object.assign(new Error('disk full'), { code: 'DISK_FULL' });
        return stores.incidents.put(i);
      },
      get: (t, id) => stores.incidents.get(t, id),
      list: (t, f) => stores.incidents.list(t, f),
      appendTimeline: (t, id, e) => stores.incidents.appendTimeline(t, id, e),
      timeline: (t, id, l) => stores.incidents.timeline(t, id, l),
    };
    const { stage, settings } = chain({ incidents: flaky });
    await stage.start();
    await assert.rejects(stage.consumeAlerts([alert('HighErrorRate', { service: 'payment' }, T0)]), /disk full/);
    assert.equal(await metricValue(settings, 'aiops_central_correlation_errors_total'), 1);
    fail = false;
    await stage.consumeAlerts([alert('DbSlow', { database: 'db' }, T0 + MIN)]);
    const list = await stores.incidents.list(TENANT, {});
    assert.equal(list.length, 1);
    assert.equal(list[0]!.alertFingerprints.length, 2, 'the engine kept the first alert; the next write stored both');
    await stage.shutdown();
  });
});
