// Central's side for the virtual-agent tests: decodes every frame with shared-schemas and keeps,
// per agent, what arrived in order (sequence, scope, epoch, defs, rows, window, labels). With a
// dictionary key (MQTT: one per agent, as central keys them) frames are also resolved against a
// SeriesDictionaryDecoder, and failures are recorded instead of thrown.
import { decodeFrame, SeriesDictionaryDecoder } from '../../../shared-schemas/src/index.js';
import type { DictionaryScope, FeatureFrame, Labels } from '../../../shared-schemas/src/index.js';

export interface LoggedFrame {
  sequence: number;
  scope: DictionaryScope;
  epoch: number;
  defs: number;
  rows: number;
  windowStartMs: number;
  windowEndMs: number;
  bytes: number;
  /** Labels of each row (when a dictionary was applied). */
  labels: Readonly<Labels>[] | undefined;
  frame: FeatureFrame;
}

export class FrameLog {
  readonly byAgent = new Map<string, LoggedFrame[]>();
  readonly errors: string[] = [];
  private readonly dicts = new Map<string, SeriesDictionaryDecoder>();

  /** Decodes and records a frame; returns it (undefined when it did not decode). */
  record(bytes: Uint8Array, dictionaryKey?: string): LoggedFrame | undefined {
    let frame: FeatureFrame;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      this.errors.push(`decode: ${(err as Error).message}`);
      return undefined;
    }
    let labels: Readonly<Labels>[] | undefined;
    if (dictionaryKey !== undefined) {
      let d = this.dicts.get(dictionaryKey);
      if (!d) this.dicts.set(dictionaryKey, (d = new SeriesDictionaryDecoder()));
      try {
        labels = d.apply(frame);
      } catch (err) {
        this.errors.push(`dictionary (${dictionaryKey} seq ${frame.sequence}): ${(err as Error).message}`);
      }
    }
    const logged: LoggedFrame = {
      sequence: frame.sequence,
      scope: frame.dictionaryScope,
      epoch: frame.dictionaryEpoch,
      defs: frame.seriesDefs.length,
      rows: frame.rows.length,
      windowStartMs: frame.windowStartMs,
      windowEndMs: frame.windowEndMs,
      bytes: bytes.length,
      labels,
      frame,
    };
    let list = this.byAgent.get(frame.agentId);
    if (!list) this.byAgent.set(frame.agentId, (list = []));
    list.push(logged);
    return logged;
  }

  get total(): number {
    let n = 0;
    for (const l of this.byAgent.values()) n += l.length;
    return n;
  }

  /** Distinct sequences of an agent, ascending (what survives deduplication). */
  unique(agentId: string): number[] {
    return [...new Set((this.byAgent.get(agentId) ?? []).map((f) => f.sequence))].sort((a, b) => a - b);
  }

  get uniqueTotal(): number {
    let n = 0;
    for (const a of this.byAgent.keys()) n += this.unique(a).length;
    return n;
  }
}
