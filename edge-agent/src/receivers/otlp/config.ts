// Config of the OTLP metrics receiver (`receivers.otlp`). Keys are snake_case; every limit has
// a default; listeners bind loopback unless told otherwise.
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';

/** host:port, [ipv6]:port; port 0 picks a free port (tests). */
export const hostPort = () =>
  z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]*):\d{1,5}$/, 'must be host:port (e.g. "127.0.0.1:4318")')
    .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be <= 65535');

const HttpSchema = z
  .object({
    /** Listener of OTLP/HTTP (POST /v1/metrics). */
    endpoint: hostPort().default('127.0.0.1:4318'),
  })
  .strict();

const GrpcSchema = z
  .object({
    /** Listener of OTLP/gRPC (opentelemetry.proto.collector.metrics.v1.MetricsService/Export). */
    endpoint: hostPort().default('127.0.0.1:4317'),
  })
  .strict();

export const OtlpConfigSchema = z
  .object({
    /** null disables OTLP/HTTP. */
    http: HttpSchema.nullable().default({ endpoint: '127.0.0.1:4318' }),
    /** null disables OTLP/gRPC. */
    grpc: GrpcSchema.nullable().default({ endpoint: '127.0.0.1:4317' }),
    /** Largest request after decompression (HTTP body, gzip output, gRPC message). */
    max_request_bytes: byteSize({ min: 1024 }).default(16 * 1024 * 1024),
    /**
     * Protobuf messages, list items and JSON values one request may materialise: bounds the
     * memory of decoding (about 100 bytes each) independently of the byte size.
     */
    max_elements: z.number().int().min(1000).max(50_000_000).default(1_000_000),
    /** OTLP data points per request; a larger request is refused whole (413 / RESOURCE_EXHAUSTED). */
    max_data_points: z.number().int().min(1).max(10_000_000).default(100_000),
    /** Requests (HTTP and gRPC together) being read, decoded or handed downstream; beyond: 503 / UNAVAILABLE. */
    max_in_flight_requests: z.number().int().min(1).max(1024).default(4),
    /** Labels of one resulting series (resource labels + point attributes); beyond: the point is rejected. */
    max_labels_per_series: z.number().int().min(1).max(1024).default(64),
    max_label_name_bytes: z.number().int().min(8).max(65_536).default(256),
    /** Longest label value (strings, and arrays/maps/bytes after stringification); beyond: the point is rejected. */
    max_label_value_bytes: z.number().int().min(16).max(1_048_576).default(4096),
    /**
     * Resource attributes copied to labels besides the fixed ones (service.name -> service,
     * service.namespace -> service_namespace, service.instance.id -> instance, host.name -> host);
     * the label name is the attribute key with invalid characters replaced by "_".
     */
    resource_labels: z.array(z.string().min(1).max(256)).max(64).default([]),
    /** Series of delta temporality whose running total is kept; least recently updated evicted beyond. */
    max_delta_series: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Time allowed to receive one HTTP request, headers and body. */
    request_timeout: duration({ min: 100, max: 600_000 }).default(30_000),
  })
  .strict();

export type OtlpReceiverConfig = z.output<typeof OtlpConfigSchema>;
