// Config of the Prometheus remote-write 1.0 receiver (`receivers.remotewrite`). Keys are
// snake_case; every limit has a default; the listener binds loopback unless told otherwise.
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';
import { hostPort } from '../otlp/config.js';

export const RemoteWriteConfigSchema = z
  .object({
    /** Listener; requests are accepted at POST /api/v1/write. */
    endpoint: hostPort().default('127.0.0.1:9201'),
    /** Largest WriteRequest after snappy decompression (checked on the snappy length header, before decompressing). */
    max_request_bytes: byteSize({ min: 1024 }).default(8 * 1024 * 1024),
    /** Time series per request; a larger request is refused whole (413). */
    max_series_per_request: z.number().int().min(1).max(10_000_000).default(20_000),
    /** Samples per request, all series together; a larger request is refused whole (413). */
    max_samples_per_request: z.number().int().min(1).max(50_000_000).default(100_000),
    /** Labels of one series, __name__ included; a series with more is dropped (400 after the rest is accepted). */
    max_labels_per_series: z.number().int().min(1).max(1024).default(64),
    max_label_name_bytes: z.number().int().min(8).max(65_536).default(256),
    max_label_value_bytes: z.number().int().min(16).max(1_048_576).default(4096),
    /** Metric families whose type/unit metadata is remembered (least recently updated evicted beyond). */
    max_metadata_families: z.number().int().min(0).max(1_000_000).default(10_000),
    /** Requests being read, decoded or handed downstream; beyond: 503 with Retry-After (Prometheus retries 5xx). */
    max_in_flight_requests: z.number().int().min(1).max(1024).default(4),
    /** Time allowed to receive one request, headers and body. */
    request_timeout: duration({ min: 100, max: 600_000 }).default(30_000),
  })
  .strict();

export type RemoteWriteReceiverConfig = z.output<typeof RemoteWriteConfigSchema>;
