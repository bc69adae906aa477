// The durable end of an alert flow (receiver dedup, ARCHITECTURE 5b flow 2): upserts every alert
// into the AlertStore (Alertmanager semantics by tenant + fingerprint, see storage/alert-store.ts),
// counts what each one changed (new, duplicate, resolved, refired), and hands the alerts that
// changed something to the next stages (correlation) once they are stored. Duplicates stop here.
//
// Errors: an alert the store refuses as malformed (StorageError INVALID_ARGUMENT: a retry fails
// the same way) is counted, logged and skipped; any other store failure rejects the call so the
// sender retries (upserts are idempotent, a retried batch is harmless). A downstream stage failing
// after the alerts are stored is counted and logged, never turned into a resend (the alerts are
// safe; a resend would arrive as duplicates and not reach that stage anyway).
import type { Alert } from '../../../shared-schemas/src/index.js';
import type { BoundCounter, Clock, ComponentMetrics, Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer } from '../component.js';
import type { AlertStore, StoredAlert } from '../storage/types.js';

export type AlertChange = 'new' | 'duplicate' | 'resolved' | 'refired';

export interface AlertStoreSinkOptions {
  store: AlertStore;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  metrics: ComponentMetrics;
  /** Next stages, called in order with the stored alerts that changed something. */
  downstream?: AlertConsumer[];
  /** Also pass duplicates on (default false). */
  passDuplicates?: boolean;
}

export class AlertStoreSink implements AlertConsumer {
  private readonly downstream: AlertConsumer[];
  private readonly changes: BoundCounter;
  private readonly rejected: BoundCounter;
  private readonly downstreamErrors: BoundCounter;

  constructor(private readonly opts: AlertStoreSinkOptions) {
    this.downstream = [...(opts.downstream ?? [])];
    this.changes = opts.metrics.counter('aiops_central_alerts_stored_total', 'Alerts upserted into the alert store, by what they changed (new, duplicate, resolved, refired).', ['change']);
    this.rejected = opts.metrics.counter('aiops_central_alerts_rejected_total', 'Alerts the alert store refused as malformed.');
    this.downstreamErrors = opts.metrics.counter('aiops_central_alert_downstream_errors_total', 'Stored alerts a next stage (correlation) failed on.', ['stage']);
  }

  /** Stages added after construction (the graph is wired downstream-first). */
  addDownstream(consumer: AlertConsumer): void {
    this.downstream.push(consumer);
  }

  async consumeAlerts(alerts: readonly Alert[]): Promise<void> {
    const forward: StoredAlert[] = [];
    const refused = (alert: Alert, err: unknown) => {
      this.rejected.inc();
      this.opts.logger.warn({ source: alert?.source, fingerprint: alert?.fingerprint, err: (err as Error).message }, 'alert refused by the store');
    };
    const take = (result: { alert: StoredAlert; change: AlertChange }) => {
      this.changes.inc(1, { change: result.change });
      if (result.change !== 'duplicate' || this.opts.passDuplicates === true) forward.push(result.alert);
    };
    const store = this.opts.store;
    if (store.upsertMany && alerts.length > 1) {
      // One transaction for the batch (one commit, not one per alert).
      const results = await store.upsertMany(alerts, this.opts.clock.now());
      results.forEach((r, i) => ('error' in r ? refused(alerts[i]!, r.error) : take(r)));
    } else {
      for (const alert of alerts) {
        try {
          take(await store.upsert(alert, this.opts.clock.now()));
        } catch (err) {
          if ((err as { code?: unknown }).code === 'INVALID_ARGUMENT') {
            refused(alert, err);
            continue;
          }
          throw err;
        }
      }
    }
    if (forward.length === 0) return;
    for (let i = 0; i < this.downstream.length; i++) {
      try {
        await this.downstream[i]!.consumeAlerts(forward);
      } catch (err) {
        this.downstreamErrors.inc(1, { stage: String(i) });
        this.opts.logger.error({ stage: i, alerts: forward.length, err: (err as Error).message }, 'a next stage failed on stored alerts');
      }
    }
  }
}
