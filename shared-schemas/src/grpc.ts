// gRPC service definition of aiops.v1.AgentIngest in the plain-object shape @grpc/grpc-js
// accepts (`server.addService(def, impl)`, `makeGenericClientConstructor(def, name)`), built
// on this package's codecs so the hostile-input checks also guard the gRPC transport. No
// dependency on @grpc/grpc-js here.
import { limitsOf } from './config.js';
import type { DecodeLimits } from './config.js';
import {
  decodeAck,
  decodeAlertBatch,
  decodeFeatureFrameEnvelope,
  decodeHeartbeat,
  decodeHeartbeatAck,
  encodeAck,
  encodeAlertBatch,
  encodeFeatureFrameEnvelope,
  encodeHeartbeat,
  encodeHeartbeatAck,
} from './messages.js';
import type { Decoder, Encoder } from './messages.js';
import { AIOPS_PACKAGE } from './schema.js';
import type { Ack, AlertBatch, FeatureFrameEnvelope, Heartbeat, HeartbeatAck } from './types.js';

export interface GrpcMethodDefinition<Req, Res> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: Req) => Buffer;
  requestDeserialize: (bytes: Buffer) => Req;
  responseSerialize: (value: Res) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
  originalName: string;
}

export interface AgentIngestServiceDefinition {
  StreamFeatures: GrpcMethodDefinition<FeatureFrameEnvelope, Ack>;
  PushAlerts: GrpcMethodDefinition<AlertBatch, Ack>;
  Heartbeat: GrpcMethodDefinition<Heartbeat, HeartbeatAck>;
}

export const AGENT_INGEST_SERVICE = `${AIOPS_PACKAGE}.AgentIngest`;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function method<Req, Res>(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
  req: [Encoder<Req>, Decoder<Req>],
  res: [Encoder<Res>, Decoder<Res>],
  limits: DecodeLimits,
): GrpcMethodDefinition<Req, Res> {
  return {
    path: `/${AGENT_INGEST_SERVICE}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: (v) => asBuffer(req[0](v, limits)),
    requestDeserialize: (b) => req[1](b, limits),
    responseSerialize: (v) => asBuffer(res[0](v, limits)),
    responseDeserialize: (b) => res[1](b, limits),
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  };
}

/**
 * The AgentIngest service definition. Deserializers throw SchemaDecodeError on hostile input
 * (grpc-js then fails the call); `limits` bound every message.
 */
export function agentIngestServiceDefinition(limits?: Partial<DecodeLimits>): AgentIngestServiceDefinition {
  const l = limitsOf(limits);
  return {
    StreamFeatures: method('StreamFeatures', true, true, [encodeFeatureFrameEnvelope, decodeFeatureFrameEnvelope], [encodeAck, decodeAck], l),
    PushAlerts: method('PushAlerts', true, true, [encodeAlertBatch, decodeAlertBatch], [encodeAck, decodeAck], l),
    Heartbeat: method('Heartbeat', false, false, [encodeHeartbeat, decodeHeartbeat], [encodeHeartbeatAck, decodeHeartbeatAck], l),
  };
}

/** An Ack a client could not decode: reported as a value, so the stream goes on. */
export interface MalformedAck {
  malformed: string;
}

export type AckOrMalformed = Ack | MalformedAck;

/**
 * The client side of AgentIngest: like agentIngestServiceDefinition, except that a StreamFeatures
 * Ack that does not decode arrives as `{ malformed: reason }` instead of failing the call, so a
 * hostile or broken server costs one counted message, not the stream.
 * Use with `grpc.makeGenericClientConstructor(def, 'AgentIngest')`.
 */
export function agentIngestClientDefinition(
  limits?: Partial<DecodeLimits>,
): Omit<AgentIngestServiceDefinition, 'StreamFeatures'> & {
  StreamFeatures: Omit<GrpcMethodDefinition<FeatureFrameEnvelope, Ack>, 'responseDeserialize'> & { responseDeserialize: (bytes: Buffer) => AckOrMalformed };
} {
  const def = agentIngestServiceDefinition(limits);
  const decode = def.StreamFeatures.responseDeserialize;
  return {
    ...def,
    StreamFeatures: {
      ...def.StreamFeatures,
      responseDeserialize: (bytes: Buffer): AckOrMalformed => {
        try {
          return decode(bytes);
        } catch (err) {
          return { malformed: (err as Error).message };
        }
      },
    },
  };
}
