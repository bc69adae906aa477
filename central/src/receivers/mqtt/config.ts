// Config of central's `mqtt:` section: how feature frames, heartbeats and alerts arrive over
// MQTT (ARCHITECTURE sections 4 and 6). Three modes:
//   embedded  an aedes broker inside central (the default deployment): central is the broker,
//             authenticates every agent against the AgentStore and enforces the topic ACL.
//   external  central subscribes to an external broker (Mosquitto, EMQX) with a persistent
//             session; that broker authenticates the agents and enforces the ACL.
//   off       no MQTT at all (agents use gRPC).
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';

/** Same rule as the agent's exporter: a topic without wildcards or leading/trailing "/". */
const TOPIC_PREFIX_RE = /^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$/;
const LISTEN_RE = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
/** MQTT client ids central uses on an external broker (same alphabet as agent ids). */
const CLIENT_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/**
 * The broker never buffers a packet larger than max_payload plus the largest topic (65,535
 * bytes) and fixed fields, so the payload limit stays below MQTT's 256 MiB packet limit.
 */
export const MAX_PAYLOAD_LIMIT = 256 * 1024 * 1024 - 128 * 1024;
export const DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024;

const file = z.string().min(1, 'must be a file path');

const listen = z
  .string()
  .regex(LISTEN_RE, 'must be host:port, e.g. 127.0.0.1:1883')
  .refine((s) => Number(LISTEN_RE.exec(s)?.[2]) <= 65_535, 'port must be <= 65535');

/** The embedded broker's TLS listener (mqtts). */
const listenerTlsSchema = z
  .object({
    /** PEM server certificate (chain) and its key. */
    cert_file: file,
    key_file: file,
    /** PEM CA bundle client certificates are verified against; required with require_client_cert. */
    ca_file: file.optional(),
    /**
     * Agents must present a certificate signed by ca_file; its subject CN is the agent id
     * (the agent must be enrolled and not revoked) and no password is needed.
     */
    require_client_cert: z.boolean().default(false),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.require_client_cert && t.ca_file === undefined) ctx.addIssue({ code: 'custom', message: 'require_client_cert needs ca_file (the CA client certificates are verified against)', path: ['ca_file'] });
  });

const externalTlsSchema = z
  .object({
    /** PEM CA bundle to verify the broker with (default: the system roots). */
    ca_file: file.optional(),
    /** PEM client certificate for the broker (mTLS); needs key_file. */
    cert_file: file.optional(),
    key_file: file.optional(),
    /** Name to verify the broker certificate against (default: the URL's host). */
    server_name: z.string().min(1).optional(),
    /** Skips verification of the broker certificate. Tests only: it allows interception. */
    insecure_skip_verify: z.boolean().default(false),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) ctx.addIssue({ code: 'custom', message: 'cert_file and key_file must be set together', path: [t.cert_file === undefined ? 'cert_file' : 'key_file'] });
  });

const externalSchema = z
  .object({
    /** Broker URL, mqtt://host:port or mqtts://host:port. Credentials go in username/password. */
    url: z.string().superRefine((u, ctx) => {
      // Errors show the URL with any userinfo masked: it may hold a password.
      const input = u.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1***@');
      if (!/^mqtts?:\/\/[^\s]+$/.test(u)) ctx.addIssue({ code: 'custom', message: 'must be an mqtt:// or mqtts:// URL', input });
      else if (/^mqtts?:\/\/[^/]*@/.test(u)) ctx.addIssue({ code: 'custom', message: 'must not contain credentials: use username and password', input });
    }),
    username: z.string().min(1).max(65_535).optional(),
    /** Secret: use ${env:NAME} to keep it out of the file; never logged nor echoed in errors. */
    password: z.string().max(65_535).optional(),
    /** Central's MQTT client id: its persistent session on the broker (keep it stable across restarts). */
    client_id: z.string().regex(CLIENT_ID_RE, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -').default('aiops-central'),
    tls: externalTlsSchema.prefault({}),
    keepalive: duration({ min: 1000, max: 65_535_000 }).default(30_000),
    connect_timeout: duration({ min: 100, max: 600_000 }).default(10_000),
    /** Reconnect delays: jittered exponential backoff between these bounds. */
    reconnect: z
      .object({
        initial_interval: duration({ min: 10, max: 600_000 }).default(1000),
        max_interval: duration({ min: 10, max: 3_600_000 }).default(30_000),
      })
      .strict()
      .refine((r) => r.initial_interval <= r.max_interval, { message: 'initial_interval must be <= max_interval', path: ['initial_interval'] })
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.password !== undefined && c.username === undefined) ctx.addIssue({ code: 'custom', message: 'password needs username', path: ['username'] });
    const tlsSet = c.tls.ca_file !== undefined || c.tls.cert_file !== undefined || c.tls.insecure_skip_verify || c.tls.server_name !== undefined;
    if (tlsSet && c.url.startsWith('mqtt://')) ctx.addIssue({ code: 'custom', message: 'TLS options need an mqtts:// url', path: ['tls'] });
  });

export const mqttIngestConfigSchema = z
  .object({
    mode: z.enum(['embedded', 'external', 'off']).default('embedded'),
    /** Topics are `<topic_prefix>/<tenant>/agents/<agent id>/<kind>`; must match the agents' exporters. */
    topic_prefix: z.string().regex(TOPIC_PREFIX_RE, 'must be a topic without wildcards or leading/trailing "/"').default('aiops/v1'),
    /**
     * Largest message payload. Embedded: a larger PUBLISH closes the sender's connection (it is
     * never buffered whole); keep the agents' max_frame_bytes below it. External: larger messages
     * are acknowledged and dropped (set the broker's own limit, e.g. Mosquitto message_size_limit).
     */
    max_payload: byteSize({ min: 1024 })
      .pipe(z.number().max(MAX_PAYLOAD_LIMIT, `must be <= ${MAX_PAYLOAD_LIMIT} bytes`))
      .default(DEFAULT_MAX_PAYLOAD),
    /**
     * Embedded: messages of one agent connection being processed at once (frames awaiting their
     * PUBACK); a message beyond it is treated as `retry` (connection closed, the agent resends).
     * Keep the agents' exporter max_in_flight at or below it (both default 64).
     */
    max_in_flight_per_agent: z.number().int().min(1).max(10_000).default(64),
    /** Embedded: where the broker listens. Port 0 picks a free port (tests). */
    listen: listen.default('127.0.0.1:1883'),
    /** Embedded: serve mqtts on `listen` instead of plain MQTT. */
    tls: listenerTlsSchema.optional(),
    /** External: the broker central subscribes to. Required with mode external. */
    external: externalSchema.optional(),
    /** At shutdown, how long to wait for messages being stored (their acknowledgements). */
    shutdown_timeout: duration({ min: 0, max: 600_000 }).default(5000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mode === 'external' && c.external === undefined) ctx.addIssue({ code: 'custom', message: 'is required with mode: external (at least external.url)', path: ['external'] });
    if (c.mode !== 'external' && c.external !== undefined) ctx.addIssue({ code: 'custom', message: `is only used with mode: external (mode is ${c.mode})`, path: ['external'] });
    if (c.mode !== 'embedded' && c.tls !== undefined) ctx.addIssue({ code: 'custom', message: 'configures the embedded broker\'s listener; with mode: external use external.tls', path: ['tls'] });
  });

export type MqttIngestConfig = z.output<typeof mqttIngestConfigSchema>;
/** What a config file may contain (durations and sizes as text). */
export type MqttIngestConfigInput = z.input<typeof mqttIngestConfigSchema>;
