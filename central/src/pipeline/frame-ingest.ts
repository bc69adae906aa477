// Central's side of the feature-frame protocol, shared by every frame receiver (MQTT, gRPC):
// one session per agent connection holds the connection's series dictionary, decodes envelope
// bytes, checks the frame belongs to the authenticated agent, hands it to the next consumer
// and answers the Ack the agent's sender understands (ARCHITECTURE section 6):
//   ok                 the frame is durable downstream (or was already: duplicates are ok)
//   retry              downstream is busy or failing; resend later (backpressure)
//   resync_dictionary  the frame names series this session does not know (central restarted,
//                      or the dictionary epoch moved): the agent starts a new epoch
//   rejected           the frame can never be accepted (malformed, another agent's id)
// Every refusal is counted by reason and logged (rate-limited by the receiver's logger).
import { decodeFrame, SchemaDecodeError, SeriesDictionaryDecoder } from '../../../shared-schemas/src/index.js';
import type { Ack, DecodeLimits, FeatureFrame, Labels } from '../../../shared-schemas/src/index.js';
import type { BoundCounter, ComponentMetrics, Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { FrameConsumer, IngestedFrame } from '../component.js';

export interface FrameIngestOptions {
  next: FrameConsumer;
  logger: Logger;
  metrics: ComponentMetrics;
  /** Frames one session may have in flight downstream; beyond it the answer is retry. Default 64. */
  maxInFlightPerSession?: number;
  /** Series one session's dictionary may hold. Default 100,000. */
  maxSeriesPerSession?: number;
  /** Decode limits (sizes, counts). Defaults: shared-schemas' DEFAULT_DECODE_LIMITS. */
  limits?: Partial<DecodeLimits>;
  /** Delay suggested with `retry` answers, ms. Default 1000. */
  retryAfterMs?: number;
}

/** What a session knows about its peer, from authentication (never from the frame). */
export interface SessionIdentity {
  agentId: string;
  tenant: string;
  /** Receiver name for metrics and logs: "mqtt", "grpc". */
  transport: string;
}

export type RefusalReason = 'malformed' | 'wrong_agent' | 'wrong_tenant' | 'sequence_mismatch' | 'dictionary' | 'busy' | 'downstream';

export interface FrameSession {
  readonly identity: SessionIdentity;
  /**
   * Decodes and forwards one frame. `envelopeSequence` is the sequence the transport carried
   * beside the bytes (gRPC envelope), when it has one. Never rejects.
   */
  accept(bytes: Uint8Array, envelopeSequence?: number): Promise<Ack>;
  /** Frames of this session not yet answered. */
  readonly inFlight: number;
  /** Forgets the dictionary (the agent was told to resync, or reconnected). */
  reset(): void;
}

/** A downstream error whose `retryable` is false makes the frame `rejected` instead of `retry`. */
interface MaybeRetryable {
  retryable?: boolean;
  message?: string;
}

export class FrameIngest {
  private readonly next: FrameConsumer;
  private readonly logger: Logger;
  private readonly maxInFlight: number;
  private readonly maxSeries: number;
  private readonly limits: Partial<DecodeLimits> | undefined;
  private readonly retryAfterMs: number;
  private readonly accepted: BoundCounter;
  private readonly rows: BoundCounter;
  private readonly refused: BoundCounter;

  constructor(opts: FrameIngestOptions) {
    this.next = opts.next;
    this.logger = opts.logger;
    this.maxInFlight = opts.maxInFlightPerSession ?? 64;
    this.maxSeries = opts.maxSeriesPerSession ?? 100_000;
    this.limits = opts.limits;
    this.retryAfterMs = opts.retryAfterMs ?? 1000;
    this.accepted = opts.metrics.counter('aiops_central_frames_accepted_total', 'Feature frames accepted (durable downstream), by transport.', ['transport']);
    this.rows = opts.metrics.counter('aiops_central_frame_rows_accepted_total', 'Feature rows (series-windows) in accepted frames, by transport.', ['transport']);
    this.refused = opts.metrics.counter('aiops_central_frames_refused_total', 'Feature frames not accepted, by transport and reason.', ['transport', 'reason']);
  }

  session(identity: SessionIdentity): FrameSession {
    const dict = new SeriesDictionaryDecoder({ maxSeries: this.maxSeries });
    let inFlight = 0;
    const refuse = (reason: RefusalReason, ack: Ack): Ack => {
      this.refused.inc(1, { transport: identity.transport, reason });
      if (reason !== 'busy') this.logger.warn({ agent: identity.agentId, transport: identity.transport, reason, sequence: ack.sequence, problem: ack.message }, 'feature frame refused');
      return ack;
    };
    const self = this;
    return {
      identity,
      get inFlight() {
        return inFlight;
      },
      reset: () => dict.reset(),
      async accept(bytes: Uint8Array, envelopeSequence?: number): Promise<Ack> {
        const seq = envelopeSequence ?? 0;
        if (inFlight >= self.maxInFlight) {
          return refuse('busy', { sequence: seq, status: 'retry', message: `more than ${self.maxInFlight} frames in flight on this connection`, retryAfterMs: self.retryAfterMs });
        }
        let frame: FeatureFrame;
        try {
          frame = decodeFrame(bytes, self.limits ? { limits: self.limits } : {});
        } catch (err) {
          return refuse('malformed', { sequence: seq, status: 'rejected', message: describe(err), retryAfterMs: 0 });
        }
        if (envelopeSequence !== undefined && envelopeSequence !== frame.sequence) {
          return refuse('sequence_mismatch', { sequence: seq, status: 'rejected', message: `envelope sequence ${envelopeSequence} differs from the frame's ${frame.sequence}`, retryAfterMs: 0 });
        }
        if (frame.agentId !== identity.agentId) {
          return refuse('wrong_agent', { sequence: frame.sequence, status: 'rejected', message: `frame agentId "${clip(frame.agentId)}" is not the authenticated agent "${identity.agentId}"`, retryAfterMs: 0 });
        }
        const tenant = frame.tenant === '' ? identity.tenant : frame.tenant;
        if (tenant !== identity.tenant) {
          return refuse('wrong_tenant', { sequence: frame.sequence, status: 'rejected', message: `frame tenant "${clip(frame.tenant)}" is not the agent's tenant "${identity.tenant}"`, retryAfterMs: 0 });
        }
        let labels: Readonly<Labels>[];
        try {
          labels = dict.apply(frame);
        } catch (err) {
          const code = err instanceof SchemaDecodeError ? err.code : '';
          const resync = code === 'EPOCH_MISMATCH' || code === 'UNKNOWN_SERIES';
          if (resync) dict.reset();
          return refuse('dictionary', { sequence: frame.sequence, status: resync ? 'resync_dictionary' : 'rejected', message: describe(err), retryAfterMs: 0 });
        }
        const ingested: IngestedFrame = {
          tenant,
          agentId: identity.agentId,
          sequence: frame.sequence,
          windowStartMs: frame.windowStartMs,
          windowEndMs: frame.windowEndMs,
          rows: frame.rows.map((r, i) => {
            const { seriesId: _drop, ...row } = r;
            return { labels: labels[i] as Labels, row };
          }),
        };
        inFlight++;
        try {
          await self.next.consumeFrame(ingested);
        } catch (err) {
          const e = err as MaybeRetryable & { code?: string };
          // A store closing under us (shutdown) is not the frame's fault: the agent resends later.
          const permanent = e?.retryable === false && e.code !== 'CLOSED';
          return refuse('downstream', { sequence: frame.sequence, status: permanent ? 'rejected' : 'retry', message: `central could not store the frame: ${describe(err)}`, retryAfterMs: permanent ? 0 : self.retryAfterMs });
        } finally {
          inFlight--;
        }
        self.accepted.inc(1, { transport: identity.transport });
        self.rows.inc(ingested.rows.length, { transport: identity.transport });
        return { sequence: frame.sequence, status: 'ok', message: '', retryAfterMs: 0 };
      },
    };
  }
}

function describe(err: unknown): string {
  return clip(err instanceof Error ? err.message : String(err), 500);
}

function clip(s: string, n = 128): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
