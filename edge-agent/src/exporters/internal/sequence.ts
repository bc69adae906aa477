// Per-agent frame sequence numbers that never repeat, even after `kill -9`: the next free
// number is reserved on disk in blocks (atomic replace + fsync) before any number of the block
// is handed out, so a restart continues above everything a previous run may have sent.
// Central deduplicates by (agent id, sequence): a reused number would make it drop a new frame
// as a duplicate. Numbers are not contiguous across restarts (the rest of a block is skipped).
import { readFile } from 'node:fs/promises';
import { writeAtomic } from '../../buffer/sqljs-buffer.js';
import type { Clock } from '../../component.js';
import type { Logger } from '../../../../shared-schemas/src/runtime/index.js';

export const SEQUENCE_BLOCK = 1000;

export class SequenceLease {
  private nextSeq = 1;
  private reservedUntil = 0;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly block = SEQUENCE_BLOCK,
  ) {}

  /**
   * Reads the reservation. `floor` is the highest sequence known elsewhere (the buffer's
   * maxSeq); the next number is above both. A missing file starts at 1; an unreadable one at
   * the clock's milliseconds, which is above any count of frames an agent sends.
   */
  async start(floor: number): Promise<void> {
    let reserved = 0;
    try {
      const text = (await readFile(this.path, 'utf8')).trim();
      if (!/^\d{1,16}$/.test(text)) throw new Error(`not a sequence number: ${JSON.stringify(text.slice(0, 40))}`);
      reserved = Number(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        reserved = Math.floor(this.clock.now());
        this.logger.error({ path: this.path, err: (err as Error).message, restartAt: reserved }, 'frame sequence file unreadable: continuing above the current time in ms');
      }
    }
    this.nextSeq = Math.max(1, reserved, floor + 1);
    this.reservedUntil = this.nextSeq - 1;
  }

  /** The number take() will return next. */
  peek(): number {
    return this.nextSeq;
  }

  /** Moves the next number up to at least `n` (never down). */
  skipTo(n: number): void {
    if (n > this.nextSeq) this.nextSeq = n;
  }

  /** Makes sure the next `n` numbers are reserved on disk. */
  async ensure(n: number): Promise<void> {
    if (this.nextSeq + n - 1 <= this.reservedUntil) return;
    const until = this.nextSeq + Math.max(n, this.block) - 1;
    // The file holds the first number a restarted agent may use.
    await writeAtomic(this.path, new TextEncoder().encode(`${until + 1}\n`));
    this.reservedUntil = until;
  }

  /** Hands out the next number; ensure() must have reserved it. */
  take(): number {
    if (this.nextSeq > this.reservedUntil) throw new Error('SequenceLease.take() without ensure()');
    return this.nextSeq++;
  }
}
