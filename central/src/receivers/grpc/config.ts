// Config of central's gRPC agent ingest (the `grpc:` section): where AgentIngest listens, its
// TLS, message and flow-control limits and the keepalive policy agents are held to. Validated
// whole at start-up (CONVENTIONS 7); every block is strict; sizes and durations accept the
// config-file syntax ("8MiB", "30s").
//
// Plaintext policy: TLS (`tls`) is required unless the listen address is loopback
// (127.0.0.0/8, ::1, localhost: the embedded mode, an agent beside central) or `insecure: true`
// says so explicitly. Agent secrets travel in call metadata, so plaintext on a network
// exposes them; `insecure` exists for test rigs and for TLS terminated by a sidecar.
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';

const KiB = 1024;
const MiB = 1024 * 1024;

/**
 * Largest frame an agent may send (its exporters' max_frame_bytes ceiling, shared-schemas'
 * default maxCompressedBytes) plus room for the envelope around it.
 */
export const DEFAULT_MAX_MESSAGE = 8 * MiB + 64 * KiB;
/** Upper bound of max_message: the transport holds up to twice it for one message. */
export const MAX_MESSAGE_LIMIT = 64 * MiB;

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

/** Host and port of a `host:port` listen address (IPv6 in brackets); undefined when malformed. */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const m = LISTEN.exec(listen);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/** True for addresses only this host can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

const fileSchema = z.string().min(1, 'must be a file path');

export const grpcIngestTlsSchema = z
  .object({
    /** PEM certificate chain central presents. */
    cert_file: fileSchema,
    /** PEM private key of cert_file. */
    key_file: fileSchema,
    /** PEM CA bundle that client certificates are verified against (needed for require_client_cert). */
    ca_file: fileSchema.optional(),
    /**
     * Refuse TLS handshakes without a client certificate signed by ca_file (mTLS). A verified
     * certificate's CN then authenticates an enrolled agent when a call carries no secret.
     */
    require_client_cert: z.boolean().default(false),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.require_client_cert && t.ca_file === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required when require_client_cert is true (client certificates are verified against it)', path: ['ca_file'] });
    }
  });

export const grpcIngestConfigSchema = z
  .object({
    /** When false the component starts nothing (the factory still validates the section). */
    enabled: z.boolean().default(true),
    /** host:port of AgentIngest; port 0 picks a free port (tests). IPv6 as [addr]:port. */
    listen: z
      .string()
      .refine((v) => parseListen(v) !== undefined, 'must be host:port with a port <= 65535, e.g. 127.0.0.1:7443')
      .default('127.0.0.1:7443'),
    /** Accept plaintext on a non-loopback listen address (secrets then cross the network in clear). */
    insecure: z.boolean().default(false),
    tls: grpcIngestTlsSchema.optional(),
    /**
     * Largest message (a FeatureFrameEnvelope or an AlertBatch) accepted. A bigger one, up to
     * twice this, is answered `rejected` and counted while its stream goes on; beyond twice this
     * the transport ends that stream with RESOURCE_EXHAUSTED without reading it.
     */
    max_message: byteSize({ min: 1024 })
      .pipe(z.number().max(MAX_MESSAGE_LIMIT, `must be <= ${MAX_MESSAGE_LIMIT} bytes (64MiB)`))
      .default(DEFAULT_MAX_MESSAGE),
    /**
     * Frames (or alert batches) of one stream being processed at once; at this count central
     * stops reading that stream (HTTP/2 flow control pushes back on the agent) until one
     * completes. Keep it <= the FrameIngest's maxInFlightPerSession (both default 64, the
     * agents' max_in_flight) so agents see flow control rather than `retry` answers.
     */
    max_in_flight_per_stream: z.number().int().min(1).max(10_000).default(64),
    /** StreamFeatures and PushAlerts calls open at once, all agents together; beyond it RESOURCE_EXHAUSTED (agents retry). */
    max_streams: z.number().int().min(1).max(1_000_000).default(10_000),
    keepalive: z
      .object({
        /** Central pings a connection idle this long (dead agents are noticed). */
        time: duration({ min: 1000, max: 86_400_000 }).default(60_000),
        /** A ping unanswered this long closes the connection. */
        timeout: duration({ min: 100, max: 600_000 }).default(20_000),
        /**
         * Fastest client ping rate permitted: must stay <= the agents' keepalive.time (30s by
         * default). Passed as grpc.http2.min_ping_interval_without_data_ms; grpc-js 1.14 does
         * not enforce it, servers that do (grpc-core) would answer faster pings with GOAWAY.
         */
        min_ping_interval: duration({ min: 1000, max: 3_600_000 }).default(10_000),
        /** Agents ping with no stream open (their default): permitted. */
        permit_without_stream: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** shutdown() waits this long for frames in flight and for streams to end, then cuts every connection. */
    shutdown_grace: duration({ min: 0, max: 600_000 }).default(5_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const listen = parseListen(c.listen);
    if (listen === undefined) return;
    if (c.tls !== undefined && c.insecure) {
      ctx.addIssue({ code: 'custom', message: 'cannot be true when tls is set', path: ['insecure'] });
    }
    if (c.tls === undefined && !c.insecure && !isLoopbackHost(listen.host)) {
      ctx.addIssue({
        code: 'custom',
        message: `is required when listen (${c.listen}) is not a loopback address (agent secrets would cross the network in clear); set insecure: true to accept plaintext anyway`,
        path: ['tls'],
      });
    }
  });

export type GrpcIngestConfig = z.output<typeof grpcIngestConfigSchema>;
export type GrpcIngestConfigInput = z.input<typeof grpcIngestConfigSchema>;
