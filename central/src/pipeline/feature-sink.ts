// The first consumer of every ingested frame: makes it durable in the MetricStore
// (idempotent by agent and sequence, so a resent frame is stored once), then hands it to the
// consumers that read features (anomalies to alerts, Tier-2). A frame is acknowledged to its
// agent once stored; a failing reader after that is counted and logged, never turned into a
// resend (the data is safe, and the reader's own state is its problem).
import type { ComponentMetrics, Logger, BoundCounter } from '../../../shared-schemas/src/runtime/index.js';
import type { FrameConsumer, IngestedFrame } from '../component.js';
import type { MetricStore } from '../storage/types.js';
import type { TenantScope } from './tenant-scope.js';

export interface FeatureSinkOptions {
  store: MetricStore;
  /** Readers of stored frames, called in order once the frame is durable and new. */
  readers: FrameConsumer[];
  logger: Logger;
  metrics: ComponentMetrics;
  /** Rows of other tenants are stored with a `tenant` label (tenant-scope.ts). Default: none scoped. */
  scope?: TenantScope;
}

export class FeatureSink implements FrameConsumer {
  private readonly stored: BoundCounter;
  private readonly duplicates: BoundCounter;
  private readonly readerErrors: BoundCounter;
  private readonly rejectedRows: BoundCounter;

  constructor(private readonly opts: FeatureSinkOptions) {
    this.stored = opts.metrics.counter('aiops_central_feature_frames_stored_total', 'Feature frames written to the metric store.');
    this.duplicates = opts.metrics.counter('aiops_central_feature_frames_duplicate_total', 'Feature frames received again (agent resend) and not stored twice.');
    this.readerErrors = opts.metrics.counter('aiops_central_feature_reader_errors_total', 'Stored frames a reader (detection) failed on.', ['reader']);
    this.rejectedRows = opts.metrics.counter('aiops_central_feature_rows_rejected_total', 'Feature rows the store refused (bad labels or values).');
  }

  /** Readers added after construction (the graph is wired downstream-first). */
  addReader(reader: FrameConsumer): void {
    this.opts.readers.push(reader);
  }

  async consumeFrame(frame: IngestedFrame): Promise<void> {
    const scope = this.opts.scope;
    const result = await this.opts.store.writeFeatureFrame(
      frame.agentId,
      frame.sequence,
      frame.rows.map((r) => ({ labels: scope === undefined ? r.labels : scope.labels(frame.tenant, r.labels), windowStartMs: frame.windowStartMs, windowEndMs: frame.windowEndMs, row: r.row })),
    );
    if (result.duplicate) {
      this.duplicates.inc();
      return;
    }
    this.stored.inc();
    if (result.rejected.length > 0) {
      this.rejectedRows.inc(result.rejected.length);
      this.opts.logger.warn({ agent: frame.agentId, sequence: frame.sequence, rejected: result.rejected.length, first: result.rejected[0]?.reason }, 'feature rows refused by the store');
    }
    for (let i = 0; i < this.opts.readers.length; i++) {
      const reader = this.opts.readers[i]!;
      try {
        await reader.consumeFrame(frame);
      } catch (err) {
        this.readerErrors.inc(1, { reader: String(i) });
        this.opts.logger.error({ agent: frame.agentId, sequence: frame.sequence, err: (err as Error).message }, 'a feature reader failed on a stored frame');
      }
    }
  }
}
