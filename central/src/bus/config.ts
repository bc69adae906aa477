// Config of central's `bus:` section (ARCHITECTURE sections 4 and 6): what joins central's roles
// when they run in separate processes.
//   in-process  the default: one process runs every role (`role: all`), frames go straight from
//               ingest to the store and the detector; nothing crosses a process boundary.
//   kafka       roles in separate processes (`--role ingest`, `--role detect`, ...) joined by
//               Kafka topics: the ingest role publishes feature records, the detect role's
//               consumer group stores and scores them.
// Secrets (SASL password) come from the file or AIOPS_CENTRAL__BUS__KAFKA__SASL__PASSWORD and
// are never logged (the config printer hides secret-named keys).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { duration } from '../../../shared-schemas/src/runtime/index.js';
import type { KafkaBusConfig } from './kafka-bus.js';

const broker = z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. kafka-0.kafka:9092');

const kafkaSchema = z
  .object({
    /** Bootstrap brokers. */
    brokers: z.array(broker).min(1, 'name at least one broker'),
    client_id: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be 1-249 characters [a-zA-Z0-9._-]').default('aiops-central'),
    /** Replication factor of the topics central creates (3 on a production cluster). */
    replication_factor: z.number().int().min(1).max(100).default(1),
    tls: z
      .object({
        enabled: z.boolean().default(false),
        /** PEM CA bundle the brokers' certificates are checked against (default: the system's). */
        ca_file: z.string().min(1).optional(),
        /** Client certificate and key (mTLS). */
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
      })
      .strict()
      .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), { message: 'cert_file and key_file go together' })
      .prefault({}),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string().min(1),
        password: z.string().min(1),
      })
      .strict()
      .optional(),
    /** How long a publish keeps retrying an unavailable cluster before the frames are answered retry. */
    request_timeout: duration({ min: 100 }).default(30_000),
    /** A consumer silent this long is dropped from its group (its partitions move). */
    session_timeout: duration({ min: 1000 }).default(10_000),
  })
  .strict();

export const busConfigSchema = z
  .object({
    kind: z.enum(['in-process', 'kafka']).default('in-process'),
    /** Partitions of the topics central creates (existing topics are kept as they are). */
    partitions: z.number().int().min(1).max(10_000).default(6),
    kafka: kafkaSchema.optional(),
  })
  .strict()
  .refine((b) => b.kind !== 'kafka' || b.kafka !== undefined, { message: 'kind kafka needs a kafka section with brokers', path: ['kafka'] });

export type BusConfig = z.output<typeof busConfigSchema>;

/** The KafkaBus options of a validated `bus.kafka` section (reads the TLS files). */
export function kafkaBusConfig(k: NonNullable<BusConfig['kafka']>): KafkaBusConfig {
  const read = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f));
  const ca = read(k.tls.ca_file);
  const cert = read(k.tls.cert_file);
  const key = read(k.tls.key_file);
  return {
    brokers: k.brokers,
    clientId: k.client_id,
    replicationFactor: k.replication_factor,
    requestTimeoutMs: k.request_timeout,
    sessionTimeoutMs: k.session_timeout,
    ...(k.tls.enabled ? { ssl: ca || cert ? { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } : true } : {}),
    ...(k.sasl !== undefined ? { sasl: { mechanism: k.sasl.mechanism, username: k.sasl.username, password: k.sasl.password } as KafkaBusConfig['sasl'] & object } : {}),
  };
}
