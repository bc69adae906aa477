// What both Bus implementations do with a consumer's batch (the contract of types.ts): try it
// whole with retries and backoff; when it fails for good, try its records one at a time and
// dead-letter each record that still fails, so one poison record costs its partition a few
// retries, never a stall, and its good neighbours are still handled.
import type { BoundCounter, BoundGauge, BoundHistogram, ComponentMetrics } from '../../../shared-schemas/src/runtime/index.js';
import { BusPermanentError, DLQ_HEADERS } from './types.js';
import type { BusMessage, BusRecord, SubscribeOptions } from './types.js';

export interface DeliveryContext {
  group: string;
  /** Appends records to the topic's dead-letter topic. */
  deadLetter(records: readonly BusMessage[]): Promise<void>;
  sleep(ms: number): Promise<void>;
  /** True once the consumer or bus is closing: a failing batch is then left uncommitted. */
  closed(): boolean;
  onRetry(): void;
  onDeadLetter(n: number): void;
}

export interface BusMetrics {
  published: BoundCounter;
  consumed: BoundCounter;
  retries: BoundCounter;
  deadLettered: BoundCounter;
  lag: BoundGauge;
  age: BoundHistogram;
}

/** The self-metrics both implementations keep under the same names. */
export function busMetrics(mm: ComponentMetrics): BusMetrics {
  return {
    published: mm.counter('aiops_bus_records_published_total', 'Records appended to the bus, by topic.', ['topic']),
    consumed: mm.counter('aiops_bus_records_consumed_total', 'Records handled and committed, by consumer group and topic.', ['group', 'topic']),
    retries: mm.counter('aiops_bus_batch_retries_total', 'Batches retried after a handler error, by group and topic.', ['group', 'topic']),
    deadLettered: mm.counter('aiops_bus_records_dead_lettered_total', 'Records sent to the dead-letter topic, by group and topic.', ['group', 'topic']),
    lag: mm.gauge('aiops_bus_consumer_lag_records', 'Records in the partition after the last one this member committed (the group falling behind), by group, topic and partition.', ['group', 'topic', 'partition']),
    age: mm.histogram('aiops_bus_record_age_seconds', 'Time from the bus taking a record to its batch being committed, by group and topic (the last record of each batch).', [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], ['group', 'topic']),
  };
}

type Options = Pick<SubscribeOptions, 'eachBatch'> & { maxAttempts: number; retryInitialMs: number; retryMaxMs: number };

/** A handler error that no retry can fix: BusPermanentError, or any error with retryable false. */
export function isPermanent(err: unknown): boolean {
  return err instanceof BusPermanentError || (typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false);
}

type Outcome = { ok: true } | { ok: false; err: unknown; attempts: number };

async function attempt(records: readonly BusRecord[], o: Options, ctx: DeliveryContext): Promise<Outcome> {
  for (let a = 1; ; a++) {
    try {
      await o.eachBatch(records);
      return { ok: true };
    } catch (err) {
      if (ctx.closed()) throw err;
      if (isPermanent(err) || a >= o.maxAttempts) return { ok: false, err, attempts: a };
      ctx.onRetry();
      await ctx.sleep(Math.min(o.retryInitialMs * 2 ** (a - 1), o.retryMaxMs));
      if (ctx.closed()) throw err;
    }
  }
}

function reason(err: unknown): string {
  const m = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return m.length > 1000 ? `${m.slice(0, 1000)}...` : m;
}

/** Handles one batch; resolves when every record is handled or dead-lettered (commit then). */
export async function runBatch(records: readonly BusRecord[], o: Options, ctx: DeliveryContext): Promise<void> {
  if (records.length === 0) return;
  const whole = await attempt(records, o, ctx);
  if (whole.ok) return;
  const singles: Array<{ rec: BusRecord; res: Outcome }> = records.length === 1 ? [{ rec: records[0]!, res: whole }] : [];
  if (records.length > 1) for (const rec of records) singles.push({ rec, res: await attempt([rec], o, ctx) });
  const dead: BusMessage[] = [];
  for (const { rec, res } of singles) {
    if (res.ok) continue;
    dead.push({
      key: rec.key,
      value: rec.value,
      headers: {
        ...rec.headers,
        [DLQ_HEADERS.reason]: reason(res.err),
        [DLQ_HEADERS.topic]: rec.topic,
        [DLQ_HEADERS.partition]: String(rec.partition),
        [DLQ_HEADERS.offset]: rec.offset,
        [DLQ_HEADERS.group]: ctx.group,
        [DLQ_HEADERS.attempts]: String(res.attempts),
      },
    });
  }
  if (dead.length > 0) {
    await ctx.deadLetter(dead);
    ctx.onDeadLetter(dead.length);
  }
}
