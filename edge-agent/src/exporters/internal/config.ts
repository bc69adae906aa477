// Config pieces shared by the frame exporters (mqtt, grpc): framing, sending, retry, TLS and the
// store-and-forward buffer. Keys are snake_case; every block is strict.
import { z } from 'zod';
import { bufferConfigSchema } from '../../buffer/config.js';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';

/** Codecs usable in the single executable (snappy needs a native addon there). */
export const COMPRESSIONS = ['brotli', 'gzip', 'deflate', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** Hard ceiling of a frame (shared-schemas' default decode limit, maxCompressedBytes). */
export const MAX_FRAME_BYTES_LIMIT = 8 * 1024 * 1024;

export const retryConfigSchema = z
  .object({
    /** First delay after a failure. */
    initial_interval: duration({ min: 10, max: 600_000 }).default(1000),
    /** Cap of the delay. */
    max_interval: duration({ min: 10, max: 3_600_000 }).default(30_000),
    multiplier: z.number().min(1).max(10).default(2),
    /** Each delay is multiplied by a random factor in [1 - jitter, 1 + jitter] (then capped). */
    jitter: z.number().min(0).max(1).default(0.5),
  })
  .strict()
  .refine((r) => r.initial_interval <= r.max_interval, { message: 'initial_interval must be <= max_interval', path: ['initial_interval'] });

export type RetryConfig = z.output<typeof retryConfigSchema>;

const fileSchema = z.string().min(1, 'must be a file path');

export const tlsFilesShape = {
  /** PEM CA bundle to verify the server with (default: the system roots). */
  ca_file: fileSchema.optional(),
  /** PEM client certificate (client-certificate / mTLS authentication); needs key_file. */
  cert_file: fileSchema.optional(),
  /** PEM private key of cert_file. */
  key_file: fileSchema.optional(),
  /** Skips verification of the server certificate. For tests only: it allows interception. */
  insecure_skip_verify: z.boolean().default(false),
  /** Name to verify the server certificate against (default: the host of the endpoint). */
  server_name: z.string().min(1).optional(),
};

export function refineCertPair<T extends { cert_file?: string | undefined; key_file?: string | undefined }>(t: T, ctx: z.RefinementCtx): void {
  if ((t.cert_file === undefined) !== (t.key_file === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'cert_file and key_file must be set together', path: [t.cert_file === undefined ? 'cert_file' : 'key_file'] });
  }
}

/** Keys common to every frame exporter. */
export const senderConfigShape = {
  /** Compression of stored and sent frames (brotli quality 5, measured in decision 003). */
  compression: z.enum(COMPRESSIONS).default('brotli'),
  /** Rows (series) per frame; a larger window is split into several frames. */
  max_rows_per_frame: z.number().int().min(1).max(250_000).default(10_000),
  /** Bytes per compressed frame; a frame above it is split (a single row above it is dropped). */
  max_frame_bytes: byteSize({ min: 1024 })
    .pipe(z.number().max(MAX_FRAME_BYTES_LIMIT, `must be <= ${MAX_FRAME_BYTES_LIMIT} bytes (8MiB, the receivers' limit)`))
    .default(1024 * 1024),
  /** Series held by the per-connection dictionary (and the buffer's standalone one). */
  max_series: z.number().int().min(1).max(2_000_000).default(100_000),
  /** Frames sent and not yet acknowledged, at most. */
  max_in_flight: z.number().int().min(1).max(10_000).default(64),
  /** A frame unacknowledged this long means the connection is broken: reconnect and resend. */
  ack_timeout: duration({ min: 100, max: 3_600_000 }).default(30_000),
  /** Frames per second sent from the backlog after a (re)connect (live frames queue behind it). */
  replay_rate: z.number().positive().max(1_000_000).default(20),
  /** A frame whose connection failed this many times while it was the oldest unacknowledged one is dropped (reason attempts_exhausted). */
  max_frame_attempts: z.number().int().min(1).max(1_000_000).default(10),
  heartbeat_interval: duration({ min: 1000, max: 3_600_000 }).default(30_000),
  connect_timeout: duration({ min: 100, max: 600_000 }).default(10_000),
  /** At shutdown, how long to wait for the acknowledgements of frames in flight. */
  shutdown_timeout: duration({ min: 0, max: 600_000 }).default(5_000),
  retry: retryConfigSchema.prefault({}),
  buffer: bufferConfigSchema.prefault({}),
};

/** The resolved common keys (what the shared sender needs). */
export interface SenderConfig {
  compression: Compression;
  max_rows_per_frame: number;
  max_frame_bytes: number;
  max_series: number;
  max_in_flight: number;
  ack_timeout: number;
  replay_rate: number;
  max_frame_attempts: number;
  heartbeat_interval: number;
  connect_timeout: number;
  shutdown_timeout: number;
  retry: RetryConfig;
  buffer: z.output<typeof bufferConfigSchema>;
}

/** Cross-field checks of the common keys. */
export function refineSender(c: { max_rows_per_frame: number; max_series: number }, ctx: z.RefinementCtx): void {
  if (c.max_rows_per_frame > c.max_series) {
    ctx.addIssue({ code: 'custom', message: `max_rows_per_frame (${c.max_rows_per_frame}) must be <= max_series (${c.max_series})`, path: ['max_rows_per_frame'] });
  }
}
