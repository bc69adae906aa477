// The in-process bus: the shared Bus contract, plus what only it does (bounded partitions:
// backpressure on publishers while a group lags, oldest records dropped and counted when no
// group has subscribed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricSum } from '../../../shared-schemas/src/runtime/index.js';
import { InProcessBus } from './in-process-bus.js';
import { runBusContract } from './testing/index.js';
import { busSettings } from './testdata/settings.js';
import { BusError } from './types.js';

runBusContract('in-process', async () => new InProcessBus(busSettings()), { waitMs: 20_000 });

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('InProcessBus specifics', () => {
  it('makes publishers wait while a subscribed group lags a full partition, and releases them as it commits', async () => {
    const bus = new InProcessBus(busSettings(), { capacity: 10 });
    await bus.start();
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const got: string[] = [];
    await bus.subscribe({
      group: 'slow',
      topics: ['t'],
      maxBatch: 5,
      eachBatch: async (rs) => {
        await gate;
        got.push(...rs.map((r) => new TextDecoder().decode(r.value)));
      },
    });
    let published = 0;
    const publishing = (async () => {
      for (let i = 0; i < 30; i++) {
        await bus.publish('t', [{ key: 'k', value: enc(String(i)) }]);
        published++;
      }
    })();
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(published, 10, 'the publisher waits once the partition holds `capacity` records');
    for (;;) {
      release();
      gate = new Promise<void>((r) => (release = r));
      await tick();
      if (got.length >= 30) break;
    }
    release();
    await publishing;
    assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => String(i)), 'nothing lost, in order');
    await bus.shutdown();
  });

  it('reports each member\'s lag per partition (records after its last commit) and the age of committed records', async () => {
    const settings = busSettings();
    const bus = new InProcessBus(settings);
    await bus.start();
    await bus.ensureTopics([{ name: 'lagging', partitions: 1 }]);
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    let batches = 0;
    await bus.subscribe({
      group: 'g',
      topics: ['lagging'],
      maxBatch: 5,
      eachBatch: async () => {
        await gate;
        batches++;
      },
    });
    await bus.publish('lagging', Array.from({ length: 12 }, (_, i) => ({ key: 'k', value: enc(String(i)) })));
    const lag = () => metricSum(settings.selfMetrics, 'aiops_bus_consumer_lag_records', { group: 'g', topic: 'lagging', partition: '0' });
    const gateOne = async (n: number) => {
      const r = release;
      gate = new Promise<void>((res) => (release = res));
      r();
      while (batches < n) await tick();
      await tick();
    };
    await gateOne(1);
    assert.equal(await lag(), 7, 'twelve records, five committed');
    await gateOne(2);
    await gateOne(3);
    assert.equal(await lag(), 0);
    const text = await settings.selfMetrics.registry.metrics();
    assert.match(text, /aiops_bus_record_age_seconds_count\{[^}]*group="g"[^}]*\} 3/);
    release();
    await bus.shutdown();
  });

  it('drops the oldest records of a full partition (counted) while no group has subscribed; a later group gets the rest', async () => {
    const settings = busSettings();
    const bus = new InProcessBus(settings, { capacity: 5 });
    await bus.start();
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    for (let i = 0; i < 12; i++) await bus.publish('t', [{ key: 'k', value: enc(String(i)) }]);
    assert.equal(await metricSum(settings.selfMetrics, 'aiops_bus_records_dropped_total', { topic: 't' }), 7);
    const got: string[] = [];
    await bus.subscribe({ group: 'late', topics: ['t'], eachBatch: async (rs) => void got.push(...rs.map((r) => new TextDecoder().decode(r.value))) });
    for (let i = 0; i < 10 && got.length < 5; i++) await tick();
    assert.deepEqual(got, ['7', '8', '9', '10', '11']);
    await bus.shutdown();
  });

  it('refuses a publisher waiting for space at shutdown (CLOSED), bounds shutdown by its timeout, refuses a bad capacity', async () => {
    const bus = new InProcessBus(busSettings(), { capacity: 2, shutdownTimeoutMs: 50 });
    await bus.start();
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    await bus.subscribe({ group: 'stuck', topics: ['t'], eachBatch: () => new Promise(() => undefined) });
    await bus.publish('t', [{ key: 'k', value: enc('a') }]);
    await tick();
    await bus.publish('t', [{ key: 'k', value: enc('b') }]);
    const waiting = bus.publish('t', [{ key: 'k', value: enc('c') }]);
    await tick();
    const stopping = bus.shutdown();
    await assert.rejects(waiting, (e: unknown) => e instanceof BusError && e.code === 'CLOSED');
    await stopping; // the stuck handler never settles: shutdown gives up on it after shutdownTimeoutMs
    assert.throws(() => new InProcessBus(busSettings(), { capacity: 0 }), /capacity must be a positive integer/);
  });
});
