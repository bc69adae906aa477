// The aiops.v1 schema as protobufjs reflection, parsed once (lazily) from the embedded .proto
// text: nothing is read from disk at run time, so the agent can be bundled into one CommonJS
// file (docs/decisions/002-protobuf-library.md). Also the guarded binary encode/decode used by
// every message codec.
import protobuf from 'protobufjs';
import type { Enum, Message, Reader, Root, Service, Type } from 'protobufjs';
import type { DecodeLimits } from './config.js';
import { SchemaDecodeError, describe } from './errors.js';
import { AIOPS_PROTO_SOURCE } from './proto-source.js';
import { fail } from './validate.js';

/** Names of the message types of package aiops.v1 used by the codecs. */
export type MessageName =
  | 'Label'
  | 'MetricPoint'
  | 'MetricBatch'
  | 'SeriesDef'
  | 'FeatureColumns'
  | 'FeatureFrame'
  | 'FeatureFrameEnvelope'
  | 'Ack'
  | 'Alert'
  | 'AlertBatch'
  | 'Anomaly'
  | 'RootCause'
  | 'Incident'
  | 'RunbookStepResult'
  | 'RunbookExecution'
  | 'Heartbeat'
  | 'HeartbeatAck';

const MESSAGE_NAMES: readonly MessageName[] = [
  'Label', 'MetricPoint', 'MetricBatch', 'SeriesDef', 'FeatureColumns', 'FeatureFrame',
  'FeatureFrameEnvelope', 'Ack', 'Alert', 'AlertBatch', 'Anomaly', 'RootCause', 'Incident',
  'RunbookStepResult', 'RunbookExecution', 'Heartbeat', 'HeartbeatAck',
];

/** Protobuf package of the contracts. */
export const AIOPS_PACKAGE = 'aiops.v1';

interface Loaded {
  root: Root;
  types: Record<MessageName, Type>;
}

// The parsed schema is an immutable derivative of a constant, shared by every caller.
let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded !== undefined) return loaded;
  const { root } = protobuf.parse(AIOPS_PROTO_SOURCE, { keepCase: false });
  root.resolveAll();
  const types = {} as Record<MessageName, Type>;
  for (const name of MESSAGE_NAMES) types[name] = root.lookupType(`${AIOPS_PACKAGE}.${name}`);
  loaded = { root, types };
  return loaded;
}

/**
 * The protobufjs Root of package aiops.v1 (e.g. to build a gRPC service definition).
 * Treat it as read-only: it is shared.
 */
export function aiopsRoot(): Root {
  return load().root;
}

export function messageType(name: MessageName): Type {
  return load().types[name];
}

export function serviceType(name: 'AgentIngest'): Service {
  return load().root.lookupService(`${AIOPS_PACKAGE}.${name}`);
}

export function enumType(name: string): Enum {
  return load().root.lookupEnum(`${AIOPS_PACKAGE}.${name}`);
}

/** Encodes a plain object already shaped for protobufjs (validated by the caller). */
export function encodeMessage(name: MessageName, value: object): Uint8Array {
  return messageType(name).encode(value).finish();
}

const FIXED64 = new Set(['double', 'fixed64', 'sfixed64']);
const FIXED32 = new Set(['float', 'fixed32', 'sfixed32']);
const VARINT = new Set(['int32', 'uint32', 'sint32', 'int64', 'uint64', 'sint64', 'bool']);

interface Budget {
  left: number;
}

/**
 * Counts the elements (sub-messages and repeated scalar values) a payload would materialise,
 * without allocating, and stops as soon as the budget is spent. Protobufjs's Reader does the
 * wire reading; any structural error surfaces here or in the real decode.
 */
function countElements(type: Type, reader: Reader, end: number, budget: Budget, depth: number): void {
  if (depth > 32) throw new Error('max depth exceeded');
  const fields = type.fieldsById;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new Error('illegal tag: field number 0');
    const field = fields[id];
    if (field === undefined) {
      reader.skipType(wireType, 0, id);
      continue;
    }
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type && wireType === 2) {
      const length = reader.uint32();
      const subEnd = reader.pos + length;
      if (subEnd > end) throw new RangeError(`index out of range: ${reader.pos} + ${length} > ${end}`);
      if (--budget.left < 0) return;
      countElements(resolved, reader, subEnd, budget, depth + 1);
      if (budget.left < 0) return;
      reader.pos = subEnd;
      continue;
    }
    if (field.repeated && wireType === 2 && !(resolved instanceof protobuf.Type) && field.type !== 'string' && field.type !== 'bytes') {
      const length = reader.uint32();
      const start = reader.pos;
      if (start + length > end) throw new RangeError(`index out of range: ${start} + ${length} > ${end}`);
      let count: number;
      if (FIXED64.has(field.type)) count = Math.ceil(length / 8);
      else if (FIXED32.has(field.type)) count = Math.ceil(length / 4);
      else if (VARINT.has(field.type) || resolved !== null) {
        // Varint elements (enums too): one element ends at every byte without the high bit.
        count = 0;
        const buf = reader.buf;
        for (let i = start; i < start + length; i++) if (((buf[i] as number) & 0x80) === 0) count++;
      } else count = length;
      budget.left -= count;
      if (budget.left < 0) return;
      reader.pos = start + length;
      continue;
    }
    if (field.repeated) budget.left -= 1;
    if (budget.left < 0) return;
    reader.skipType(wireType, 0, id);
  }
}

/**
 * Decodes protobuf bytes with bounded work and memory: the size limit, then an element budget
 * (limits.maxElements) are checked before protobufjs materialises the message. Every failure
 * is a SchemaDecodeError.
 */
export function decodeMessage(name: MessageName, bytes: Uint8Array, limits: DecodeLimits): Message {
  if (!(bytes instanceof Uint8Array)) fail(name, `input must be a Uint8Array (got ${typeof bytes})`);
  if (bytes.length > limits.maxUncompressedBytes) {
    fail(name, `${bytes.length} bytes exceed the limit ${limits.maxUncompressedBytes}`, 'TOO_LARGE');
  }
  const type = messageType(name);
  const budget: Budget = { left: limits.maxElements };
  try {
    const reader = protobuf.Reader.create(bytes);
    countElements(type, reader, bytes.length, budget, 0);
  } catch (err) {
    throw new SchemaDecodeError('MALFORMED_PROTOBUF', `${name}: malformed protobuf: ${describe(err)}`, { field: name, cause: err });
  }
  if (budget.left < 0) {
    fail(name, `more than ${limits.maxElements} elements (limits.maxElements)`, 'TOO_LARGE');
  }
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new SchemaDecodeError('MALFORMED_PROTOBUF', `${name}: malformed protobuf: ${describe(err)}`, { field: name, cause: err });
  }
}

/** A protobufjs int64 value: a Long when the `long` package is present, else a number. */
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

/** Converts a decoded 64-bit field to a JS number; values outside the safe range are refused. */
export function longToNumber(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) fail(field, `64-bit value ${value} outside the safe integer range`);
    return value;
  }
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) {
    const v = value as LongLike;
    const high = v.unsigned ? v.high >>> 0 : v.high | 0;
    const n = high * 0x1_0000_0000 + (v.low >>> 0);
    if (!Number.isSafeInteger(n)) fail(field, `64-bit value outside the safe integer range (high=${high}, low=${v.low >>> 0})`);
    return n;
  }
  return fail(field, `expected a 64-bit integer (got ${typeof value})`);
}
