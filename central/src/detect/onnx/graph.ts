// ONNX models written from TypeScript (decision 024): the part of ONNX's `onnx.proto` the
// project's graphs use, encoded with protobufjs (the project's protobuf library, decision 002)
// instead of a second protobuf runtime. Field numbers are ONNX's (onnx/onnx.proto, Apache-2.0,
// IR version 8); fields the project does not write are left out, and a reader ignores nothing
// it needs: ONNX Runtime loads every model this file encodes (onnx.test.ts runs them).
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';

const ONNX_SUBSET = `
syntax = "proto2";
package onnx;
message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  optional int32 type = 20;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string domain = 7;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

/** TensorProto.DataType values used here. */
const FLOAT = 1;
const INT64 = 7;
/** AttributeProto.AttributeType values. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
const IR_VERSION = 8;
/** Default opset of the standard domain (ONNX Runtime 1.30 supports up to 23). */
export const DEFAULT_OPSET = 17;

let modelType: Type | undefined;
function model(): Type {
  modelType ??= protobuf.parse(ONNX_SUBSET, { keepCase: false }).root.lookupType('onnx.ModelProto');
  return modelType;
}

export type OnnxGraphErrorCode = 'INVALID_GRAPH';
export class OnnxGraphError extends CodedError<OnnxGraphErrorCode> {
  override name = 'OnnxGraphError';
}

/** A dimension: a fixed size, or a name for a size given at run time (e.g. "batch"). */
export type Dim = number | string;
export type AttributeValue = number | string | readonly number[];

export interface GraphNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Attributes; integers must be written as `{ int: n }` where ONNX wants an int. */
  attributes?: Readonly<Record<string, AttributeValue | { int: number } | { ints: readonly number[] }>>;
  name?: string;
}

export interface GraphSpec {
  name: string;
  /** float32 inputs and outputs with their shapes. */
  inputs: ReadonlyArray<{ name: string; dims: readonly Dim[] }>;
  outputs: ReadonlyArray<{ name: string; dims: readonly Dim[] }>;
  nodes: readonly GraphNode[];
  /** Constant tensors: float32 weights, int64 shapes, indices and sizes (TopK's k, Slice's starts). */
  initializers?: ReadonlyArray<{ name: string; dims: readonly number[]; data: Float32Array | BigInt64Array }>;
  opset?: number;
  /** Stored in the model's metadata_props (version, training digest, ...). */
  metadata?: Readonly<Record<string, string>>;
  producerVersion?: string;
}

function attribute(name: string, v: NonNullable<GraphNode['attributes']>[string]): Record<string, unknown> {
  if (typeof v === 'number') return { name, type: ATTR.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: ATTR.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: ATTR.FLOATS, floats: v };
  if ('int' in v) return { name, type: ATTR.INT, i: v.int };
  if ('ints' in v) return { name, type: ATTR.INTS, ints: v.ints };
  throw new OnnxGraphError('INVALID_GRAPH', `attribute ${name}: unsupported value`, false);
}

function valueInfo(name: string, dims: readonly Dim[]): Record<string, unknown> {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

/** Encodes a graph as ONNX model bytes. Checks names so a mistake is named here, not by the runtime. */
export function encodeOnnxModel(g: GraphSpec): Uint8Array {
  const known = new Set<string>();
  for (const i of g.inputs) known.add(i.name);
  for (const t of g.initializers ?? []) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new OnnxGraphError('INVALID_GRAPH', `initializer ${t.name}: ${t.data.length} values for dims [${t.dims.join(', ')}] (${n})`, false);
    known.add(t.name);
  }
  g.nodes.forEach((node, k) => {
    for (const i of node.inputs) if (i !== '' && !known.has(i)) throw new OnnxGraphError('INVALID_GRAPH', `node ${k} (${node.op}): input "${i}" is not a graph input, an initializer or an earlier node's output`, false);
    for (const o of node.outputs) known.add(o);
  });
  for (const o of g.outputs) if (!known.has(o.name)) throw new OnnxGraphError('INVALID_GRAPH', `graph output "${o.name}" is produced by no node`, false);
  const T = model();
  const msg = T.create({
    irVersion: IR_VERSION,
    producerName: 'aiops-central',
    producerVersion: g.producerVersion ?? '',
    opsetImport: [{ domain: '', version: g.opset ?? DEFAULT_OPSET }],
    metadataProps: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      input: g.inputs.map((i) => valueInfo(i.name, i.dims)),
      output: g.outputs.map((o) => valueInfo(o.name, o.dims)),
      initializer: (g.initializers ?? []).map((t) => ({ name: t.name, dims: [...t.dims], dataType: t.data instanceof BigInt64Array ? INT64 : FLOAT, rawData: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) })),
      node: g.nodes.map((n, k) => ({
        opType: n.op,
        input: [...n.inputs],
        output: [...n.outputs],
        name: n.name ?? `${n.op}_${k}`,
        attribute: Object.entries(n.attributes ?? {}).map(([name, v]) => attribute(name, v)),
      })),
    },
  });
  return T.encode(msg).finish();
}
