// AlertStoreSink against the embedded SQLite AlertStore (in memory): change kinds counted,
// only changes passed on, malformed alerts skipped, store failures rejected, downstream isolated.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { alertFingerprint } from '../../../shared-schemas/src/index.js';
import type { Alert } from '../../../shared-schemas/src/index.js';
import { SelfMetrics, silentLogger } from '../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer } from '../component.js';
import { openSqliteStores } from '../storage/index.js';
import type { AlertStore, SqliteStores } from '../storage/index.js';
import { AlertStoreSink } from './alert-sink.js';
import { DynamicXyDetector, validateDetectionConfig } from '../detect/dynamic-xy/index.js';
import { CPU, feed, ManualClock, testSettings } from '../detect/dynamic-xy/testdata/helpers.js';

const T0 = Date.UTC(2026, 2, 4, 8, 0, 0);

class Recording implements AlertConsumer {
  readonly batches: Alert[][] = [];
  failWith: Error | undefined;
  async consumeAlerts(alerts: readonly Alert[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.batches.push([...alerts]);
  }
}

function alert(status: Alert['status'], startsAtMs: number, endsAtMs = 0, host = 'web-1'): Alert {
  const labels = { alertname: 'MetricAnomaly', metric: 'cpu', host, service: 'cart', tenant: 'acme', severity: 'warning' };
  return { status, labels, annotations: { summary: `cpu on ${host}` }, startsAtMs, endsAtMs, generatorUrl: '', fingerprint: alertFingerprint(labels), tenant: 'acme', source: 'dynamic-xy' };
}

async function counter(self: SelfMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = self.registry.getSingleMetric(name);
  if (!m) return 0;
  let sum = 0;
  for (const v of (await m.get()).values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, x]) => String(l[k]) === x)) sum += v.value;
  }
  return sum;
}

describe('AlertStoreSink', () => {
  let now = T0;
  let stores: SqliteStores;
  let self: SelfMetrics;
  let next: Recording;
  let sink: AlertStoreSink;

  beforeEach(() => {
    now = T0;
    stores = openSqliteStores(':memory:', { now: () => now });
    self = new SelfMetrics();
    next = new Recording();
    sink = new AlertStoreSink({ store: stores.alerts, clock: { now: () => now }, logger: silentLogger(), metrics: self.forComponent('alert-sink'), downstream: [next] });
  });
  afterEach(async () => {
    await stores.close();
  });

  it('stores new, duplicate, resolved and refired alerts, counts each kind, and passes on only changes', async () => {
    await sink.consumeAlerts([alert('firing', T0)]);
    now += 10_000;
    await sink.consumeAlerts([alert('firing', T0)]);
    now += 10_000;
    await sink.consumeAlerts([alert('resolved', T0, T0 + 30_000)]);
    now += 60_000;
    await sink.consumeAlerts([alert('firing', T0 + 120_000)]);

    for (const [change, n] of [['new', 1], ['duplicate', 1], ['resolved', 1], ['refired', 1]] as const) {
      assert.equal(await counter(self, 'aiops_central_alerts_stored_total', { change }), n, change);
    }
    assert.deepEqual(next.batches.map((b) => b.map((a) => a.status)), [['firing'], ['resolved'], ['firing']], 'the duplicate stopped here');
    const stored = await stores.alerts.get('acme', alertFingerprint(alert('firing', T0).labels));
    assert.equal(stored?.status, 'firing');
    assert.equal(stored?.startsAtMs, T0 + 120_000);
    assert.equal(stored?.receivedAtMs, now, 'nowMs came from the clock');
    assert.equal(next.batches[1]![0]!.endsAtMs, T0 + 30_000);
    assert.equal((next.batches[0]![0] as Alert & { receivedAtMs?: number }).receivedAtMs, T0, 'the stored form is passed on');
  });

  it('passes duplicates on when asked', async () => {
    const all = new Recording();
    const s = new AlertStoreSink({ store: stores.alerts, clock: { now: () => now }, logger: silentLogger(), metrics: self.forComponent('alert-sink/all'), passDuplicates: true });
    s.addDownstream(all);
    await s.consumeAlerts([alert('firing', T0), alert('firing', T0)]);
    assert.equal(all.batches[0]!.length, 2);
  });

  it('skips an alert the store refuses as malformed, counted, and stores the rest', async () => {
    const bad = { ...alert('firing', T0), labels: { '': 'x' } };
    await sink.consumeAlerts([bad, alert('firing', T0, 0, 'web-2')]);
    assert.equal(await counter(self, 'aiops_central_alerts_rejected_total'), 1);
    assert.equal(await counter(self, 'aiops_central_alerts_stored_total', { change: 'new' }), 1);
    assert.equal(next.batches[0]!.length, 1);
  });

  it('rejects when the store fails otherwise (the sender retries; upserts are idempotent)', async () => {
    await stores.close();
    await assert.rejects(sink.consumeAlerts([alert('firing', T0)]), (e: unknown) => (e as { code?: string }).code === 'CLOSED');
    stores = openSqliteStores(':memory:', { now: () => now });
  });

  it('isolates a failing downstream stage: counted, the alerts stay stored, later stages still run', async () => {
    const failing = new Recording();
    failing.failWith = new Error('correlation down');
    const after = new Recording();
    const store: AlertStore = stores.alerts;
    const s = new AlertStoreSink({ store, clock: { now: () => now }, logger: silentLogger(), metrics: self.forComponent('alert-sink/x'), downstream: [failing, after] });
    await s.consumeAlerts([alert('firing', T0)]);
    assert.equal(await counter(self, 'aiops_central_alert_downstream_errors_total', { stage: '0' }), 1);
    assert.equal(after.batches.length, 1);
    assert.equal((await stores.alerts.list('acme', { status: 'firing' })).length, 1);
  });

  it('behind the Dynamic X-Y detector: one stored alert per series, new then resolved then refired, never a duplicate', async () => {
    const det = new DynamicXyDetector(testSettings('alerts/dynamic-xy', new ManualClock()), validateDetectionConfig({}), sink);
    let w = await feed(det, CPU, 'xxxxxx.....');
    w = await feed(det, CPU, '..xxx', w);
    for (const [change, n] of [['new', 1], ['duplicate', 0], ['resolved', 1], ['refired', 1]] as const) {
      assert.equal(await counter(self, 'aiops_central_alerts_stored_total', { change }), n, change);
    }
    const stored = await stores.alerts.list('acme', {});
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.status, 'firing');
    assert.equal(stored[0]!.source, 'dynamic-xy');
    assert.equal(stored[0]!.labels['service'], 'checkout');
    assert.equal(stored[0]!.annotations['value_last'], '250');
    assert.deepEqual(next.batches.map((b) => b.map((a) => a.status)), [['firing'], ['resolved'], ['firing']]);
  });
});
