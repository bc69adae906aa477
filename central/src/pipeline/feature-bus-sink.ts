// The ingest role's consumer of frames when central runs split (ARCHITECTURE section 4): every
// row of a frame goes to `aiops.features` as one record keyed by its series (feature-records.ts),
// and the frame is acknowledged to its agent only once the bus has all of them (Kafka: written
// by every in-sync replica). Storing and detecting are the detect role's work, from the bus.
//
// Frames arriving while a publish is in flight wait and go together in the next one (a group
// commit): one round trip to the brokers for many frames, each frame answered when the publish
// holding it resolved. A failed publish fails every frame in it with the bus's error, retryable
// when the bus is unavailable, so the agents resend (at least once: a resent frame can reach
// the topic twice; the detector ignores a window it has seen, see DynamicXyDetector).
import type { BoundCounter, BoundHistogram, ComponentMetrics, Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { Bus, BusMessage } from '../bus/index.js';
import { TOPICS } from '../bus/index.js';
import type { FrameConsumer, IngestedFrame } from '../component.js';
import { featureRecords } from './feature-records.js';

export interface FeatureBusSinkOptions {
  bus: Bus;
  logger: Logger;
  metrics: ComponentMetrics;
  /** Topic. Default `aiops.features`. */
  topic?: string;
  /** Records per publish at most (frames are never split). Default 20,000. */
  maxRecordsPerPublish?: number;
}

interface Waiting {
  messages: BusMessage[];
  resolve(): void;
  reject(err: unknown): void;
}

export class FeatureBusSink implements FrameConsumer {
  private readonly topic: string;
  private readonly maxRecords: number;
  private queue: Waiting[] = [];
  private flushing = false;
  private readonly published: BoundCounter;
  private readonly failed: BoundCounter;
  private readonly batchFrames: BoundHistogram;

  constructor(private readonly opts: FeatureBusSinkOptions) {
    this.topic = opts.topic ?? TOPICS.features;
    this.maxRecords = opts.maxRecordsPerPublish ?? 20_000;
    this.published = opts.metrics.counter('aiops_central_feature_records_published_total', 'Feature rows published to the bus (one record per series-window).');
    this.failed = opts.metrics.counter('aiops_central_feature_publish_failures_total', 'Publishes of feature records that failed (their frames were answered retry or rejected).');
    this.batchFrames = opts.metrics.histogram('aiops_central_feature_publish_frames', 'Frames carried by one publish to the bus (group commit).', [1, 2, 5, 10, 20, 50, 100, 200, 500]);
  }

  consumeFrame(frame: IngestedFrame): Promise<void> {
    if (frame.rows.length === 0) return Promise.resolve();
    const messages = featureRecords(frame);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const take: Waiting[] = [];
        let n = 0;
        while (this.queue.length > 0 && (take.length === 0 || n + this.queue[0]!.messages.length <= this.maxRecords)) {
          const w = this.queue.shift()!;
          take.push(w);
          n += w.messages.length;
        }
        const all = take.length === 1 ? take[0]!.messages : take.flatMap((w) => w.messages);
        try {
          await this.opts.bus.publish(this.topic, all);
          this.published.inc(all.length);
          this.batchFrames.observe(take.length);
          for (const w of take) w.resolve();
        } catch (err) {
          this.failed.inc();
          this.opts.logger.warn({ topic: this.topic, frames: take.length, records: all.length, err: (err as Error).message }, 'feature records not published; their frames are answered retry');
          for (const w of take) w.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
