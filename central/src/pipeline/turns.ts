// Turns: a FIFO of message-handling jobs run a bounded number per turn of the event loop.
//
// Why: central stores a frame synchronously (SQLite) on its one event loop. Receivers used to
// handle each message from the socket callback that delivered it, and aedes hands a
// connection's next buffered message from the previous one's acknowledgement callback, so at
// saturation one turn of the loop ran every connection's buffered frames back to back: HTTP
// requests, CONNECTs and PINGREQs waited turn after turn, the API went silent and agents timed
// out (bench/RESULTS.md, central ingest). Jobs queued here start at most `perTurn` per turn
// (a setImmediate callback), so every turn also serves the sockets: under overload
// acknowledgements slow down evenly instead of the process going deaf. Order is FIFO, so a
// connection's messages keep their order (a receiver that needs per-connection order queues a
// connection's next message only after the previous one was handed over, as aedes does).
//
// `perTurn` adapts: it halves when a turn's jobs (their synchronous part and promise
// continuations) took longer than `turnBudgetMs` and grows by one when they took less than
// half.
import type { BoundGauge } from '../../../shared-schemas/src/runtime/index.js';

export interface TurnsOptions {
  /** Target time of one turn's jobs, ms (started in it, with their continuations). Default 20. */
  turnBudgetMs?: number;
  /** Jobs started per turn at most. Default 64. */
  maxPerTurn?: number;
  /** Set to the number of jobs waiting (e.g. the receiver's `..._queue_depth` gauge). */
  depth?: BoundGauge;
  /** Monotonic clock in ms (tests). Default performance.now. */
  now?: () => number;
}

interface Job {
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** The rejection of a job that never started because the queue was closed (shutdown). */
export class TurnsClosedError extends Error {
  constructor(message = 'the queue is closed') {
    super(message);
    this.name = 'TurnsClosedError';
  }
}

export class Turns {
  private readonly queue: Job[] = [];
  private head = 0;
  private scheduled = false;
  private perTurn = 8;
  private closed: TurnsClosedError | undefined;
  private readonly budget: number;
  private readonly max: number;
  private readonly now: () => number;
  private readonly depth: BoundGauge | undefined;

  constructor(opts: TurnsOptions = {}) {
    this.budget = opts.turnBudgetMs ?? 20;
    this.max = opts.maxPerTurn ?? 64;
    this.perTurn = Math.min(this.perTurn, this.max);
    this.now = opts.now ?? (() => performance.now());
    this.depth = opts.depth;
    this.depth?.set(0);
  }

  /** Jobs waiting for their turn. */
  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * Refuses every job not yet started (rejected with TurnsClosedError: a receiver withholds
   * their acknowledgement and the agents resend) and every later one. Started jobs finish.
   */
  close(message = 'central is shutting down'): void {
    if (this.closed !== undefined) return;
    this.closed = new TurnsClosedError(message);
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.reject(this.closed);
    this.queue.length = 0;
    this.head = 0;
    this.depth?.set(0);
  }

  /** Runs `run` in a later turn, after every job queued before it has started. */
  run<T>(run: () => Promise<T>): Promise<T> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.depth?.set(this.size);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    const t = this.now();
    const started: Promise<unknown>[] = [];
    for (let i = 0; i < this.perTurn && this.head < this.queue.length; i++) {
      const job = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Job;
      let p: Promise<unknown>;
      try {
        p = job.run();
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(job.resolve, job.reject);
      started.push(p);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.depth?.set(this.size);
    // The jobs' time: their synchronous part and continuations (microtasks, before the next
    // turn), not the socket I/O between turns.
    void Promise.allSettled(started).then(() => {
      const took = this.now() - t;
      if (took > this.budget) this.perTurn = Math.max(1, this.perTurn >> 1);
      else if (took < this.budget / 2) this.perTurn = Math.min(this.max, this.perTurn + 1);
    });
    // Not waiting for them: a job that never settles must not stop the queue.
    if (this.size > 0) this.schedule();
  }
}
