// The Kafka bus against a real broker (deploy/dev/kafka.sh, a private instance on a free port):
// the shared Bus contract, plus what only Kafka shows: a broker outage under a publisher, the
// idempotent producer's retry of a produce whose answer was lost, chunks of maxBatch, a new
// group that starts at the end, and config errors. Skipped loudly without a broker, failed
// under CI=true.
//
// Outage behaviour (chosen and tested here): a publish while the broker is down rejects with a
// retryable BusError('UNAVAILABLE') once its retry budget (`retries`, backoff) is spent: it
// never hangs and never resolves without the broker. The same bus publishes again once the
// broker is back, and every record whose publish resolved is there.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import type { ISocketFactory } from 'kafkajs';
import { metricSum } from '../../../shared-schemas/src/runtime/index.js';
import { KafkaBus } from './kafka-bus.js';
import type { KafkaBusConfig } from './kafka-bus.js';
import { runBusContract } from './testing/index.js';
import { until as waitUntil } from '../../../edge-agent/src/testing/index.js';
import { startKafka } from './testdata/kafka.js';
import { busSettings } from './testdata/settings.js';
import { BusError } from './types.js';
import type { Bus, BusRecord, Subscription } from './types.js';

const kafka = await startKafka();
after(async () => {
  if (kafka.ok) await kafka.dispose();
});
const skip = kafka.ok ? undefined : kafka.reason;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const unique = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const until = (pred: () => boolean | Promise<boolean>, what: string, waitMs = 90_000) => waitUntil(pred, what, waitMs);

function config(extra: Partial<KafkaBusConfig> = {}): KafkaBusConfig {
  return { brokers: [kafka.broker], clientId: 'aiops-bus-test', ...extra };
}

runBusContract('kafka', async () => new KafkaBus(busSettings(), config()), { waitMs: 90_000, ...(skip ? { skip } : {}) });

/** Subscribes a fresh group from the beginning and collects what it gets. */
async function collect(bus: Bus, topic: string, extra: { maxBatch?: number } = {}): Promise<{ got: BusRecord[]; batches: number[]; sub: Subscription }> {
  const got: BusRecord[] = [];
  const batches: number[] = [];
  const sub = await bus.subscribe({
    group: unique('collect'),
    topics: [topic],
    ...extra,
    eachBatch: async (rs) => {
      batches.push(rs.length);
      got.push(...rs);
    },
  });
  return { got, batches, sub };
}

/**
 * Sockets that lose the answer to the first produce request sent after arm(): the broker has
 * stored the records, the client sees its connection fail and sends the request again.
 */
function losingSockets(): { factory: ISocketFactory; arm(): void; lost(): number } {
  let armed = false;
  let lost = 0;
  const factory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = connect({ host, port }, onConnect);
    const produces = new Set<number>();
    const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      // A request: size int32, api key int16 (0 = Produce), api version int16, correlation id int32.
      if (armed && Buffer.isBuffer(chunk) && chunk.length >= 12 && chunk.readInt16BE(4) === 0) produces.add(chunk.readInt32BE(8));
      return write(chunk, ...rest);
    }) as typeof socket.write;
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    let pending = Buffer.alloc(0);
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== 'data' || produces.size === 0) return emit(event, ...args);
      // A response: size int32, correlation id int32. Pass whole frames, drop the watched one.
      pending = Buffer.concat([pending, args[0] as Buffer]);
      const pass: Buffer[] = [];
      while (pending.length >= 8 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0);
        const frame = pending.subarray(0, 4 + size);
        pending = pending.subarray(4 + size);
        if (armed && produces.has(frame.readInt32BE(4))) {
          armed = false;
          lost++;
          socket.destroy(new Error('injected fault: produce response lost'));
          return true;
        }
        pass.push(frame);
      }
      return pass.length > 0 ? emit('data', Buffer.concat(pass)) : true;
    }) as typeof socket.emit;
    return socket;
  };
  return { factory, arm: () => void (armed = true), lost: () => lost };
}

describe('KafkaBus specifics', { skip }, () => {
  const open: Bus[] = [];
  after(async () => {
    await Promise.all(open.map((b) => b.shutdown()));
  });
  async function bus(extra: Partial<KafkaBusConfig> = {}, settings = busSettings()): Promise<KafkaBus> {
    const b = new KafkaBus(settings, config(extra));
    open.push(b);
    await b.start();
    return b;
  }

  it('hands eachBatch at most maxBatch records and counts what it publishes and commits', async () => {
    const settings = busSettings();
    const b = await bus({}, settings);
    const t = unique('kafka.chunks');
    await b.ensureTopics([{ name: t, partitions: 1 }]);
    await b.publish(t, Array.from({ length: 50 }, (_, i) => ({ key: 'k', value: enc(String(i)) })));
    const { got, batches, sub } = await collect(b, t, { maxBatch: 7 });
    await until(() => got.length >= 50, '50 records');
    assert.deepEqual(got.map((r) => dec(r.value)), Array.from({ length: 50 }, (_, i) => String(i)), 'in order, once');
    assert.ok(batches.every((n) => n >= 1 && n <= 7), `batches of at most 7 (got ${batches.join(',')})`);
    await b.ensureTopics([{ name: t, partitions: 3 }]); // an existing topic is kept as it is
    await b.publish(t, Array.from({ length: 10 }, (_, i) => ({ key: `other-${i}`, value: enc(String(50 + i)) })));
    await until(() => got.length >= 60, '60 records');
    assert.ok(got.every((r) => r.partition === 0), 'still one partition');
    await until(async () => (await metricSum(settings.selfMetrics, 'aiops_bus_records_consumed_total', { topic: t })) === 60, '60 counted as consumed');
    assert.equal(await metricSum(settings.selfMetrics, 'aiops_bus_records_published_total', { topic: t }), 60);
    await sub.close();
  });

  it('a new group with fromBeginning false gets only what is published after subscribe() resolved', async () => {
    const b = await bus();
    const t = unique('kafka.latest');
    await b.ensureTopics([{ name: t, partitions: 2 }]);
    await b.publish(t, [{ key: 'a', value: enc('old-1') }, { key: 'b', value: enc('old-2') }]);
    const got: string[] = [];
    const sub = await b.subscribe({ group: unique('latest'), topics: [t], fromBeginning: false, eachBatch: async (rs) => void got.push(...rs.map((r) => dec(r.value))) });
    await b.publish(t, [{ key: 'a', value: enc('new-1') }, { key: 'b', value: enc('new-2') }]);
    await until(() => got.length >= 2, 'the new records');
    await sleep(500);
    assert.deepEqual(got.sort(), ['new-1', 'new-2']);
    await sub.close();
  });

  it('the idempotent producer stores a produce retried after its answer was lost only once', async () => {
    const sockets = losingSockets();
    const b = await bus({ socketFactory: sockets.factory });
    const t = unique('kafka.idempotent');
    await b.ensureTopics([{ name: t, partitions: 1 }]);
    await b.publish(t, [{ key: 'k', value: enc('warm-up') }]);
    sockets.arm();
    await b.publish(t, Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: enc(`r${i}`) })));
    assert.equal(sockets.lost(), 1, 'one produce answer was lost, so the producer sent the request again');
    const reader = await bus();
    const { got, sub } = await collect(reader, t);
    await until(() => got.length >= 11, '11 records');
    await sleep(1000); // a duplicate would show up with the rest
    assert.deepEqual(got.map((r) => dec(r.value)), ['warm-up', ...Array.from({ length: 10 }, (_, i) => `r${i}`)], 'each record once, in order');
    await sub.close();
  });

  it('a broker outage fails publishes with a retryable UNAVAILABLE; once it is back nothing acknowledged is lost', async () => {
    const b = await bus({ retries: 2, retryInitialMs: 100, retryMaxMs: 500, connectionTimeoutMs: 1000, requestTimeoutMs: 5000 });
    const t = unique('kafka.outage');
    await b.ensureTopics([{ name: t, partitions: 2 }]);
    // A member that stays subscribed through the outage: kafkajs restarts its consumer.
    const live = new Set<string>();
    const liveSub = await b.subscribe({ group: unique('live'), topics: [t], eachBatch: async (rs) => rs.forEach((r) => live.add(dec(r.value))) });
    const acked: string[] = [];
    const failures: unknown[] = [];
    let stop = false;
    let ackedAfterRestart = 0;
    let restarted = false;
    const publisher = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const v = `m${i}`;
        try {
          await b.publish(t, [{ key: `k${i % 5}`, value: enc(v) }]);
          acked.push(v);
          if (restarted) ackedAfterRestart++;
        } catch (err) {
          failures.push(err);
        }
        await sleep(20);
      }
    })();
    await until(() => acked.length >= 5, 'some records before the outage');
    assert.ok(await kafka.script('stop'), 'broker stopped');
    await until(() => failures.length >= 1, 'a publish refused while the broker is down', 60_000);
    assert.ok(await kafka.script('start'), 'broker started again');
    restarted = true;
    await until(() => ackedAfterRestart >= 5, 'publishes succeed again after the restart', 90_000);
    stop = true;
    await publisher;
    for (const f of failures) {
      assert.ok(f instanceof BusError, `a BusError (got ${String(f)})`);
      assert.equal(f.code, 'UNAVAILABLE', f.message);
      assert.equal(f.retryable, true, f.message);
    }
    const reader = await bus();
    const { got, sub } = await collect(reader, t);
    const seen = () => new Set(got.map((r) => dec(r.value)));
    await until(() => acked.every((v) => seen().has(v)), 'every acknowledged record, read from the beginning', 90_000);
    await until(() => acked.every((v) => live.has(v)), 'every acknowledged record, by the member that stayed through the outage', 90_000);
    await Promise.all([sub.close(), liveSub.close()]);
  });
});

describe('KafkaBus without a broker', () => {
  it('refuses a bad config with a BusError naming the setting', () => {
    const bad = (c: unknown, re: RegExp) =>
      assert.throws(() => new KafkaBus(busSettings(), c as KafkaBusConfig), (e: unknown) => e instanceof BusError && e.code === 'INVALID_ARGUMENT' && re.test(e.message));
    bad({ brokers: [] }, /kafka\.brokers must be a non-empty array/);
    bad({ brokers: ['localhost'] }, /kafka\.brokers\[0\] must be host:port/);
    bad({ brokers: ['127.0.0.1:9092'], sessionTimeoutMs: 0 }, /kafka\.sessionTimeoutMs must be an integer/);
    bad({ brokers: ['127.0.0.1:9092'], heartbeatIntervalMs: 20_000 }, /heartbeatIntervalMs must be below kafka\.sessionTimeoutMs/);
    bad({ brokers: ['127.0.0.1:9092'], clientId: 'a b' }, /kafka\.clientId/);
  });

  it('start() fails with a retryable UNAVAILABLE when no broker answers; shutdown is safe after it', async () => {
    // A port that was just free: nothing listens there.
    const { createServer } = await import('node:net');
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    const b = new KafkaBus(busSettings(), { brokers: [`127.0.0.1:${port}`], retries: 1, retryInitialMs: 50, retryMaxMs: 100, connectionTimeoutMs: 500 });
    await assert.rejects(b.start(), (e: unknown) => e instanceof BusError && e.code === 'UNAVAILABLE' && e.retryable && /cannot be reached/.test(e.message));
    await b.shutdown();
    await b.shutdown();
    await assert.rejects(b.publish('t', [{ key: 'k', value: enc('v') }]), (e: unknown) => e instanceof BusError && e.code === 'CLOSED');
  });
});
