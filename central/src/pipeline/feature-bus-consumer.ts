// The detect role's source of features when central runs split (ARCHITECTURE section 4): a
// member of the consumer group `detect` on `aiops.features` (records keyed by series, written
// by the ingest role's FeatureBusSink). For each batch of one partition it
//   1. makes the rows durable in the MetricStore exactly once per record: the group's position
//      in the partition is stored in the same transaction (writeFeatureRecords), so records
//      redelivered after a crash or a rebalance are recognised and skipped;
//   2. skips a record whose series-window is already stored (RecentWindows): a copy published
//      again after the answer to the first publish was lost sits at another offset, and
//      would otherwise be stored and scored twice;
//   3. hands the new records to the readers (the chain and the detector), in offset order,
//      which is each series' window order, consecutive records of one agent's window as one frame;
//   4. resolves, and only then does the bus commit the offset.
// Per-series state moves with the partitions and is rebuilt from the store (not from a state
// topic): the first batch of a partition this member did not hold primes the readers with the
// last hour of stored windows of that partition's series (everything the previous owner
// stored, committed or not; the stored windows also seed RecentWindows), and the series of partitions it no longer holds are forgotten
// without a word (their new owner carries their episodes on). A record that cannot be decoded
// is a poison record: the bus retries it alone, then dead-letters it with the reason.
import type { BoundCounter, ComponentMetrics, Logger, Clock } from '../../../shared-schemas/src/runtime/index.js';
import { labelsEqual } from '../../../shared-schemas/src/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';
import { BusPermanentError, partitionFor, TOPICS } from '../bus/index.js';
import type { Bus, BusRecord, Subscription } from '../bus/index.js';
import type { Component, FrameConsumer, IngestedFrame } from '../component.js';
import type { FeatureRecordWrite, MetricStore } from '../storage/types.js';
import { primeFromStore } from './prime.js';
import { RecentWindows } from './recent-windows.js';
import type { PrimedReader } from './prime.js';
import { decodeFeatureRecord, featureRecordKey, FeatureRecordError } from './feature-records.js';
import type { FeatureRecord } from './feature-records.js';
import type { TenantScope } from './tenant-scope.js';

/** A reader whose per-series state follows the partitions (DynamicXyDetector). */
export interface PartitionedReader extends FrameConsumer, PrimedReader {
  /** Drops the state of the selected series, emitting nothing; returns how many. */
  forget(which: (tenant: string, labels: Labels) => boolean): number;
}

export interface FeatureBusConsumerOptions {
  bus: Bus;
  store: MetricStore;
  readers: PartitionedReader[];
  scope: TenantScope;
  logger: Logger;
  metrics: ComponentMetrics;
  clock: Clock;
  /** Consumer group. Default `detect`. */
  group?: string;
  /** Topic. Default `aiops.features`. */
  topic?: string;
  /** Records per batch at most. Default 1,000. */
  maxBatch?: number;
  /** How far back a newly held partition's series are primed from the store, ms. Default 1 h. */
  primeWindowMs?: number;
}

export class FeatureBusConsumer implements Component {
  private sub: Subscription | undefined;
  private partitionCount = 0;
  /** Partitions whose series' state the readers hold. */
  private readonly held = new Set<number>();
  private readonly group: string;
  private readonly topic: string;
  private readonly stored: BoundCounter;
  private readonly redelivered: BoundCounter;
  private readonly resent: BoundCounter;
  /** The stored windows of the series of the partitions held. */
  private readonly recent = new RecentWindows();
  private readonly rejectedRows: BoundCounter;
  private readonly readerErrors: BoundCounter;
  private readonly primed: BoundCounter;
  private readonly forgotten: BoundCounter;

  constructor(private readonly opts: FeatureBusConsumerOptions) {
    this.group = opts.group ?? 'detect';
    this.topic = opts.topic ?? TOPICS.features;
    const m = opts.metrics;
    this.stored = m.counter('aiops_central_feature_records_stored_total', 'Feature records from the bus stored (each once).');
    this.redelivered = m.counter('aiops_central_feature_records_redelivered_total', 'Feature records the bus delivered again (after a crash or a rebalance) that were already stored: skipped.');
    this.resent = m.counter('aiops_central_feature_records_resent_total', 'Feature records whose series-window was already stored (a copy published again after the answer to the first publish was lost): skipped.');
    this.rejectedRows = m.counter('aiops_central_feature_rows_rejected_total', 'Feature rows the store refused (bad labels or values).');
    this.readerErrors = m.counter('aiops_central_feature_reader_errors_total', 'Stored frames a reader (detection) failed on.', ['reader']);
    this.primed = m.counter('aiops_central_feature_partitions_primed_total', 'Partitions taken over whose series were primed from the store.');
    this.forgotten = m.counter('aiops_central_feature_series_moved_total', 'Series whose state was dropped because their partition went to another member.');
  }

  /** The partitions this member holds now. */
  assignment(): number[] {
    return (this.sub?.assignment() ?? []).filter((a) => a.topic === this.topic).map((a) => a.partition);
  }

  async start(): Promise<void> {
    this.partitionCount = await this.opts.bus.partitions(this.topic);
    this.sub = await this.opts.bus.subscribe({
      group: this.group,
      topics: [this.topic],
      maxBatch: this.opts.maxBatch ?? 1000,
      eachBatch: (records) => this.handle(records),
    });
  }

  async shutdown(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    await sub?.close();
  }

  private async handle(records: readonly BusRecord[]): Promise<void> {
    if (records.length === 0) return;
    const partition = records[0]!.partition;
    this.followAssignment(partition);
    if (!this.held.has(partition)) {
      await this.prime(partition);
      this.held.add(partition);
    }
    const decoded: FeatureRecord[] = [];
    const writes: FeatureRecordWrite[] = [];
    /** Per record: a copy of a series-window already stored (or earlier in this batch). */
    const copy: boolean[] = [];
    const inBatch = new Set<string>();
    const scope = this.opts.scope;
    for (const r of records) {
      let f: FeatureRecord;
      try {
        f = decodeFeatureRecord(r);
      } catch (err) {
        if (err instanceof FeatureRecordError) throw new BusPermanentError(err.message, err);
        throw err;
      }
      decoded.push(f);
      const id = `${f.windowStartMs} ${r.key}`;
      const dup = inBatch.has(id) || this.recent.has(r.key, f.windowStartMs);
      inBatch.add(id);
      copy.push(dup);
      const row = f.rows[0];
      // A copy still goes to the store, without its row: the partition's position moves past it.
      writes.push({ offset: r.offset, agentId: f.agentId, rows: dup ? [] : [{ labels: scope.labels(f.tenant, row.labels), windowStartMs: f.windowStartMs, windowEndMs: f.windowEndMs, row: row.row }] });
    }
    const result = await this.opts.store.writeFeatureRecords({ group: this.group, topic: this.topic, partition }, writes);
    if (result.skippedRecords > 0) this.redelivered.inc(result.skippedRecords);
    const fresh: FeatureRecord[] = [];
    let copies = 0;
    for (let i = 0; i < decoded.length; i++) {
      const f = decoded[i]!;
      this.recent.add(records[i]!.key, f.windowStartMs, f.windowEndMs);
      if (i < result.skippedRecords) continue;
      if (copy[i]) copies++;
      else fresh.push(f);
    }
    if (copies > 0) {
      this.resent.inc(copies);
      this.opts.logger.info({ partition, copies }, 'feature records whose series-window was already stored: skipped');
    }
    this.stored.inc(fresh.length);
    if (result.rejected.length > 0) {
      this.rejectedRows.inc(result.rejected.length);
      this.opts.logger.warn({ partition, rejected: result.rejected.length, first: result.rejected[0]?.reason }, 'feature rows refused by the store');
    }
    // Consecutive records of one agent's window go to the readers as one frame (a frame's rows
    // are distinct series, so each series still sees its windows in order): the chain scores
    // them in one batch, and the detector takes one call instead of one per series.
    const frames: IngestedFrame[] = [];
    for (const f of fresh) {
      const last = frames[frames.length - 1];
      if (last !== undefined && last.tenant === f.tenant && last.agentId === f.agentId && last.windowStartMs === f.windowStartMs && last.windowEndMs === f.windowEndMs && !last.rows.some((r) => labelsEqual(r.labels, f.rows[0].labels))) {
        last.rows.push(f.rows[0]);
      } else {
        frames.push({ ...f, rows: [f.rows[0]] });
      }
    }
    for (let i = 0; i < this.opts.readers.length; i++) {
      const reader = this.opts.readers[i]!;
      for (const f of frames) {
        try {
          await reader.consumeFrame(f);
        } catch (err) {
          this.readerErrors.inc(1, { reader: String(i) });
          this.opts.logger.error({ agent: f.agentId, sequence: f.sequence, err: (err as Error).message }, 'a feature reader failed on stored records');
        }
      }
    }
  }

  /** Forgets the series of partitions this member no longer holds. */
  private followAssignment(current: number): void {
    const now = new Set(this.assignment());
    now.add(current);
    const lost = [...this.held].filter((p) => !now.has(p));
    if (lost.length === 0) return;
    const gone = new Set(lost);
    for (const p of lost) this.held.delete(p);
    const n = this.partitionCount;
    let dropped = 0;
    for (const reader of this.opts.readers) dropped += reader.forget((tenant, labels) => gone.has(partitionFor(featureRecordKey(tenant, labels), n)));
    this.recent.forget((key) => gone.has(partitionFor(key, n)));
    this.forgotten.inc(dropped);
    this.opts.logger.info({ partitions: lost, series: dropped }, 'partitions moved to another member: their series state dropped');
  }

  /** Primes the readers with the stored windows of the partition's series. */
  private async prime(partition: number): Promise<void> {
    const now = this.opts.clock.now();
    const n = this.partitionCount;
    const which = (key: string) => partitionFor(key, n) === partition;
    this.recent.forget(which);
    const recent = this.recent;
    const seed = {
      prime(tenant: string, history: ReadonlyArray<{ labels: Labels; windows: ReadonlyArray<{ windowStartMs: number; windowEndMs: number }> }>): number {
        for (const h of history) {
          const key = featureRecordKey(tenant, h.labels);
          for (const w of h.windows) recent.add(key, w.windowStartMs, w.windowEndMs);
        }
        return 0;
      },
    };
    const { series, windows } = await primeFromStore({
      store: this.opts.store,
      scope: this.opts.scope,
      readers: [...this.opts.readers, seed],
      startMs: now - (this.opts.primeWindowMs ?? 3_600_000),
      endMs: now + 60_000,
      which: (tenant, labels) => which(featureRecordKey(tenant, labels)),
    });
    this.primed.inc();
    this.opts.logger.info({ partition, series, windows }, 'partition taken over: its series primed from the store');
  }
}
