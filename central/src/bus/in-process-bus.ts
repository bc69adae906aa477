// The in-process Bus: the embedded default (ARCHITECTURE section 4), production code that
// passes the same contract suite as Kafka (testing/bus-contract.ts).
//
// Topics are arrays of partition logs in memory. A record stays until every group that has
// subscribed to its topic has committed past it; a partition holds at most `capacity`
// records: publish() then waits for the slowest group (backpressure), or, when no group has
// ever subscribed to the topic, drops the oldest record (counted in
// aiops_bus_records_dropped_total). Nothing survives the process: in the embedded mode the
// stores are the durable point (ingest acknowledges an agent only after its frame is stored).
//
// Each (group, partition) has one loop that hands batches to the member that owns the
// partition now, one batch at a time: a rebalance (a member joining or leaving) changes owners
// between batches, never during one, and the new owner starts at the committed offset.
import type { BoundCounter } from '../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings } from '../component.js';
import { partitionFor } from './partitioner.js';
import { busMetrics, runBatch } from './delivery.js';
import type { BusMetrics } from './delivery.js';
import { BusError, DLQ_SUFFIX } from './types.js';
import type { Assignment, Bus, BusMessage, BusRecord, SubscribeOptions, Subscription, TopicSpec } from './types.js';
import { checkMessages, checkSubscribe, checkTopicName, checkTopics } from './validate.js';
import type { CheckedSubscribe } from './validate.js';

export interface InProcessBusOptions {
  /** Records per partition at most (see the file comment). Default 10,000. */
  capacity?: number;
  /** shutdown() waits this long for running batches, then gives up on them (uncommitted). Default 30 s. */
  shutdownTimeoutMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

class Partition {
  /** Offset of records[0]. */
  base = 0;
  readonly records: BusRecord[] = [];
  /** Publishers waiting for space; consumers waiting for records. */
  readonly space: Waiter[] = [];
  readonly data: Array<() => void> = [];
  get end(): number {
    return this.base + this.records.length;
  }
}

interface Topic {
  name: string;
  partitions: Partition[];
  /** Groups that have subscribed to the topic (their commits hold records back). */
  groups: Set<Group>;
}

class Member implements Subscription {
  closed = false;
  /** Batches of this member running now. */
  running = 0;
  idle: Array<() => void> = [];
  constructor(
    readonly groupRef: Group,
    readonly opts: CheckedSubscribe,
  ) {}
  get group(): string {
    return this.groupRef.name;
  }
  assignment(): Assignment[] {
    return this.groupRef.assignmentOf(this);
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.groupRef.leave(this);
    while (this.running > 0) await new Promise<void>((r) => this.idle.push(r));
  }
}

class Group {
  readonly members: Member[] = [];
  /** Next offset to consume, per `topic/partition`. */
  readonly committed = new Map<string, number>();
  private owners = new Map<string, Member>();
  private readonly loops = new Set<string>();

  constructor(
    readonly name: string,
    private readonly bus: InProcessBus,
  ) {}

  join(m: Member): void {
    this.members.push(m);
    this.rebalance();
  }

  leave(m: Member): void {
    const i = this.members.indexOf(m);
    if (i >= 0) this.members.splice(i, 1);
    this.rebalance();
  }

  assignmentOf(m: Member): Assignment[] {
    const out: Assignment[] = [];
    for (const [tp, owner] of this.owners) {
      if (owner !== m) continue;
      const cut = tp.lastIndexOf('/');
      out.push({ topic: tp.slice(0, cut), partition: Number(tp.slice(cut + 1)) });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /** Round-robin of every subscribed partition over the members (in join order). */
  private rebalance(): void {
    const owners = new Map<string, Member>();
    const tps: string[] = [];
    const seen = new Set<string>();
    for (const m of this.members) {
      for (const t of m.opts.topics) {
        if (seen.has(t)) continue;
        seen.add(t);
        const topic = this.bus.topic(t);
        for (let p = 0; p < topic.partitions.length; p++) tps.push(`${t}/${p}`);
      }
    }
    tps.sort();
    let k = 0;
    for (const tp of tps) {
      const topicName = tp.slice(0, tp.lastIndexOf('/'));
      const candidates = this.members.filter((m) => m.opts.topics.includes(topicName));
      if (candidates.length === 0) continue;
      owners.set(tp, candidates[k++ % candidates.length]!);
    }
    this.owners = owners;
    for (const tp of owners.keys()) this.ensureLoop(tp);
    // Wake loops waiting for an owner or for data so they re-read theirs.
    this.bus.wakeAll();
  }

  ownerOf(tp: string): Member | undefined {
    return this.owners.get(tp);
  }

  private ensureLoop(tp: string): void {
    if (this.loops.has(tp)) return;
    this.loops.add(tp);
    const cut = tp.lastIndexOf('/');
    const topic = this.bus.topic(tp.slice(0, cut));
    const partition = topic.partitions[Number(tp.slice(cut + 1))]!;
    void this.loop(tp, topic, partition).finally(() => this.loops.delete(tp));
  }

  private async loop(tp: string, topic: Topic, partition: Partition): Promise<void> {
    for (;;) {
      if (this.bus.isClosed) return;
      const owner = this.owners.get(tp);
      if (owner === undefined || owner.closed) {
        if (this.members.length === 0) return;
        await new Promise<void>((r) => partition.data.push(r));
        continue;
      }
      let next = this.committed.get(tp);
      if (next === undefined) {
        next = owner.opts.fromBeginning ? partition.base : partition.end;
        this.committed.set(tp, next);
      }
      if (next < partition.base) next = partition.base; // dropped while nobody held it
      if (next >= partition.end) {
        await new Promise<void>((r) => partition.data.push(r));
        continue;
      }
      const from = next - partition.base;
      const batch = partition.records.slice(from, from + owner.opts.maxBatch);
      owner.running++;
      try {
        await runBatch(batch, owner.opts, {
          group: this.name,
          deadLetter: (records) => this.bus.publish(topic.name + DLQ_SUFFIX, records),
          sleep: (ms) => this.bus.sleep(ms),
          closed: () => this.bus.isClosed,
          onRetry: () => this.bus.m.retries.inc(1, { group: this.name, topic: topic.name }),
          onDeadLetter: (n) => this.bus.m.deadLettered.inc(n, { group: this.name, topic: topic.name }),
        });
        this.committed.set(tp, next + batch.length);
        this.bus.m.consumed.inc(batch.length, { group: this.name, topic: topic.name });
        this.bus.m.lag.set(partition.end - (next + batch.length), { group: this.name, topic: topic.name, partition: tp.slice(tp.lastIndexOf('/') + 1) });
        this.bus.m.age.observe(Math.max(0, this.bus.now() - batch[batch.length - 1]!.timestampMs) / 1000, { group: this.name, topic: topic.name });
        this.bus.trim(topic, partition);
      } catch (err) {
        // Only a bus shutdown ends a batch without commit: the records stay for the next run.
        if (!this.bus.isClosed) this.bus.logFailure(this.name, tp, err);
        return;
      } finally {
        owner.running--;
        if (owner.running === 0) for (const r of owner.idle.splice(0)) r();
      }
    }
  }
}

export class InProcessBus implements Bus {
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private readonly members = new Set<Member>();
  private readonly capacity: number;
  private readonly shutdownTimeoutMs: number;
  private closed = false;
  /** @internal */
  readonly m: BusMetrics & { dropped: BoundCounter };

  constructor(
    private readonly settings: CentralSettings,
    opts: InProcessBusOptions = {},
  ) {
    this.capacity = opts.capacity ?? 10_000;
    this.shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 30_000;
    if (!Number.isSafeInteger(this.capacity) || this.capacity < 1) throw new BusError('INVALID_ARGUMENT', `capacity must be a positive integer (got ${String(opts.capacity)})`);
    this.m = {
      ...busMetrics(settings.metrics),
      dropped: settings.metrics.counter('aiops_bus_records_dropped_total', 'Records dropped because a partition was full and no group had subscribed to its topic.', ['topic']),
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new BusError('CLOSED', 'the bus is shut down');
    for (const t of this.topics.values()) {
      for (const p of t.partitions) for (const w of p.space.splice(0)) w.reject(err);
    }
    this.wakeAll();
    let timer: unknown;
    const timedOut = new Promise<boolean>((r) => {
      timer = this.settings.clock.setTimeout(() => r(true), this.shutdownTimeoutMs);
    });
    const running = [...this.members].filter((m) => m.running > 0).length;
    const late = await Promise.race([Promise.all([...this.members].map((m) => m.close())).then(() => false), timedOut]);
    this.settings.clock.clearTimeout(timer);
    if (late) this.settings.logger.warn({ consumers: running, timeoutMs: this.shutdownTimeoutMs }, 'bus shutdown: batches still running after the timeout were abandoned uncommitted');
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.ensureOpen();
    checkTopics(topics);
    for (const t of topics) {
      for (const name of [t.name, t.name + DLQ_SUFFIX]) {
        if (this.topics.has(name)) continue;
        this.topics.set(name, { name, partitions: Array.from({ length: t.partitions }, () => new Partition()), groups: new Set() });
      }
    }
  }

  async partitions(topic: string): Promise<number> {
    this.ensureOpen();
    checkTopicName(topic, 'topic');
    return this.topic(topic).partitions.length;
  }

  /** @internal */
  topic(name: string): Topic {
    const t = this.topics.get(name);
    if (t === undefined) throw new BusError('UNKNOWN_TOPIC', `topic "${name}" does not exist (create it with ensureTopics)`);
    return t;
  }

  async publish(topic: string, messages: readonly BusMessage[]): Promise<void> {
    this.ensureOpen();
    checkTopicName(topic, 'topic');
    const t = this.topic(topic);
    checkMessages(messages);
    const n = t.partitions.length;
    for (const msg of messages) {
      const p = t.partitions[partitionFor(msg.key, n)]!;
      while (p.records.length >= this.capacity) {
        this.trim(t, p);
        if (p.records.length < this.capacity) break;
        if (t.groups.size === 0) {
          p.records.shift();
          p.base++;
          this.m.dropped.inc(1, { topic });
          break;
        }
        await new Promise<void>((resolve, reject) => p.space.push({ resolve, reject }));
        this.ensureOpen();
      }
      const partition = t.partitions.indexOf(p);
      const offset = String(p.end);
      p.records.push({
        topic,
        partition,
        offset,
        id: `${topic}/${partition}/${offset}`,
        key: msg.key,
        value: msg.value,
        headers: Object.freeze({ ...(msg.headers ?? {}) }),
        timestampMs: this.settings.clock.now(),
      });
      for (const w of p.data.splice(0)) w();
    }
    this.m.published.inc(messages.length, { topic });
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    this.ensureOpen();
    const o = checkSubscribe(opts);
    for (const t of o.topics) this.topic(t);
    let g = this.groups.get(o.group);
    if (g === undefined) this.groups.set(o.group, (g = new Group(o.group, this)));
    for (const t of o.topics) this.topic(t).groups.add(g);
    const m = new Member(g, o);
    this.members.add(m);
    const close = m.close.bind(m);
    const group = g;
    m.close = async () => {
      await close();
      this.members.delete(m);
      // A group without members no longer holds records back (it resumes from its committed
      // offsets, or the earliest record still there, when it subscribes again).
      if (group.members.length === 0) {
        for (const t of this.topics.values()) {
          if (!t.groups.delete(group)) continue;
          for (const p of t.partitions) {
            this.trim(t, p);
            for (const w of p.space.splice(0)) w.resolve();
          }
        }
      }
    };
    g.join(m);
    return m;
  }

  /** @internal Drops records every subscribed group has committed past; wakes publishers. */
  trim(t: Topic, p: Partition): void {
    if (t.groups.size === 0) return;
    const index = t.partitions.indexOf(p);
    let low = Infinity;
    for (const g of t.groups) low = Math.min(low, g.committed.get(`${t.name}/${index}`) ?? p.base);
    const n = Math.min(p.records.length, low - p.base);
    if (n > 0) {
      p.records.splice(0, n);
      p.base += n;
      for (const w of p.space.splice(0)) w.resolve();
    }
  }

  /** @internal */
  wakeAll(): void {
    for (const t of this.topics.values()) for (const p of t.partitions) for (const w of p.data.splice(0)) w();
  }

  /** @internal */
  now(): number {
    return this.settings.clock.now();
  }

  /** @internal */
  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.settings.clock.setTimeout(r, ms));
  }

  /** @internal */
  logFailure(group: string, tp: string, err: unknown): void {
    this.settings.logger.error({ group, partition: tp, err: (err as Error).message }, 'bus consumer loop stopped');
  }

  private ensureOpen(): void {
    if (this.closed) throw new BusError('CLOSED', 'the bus is shut down');
  }
}
