// The Kafka Bus (ARCHITECTURE sections 4 and 6), on kafkajs: the same contract as the in-process
// bus (types.ts, testing/bus-contract.ts), kept by a real broker.
//
// How the contract maps onto Kafka:
// - publish(): an idempotent producer (acks=all), Kafka's default partitioner (the one
//   partitioner.ts takes), no topic auto-creation. A topic this bus has not seen is looked up
//   in the cluster's metadata first, so a publish to a missing topic is refused at once
//   (UNKNOWN_TOPIC) instead of after kafkajs's metadata retries. Sends are serialised: kafkajs's
//   idempotent producer numbers the records of each partition itself and concurrent sends to one
//   partition can collide. A failed send discards the producer (a fresh one gets a new producer
//   id): with bounded retries, reusing the sequence numbers of a request that may have been
//   stored could make the broker take the caller's retry, or other records, for duplicates.
// - subscribe(): one kafkajs consumer per Subscription (classic group protocol, groupId =
//   group). Its batches are cut into chunks of maxBatch records; each chunk goes through
//   delivery.ts `runBatch` (retries, one-by-one, dead letters, shared with the in-process bus),
//   then its offset is resolved and committed before the next chunk. Nothing is committed for a
//   chunk that did not finish, so the next owner of the partition gets it again.
// - A rebalance, a close or a shutdown seen during a batch ends it after the running chunk
//   (committed), so the member rejoins quickly; heartbeats go on while a chunk runs.
// - subscribe() resolves once the consumer has joined its group and holds its partitions.
//   close() leaves the group after the running chunk, and then waits (bounded by the rebalance
//   and session timeouts) until this bus's other members of that group have rejoined, so their
//   assignment() shows the handover at once, as with the in-process bus.
import type { ConnectionOptions } from 'node:tls';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload, ISocketFactory, KafkaMessage, LogEntry, Producer, SASLOptions } from 'kafkajs';
import type { Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings } from '../component.js';
import { busMetrics, runBatch } from './delivery.js';
import { partitionFor } from './partitioner.js';
import type { BusMetrics, DeliveryContext } from './delivery.js';
import { BusError, DLQ_SUFFIX } from './types.js';
import type { Assignment, Bus, BusErrorCode, BusMessage, BusRecord, SubscribeOptions, Subscription, TopicSpec } from './types.js';
import { checkMessages, checkSubscribe, checkTopicName, checkTopics } from './validate.js';
import type { CheckedSubscribe } from './validate.js';

const { Kafka, logLevel: LogLevel } = kafkajs;

export interface KafkaBusConfig {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Default `aiops-central`. */
  clientId?: string;
  /** TLS: true, or Node's TLS options (CA, client certificate). */
  ssl?: ConnectionOptions | boolean;
  /** SASL (plain, scram-sha-256/512, ...): never logged. */
  sasl?: SASLOptions;
  /** TCP connect timeout, ms. Default 3,000. */
  connectionTimeoutMs?: number;
  /** Request timeout, and the broker's wait for acknowledgements of a produce, ms. Default 30,000. */
  requestTimeoutMs?: number;
  /**
   * Retries of a failed request (connection lost, leader moved) before publish() and the admin
   * calls give up with UNAVAILABLE, and their backoff (ms). Defaults 5, 250, 5,000: about ten
   * seconds of trying.
   */
  retries?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Replication factor of the topics ensureTopics creates. Default 1. */
  replicationFactor?: number;
  /** How long createTopics waits for the new partitions' leaders, ms. Default 30,000. */
  topicTimeoutMs?: number;
  /** Consumer group session timeout, ms (a silent member is dropped after it). Default 10,000. */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat interval, ms. Default 1,000. */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin, ms. Default 15,000. */
  rebalanceTimeoutMs?: number;
  /** Longest wait of a fetch on an idle partition, ms (also how soon an idle member notices a rebalance). Default 1,000. */
  maxWaitTimeMs?: number;
  /** Partitions one consumer handles at the same time. Default 1. */
  partitionsConsumedConcurrently?: number;
  /** How long subscribe() waits for the first group join before failing with UNAVAILABLE, ms. Default 60,000. */
  joinTimeoutMs?: number;
  /** Least severe kafkajs log line passed to the logger. Default `info`. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Custom sockets (a proxy; tests inject faults). Default: kafkajs's net/tls sockets. */
  socketFactory?: ISocketFactory;
}

type Resolved = Required<Omit<KafkaBusConfig, 'ssl' | 'sasl' | 'socketFactory'>> & Pick<KafkaBusConfig, 'ssl' | 'sasl' | 'socketFactory'>;

function resolveConfig(c: KafkaBusConfig): Resolved {
  if (typeof c !== 'object' || c === null) throw new BusError('INVALID_ARGUMENT', 'kafka config must be an object');
  if (!Array.isArray(c.brokers) || c.brokers.length === 0) throw new BusError('INVALID_ARGUMENT', 'kafka.brokers must be a non-empty array of host:port');
  c.brokers.forEach((b, i) => {
    if (typeof b !== 'string' || !/^[^\s:/]+:\d{1,5}$/.test(b)) throw new BusError('INVALID_ARGUMENT', `kafka.brokers[${i}] must be host:port (got ${JSON.stringify(b)})`);
  });
  const int = (name: keyof KafkaBusConfig, dflt: number, min: number, max: number): number => {
    const v = c[name] ?? dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new BusError('INVALID_ARGUMENT', `kafka.${name} must be an integer in ${min}..${max} (got ${String(v)})`);
    return v;
  };
  const clientId = c.clientId ?? 'aiops-central';
  if (typeof clientId !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(clientId)) throw new BusError('INVALID_ARGUMENT', `kafka.clientId must be 1-249 characters [a-zA-Z0-9._-] (got ${JSON.stringify(clientId)})`);
  const level = c.logLevel ?? 'info';
  if (!['error', 'warn', 'info', 'debug'].includes(level)) throw new BusError('INVALID_ARGUMENT', `kafka.logLevel must be error, warn, info or debug (got ${JSON.stringify(level)})`);
  const r: Resolved = {
    brokers: [...c.brokers],
    clientId,
    connectionTimeoutMs: int('connectionTimeoutMs', 3_000, 1, 600_000),
    requestTimeoutMs: int('requestTimeoutMs', 30_000, 1, 600_000),
    retries: int('retries', 5, 0, 1000),
    retryInitialMs: int('retryInitialMs', 250, 1, 600_000),
    retryMaxMs: int('retryMaxMs', 5_000, 1, 600_000),
    replicationFactor: int('replicationFactor', 1, 1, 100),
    topicTimeoutMs: int('topicTimeoutMs', 30_000, 1, 600_000),
    sessionTimeoutMs: int('sessionTimeoutMs', 10_000, 1, 3_600_000),
    heartbeatIntervalMs: int('heartbeatIntervalMs', 1_000, 1, 3_600_000),
    rebalanceTimeoutMs: int('rebalanceTimeoutMs', 15_000, 1, 3_600_000),
    maxWaitTimeMs: int('maxWaitTimeMs', 1_000, 0, 600_000),
    partitionsConsumedConcurrently: int('partitionsConsumedConcurrently', 1, 1, 1000),
    joinTimeoutMs: int('joinTimeoutMs', 60_000, 1, 3_600_000),
    logLevel: level,
    ssl: c.ssl,
    sasl: c.sasl,
    socketFactory: c.socketFactory,
  };
  if (r.heartbeatIntervalMs >= r.sessionTimeoutMs) throw new BusError('INVALID_ARGUMENT', `kafka.heartbeatIntervalMs must be below kafka.sessionTimeoutMs (got ${r.heartbeatIntervalMs} >= ${r.sessionTimeoutMs})`);
  if (r.retryMaxMs < r.retryInitialMs) r.retryMaxMs = r.retryInitialMs;
  return r;
}

// ---- errors -------------------------------------------------------------------------------

interface KafkaJSLike {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

/** The innermost error of kafkajs's wrappers (KafkaJSNumberOfRetriesExceeded and the like). */
function rootOf(err: unknown): KafkaJSLike {
  let e = err as KafkaJSLike;
  for (let i = 0; i < 10 && e && typeof e === 'object' && e.cause && e.cause !== e; i++) e = e.cause as KafkaJSLike;
  if (e && typeof e === 'object' && Array.isArray(e.errors) && e.errors.length > 0) return rootOf(e.errors[0]);
  return (e ?? {}) as KafkaJSLike;
}

const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);
const MALFORMED = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TOPIC_EXCEPTION', 'INVALID_PARTITIONS', 'INVALID_REPLICATION_FACTOR', 'INVALID_REQUIRED_ACKS']);

function isRebalancing(err: unknown): boolean {
  const t = rootOf(err).type;
  return t === 'REBALANCE_IN_PROGRESS' || t === 'NOT_COORDINATOR_FOR_GROUP' || t === 'ILLEGAL_GENERATION' || t === 'UNKNOWN_MEMBER_ID';
}

/** A kafkajs failure as a BusError: what the caller can do about it (types.ts codes). */
function toBusError(err: unknown, what: string, topic?: string): BusError {
  if (err instanceof BusError) return err;
  const root = rootOf(err);
  const detail = `${root.name ?? 'Error'}: ${root.message ?? String(err)}`;
  let code: BusErrorCode = 'UNAVAILABLE';
  let retryable = root.retriable !== false;
  let message = `${what}: ${detail}`;
  if (root.type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    code = 'UNKNOWN_TOPIC';
    retryable = false;
    message = topic !== undefined ? `topic "${topic}" does not exist (create it with ensureTopics)` : `${what}: a topic does not exist (${detail})`;
  } else if (root.type !== undefined && MALFORMED.has(root.type)) {
    code = 'INVALID_ARGUMENT';
    retryable = false;
  } else if (root.name === 'KafkaJSSASLAuthenticationError' || /AUTHORIZATION_FAILED|AUTHENTICATION_FAILED/.test(root.type ?? '')) {
    retryable = false; // the broker refused us: no retry helps until the configuration changes
    message = `${what}: the broker refused the client (${detail})`;
  } else if (root.name !== undefined && UNREACHABLE.has(root.name)) {
    retryable = true;
    message = `${what}: the broker cannot be reached (${detail})`;
  }
  return new BusError(code, message, { cause: err, retryable });
}

// ---- logging ------------------------------------------------------------------------------

const SECRET_KEY = /pass|secret|token|sasl|ssl|credential|authoriz|cert|private/i;

function scrub(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || depth > 4) return v;
  if (v instanceof Error) return { name: v.name, message: v.message };
  if (Array.isArray(v)) return v.slice(0, 20).map((x) => scrub(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : scrub(x, depth + 1);
  return out;
}

/** kafkajs's log lines into the project logger, levels mapped, secrets and payloads left out. */
function logCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _ts, logger: _l, ...extra } = log;
      const fields = { kafkajs: namespace, ...(scrub(extra) as Record<string, unknown>) };
      // The bus bounds the idempotent producer's retries on purpose and discards the producer
      // after a failed send (see the file comment), so kafkajs's warning about it is expected.
      if (typeof message === 'string' && message.startsWith('Limiting retries for the idempotent producer')) return logger.debug(fields, message);
      if (level === LogLevel.ERROR) logger.error(fields, message);
      else if (level === LogLevel.WARN) logger.warn(fields, message);
      else if (level === LogLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}

const LEVELS = { error: LogLevel.ERROR, warn: LogLevel.WARN, info: LogLevel.INFO, debug: LogLevel.DEBUG } as const;

// ---- records ------------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);

function toRecord(topic: string, partition: number, m: KafkaMessage): BusRecord {
  const headers: Record<string, string> = {};
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers)) {
      // A header given more than once: the last value wins (Kafka's lastHeader).
      const last = Array.isArray(v) ? v[v.length - 1] : v;
      if (last === undefined) continue;
      headers[k] = typeof last === 'string' ? last : last.toString('utf8');
    }
  }
  return {
    topic,
    partition,
    offset: m.offset,
    id: `${topic}/${partition}/${m.offset}`,
    key: m.key ? m.key.toString('utf8') : '',
    value: m.value ?? EMPTY,
    headers: Object.freeze(headers),
    timestampMs: Number(m.timestamp),
  };
}

function toKafkaMessage(m: BusMessage): { key: string; value: Buffer; headers: Record<string, string> } {
  return { key: m.key, value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength), headers: { ...(m.headers ?? {}) } };
}

// ---- subscriptions ------------------------------------------------------------------------

class KafkaSubscription implements Subscription {
  private held: Assignment[] = [];
  /** Group joins seen (each ends a rebalance). */
  joins = 0;
  /** Fetches completed (the first one fixes where a new group starts). */
  fetches = 0;
  closing = false;
  /** Set when the consumer stopped for good (a crash kafkajs does not restart). */
  failure: unknown = undefined;
  private closed?: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly group: string,
    readonly opts: CheckedSubscribe,
    readonly consumer: Consumer,
    private readonly bus: KafkaBus,
  ) {}

  assignment(): Assignment[] {
    return this.held.map((a) => ({ ...a }));
  }

  onJoin(memberAssignment: Record<string, number[]>): void {
    const held: Assignment[] = [];
    for (const [topic, partitions] of Object.entries(memberAssignment)) for (const partition of partitions) held.push({ topic, partition });
    held.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    this.held = held;
    this.joins++;
    this.wake();
  }

  onFetch(): void {
    this.fetches++;
    this.wake();
  }

  onStopped(failure?: unknown): void {
    this.held = [];
    if (failure !== undefined) this.failure = failure;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once cond() holds; false when closing, failed, or after ms. */
  waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        this.waiters.delete(check);
        this.bus.clock.clearTimeout(timer);
        resolve(v);
      };
      const check = () => {
        if (cond()) done(true);
        else if (this.closing || this.failure !== undefined) done(false);
      };
      const timer = this.bus.clock.setTimeout(() => done(cond()), ms);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves true once this member joined its group again after `joins` joins. */
  waitJoin(joins: number, ms: number): Promise<boolean> {
    return this.waitUntil(() => this.joins > joins, ms);
  }

  close(): Promise<void> {
    this.closed ??= this.doClose(true);
    return this.closed;
  }

  /** @internal Close without waiting for the peers (a subscribe that failed). */
  abort(): Promise<void> {
    this.closed ??= this.doClose(false);
    return this.closed;
  }

  private async doClose(waitForPeers: boolean): Promise<void> {
    this.closing = true;
    this.wake();
    const peers = waitForPeers ? this.bus.peersOf(this).map((p) => ({ p, joins: p.joins })) : [];
    try {
      // Stops fetching, lets the running chunk finish and commit (the batch handler returns
      // after it), then leaves the group.
      await this.consumer.disconnect();
    } catch (err) {
      this.bus.log.warn({ group: this.group, err: (err as Error).message }, 'bus consumer did not disconnect cleanly');
    }
    this.onStopped();
    this.bus.forget(this);
    await Promise.all(peers.map(({ p, joins }) => p.waitJoin(joins, this.bus.cfg.rebalanceTimeoutMs + this.bus.cfg.sessionTimeoutMs)));
  }
}

// ---- the bus ------------------------------------------------------------------------------

export class KafkaBus implements Bus {
  /** @internal */
  readonly cfg: Resolved;
  /** @internal */
  readonly log: Logger;
  /** @internal */
  readonly clock: CentralSettings['clock'];
  private readonly kafka: InstanceType<typeof Kafka>;
  private readonly subs = new Set<KafkaSubscription>();
  /** Topics known to exist (created or seen in the metadata); never a negative cache. */
  private readonly known = new Set<string>();
  private admin: Promise<Admin> | null = null;
  private producer: Promise<Producer> | null = null;
  private readonly retiring = new Set<Promise<unknown>>();
  private sendChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private shuttingDown?: Promise<void>;
  private readonly m: BusMetrics;

  constructor(settings: CentralSettings, config: KafkaBusConfig) {
    this.cfg = resolveConfig(config);
    this.log = settings.logger;
    this.clock = settings.clock;
    this.kafka = new Kafka({
      brokers: this.cfg.brokers,
      clientId: this.cfg.clientId,
      ...(this.cfg.ssl !== undefined ? { ssl: this.cfg.ssl } : {}),
      ...(this.cfg.sasl !== undefined ? { sasl: this.cfg.sasl } : {}),
      ...(this.cfg.socketFactory !== undefined ? { socketFactory: this.cfg.socketFactory } : {}),
      connectionTimeout: this.cfg.connectionTimeoutMs,
      requestTimeout: this.cfg.requestTimeoutMs,
      retry: { retries: this.cfg.retries, initialRetryTime: this.cfg.retryInitialMs, maxRetryTime: this.cfg.retryMaxMs },
      logLevel: LEVELS[this.cfg.logLevel],
      logCreator: logCreator(settings.logger),
    });
    this.m = busMetrics(settings.metrics);
  }

  /** Connects the admin client and the producer: fails (UNAVAILABLE) when no broker answers. */
  async start(): Promise<void> {
    this.ensureOpen();
    await Promise.all([this.adminClient(), this.producerClient()]);
  }

  async shutdown(): Promise<void> {
    this.shuttingDown ??= this.doShutdown();
    return this.shuttingDown;
  }

  private async doShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.close()));
    await this.sendChain.catch(() => undefined);
    const clients: Array<Promise<{ disconnect(): Promise<void> }>> = [];
    if (this.producer) clients.push(this.producer);
    if (this.admin) clients.push(this.admin);
    this.producer = null;
    this.admin = null;
    await Promise.all(clients.map((c) => c.then((x) => x.disconnect()).catch(() => undefined)));
    await Promise.all([...this.retiring]);
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.ensureOpen();
    checkTopics(topics);
    const wanted = new Map<string, number>();
    for (const t of topics) for (const name of [t.name, t.name + DLQ_SUFFIX]) if (!wanted.has(name)) wanted.set(name, t.partitions);
    const admin = await this.adminClient();
    for (let round = 0; ; round++) {
      let existing: Set<string>;
      try {
        existing = new Set(await admin.listTopics());
      } catch (err) {
        throw this.fail(err, 'listing topics');
      }
      for (const name of existing) this.known.add(name);
      if (round === 0) await this.warnPartitionMismatch(admin, [...wanted].filter(([name]) => existing.has(name)));
      const missing = [...wanted].filter(([name]) => !existing.has(name));
      if (missing.length === 0) return;
      try {
        await admin.createTopics({
          // BusRecord.timestampMs is when the bus took the record (types.ts): the broker's
          // append time, not the producer's clock.
          topics: missing.map(([topic, numPartitions]) => ({ topic, numPartitions, replicationFactor: this.cfg.replicationFactor, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] })),
          waitForLeaders: true,
          timeout: this.cfg.topicTimeoutMs,
        });
        for (const [name] of missing) this.known.add(name);
        this.log.info({ topics: missing.map(([name, partitions]) => ({ name, partitions })) }, 'bus topics created');
        return;
      } catch (err) {
        // Another client created some of them meanwhile: look again, once.
        if (round === 0 && /TOPIC_ALREADY_EXISTS/.test(String(rootOf(err).type))) continue;
        throw this.fail(err, 'creating topics');
      }
    }
  }

  /** Existing topics are kept as they are; a partition count other than the wanted one is logged. */
  private async warnPartitionMismatch(admin: Admin, topics: Array<[string, number]>): Promise<void> {
    if (topics.length === 0) return;
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: topics.map(([name]) => name) });
      const want = new Map(topics);
      for (const t of meta) {
        const w = want.get(t.name);
        if (w !== undefined && t.partitions.length !== w) this.log.warn({ topic: t.name, partitions: t.partitions.length, wanted: w }, 'bus topic exists with another partition count: kept as it is');
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'bus topic metadata not read');
    }
  }

  async partitions(topic: string): Promise<number> {
    this.ensureOpen();
    checkTopicName(topic, 'topic');
    await this.requireTopic(topic);
    const admin = await this.adminClient();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const n = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
      if (n > 0) return n;
    } catch (err) {
      throw this.fail(err, `reading the metadata of ${topic}`);
    }
    throw new BusError('UNKNOWN_TOPIC', `topic "${topic}" has no partitions in the cluster's metadata`);
  }

  async publish(topic: string, messages: readonly BusMessage[]): Promise<void> {
    this.ensureOpen();
    checkTopicName(topic, 'topic');
    checkMessages(messages);
    await this.requireTopic(topic);
    if (messages.length === 0) return;
    const batch = messages.map(toKafkaMessage);
    const run = async (): Promise<void> => {
      this.ensureOpen();
      const producer = await this.producerClient();
      try {
        await producer.send({ topic, acks: -1, timeout: this.cfg.requestTimeoutMs, messages: batch });
      } catch (err) {
        this.retireProducer();
        if (rootOf(err).type === 'UNKNOWN_TOPIC_OR_PARTITION') this.known.delete(topic);
        throw this.fail(err, `publishing to "${topic}"`, topic);
      }
    };
    const sent = this.sendChain.then(run, run);
    this.sendChain = sent.catch(() => undefined);
    await sent;
    this.m.published.inc(messages.length, { topic });
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    this.ensureOpen();
    const o = checkSubscribe(opts);
    for (const t of o.topics) await this.requireTopic(t);
    const consumer = this.kafka.consumer({
      groupId: o.group,
      sessionTimeout: this.cfg.sessionTimeoutMs,
      rebalanceTimeout: this.cfg.rebalanceTimeoutMs,
      heartbeatInterval: this.cfg.heartbeatIntervalMs,
      maxWaitTimeInMs: this.cfg.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: {
        retries: this.cfg.retries,
        initialRetryTime: this.cfg.retryInitialMs,
        maxRetryTime: this.cfg.retryMaxMs,
        // kafkajs restarts a consumer after retriable failures (the broker went away); one that
        // is closing stays down.
        restartOnFailure: async () => !sub.closing && !this.closed,
      },
    });
    const sub: KafkaSubscription = new KafkaSubscription(o.group, o, consumer, this);
    consumer.on(consumer.events.GROUP_JOIN, (e) => sub.onJoin(e.payload.memberAssignment));
    consumer.on(consumer.events.FETCH, () => sub.onFetch());
    consumer.on(consumer.events.CRASH, (e) => {
      if (sub.closing || this.closed) return;
      const restart = e.payload.restart;
      this.log.error({ group: o.group, err: e.payload.error?.message, restart }, restart ? 'bus consumer failed: restarting it' : 'bus consumer stopped for good');
      sub.onStopped(restart ? undefined : e.payload.error);
    });
    this.subs.add(sub);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...o.topics], fromBeginning: o.fromBeginning });
      // Resolves after the first join (or a failed one: kafkajs then restarts the consumer).
      await consumer.run({
        autoCommit: true,
        // Every resolved offset is committed by commitOffsetsIfNecessary(): after each chunk.
        autoCommitThreshold: 1,
        autoCommitInterval: null,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.cfg.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.handleBatch(sub, payload),
      });
      if (!(await sub.waitJoin(0, this.cfg.joinTimeoutMs))) {
        if (this.closed) throw new BusError('CLOSED', 'the bus is shut down');
        const why = sub.failure !== undefined ? toBusError(sub.failure, 'joining the group').message : `no group join within ${this.cfg.joinTimeoutMs} ms`;
        throw new BusError('UNAVAILABLE', `consumer group "${o.group}" could not be joined: ${why}`, { cause: sub.failure });
      }
      // A new group that starts at the end takes "the end" at its first fetch: wait for it, so
      // that what is published after subscribe() resolves is consumed (bounded: a member
      // without partitions never fetches).
      if (!o.fromBeginning && sub.assignment().length > 0) {
        await sub.waitUntil(() => sub.fetches > 0, this.cfg.maxWaitTimeMs + this.cfg.requestTimeoutMs);
      }
      if (this.closed) throw new BusError('CLOSED', 'the bus is shut down');
    } catch (err) {
      await sub.abort().catch(() => undefined);
      if (this.closed) throw new BusError('CLOSED', 'the bus is shut down', { cause: err });
      throw this.fail(err, `subscribing group "${o.group}"`);
    }
    return sub;
  }

  /** @internal Open members of sub's group on this bus, besides sub. */
  peersOf(sub: KafkaSubscription): KafkaSubscription[] {
    return [...this.subs].filter((s) => s !== sub && s.group === sub.group && !s.closing);
  }

  /** @internal */
  forget(sub: KafkaSubscription): void {
    this.subs.delete(sub);
  }

  private async handleBatch(sub: KafkaSubscription, p: EachBatchPayload): Promise<void> {
    const { topic, partition } = p.batch;
    const { group, opts } = sub;
    let rebalancing = false;
    const heartbeat = async (): Promise<void> => {
      try {
        await p.heartbeat(); // sends only when heartbeatInterval has passed since the last one
      } catch (err) {
        if (isRebalancing(err)) rebalancing = true;
        else this.log.debug({ group, err: (err as Error).message }, 'bus consumer heartbeat failed');
      }
    };
    const stopping = () => sub.closing || this.closed;
    const timer = this.clock.setInterval(() => void heartbeat(), this.cfg.heartbeatIntervalMs);
    const ctx: DeliveryContext = {
      group,
      deadLetter: (records) => this.publish(topic + DLQ_SUFFIX, records),
      sleep: (ms) => new Promise((r) => this.clock.setTimeout(r, ms)),
      closed: stopping,
      onRetry: () => this.m.retries.inc(1, { group, topic }),
      onDeadLetter: (n) => this.m.deadLettered.inc(n, { group, topic }),
    };
    try {
      const all = p.batch.messages;
      for (let i = 0; i < all.length; i += opts.maxBatch) {
        // Uncommitted records stay for the next fetch, or for the partition's next owner.
        if (stopping() || rebalancing || !p.isRunning() || p.isStale()) return;
        const chunk = all.slice(i, i + opts.maxBatch).map((m) => toRecord(topic, partition, m));
        await runBatch(chunk, opts, ctx);
        const last = chunk[chunk.length - 1]!;
        p.resolveOffset(last.offset);
        await p.commitOffsetsIfNecessary();
        this.m.consumed.inc(chunk.length, { group, topic });
        this.m.lag.set(Math.max(0, Number(p.batch.highWatermark) - Number(last.offset) - 1), { group, topic, partition: String(partition) });
        this.m.age.observe(Math.max(0, this.clock.now() - last.timestampMs) / 1000, { group, topic });
        await heartbeat();
      }
    } catch (err) {
      // Closing: the failed chunk stays uncommitted and goes to the next owner. Otherwise
      // kafkajs handles it: a rebalance rejoins, anything else refetches from the last
      // committed offset after a backoff (the consumer restarts when retries run out).
      if (stopping()) return;
      if (!isRebalancing(err)) this.log.warn({ group, topic, partition, err: (err as Error).message }, 'bus consumer batch failed: it will be fetched again');
      throw err;
    } finally {
      this.clock.clearInterval(timer);
    }
  }

  /** Refuses a topic that does not exist, looking at the cluster's metadata once per miss. */
  private async requireTopic(topic: string): Promise<void> {
    if (this.known.has(topic)) return;
    const admin = await this.adminClient();
    let names: string[];
    try {
      names = await admin.listTopics();
    } catch (err) {
      throw this.fail(err, 'reading the topic list');
    }
    for (const n of names) this.known.add(n);
    if (!this.known.has(topic)) throw new BusError('UNKNOWN_TOPIC', `topic "${topic}" does not exist (create it with ensureTopics)`);
  }

  private adminClient(): Promise<Admin> {
    this.ensureOpen();
    if (this.admin) return this.admin;
    const admin = this.kafka.admin({ retry: { retries: this.cfg.retries, initialRetryTime: this.cfg.retryInitialMs, maxRetryTime: this.cfg.retryMaxMs } });
    const p = admin.connect().then(
      () => admin,
      (err: unknown) => {
        if (this.admin === p) this.admin = null;
        throw this.fail(err, 'connecting to Kafka');
      },
    );
    this.admin = p;
    return p;
  }

  private producerClient(): Promise<Producer> {
    this.ensureOpen();
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Kafka's default partitioner (murmur2 of the key), computed without kafkajs's 64-bit Long
      // arithmetic; every record has a key (validate.ts).
      createPartitioner: () => ({ partitionMetadata, message }) => partitionFor(message.key ?? '', partitionMetadata.length),
      retry: { retries: Math.max(1, this.cfg.retries), initialRetryTime: this.cfg.retryInitialMs, maxRetryTime: this.cfg.retryMaxMs },
    });
    const p = producer.connect().then(
      () => producer,
      (err: unknown) => {
        if (this.producer === p) this.producer = null;
        void producer.disconnect().catch(() => undefined);
        throw this.fail(err, 'connecting the producer');
      },
    );
    this.producer = p;
    return p;
  }

  /** Drops the producer after a failed send; the next publish connects a new one. */
  private retireProducer(): void {
    const old = this.producer;
    this.producer = null;
    if (!old) return;
    const done = old.then((p) => p.disconnect()).catch(() => undefined);
    this.retiring.add(done);
    void done.finally(() => this.retiring.delete(done));
  }

  private fail(err: unknown, what: string, topic?: string): BusError {
    if (this.closed) return err instanceof BusError && err.code === 'CLOSED' ? err : new BusError('CLOSED', 'the bus is shut down', { cause: err });
    return toBusError(err, what, topic);
  }

  private ensureOpen(): void {
    if (this.closed) throw new BusError('CLOSED', 'the bus is shut down');
  }
}
