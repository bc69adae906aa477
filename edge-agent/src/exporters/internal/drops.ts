// Drops are counted per item in a metric and logged once per burst with the count
// (CONVENTIONS 11): add() accumulates, report() (called from a periodic tick and at shutdown)
// writes one line per reason.
import type { Logger } from '../../../../shared-schemas/src/runtime/index.js';

export class DropReporter {
  private pending = new Map<string, { n: number; detail: string | undefined }>();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  add(reason: string, n = 1, detail?: string): void {
    const p = this.pending.get(reason);
    if (p) {
      p.n += n;
      if (detail !== undefined) p.detail = detail;
    } else {
      this.pending.set(reason, { n, detail });
    }
  }

  report(): void {
    if (this.pending.size === 0) return;
    for (const [reason, { n, detail }] of this.pending) {
      this.logger.warn({ reason, count: n, ...(detail !== undefined ? { example: detail } : {}) }, `dropped ${n} ${this.what} (${reason})`);
    }
    this.pending = new Map();
  }
}
