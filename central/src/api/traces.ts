// OTLP/HTTP traces into topology discovery: POST /api/v1/otlp/v1/traces (an OpenTelemetry
// SDK exporter's `url`, or a Collector otlphttp exporter's `endpoint: <central>/api/v1/otlp`,
// with an API key as a bearer header). Protobuf (application/x-protobuf) and JSON bodies; spans are read for their
// service-to-service calls only (central stores no traces). Success is OTLP's empty
// ExportTraceServiceResponse.
import { z } from 'zod';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { decodeTraceJson, decodeTraceProto, TraceDecodeError } from '../receivers/traces/decode.js';
import type { TraceDiscovery } from '../topology/index.js';
import { ERR, tenantOf } from './common.js';

export interface TraceRoutesDeps {
  discovery: TraceDiscovery;
  maxBodyBytes: number;
}

export function registerTraceRoutes(gateway: Gateway, deps: TraceRoutesDeps): void {
  gateway.route({
    method: 'POST',
    path: '/api/v1/otlp/v1/traces',
    scope: 'write',
    summary: 'OTLP/HTTP traces (protobuf or JSON): cross-service calls become CALLS edges of the topology',
    tags: ['topology'],
    body: z.unknown(),
    rawBody: { contentTypes: ['application/x-protobuf'] },
    bodyLimitBytes: deps.maxBodyBytes,
    responses: { 200: { description: 'Accepted (an empty ExportTraceServiceResponse)' }, 400: ERR[400], 413: ERR[413] },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      try {
        if (ctx.raw !== undefined) {
          const enc = ctx.raw.contentEncoding?.toLowerCase();
          if (enc !== undefined && enc !== 'identity') throw new ApiError(415, 'unsupported_media_type', `Content-Encoding "${enc.slice(0, 40)}" is not supported: send uncompressed protobuf`);
          deps.discovery.consumeSpans(tenant, decodeTraceProto(ctx.raw.bytes));
          return { status: 200, body: Buffer.alloc(0), contentType: 'application/x-protobuf' };
        }
        deps.discovery.consumeSpans(tenant, decodeTraceJson(ctx.body));
        return { status: 200, body: {} };
      } catch (err) {
        if (err instanceof TraceDecodeError) throw new ApiError(400, 'invalid_request', err.message, { field: `body.${err.field}` });
        throw err;
      }
    },
  });
}
