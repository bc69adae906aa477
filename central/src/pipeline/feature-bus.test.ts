// The split feature path on the in-process bus (the Kafka runs are in feature-bus.kafka.test.ts):
// FeatureBusSink (ingest role) -> aiops.features -> FeatureBusConsumer (detect role) -> the
// SQLite MetricStore and the Dynamic X-Y detector. Every row is stored once and scored in window
// order; a batch redelivered after its rows were stored is skipped; poison records are
// dead-lettered with the reason; a partition's series state follows the partition between
// members (primed from the store on arrival, forgotten on departure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { encodeFrame } from '../../../shared-schemas/src/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';
import { metricSum, SelfMetrics, silentLogger, systemClock } from '../../../shared-schemas/src/runtime/index.js';
import { until } from '../../../edge-agent/src/testing/index.js';
import { BusError, DLQ_HEADERS, InProcessBus, partitionFor, TOPICS } from '../bus/index.js';
import type { Bus, BusRecord } from '../bus/index.js';
import { busSettings } from '../bus/testdata/settings.js';
import type { AlertConsumer, IngestedFrame } from '../component.js';
import { DynamicXyDetector, validateDetectionConfig } from '../detect/dynamic-xy/index.js';
import { SqliteMetricStore } from '../storage/index.js';
import type { MetricStore } from '../storage/types.js';
import { FeatureBusConsumer } from './feature-bus-consumer.js';
import { FeatureBusSink } from './feature-bus-sink.js';
import { decodeFeatureRecord, featureRecordKey, featureRecords, FeatureRecordError } from './feature-records.js';
import { TenantScope } from './tenant-scope.js';

const STEP = 10_000;
const T0 = Math.floor(Date.now() / STEP) * STEP - 200 * STEP;
const row = (last: number) => ({ count: 10, min: 0, max: last, mean: last / 2, std: 1, last, p50: last / 2, p95: last, tier1MaxScore: 0.125, flags: 0, bandLower: 0, bandUpper: 100 }); // float32-exact, as decoded frames carry them
const series = (host: string, i: number): Labels => ({ __name__: 'cpu_seconds', host, core: String(i) });

function frame(tenant: string, agentId: string, sequence: number, window: number, labels: readonly Labels[]): IngestedFrame {
  return { tenant, agentId, sequence, windowStartMs: T0 + window * STEP, windowEndMs: T0 + (window + 1) * STEP, rows: labels.map((l, i) => ({ labels: l, row: row(window * 100 + i) })) };
}


const noAlerts: AlertConsumer = { consumeAlerts: async () => undefined };

interface Member {
  consumer: FeatureBusConsumer;
  detector: DynamicXyDetector;
  self: SelfMetrics;
}

async function rig(t: TestContext, partitions = 4) {
  const bus = new InProcessBus(busSettings());
  await bus.start();
  await bus.ensureTopics([{ name: TOPICS.features, partitions }]);
  const store = SqliteMetricStore.open(':memory:', { now: () => Date.now() });
  const members: Member[] = [];
  const member = async (wrap: (s: MetricStore) => MetricStore = (s) => s): Promise<Member> => {
    const self = new SelfMetrics();
    const settings = { id: 'detect', logger: silentLogger(), metrics: self.forComponent('detect'), clock: systemClock, dataDir: '.' };
    const detector = new DynamicXyDetector(settings, validateDetectionConfig({}), noAlerts);
    await detector.start();
    const consumer = new FeatureBusConsumer({ bus, store: wrap(store), readers: [detector], scope: new TenantScope('default'), logger: silentLogger(), metrics: self.forComponent('features'), clock: systemClock, maxBatch: 50 });
    await consumer.start();
    const m = { consumer, detector, self };
    members.push(m);
    return m;
  };
  const sinkMetrics = new SelfMetrics();
  const sink = new FeatureBusSink({ bus, logger: silentLogger(), metrics: sinkMetrics.forComponent('ingest') });
  t.after(async () => {
    for (const m of members) {
      await m.consumer.shutdown();
      await m.detector.shutdown();
    }
    await bus.shutdown();
    await store.close();
  });
  return { bus, store, sink, sinkMetrics, member, partitions };
}

const stored = (m: Member) => metricSum(m.self, 'aiops_central_feature_records_stored_total');
const storedAll = async (...ms: Member[]) => (await Promise.all(ms.map(stored))).reduce((x, y) => x + y, 0);
const windowsOf = async (store: MetricStore, labels: Labels) => {
  const out = await store.queryFeatures({ selector: { name: labels['__name__']!, matchers: Object.entries(labels).filter(([k]) => k !== '__name__').map(([name, value]) => ({ name, op: '=' as const, value })) }, startMs: T0 - STEP, endMs: T0 + 1000 * STEP });
  return out[0]?.windows ?? [];
};

describe('feature records (the aiops.features codec)', () => {
  it('one record per row, keyed by tenant and series, decoding to the row as ingested', () => {
    const f = frame('acme', 'agent-1', 7, 3, [series('h', 0), series('h', 1)]);
    const msgs = featureRecords(f);
    assert.equal(msgs.length, 2);
    assert.equal(msgs[0]!.key, featureRecordKey('acme', series('h', 0)));
    assert.notEqual(featureRecordKey('acme', series('h', 0)), featureRecordKey('other', series('h', 0)), 'tenants apart');
    const back = decodeFeatureRecord({ id: 'x/0/0', key: msgs[1]!.key, value: msgs[1]!.value });
    assert.deepEqual(back, { ...f, rows: [f.rows[1]] });
  });

  it('refuses hostile records with the record id and the problem', () => {
    const good = featureRecords(frame('acme', 'a', 1, 0, [series('h', 0)]))[0]!;
    const bad = (value: Uint8Array, key = good.key) => () => decodeFeatureRecord({ id: 't/1/9', key, value });
    assert.throws(bad(new Uint8Array([1, 2, 3])), (e: unknown) => e instanceof FeatureRecordError && /t\/1\/9: not a feature frame/.test(e.message));
    assert.throws(bad(good.value.subarray(0, good.value.length - 3)), /not a feature frame/);
    assert.throws(bad(new Uint8Array(0)), /not a feature frame/);
    assert.throws(bad(good.value, 'acme|{__name__="other"}'), /is not its series' key/);
    const two = encodeFrame({ agentId: 'a', tenant: 'acme', sequence: 1, windowStartMs: T0, windowEndMs: T0 + STEP, dictionaryScope: 'standalone', dictionaryEpoch: 0, seriesDefs: [{ id: 1, labels: series('h', 0) }, { id: 2, labels: series('h', 1) }], rows: [{ ...row(1), seriesId: 1 }, { ...row(2), seriesId: 2 }] });
    assert.throws(bad(two), /exactly one row/);
  });
});

describe('split feature path on the in-process bus', () => {
  it('frames published by ingest are stored once per series-window and scored in window order', async (t) => {
    const r = await rig(t);
    const m = await r.member();
    const labels = [0, 1, 2, 3, 4].map((i) => series('h1', i));
    const other = [0, 1, 2, 3, 4].map((i) => series('h2', i));
    // Concurrent frames: the sink carries several in one publish (group commit).
    const sends: Array<Promise<void>> = [];
    for (let w = 0; w < 10; w++) {
      sends.push(r.sink.consumeFrame(frame('default', 'agent-1', w + 1, w, labels)));
      sends.push(r.sink.consumeFrame(frame('acme', 'agent-2', w + 1, w, other)));
    }
    await Promise.all(sends);
    assert.equal(await metricSum(r.sinkMetrics, 'aiops_central_feature_records_published_total'), 100);
    await until(async () => (await stored(m)) === 100, '100 records stored');
    for (const l of labels) {
      const ws = await windowsOf(r.store, l);
      assert.deepEqual(ws.map((w) => w.windowStartMs), Array.from({ length: 10 }, (_, w) => T0 + w * STEP));
      assert.equal(m.detector.seriesInfo('default', l)?.windows, 10);
    }
    // The other tenant's rows are stored under its scope, and scored under its tenant.
    const scoped = await windowsOf(r.store, { ...other[0]!, tenant: 'acme' });
    assert.equal(scoped.length, 10);
    assert.equal(m.detector.seriesInfo('acme', other[0]!)?.windows, 10);
    assert.equal(await metricSum(m.self, 'aiops_central_feature_records_redelivered_total'), 0);
  });

  it('a batch redelivered after its rows were stored (crash before the commit) is skipped, not stored twice', async (t) => {
    const r = await rig(t, 1);
    let crashes = 1;
    const m = await r.member((s) => ({
      ...s,
      queryFeatures: (q) => s.queryFeatures(q),
      scanFeatures: (q) => s.scanFeatures(q),
      writeFeatureRecords: async (from, recs) => {
        const res = await s.writeFeatureRecords(from, recs);
        if (crashes-- > 0) throw new Error('died after the store write, before the bus commit');
        return res;
      },
    }));
    const labels = [0, 1, 2].map((i) => series('h3', i));
    for (let w = 0; w < 4; w++) await r.sink.consumeFrame(frame('default', 'agent-3', w + 1, w, labels));
    await until(async () => (await stored(m)) + (await metricSum(m.self, 'aiops_central_feature_records_redelivered_total')) >= 12, '12 records handled');
    await until(async () => (await Promise.all(labels.map((l) => windowsOf(r.store, l)))).every((ws) => ws.length === 4), 'every record stored');
    for (const l of labels) assert.deepEqual((await windowsOf(r.store, l)).map((w) => w.windowStartMs), [0, 1, 2, 3].map((w) => T0 + w * STEP), 'each window once');
    assert.ok((await metricSum(m.self, 'aiops_central_feature_records_redelivered_total')) >= 1, 'the redelivered records were recognised');
    assert.equal(await r.store.busOffset({ group: 'detect', topic: TOPICS.features, partition: 0 }), '12');
  });

  it('a series-window published twice (the answer to the first publish lost) is stored and scored once, also after its partition moved', async (t) => {
    const r = await rig(t, 1);
    let written = 0; // rows the consumers hand to the store: the physical writes
    const counting = (s: MetricStore): MetricStore => ({
      ...s,
      queryFeatures: (q) => s.queryFeatures(q),
      scanFeatures: (q) => s.scanFeatures(q),
      writeFeatureRecords: (from, recs) => {
        for (const rec of recs) written += rec.rows.length;
        return s.writeFeatureRecords(from, recs);
      },
    });
    const a = await r.member(counting);
    const labels = [0, 1, 2].map((i) => series('h7', i));
    const resent = (m: Member) => metricSum(m.self, 'aiops_central_feature_records_resent_total');
    for (let w = 0; w < 5; w++) await r.sink.consumeFrame(frame('default', 'agent-7', w + 1, w, labels));
    await until(async () => (await stored(a)) === 15, '15 records stored');
    // The copies land at new offsets: frame 3 again, and window 5 twice in one publish.
    const copy3 = featureRecords(frame('default', 'agent-7', 4, 3, labels));
    const w5 = featureRecords(frame('default', 'agent-7', 6, 5, labels));
    await r.bus.publish(TOPICS.features, [...copy3, ...w5, ...w5]);
    await until(async () => (await stored(a)) === 18 && (await resent(a)) === 6, 'window 5 stored, 6 copies skipped');
    assert.equal(written, 18, 'no copy written');
    for (const l of labels) {
      assert.deepEqual((await windowsOf(r.store, l)).map((w) => w.windowStartMs), [0, 1, 2, 3, 4, 5].map((w) => T0 + w * STEP));
      assert.equal(a.detector.seriesInfo('default', l)?.windows, 6, 'each window scored once');
    }
    // A window that arrives late but was never stored is not a copy.
    await r.sink.consumeFrame(frame('default', 'agent-7', 8, 7, labels));
    await r.sink.consumeFrame(frame('default', 'agent-7', 7, 6, labels));
    await until(async () => (await stored(a)) === 24, 'windows 7 and 6 stored');
    assert.equal(await resent(a), 6);
    // b takes the partition over and knows what a stored: a copy of window 4 is skipped there too.
    const b = await r.member(counting);
    await a.consumer.shutdown();
    await until(() => b.consumer.assignment().length === 1, 'b holds the partition');
    await r.bus.publish(TOPICS.features, featureRecords(frame('default', 'agent-7', 5, 4, labels)));
    await r.sink.consumeFrame(frame('default', 'agent-7', 9, 8, labels));
    await until(async () => (await stored(b)) === 3 && (await resent(b)) === 3, 'b stored window 8 and skipped the copies');
    assert.equal(written, 27);
    for (const l of labels) {
      assert.equal((await windowsOf(r.store, l)).length, 9);
      assert.equal(b.detector.seriesInfo('default', l)?.windows, 9, 'primed with 8 windows, then window 8');
    }
  });

  it('poison records go to aiops.features.dlq with the reason; the partition moves on', async (t) => {
    const r = await rig(t, 1);
    const m = await r.member();
    const good = featureRecords(frame('default', 'agent-4', 1, 0, [series('h4', 0), series('h4', 1)]));
    const dlq: BusRecord[] = [];
    const sub = await r.bus.subscribe({ group: 'dlq-reader', topics: [TOPICS.features + '.dlq'], eachBatch: async (rs) => void dlq.push(...rs) });
    t.after(() => sub.close());
    await r.bus.publish(TOPICS.features, [good[0]!, { key: 'default|{__name__="x"}', value: new Uint8Array([0xff, 0x00, 0x13]) }, { key: 'wrong', value: good[1]!.value }, good[1]!]);
    await until(async () => (await stored(m)) === 2, '2 good records stored');
    await until(() => dlq.length === 2, '2 dead letters');
    assert.match(dlq[0]!.headers[DLQ_HEADERS.reason]!, /not a feature frame/);
    assert.match(dlq[1]!.headers[DLQ_HEADERS.reason]!, /is not its series' key/);
    assert.equal((await windowsOf(r.store, series('h4', 1))).length, 1);
  });

  it('series state follows the partitions: primed from the store on arrival, forgotten on departure', async (t) => {
    const r = await rig(t, 4);
    const a = await r.member();
    const b = await r.member();
    const labels = Array.from({ length: 16 }, (_, i) => series('h5', i));
    const part = (l: Labels) => partitionFor(featureRecordKey('default', l), r.partitions);
    assert.ok(new Set(labels.map(part)).size === 4, 'the series cover every partition');
    for (let w = 0; w < 5; w++) await r.sink.consumeFrame(frame('default', 'agent-5', w + 1, w, labels));
    await until(async () => (await storedAll(a, b)) === 80, '80 records stored by the two members');
    const ofB = labels.filter((l) => b.consumer.assignment().includes(part(l)));
    assert.ok(ofB.length > 0 && ofB.length < 16, 'the group split the partitions');
    for (const l of ofB) assert.equal(a.detector.seriesInfo('default', l), undefined, 'a knows nothing of b\'s series yet');
    await b.consumer.shutdown();
    await until(() => a.consumer.assignment().length === 4, 'a holds every partition');
    for (let w = 5; w < 6; w++) await r.sink.consumeFrame(frame('default', 'agent-5', w + 1, w, labels));
    await until(async () => (await storedAll(a, b)) === 96, 'a stored the next window of every series');
    for (const l of ofB) assert.equal(a.detector.seriesInfo('default', l)?.windows, 6, 'primed with the 5 windows b stored, then the new one');
    assert.ok((await metricSum(a.self, 'aiops_central_feature_partitions_primed_total')) >= 2);
    // A third member takes some partitions from a: a forgets their series (no resolve from a).
    const c = await r.member();
    await until(() => c.consumer.assignment().length > 0, 'c holds partitions');
    for (let w = 6; w < 7; w++) await r.sink.consumeFrame(frame('default', 'agent-5', w + 1, w, labels));
    await until(async () => (await storedAll(a, b, c)) === 112, 'the next window stored');
    const ofC = labels.filter((l) => c.consumer.assignment().includes(part(l)));
    for (const l of ofC) {
      assert.equal(a.detector.seriesInfo('default', l), undefined, 'a dropped the state of series that moved to c');
      assert.equal(c.detector.seriesInfo('default', l)?.windows, 7, 'c primed them from the store');
    }
    assert.equal(await metricSum(a.self, 'aiops_central_feature_series_moved_total'), ofC.length);
  });

  it('a failed publish fails its frames with the bus error (the agents resend); nothing is counted published', async (t) => {
    const r = await rig(t, 1);
    const bus: Bus = r.bus;
    await bus.shutdown();
    await assert.rejects(r.sink.consumeFrame(frame('default', 'agent-6', 1, 0, [series('h6', 0)])), (e: unknown) => e instanceof BusError && e.code === 'CLOSED');
    assert.equal(await metricSum(r.sinkMetrics, 'aiops_central_feature_records_published_total'), 0);
    assert.equal(await metricSum(r.sinkMetrics, 'aiops_central_feature_publish_failures_total'), 1);
  });
});
