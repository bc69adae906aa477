// Config of the mqtt exporter (feature frames and heartbeats to central through a broker).
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';
import { refineCertPair, refineSender, senderConfigShape, tlsFilesShape } from '../internal/index.js';

const TOPIC_PREFIX_RE = /^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$/;

export const mqttExporterConfigSchema = z
  .object({
    /** Broker URL: mqtt://host:port or mqtts://host:port (TLS). Credentials go in username/password, not here. */
    url: z
      .string()
      .refine((u) => /^mqtts?:\/\/[^\s]+$/.test(u), 'must be an mqtt:// or mqtts:// URL')
      .refine((u) => !/^mqtts?:\/\/[^/]*@/.test(u), 'must not contain credentials: use username and password'),
    username: z.string().min(1).max(65_535).optional(),
    /** Use ${env:NAME} to keep it out of the file; never logged. */
    password: z.string().max(65_535).optional(),
    tls: z.object(tlsFilesShape).strict().superRefine(refineCertPair).prefault({}),
    /** MQTT keepalive (the broker drops a silent client after 1.5x). */
    keepalive: duration({ min: 1000, max: 65_535_000 }).default(30_000),
    /** 4 = MQTT 3.1.1 (aedes, default), 5 = MQTT 5. */
    protocol_version: z.union([z.literal(4), z.literal(5)]).default(4),
    /** Topics are `<topic_prefix>/<tenant>/agents/<agent id>/<kind>` (ARCHITECTURE section 6). */
    topic_prefix: z.string().regex(TOPIC_PREFIX_RE, 'must be a topic without wildcards or leading/trailing "/"').default('aiops/v1'),
    /** Larger retained config messages are dropped and counted. */
    max_config_bytes: byteSize({ min: 1 }).default(1024 * 1024),
    /**
     * 'stream': frames re-encoded against a per-connection series dictionary (compact; the
     * receiver must keep its dictionary for as long as the connection lives). 'standalone':
     * every frame carries its label sets (larger; safe when central can restart behind an
     * external broker while this agent stays connected).
     */
    wire_dictionary: z.enum(['stream', 'standalone']).default('stream'),
    /** In 'stream' mode, a new dictionary epoch this often (bounds what a receiver that lost its dictionary cannot decode); 0 = never. */
    dictionary_reset_interval: duration({ min: 0, max: 86_400_000 }).default(300_000),
    ...senderConfigShape,
  })
  .strict()
  .superRefine((c, ctx) => {
    refineSender(c, ctx);
    if (c.password !== undefined && c.username === undefined) ctx.addIssue({ code: 'custom', message: 'password needs username', path: ['username'] });
    const tlsSet = c.tls.ca_file !== undefined || c.tls.cert_file !== undefined || c.tls.insecure_skip_verify || c.tls.server_name !== undefined;
    if (tlsSet && c.url.startsWith('mqtt://')) ctx.addIssue({ code: 'custom', message: 'TLS options need an mqtts:// url', path: ['tls'] });
  });

export type MqttExporterConfig = z.output<typeof mqttExporterConfigSchema>;
