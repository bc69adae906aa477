// Central's side for the fleet tests: subscribes to every agent's features topic on an in-process
// aedes broker and decodes each frame against that agent's own series dictionary (one
// SeriesDictionaryDecoder per agent, as central keeps one per connection), deduplicating by
// (agent, sequence). IngestRecorder dedups by sequence alone, which suits one agent, not a fleet.
import type { Aedes, AedesPublishPacket } from 'aedes';
import { decodeFrame, SeriesDictionaryDecoder } from '../../../shared-schemas/src/index.js';
import type { FeatureFrame, FeatureRow, Labels } from '../../../shared-schemas/src/index.js';

export interface DecodedRow {
  agentId: string;
  windowStartMs: number;
  windowEndMs: number;
  labels: Readonly<Labels>;
  row: FeatureRow;
}

export class FleetFrameRecorder {
  /** Unique frames per agent, by sequence. */
  readonly frames = new Map<string, Map<number, FeatureFrame>>();
  readonly rows: DecodedRow[] = [];
  readonly topics = new Set<string>();
  decodeErrors: string[] = [];
  private readonly dicts = new Map<string, SeriesDictionaryDecoder>();

  /** Subscribes in-process; resolves once the subscription is in place. */
  attach(broker: Aedes, prefix = 'aiops/v1'): Promise<void> {
    return new Promise<void>((resolve) =>
      broker.subscribe(
        `${prefix}/+/agents/+/features`,
        (packet: AedesPublishPacket, cb: () => void) => {
          this.accept(packet.topic, packet.payload as Buffer);
          cb();
        },
        () => resolve(),
      ),
    );
  }

  private accept(topic: string, bytes: Buffer): void {
    this.topics.add(topic);
    const agent = topic.split('/')[4]!;
    let dict = this.dicts.get(agent);
    if (!dict) this.dicts.set(agent, (dict = new SeriesDictionaryDecoder()));
    let frame: FeatureFrame;
    let labels: Readonly<Labels>[];
    try {
      frame = decodeFrame(bytes);
      labels = dict.apply(frame);
    } catch (err) {
      this.decodeErrors.push(`${agent}: ${(err as Error).message}`);
      return;
    }
    let mine = this.frames.get(agent);
    if (!mine) this.frames.set(agent, (mine = new Map()));
    if (mine.has(frame.sequence)) return;
    mine.set(frame.sequence, frame);
    frame.rows.forEach((row, i) => this.rows.push({ agentId: frame.agentId, windowStartMs: frame.windowStartMs, windowEndMs: frame.windowEndMs, labels: labels[i]!, row }));
  }

  count(agent?: string): number {
    if (agent !== undefined) return this.frames.get(agent)?.size ?? 0;
    let n = 0;
    for (const m of this.frames.values()) n += m.size;
    return n;
  }
}
