// Config of the grpc exporter (AgentIngest.StreamFeatures to central).
import { z } from 'zod';
import { duration } from '../../../../shared-schemas/src/runtime/index.js';
import { refineCertPair, refineSender, senderConfigShape, tlsFilesShape } from '../internal/index.js';

export const grpcTlsConfigSchema = z
  .object({
    /** Plaintext (no TLS). Off by default: only for loopback and tests. */
    insecure: z.boolean().default(false),
    ...tlsFilesShape,
  })
  .strict()
  .superRefine(refineCertPair);

export const grpcExporterConfigSchema = z
  .object({
    /** Central's AgentIngest endpoint, host:port (IPv6 as [addr]:port). */
    endpoint: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/, 'must be host:port'),
    tls: grpcTlsConfigSchema.prefault({}),
    keepalive: z
      .object({
        /** HTTP/2 ping interval on an idle connection (central must permit it). */
        time: duration({ min: 1000, max: 3_600_000 }).default(30_000),
        /** A ping unanswered this long closes the connection. */
        timeout: duration({ min: 100, max: 600_000 }).default(10_000),
        permit_without_stream: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    ...senderConfigShape,
  })
  .strict()
  .superRefine(refineSender);

export type GrpcExporterConfig = z.output<typeof grpcExporterConfigSchema>;
