// The contract every Bus passes (CONVENTIONS 6): the in-process bus and Kafka run the same
// cases. Topic and group names are unique per case so one real broker serves every run.
// Waits poll with generous timeouts (a Kafka group rebalance takes seconds); nothing asserts
// on wall time.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { until } from '../../../../edge-agent/src/testing/index.js';
import { partitionFor } from '../partitioner.js';
import { BusError, BusPermanentError, DLQ_HEADERS, DLQ_SUFFIX } from '../types.js';
import type { Bus, BusMessage, BusRecord } from '../types.js';

export interface BusContractOptions {
  /** Upper bound of each wait, ms. Default 60,000. */
  waitMs?: number;
  /** Skip every case, with this reason (a server that cannot be provisioned outside CI). */
  skip?: string;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);


function messages(n: number, keys: number, tag: string): BusMessage[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i % keys}`, value: enc(`${tag}:${i}`), headers: { seq: String(i) } }));
}

export function runBusContract(name: string, make: () => Promise<Bus>, opts: BusContractOptions = {}): void {
  const waitMs = opts.waitMs ?? 60_000;
  describe(`Bus contract: ${name}`, { skip: opts.skip }, () => {
    const open: Bus[] = [];
    after(async () => {
      await Promise.all(open.map((b) => b.shutdown()));
    });
    const unique = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;
    async function bus(): Promise<Bus> {
      const b = await make();
      await b.start();
      open.push(b);
      return b;
    }

    it('delivers every record to a group, in order per key, on the key\'s partition, with its headers', async () => {
      const b = await bus();
      const t = unique('contract.order');
      await b.ensureTopics([{ name: t, partitions: 3 }]);
      assert.equal(await b.partitions(t), 3);
      await b.ensureTopics([{ name: t, partitions: 5 }]);
      assert.equal(await b.partitions(t), 3, 'an existing topic keeps its partitions');
      const got: BusRecord[] = [];
      const sub = await b.subscribe({ group: unique('g'), topics: [t], eachBatch: async (rs) => void got.push(...rs) });
      for (let c = 0; c < 3; c++) await b.publish(t, messages(100, 10, `c${c}`));
      await until(() => got.length >= 300, '300 records', waitMs);
      assert.equal(got.length, 300, 'nothing twice when nothing failed');
      assert.equal(new Set(got.map((r) => r.id)).size, 300, 'ids are unique');
      const lastSeq = new Map<string, number>();
      for (const r of got) {
        assert.equal(r.topic, t);
        assert.equal(r.partition, partitionFor(r.key, 3), `key ${r.key} on the default partitioner's partition`);
        assert.equal(r.id, `${t}/${r.partition}/${r.offset}`);
        const [call, i] = dec(r.value).split(':');
        const seq = Number(call!.slice(1)) * 1000 + Number(i);
        assert.ok(seq > (lastSeq.get(r.key) ?? -1), `order kept for ${r.key}`);
        lastSeq.set(r.key, seq);
        assert.equal(r.headers['seq'], i);
        assert.ok(Number.isFinite(r.timestampMs) && r.timestampMs > 0);
      }
      await sub.close();
    });

    it('gives every group all records and splits a group\'s partitions between its members', async () => {
      const b = await bus();
      const t = unique('contract.groups');
      await b.ensureTopics([{ name: t, partitions: 4 }]);
      const ga = unique('ga');
      const a1 = new Set<string>();
      const a2 = new Set<string>();
      const gb = new Set<string>();
      const m1 = await b.subscribe({ group: ga, topics: [t], eachBatch: async (rs) => rs.forEach((r) => a1.add(dec(r.value))) });
      const m2 = await b.subscribe({ group: ga, topics: [t], eachBatch: async (rs) => rs.forEach((r) => a2.add(dec(r.value))) });
      const mb = await b.subscribe({ group: unique('gb'), topics: [t], eachBatch: async (rs) => rs.forEach((r) => gb.add(dec(r.value))) });
      await until(() => m1.assignment().length > 0 && m2.assignment().length > 0, 'both members of a group hold partitions', waitMs);
      await b.publish(t, messages(400, 40, 'x'));
      await until(() => new Set([...a1, ...a2]).size === 400, 'group A has all 400', waitMs);
      await until(() => gb.size === 400, 'group B has all 400', waitMs);
      const held = [...m1.assignment(), ...m2.assignment()].map((x) => `${x.topic}/${x.partition}`);
      assert.equal(new Set(held).size, held.length, 'no partition held twice');
      assert.deepEqual(held.sort(), [0, 1, 2, 3].map((p) => `${t}/${p}`));
      assert.deepEqual(mb.assignment().map((x) => x.partition), [0, 1, 2, 3]);
      await Promise.all([m1.close(), m2.close(), mb.close()]);
    });

    it('commits only after eachBatch resolves: failed batches come again until handled', async () => {
      const b = await bus();
      const t = unique('contract.retry');
      await b.ensureTopics([{ name: t, partitions: 2 }]);
      const done = new Set<string>();
      let calls = 0;
      let failures = 0;
      const sub = await b.subscribe({
        group: unique('g'),
        topics: [t],
        retryInitialMs: 10,
        retryMaxMs: 50,
        maxAttempts: 10,
        eachBatch: async (rs) => {
          calls++;
          if (calls % 3 !== 0) {
            failures++;
            throw new Error('transient downstream failure');
          }
          rs.forEach((r) => done.add(dec(r.value)));
        },
      });
      await b.publish(t, messages(200, 7, 'r'));
      await until(() => done.size === 200, 'all 200 handled', waitMs);
      assert.ok(failures > 0 && calls > failures);
      await sub.close();
    });

    it('a consumer that leaves mid-stream hands its partitions over at the committed offset: nothing is lost', async () => {
      const b = await bus();
      const t = unique('contract.handover');
      await b.ensureTopics([{ name: t, partitions: 3 }]);
      const group = unique('g');
      const seen = new Set<string>();
      let firstCount = 0;
      const first = await b.subscribe({
        group,
        topics: [t],
        maxBatch: 10,
        eachBatch: async (rs) => {
          firstCount += rs.length;
          await new Promise((r) => setTimeout(r, 5));
          rs.forEach((r) => seen.add(dec(r.value)));
        },
      });
      await b.publish(t, messages(600, 30, 'h'));
      await until(() => firstCount >= 50, 'the first consumer has handled some records', waitMs);
      const second = await b.subscribe({ group, topics: [t], eachBatch: async (rs) => rs.forEach((r) => seen.add(dec(r.value))) });
      await first.close();
      await until(() => seen.size === 600, 'every record handled by one of the two', waitMs);
      // Kafka tells the remaining member at its next heartbeat: wait for it rather than race.
      await until(() => second.assignment().length === 3, 'the remaining member holds every partition', waitMs);
      await second.close();
    });

    it('sends a poison record to the dead-letter topic with the reason and keeps the partition moving', async () => {
      const b = await bus();
      const t = unique('contract.dlq');
      await b.ensureTopics([{ name: t, partitions: 1 }]);
      const handled: string[] = [];
      const group = unique('g');
      const sub = await b.subscribe({
        group,
        topics: [t],
        retryInitialMs: 5,
        eachBatch: async (rs) => {
          if (rs.some((r) => dec(r.value) === 'poison')) throw new BusPermanentError('value "poison" cannot be decoded');
          rs.forEach((r) => handled.push(dec(r.value)));
        },
      });
      const dead: BusRecord[] = [];
      const dlq = await b.subscribe({ group: unique('dlq'), topics: [t + DLQ_SUFFIX], eachBatch: async (rs) => void dead.push(...rs) });
      await b.publish(t, [
        { key: 'a', value: enc('one') },
        { key: 'a', value: enc('poison'), headers: { origin: 'test' } },
        { key: 'a', value: enc('three') },
      ]);
      await until(() => handled.includes('one') && handled.includes('three'), 'the good records are handled', waitMs);
      await until(() => dead.length >= 1, 'the poison record is dead-lettered', waitMs);
      assert.deepEqual(handled.filter((v) => v === 'one' || v === 'three').sort(), ['one', 'three']);
      assert.equal(dead.length, 1);
      const d = dead[0]!;
      assert.equal(dec(d.value), 'poison');
      assert.equal(d.key, 'a');
      assert.equal(d.headers['origin'], 'test', 'original headers kept');
      assert.match(d.headers[DLQ_HEADERS.reason]!, /BusPermanentError: value "poison" cannot be decoded/);
      assert.equal(d.headers[DLQ_HEADERS.topic], t);
      assert.equal(d.headers[DLQ_HEADERS.partition], '0');
      assert.equal(d.headers[DLQ_HEADERS.offset], '1');
      assert.equal(d.headers[DLQ_HEADERS.group], group);
      await Promise.all([sub.close(), dlq.close()]);
    });

    it('refuses unknown topics and malformed input with a BusError naming the problem', async () => {
      const b = await bus();
      const t = unique('contract.bad');
      await b.ensureTopics([{ name: t, partitions: 1 }]);
      const code = (c: string, re: RegExp) => (err: unknown) => err instanceof BusError && err.code === c && re.test(err.message);
      await assert.rejects(b.publish(unique('never-created'), [{ key: 'k', value: enc('v') }]), code('UNKNOWN_TOPIC', /never-created/));
      await assert.rejects(b.partitions(unique('never-created')), code('UNKNOWN_TOPIC', /never-created/));
      await assert.rejects(b.publish('bad topic!', [{ key: 'k', value: enc('v') }]), code('INVALID_ARGUMENT', /topic/));
      await assert.rejects(b.publish(t, [{ key: '', value: enc('v') }]), code('INVALID_ARGUMENT', /messages\[0\]\.key/));
      await assert.rejects(b.publish(t, [{ key: 'k', value: 'text' as unknown as Uint8Array }]), code('INVALID_ARGUMENT', /messages\[0\]\.value/));
      await assert.rejects(b.publish(t, [{ key: 'k', value: enc('v'), headers: { n: 1 as unknown as string } }]), code('INVALID_ARGUMENT', /headers\.n/));
      await assert.rejects(b.ensureTopics([{ name: 'bad name!', partitions: 1 }]), code('INVALID_ARGUMENT', /topics\[0\]\.name/));
      await assert.rejects(b.ensureTopics([{ name: unique('t'), partitions: 0 }]), code('INVALID_ARGUMENT', /partitions/));
      await assert.rejects(b.subscribe({ group: 'bad group', topics: [t], eachBatch: async () => undefined }), code('INVALID_ARGUMENT', /group/));
      await assert.rejects(b.subscribe({ group: 'g', topics: [], eachBatch: async () => undefined }), code('INVALID_ARGUMENT', /topics/));
      await assert.rejects(b.subscribe({ group: 'g', topics: [t], maxBatch: 0, eachBatch: async () => undefined }), code('INVALID_ARGUMENT', /maxBatch/));
    });

    it('shuts down idempotently; afterwards calls are refused with CLOSED', async () => {
      const b = await make();
      await b.shutdown(); // safe without start
      const c = await make();
      await c.start();
      const t = unique('contract.close');
      await c.ensureTopics([{ name: t, partitions: 1 }]);
      await c.subscribe({ group: unique('g'), topics: [t], eachBatch: async () => undefined });
      await c.shutdown();
      await c.shutdown();
      await assert.rejects(c.publish(t, [{ key: 'k', value: enc('v') }]), (e: unknown) => e instanceof BusError && e.code === 'CLOSED');
    });
  });
}
