// The Bus between central's roles (ARCHITECTURE sections 4 and 6): topics of keyed records in
// partitions, consumer groups per role, offsets committed only after the consumer's work is
// durable. Two implementations pass one contract suite (testing/bus-contract.ts): the
// in-process bus (the embedded default, bounded, with backpressure) and Kafka (kafkajs).
//
// Semantics both keep:
// - A record's partition is murmur2(key) mod partitions (Kafka's default partitioner), so
//   records with one key keep their order and land on the same partition in both.
// - publish() resolves once the records are on the bus (Kafka: acknowledged by all in-sync
//   replicas); a rejection means nothing of the call may be assumed stored (retry it: a
//   consumer sees a record at least once).
// - A group's consumers share the topics' partitions; each partition is handled by one of
//   them at a time, records in offset order, in batches. The offset after a batch is committed
//   only once `eachBatch` resolved, so a consumer killed mid-batch leaves the batch to the next
//   owner: delivery is at least once, and stores make it exactly once by writing idempotently,
//   keyed by the record's identity (`BusRecord.id`).
// - A batch that throws a retryable error is retried (exponential backoff, up to
//   `maxAttempts`); on BusPermanentError, or when attempts run out, its records are retried one
//   at a time and each record that still fails goes to the dead-letter topic `<topic>.dlq`
//   with the reason in headers; the partition then moves on (a poison record never blocks it).
import { CodedError } from '../../../shared-schemas/src/runtime/index.js';
import type { Component } from '../component.js';

/** The topics of ARCHITECTURE section 6. */
export const TOPICS = Object.freeze({
  features: 'aiops.features',
  anomalies: 'aiops.anomalies',
  alerts: 'aiops.alerts',
  incidents: 'aiops.incidents',
  actions: 'aiops.actions',
});

/** Suffix of a topic's dead-letter topic. */
export const DLQ_SUFFIX = '.dlq';

/** Headers of a dead-lettered record (besides the original record's own headers). */
export const DLQ_HEADERS = Object.freeze({
  reason: 'aiops-dlq-reason',
  topic: 'aiops-dlq-topic',
  partition: 'aiops-dlq-partition',
  offset: 'aiops-dlq-offset',
  group: 'aiops-dlq-group',
  attempts: 'aiops-dlq-attempts',
});

export interface BusMessage {
  /** Partition key: the series for features, the service for alerts and incidents. */
  key: string;
  value: Uint8Array;
  headers?: Readonly<Record<string, string>>;
}

export interface BusRecord {
  topic: string;
  partition: number;
  /** Offset in its partition (a decimal string: Kafka offsets are 64-bit). */
  offset: string;
  /** `<topic>/<partition>/<offset>`: the record's identity, for idempotent writes. */
  id: string;
  key: string;
  value: Uint8Array;
  headers: Readonly<Record<string, string>>;
  /** When the bus took the record, ms since the epoch. */
  timestampMs: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
}

export interface SubscribeOptions {
  /** Consumer group: one per role (`detect`, `correlate`, ...). */
  group: string;
  topics: readonly string[];
  /**
   * The next records of one partition, in offset order. Resolve once their effects are durable:
   * the offset is committed after it. Throw BusPermanentError for records that can never be
   * handled; any other error is retried.
   */
  eachBatch(records: readonly BusRecord[]): Promise<void>;
  /** Records per batch at most. Default 500. */
  maxBatch?: number;
  /** Attempts of a failing batch before its records are tried one by one. Default 5. */
  maxAttempts?: number;
  /** Backoff between attempts: initial, doubled each time up to max (ms). Defaults 100, 5,000. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** A new group starts at the earliest retained record (true, default) or at the end. */
  fromBeginning?: boolean;
}

export interface Assignment {
  topic: string;
  partition: number;
}

export interface Subscription {
  readonly group: string;
  /** The partitions this consumer holds now (they move on rebalance). */
  assignment(): Assignment[];
  /** Leaves the group once the batch being handled has finished (its offset committed). */
  close(): Promise<void>;
}

export interface Bus extends Component {
  /** Creates missing topics (and their `.dlq`) with the given partitions; existing ones are kept. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /**
   * The topic's partition count as the bus has it (which may differ from what ensureTopics
   * asked for when the topic existed before): what partitionFor(key, n) needs to tell which
   * partition holds a key. UNKNOWN_TOPIC for a topic that does not exist.
   */
  partitions(topic: string): Promise<number>;
  /**
   * Appends records (see the file comment). The in-process bus waits while a partition is full
   * (backpressure); Kafka is bounded by the producer's retry budget instead and then rejects
   * with a retryable BusError('UNAVAILABLE').
   */
  publish(topic: string, messages: readonly BusMessage[]): Promise<void>;
  /**
   * Joins the group; resolves once this consumer has joined (Kafka: after the group join, at
   * most its join timeout, else BusError('UNAVAILABLE')). Partitions may move between members
   * at any time between batches.
   */
  subscribe(opts: SubscribeOptions): Promise<Subscription>;
}

export type BusErrorCode =
  /** A topic that was never created (ensureTopics). */
  | 'UNKNOWN_TOPIC'
  /** A malformed argument (empty key, non-bytes value, bad option). */
  | 'INVALID_ARGUMENT'
  /** The bus was shut down. */
  | 'CLOSED'
  /** The broker cannot be reached or refused; retryable. */
  | 'UNAVAILABLE'
  /** A consumer's handler refused a record for good (dead-lettered). */
  | 'PERMANENT';

export class BusError extends CodedError<BusErrorCode> {
  constructor(code: BusErrorCode, message: string, opts: { cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, opts.retryable ?? code === 'UNAVAILABLE', { cause: opts.cause });
    this.name = 'BusError';
  }
}

/** Thrown by a handler for records that can never be handled (they go to the dead-letter topic). */
export class BusPermanentError extends BusError {
  constructor(message: string, cause?: unknown) {
    super('PERMANENT', message, { cause, retryable: false });
    this.name = 'BusPermanentError';
  }
}
