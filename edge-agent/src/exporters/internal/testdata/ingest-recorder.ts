// Central's side of the frame protocol, for tests: decodes wire frames per stream with a
// SeriesDictionaryDecoder, answers the Ack central would (ok / resync_dictionary / rejected),
// and records what arrived so tests can check order, completeness and duplicates after
// deduplication by frame sequence (at-least-once delivery).
import {
  decodeFrame,
  SchemaDecodeError,
  SeriesDictionaryDecoder,
} from '../../../../../shared-schemas/src/index.js';
import type { Ack, FeatureFrame, Labels } from '../../../../../shared-schemas/src/index.js';

export interface ReceivedFrame {
  frame: FeatureFrame;
  labels: Readonly<Labels>[];
}

export class IngestRecorder {
  /** Every frame accepted, duplicates included, in arrival order. */
  readonly arrivals: number[] = [];
  /** First arrival of each sequence, in arrival order (what survives deduplication). */
  readonly unique: number[] = [];
  readonly frames = new Map<number, ReceivedFrame>();
  /** Scopes of accepted frames in arrival order (reset / continue). */
  readonly scopes: string[] = [];
  decodeErrors = 0;

  stream(): { accept(bytes: Uint8Array, expectedSeq?: number): Ack; reset(): void } {
    const dict = new SeriesDictionaryDecoder();
    return {
      reset: () => dict.reset(),
      accept: (bytes, expectedSeq) => {
        let frame: FeatureFrame;
        let labels: Readonly<Labels>[];
        try {
          frame = decodeFrame(bytes);
          labels = dict.apply(frame);
        } catch (err) {
          this.decodeErrors++;
          const code = err instanceof SchemaDecodeError ? err.code : 'UNKNOWN';
          const status = code === 'EPOCH_MISMATCH' || code === 'UNKNOWN_SERIES' ? 'resync_dictionary' : 'rejected';
          return { sequence: expectedSeq ?? 0, status, message: (err as Error).message, retryAfterMs: 0 };
        }
        if (expectedSeq !== undefined && expectedSeq !== frame.sequence) {
          return { sequence: expectedSeq, status: 'rejected', message: `envelope sequence ${expectedSeq} differs from frame ${frame.sequence}`, retryAfterMs: 0 };
        }
        this.arrivals.push(frame.sequence);
        this.scopes.push(frame.dictionaryScope);
        if (!this.frames.has(frame.sequence)) {
          this.unique.push(frame.sequence);
          this.frames.set(frame.sequence, { frame, labels });
        }
        return { sequence: frame.sequence, status: 'ok', message: '', retryAfterMs: 0 };
      },
    };
  }

  get duplicates(): number {
    return this.arrivals.length - this.unique.length;
  }

  /** True when the deduplicated arrivals are strictly increasing. */
  get inOrder(): boolean {
    for (let i = 1; i < this.unique.length; i++) if (this.unique[i]! <= this.unique[i - 1]!) return false;
    return true;
  }

  async waitFor(pred: (r: IngestRecorder) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what} (received ${this.unique.length} unique, ${this.arrivals.length} total)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
