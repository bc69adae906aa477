// Batching for ONNX serving (issue #7, Deliver 5): rows submitted one at a time (one per
// series-window) are gathered into one run of up to `maxBatch` rows. A run starts when the batch
// is full or when the oldest waiting row has waited `latencyBudgetMs`, whichever is first; one
// run at a time per model (ONNX Runtime uses every core for one run). The queue is bounded:
// beyond `maxQueue` waiting rows a submission is refused at once (QUEUE_FULL, counted), so a
// slow model sheds load instead of growing memory.
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';
import type { ComponentMetrics } from '../../../../shared-schemas/src/runtime/index.js';
import { OnnxRuntime } from '../onnx/index.js';

type Session = Awaited<ReturnType<OnnxRuntime['session']>>;

export type BatcherErrorCode = 'QUEUE_FULL' | 'CLOSED' | 'BAD_ROW';
export class BatcherError extends CodedError<BatcherErrorCode> {
  override name = 'BatcherError';
}

export interface BatcherOptions {
  session: Session;
  /** Per input: the values of one row (shape after the batch dimension). */
  inputs: ReadonlyArray<{ name: string; shape: readonly number[] }>;
  outputs: readonly string[];
  maxBatch: number;
  maxQueue: number;
  latencyBudgetMs: number;
  metrics: ComponentMetrics;
  labels: Record<string, string>;
}

interface Pending {
  row: Record<string, ArrayLike<number>>;
  resolve(out: Record<string, number>): void;
  reject(err: Error): void;
}

export class Batcher {
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** flush() asked for: run what is queued without waiting for the budget, until the queue empties. */
  private urgent = false;
  private readonly sizes: number[];
  private readonly refused: () => void;
  private readonly scored: (n: number) => void;
  private readonly batchRows: (n: number) => void;
  private readonly runSeconds: (s: number) => void;

  constructor(private readonly o: BatcherOptions) {
    this.sizes = o.inputs.map((i) => i.shape.reduce((a, b) => a * b, 1));
    const m = o.metrics;
    const names = Object.keys(o.labels);
    const l = o.labels;
    const refused = m.counter('aiops_central_model_rows_refused_total', 'Rows refused because the model queue was full.', names);
    const rows = m.counter('aiops_central_model_rows_total', 'Rows scored by a model.', names);
    const batch = m.histogram('aiops_central_model_batch_rows', 'Rows per ONNX run.', [1, 8, 64, 256, 1024, 4096, 16384], names);
    const secs = m.histogram('aiops_central_model_run_seconds', 'Time of one ONNX run (a batch).', [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], names);
    this.refused = () => refused.inc(1, l);
    this.scored = (n) => rows.inc(n, l);
    this.batchRows = (n) => batch.observe(n, l);
    this.runSeconds = (s) => secs.observe(s, l);
  }

  /** Rows waiting. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Scores one row; resolves with the outputs of that row. */
  submit(row: Record<string, ArrayLike<number>>): Promise<Record<string, number>> {
    if (this.closed) return Promise.reject(new BatcherError('CLOSED', 'the model is unloaded (reloaded or shut down); submit again', true));
    for (let i = 0; i < this.o.inputs.length; i++) {
      const inp = this.o.inputs[i]!;
      const v = row[inp.name];
      if (v === undefined || v.length !== this.sizes[i]) return Promise.reject(new BatcherError('BAD_ROW', `input ${inp.name}: ${v?.length ?? 'no'} values, the model takes ${this.sizes[i]}`, false));
    }
    if (this.queue.length >= this.o.maxQueue) {
      this.refused();
      return Promise.reject(new BatcherError('QUEUE_FULL', `model queue full (${this.o.maxQueue} rows waiting)`, true));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.o.maxBatch) {
      this.runNow();
      return;
    }
    this.timer ??= setTimeout(() => this.runNow(), this.o.latencyBudgetMs);
  }

  private runNow(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running || this.queue.length === 0) return;
    this.running = this.run(this.queue.splice(0, this.o.maxBatch)).finally(() => {
      this.running = undefined;
      if (this.queue.length === 0) this.urgent = false;
      else if (this.urgent) this.runNow();
      else this.schedule();
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    const n = batch.length;
    const feeds: Record<string, ReturnType<typeof OnnxRuntime.tensor>> = {};
    this.o.inputs.forEach((inp, k) => {
      const size = this.sizes[k]!;
      const data = new Float32Array(n * size);
      for (let i = 0; i < n; i++) data.set(batch[i]!.row[inp.name]!, i * size);
      feeds[inp.name] = OnnxRuntime.tensor(data, [n, ...inp.shape]);
    });
    const t0 = performance.now();
    try {
      const out = await OnnxRuntime.run(this.o.session, feeds);
      this.runSeconds((performance.now() - t0) / 1000);
      this.scored(n);
      this.batchRows(n);
      for (let i = 0; i < n; i++) {
        const r: Record<string, number> = {};
        for (const name of this.o.outputs) r[name] = (out[name]!.data as Float32Array)[i]!;
        batch[i]!.resolve(r);
      }
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    }
  }

  /**
   * Runs what is queued now instead of at the end of the latency budget: for a caller that has
   * submitted every row it has (a frame's rows) and would otherwise wait the budget out.
   */
  flush(): void {
    if (this.queue.length === 0) return;
    this.urgent = true;
    this.runNow();
  }

  /** Refuses new rows, finishes what is queued; then the session can be released. */
  async drain(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.running) {
      this.runNow();
      await this.running;
    }
  }
}
