// OTLP trace export requests (ExportTraceServiceRequest, OTLP/HTTP protobuf or JSON), reduced
// to what topology discovery needs: each span's service (resource attribute service.name),
// span id and parent span id. Written from the OTLP specification (trace/v1, collector/trace/v1);
// everything else in a span is skipped. Bounded: at most MAX_SPANS spans per request.
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';
import { COMMON_PROTO, RESOURCE_PROTO } from '../../../../edge-agent/src/receivers/otlp/index.js';

export const MAX_SPANS = 200_000;

const TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto.trace.v1;
message ResourceSpans {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
}
message ScopeSpans {
  repeated Span spans = 2;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
}
`;
const COLLECTOR_PROTO = `
syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;
message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}
`;

let requestType: Type | undefined;
function traceRequestType(): Type {
  if (!requestType) {
    const root = new protobuf.Root();
    for (const text of [COMMON_PROTO, RESOURCE_PROTO, TRACE_PROTO, COLLECTOR_PROTO]) protobuf.parse(text, root, { keepCase: false });
    requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  }
  return requestType;
}

export class TraceDecodeError extends CodedError<'BAD_TRACES'> {
  override name = 'TraceDecodeError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('BAD_TRACES', `${field} ${message}`);
  }
}

export interface SpanLink {
  service: string;
  /** Lower-case hex. */
  spanId: string;
  /** Lower-case hex; "" for a root span. */
  parentSpanId: string;
}

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '');
/** OTLP/JSON ids are hex strings (the spec's exception to base64 for bytes). */
const jsonId = (v: unknown, field: string): string => {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(v)) throw new TraceDecodeError(field, `must be a hex string (got ${JSON.stringify(v)?.slice(0, 40)})`);
  return v.toLowerCase();
};

interface Decoded {
  resourceSpans?: Array<{ resource?: { attributes?: Array<{ key?: string; value?: { stringValue?: string } }> }; scopeSpans?: Array<{ spans?: Array<{ spanId?: unknown; parentSpanId?: unknown }> }> }>;
}

function serviceOf(rs: NonNullable<Decoded['resourceSpans']>[number]): string {
  for (const a of rs.resource?.attributes ?? []) if (a?.key === 'service.name' && typeof a.value?.stringValue === 'string') return a.value.stringValue;
  return '';
}

function collect(d: Decoded, binary: boolean): SpanLink[] {
  const out: SpanLink[] = [];
  if (d.resourceSpans !== undefined && !Array.isArray(d.resourceSpans)) throw new TraceDecodeError('resourceSpans', 'must be an array');
  (d.resourceSpans ?? []).forEach((rs, i) => {
    if (typeof rs !== 'object' || rs === null) throw new TraceDecodeError(`resourceSpans[${i}]`, 'must be an object');
    const service = serviceOf(rs);
    const scopes = rs.scopeSpans ?? [];
    if (!Array.isArray(scopes)) throw new TraceDecodeError(`resourceSpans[${i}].scopeSpans`, 'must be an array');
    scopes.forEach((ss, j) => {
      const spans = ss?.spans ?? [];
      if (!Array.isArray(spans)) throw new TraceDecodeError(`resourceSpans[${i}].scopeSpans[${j}].spans`, 'must be an array');
      spans.forEach((s, k) => {
        if (out.length >= MAX_SPANS) throw new TraceDecodeError('(request)', `holds more than ${MAX_SPANS} spans: send smaller batches`);
        const f = `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`;
        const spanId = binary ? hex(s.spanId as Uint8Array) : jsonId(s?.spanId, `${f}.spanId`);
        const parentSpanId = binary ? hex(s.parentSpanId as Uint8Array) : jsonId(s?.parentSpanId, `${f}.parentSpanId`);
        if (spanId === '') throw new TraceDecodeError(`${f}.spanId`, 'is required');
        out.push({ service, spanId, parentSpanId });
      });
    });
  });
  return out;
}

/** Decodes an OTLP/HTTP protobuf body. */
export function decodeTraceProto(bytes: Uint8Array): SpanLink[] {
  let d: Decoded;
  try {
    d = traceRequestType().decode(bytes) as unknown as Decoded;
  } catch (err) {
    throw new TraceDecodeError('(body)', `is not an OTLP ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  return collect(d, true);
}

/** Decodes an OTLP/HTTP JSON body (already parsed). */
export function decodeTraceJson(body: unknown): SpanLink[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TraceDecodeError('(body)', 'must be an ExportTraceServiceRequest object');
  return collect(body as Decoded, false);
}
