// Storage housekeeping on a timer: metric rollups (1m/5m) and retention, log retention,
// resolved-incident retention, change-event retention (as long as incidents). One run at a
// time; a failing run is logged and counted and the next tick tries again (the stores' work is
// idempotent).
import type { BoundCounter } from '../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings, Component } from '../component.js';
import type { SqliteStores } from '../storage/index.js';

export interface CompactorConfig {
  intervalMs: number;
  logRetentionMs: number;
  incidentRetentionMs: number;
}

export class Compactor implements Component {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private readonly runs: BoundCounter;
  private readonly failures: BoundCounter;
  private readonly rows: BoundCounter;

  constructor(
    private readonly settings: CentralSettings,
    private readonly config: CompactorConfig,
    private readonly stores: Pick<SqliteStores, 'metrics' | 'logs' | 'incidents' | 'changes'>,
  ) {
    const m = settings.metrics;
    this.runs = m.counter('aiops_central_compactions_total', 'Storage housekeeping runs completed.');
    this.failures = m.counter('aiops_central_compaction_failures_total', 'Storage housekeeping runs that failed (retried next interval).');
    this.rows = m.counter('aiops_central_compaction_rows_total', 'Rows rolled up or deleted by housekeeping, by kind.', ['kind']);
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.config.intervalMs);
    this.timer.unref();
  }

  /** One housekeeping pass now (also what the timer runs); concurrent calls share the run. */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.settings.clock.now();
    try {
      const c = await this.stores.metrics.compact(now);
      this.rows.inc(c.downsampled, { kind: 'downsampled' });
      this.rows.inc(c.deleted, { kind: 'metrics_deleted' });
      this.rows.inc(await this.stores.logs.prune(now - this.config.logRetentionMs), { kind: 'logs_deleted' });
      this.rows.inc(await this.stores.incidents.pruneResolved(now - this.config.incidentRetentionMs), { kind: 'incidents_deleted' });
      this.rows.inc(await this.stores.changes.prune(now - this.config.incidentRetentionMs), { kind: 'changes_deleted' });
      this.runs.inc();
    } catch (err) {
      this.failures.inc();
      this.settings.logger.error({ err: (err as Error).message }, 'storage housekeeping failed; retrying at the next interval');
    }
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
