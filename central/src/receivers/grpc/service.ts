// The server side of aiops.v1.AgentIngest as grpc-js sees it: shared-schemas' service
// definition, except that request deserializers never throw. grpc-js fails the whole call on a
// throwing deserializer (INTERNAL), so one bad message would cost an agent its stream and
// everything in flight on it; here a message that does not decode, or is bigger than
// max_message, arrives as an `Invalid` value that the handler answers (Ack `rejected`) and
// counts, and the stream goes on.
import { agentIngestServiceDefinition, decodeAlertBatch, decodeFeatureFrameEnvelope, decodeHeartbeat } from '../../../../shared-schemas/src/index.js';
import type { Ack, AlertBatch, DecodeLimits, FeatureFrameEnvelope, GrpcMethodDefinition, Heartbeat, HeartbeatAck } from '../../../../shared-schemas/src/index.js';

/** A request message that cannot be processed, with the sequence it claimed when readable. */
export interface Invalid {
  invalid: 'malformed' | 'oversized';
  message: string;
  /** The message's sequence field when it could be read from the raw bytes, else 0. */
  sequence: number;
}

export type Incoming<T> = T | Invalid;

export function isInvalid<T extends object>(m: Incoming<T>): m is Invalid {
  return 'invalid' in m;
}

/**
 * Reads top-level field `field` (a varint) from raw protobuf bytes without decoding the rest
 * (bounded: stops at the first malformed tag). Used to tell an agent which sequence a refused
 * message had, so it can drop that message instead of waiting for an ack timeout.
 */
export function peekVarintField(bytes: Uint8Array, field: number): number {
  let i = 0;
  const n = bytes.length;
  const varint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (i >= n) return undefined;
      const b = bytes[i++]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    return undefined;
  };
  for (let guard = 0; guard < 64 && i < n; guard++) {
    const tag = varint();
    if (tag === undefined) return 0;
    const f = Math.floor(tag / 8);
    const wt = tag % 8;
    if (wt === 0) {
      const v = varint();
      if (v === undefined) return 0;
      if (f === field) return Number.isSafeInteger(v) ? v : 0;
    } else if (wt === 2) {
      const len = varint();
      if (len === undefined || i + len > n) return 0;
      i += len;
    } else if (wt === 1) {
      i += 8;
    } else if (wt === 5) {
      i += 4;
    } else {
      return 0;
    }
  }
  return 0;
}

function tolerant<T>(decode: (bytes: Uint8Array, limits: Partial<DecodeLimits>) => T, limits: Partial<DecodeLimits>, maxMessage: number, sequenceField: number) {
  return (bytes: Buffer): Incoming<T> => {
    if (bytes.length > maxMessage) {
      return { invalid: 'oversized', message: `message of ${bytes.length} bytes exceeds max_message ${maxMessage}`, sequence: peekVarintField(bytes, sequenceField) };
    }
    try {
      return decode(bytes, limits);
    } catch (err) {
      return { invalid: 'malformed', message: clip(err instanceof Error ? err.message : String(err)), sequence: peekVarintField(bytes, sequenceField) };
    }
  };
}

/** One method as grpc-js's server uses it, with a tolerant request deserializer. */
export interface IngestMethod<Req, Res> extends Omit<GrpcMethodDefinition<Req, Res>, 'requestDeserialize'> {
  requestDeserialize: (bytes: Buffer) => Incoming<Req>;
}

export interface IngestServiceDefinition {
  StreamFeatures: IngestMethod<FeatureFrameEnvelope, Ack>;
  PushAlerts: IngestMethod<AlertBatch, Ack>;
  Heartbeat: IngestMethod<Heartbeat, HeartbeatAck>;
}

/**
 * AgentIngest for the server. `maxMessage` bounds every request; frames inside envelopes are
 * further bounded by the FrameIngest's own decode limits.
 */
export function ingestServiceDefinition(maxMessage: number): IngestServiceDefinition {
  // An envelope's frame may use all of max_message; the other limits stay shared-schemas' defaults.
  const limits: Partial<DecodeLimits> = { maxCompressedBytes: maxMessage };
  const def = agentIngestServiceDefinition(limits);
  return {
    // Sequence fields: FeatureFrameEnvelope.sequence = 1, AlertBatch.sequence = 3 (aiops.proto).
    StreamFeatures: { ...def.StreamFeatures, requestDeserialize: tolerant(decodeFeatureFrameEnvelope, limits, maxMessage, 1) },
    PushAlerts: { ...def.PushAlerts, requestDeserialize: tolerant(decodeAlertBatch, limits, maxMessage, 3) },
    Heartbeat: { ...def.Heartbeat, requestDeserialize: tolerant(decodeHeartbeat, limits, maxMessage, 0) },
  };
}

function clip(s: string, n = 300): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
