// Drops and errors are counted in a self-metric on every occurrence, but logged once: the first
// time a (reason) is seen, then at most once per `everyMs` with the count since the last line,
// and whatever is pending at shutdown. A broken /proc file read every 10 s must not flood logs.
import type { Clock } from '../../component.js';
import type { Logger } from '../../../../shared-schemas/src/runtime/index.js';

interface Pending {
  count: number;
  lastLoggedAt: number;
  detail: Record<string, unknown> | undefined;
}

export class ProblemLog {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly message: string,
    private readonly everyMs = 300_000,
  ) {}

  /** Records `n` occurrences of `reason`; logs now if it is new or the last line is old enough. */
  note(reason: string, n = 1, detail?: Record<string, unknown>): void {
    const now = this.clock.now();
    const p = this.pending.get(reason);
    if (!p) {
      this.logger.warn({ reason, count: n, ...detail }, this.message);
      this.pending.set(reason, { count: 0, lastLoggedAt: now, detail: undefined });
      return;
    }
    p.count += n;
    p.detail = detail;
    if (now - p.lastLoggedAt >= this.everyMs) this.emit(reason, p, now);
  }

  /** Logs every pending count (at shutdown). */
  flush(): void {
    const now = this.clock.now();
    for (const [reason, p] of this.pending) if (p.count > 0) this.emit(reason, p, now);
  }

  private emit(reason: string, p: Pending, now: number): void {
    this.logger.warn({ reason, count: p.count, sinceMs: now - p.lastLoggedAt, ...p.detail }, this.message);
    p.count = 0;
    p.lastLoggedAt = now;
    p.detail = undefined;
  }
}
