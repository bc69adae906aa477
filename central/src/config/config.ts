// Central's configuration: YAML file, then environment (AIOPS_CENTRAL__SECTION__KEY), then
// defaults; validated whole at start-up before anything is built, every problem reported with its
// path and (unless the key is secret-named) the bad value (CONVENTIONS 7).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { busConfigSchema } from '../bus/config.js';
import { detectionConfigSchema } from '../detect/dynamic-xy/config.js';
import { modelsConfigSchema } from '../detect/serving/config.js';
import { topologyConfigSchema } from '../topology/config.js';
import { correlationConfigSchema } from '../correlate/config.js';
import { rcaConfigSchema } from '../rca/config.js';
import { predictConfigSchema } from '../predict/config.js';
import { inhibitRulesSchema } from '../mute/config.js';
import { notifyConfigSchema } from '../notify/config.js';
import { grpcIngestConfigSchema } from '../receivers/grpc/config.js';
import { mqttIngestConfigSchema } from '../receivers/mqtt/config.js';
import { TsdbConfigSchema } from '../tsdb/config.js';
import { applyEnvOverrides, byteSize, configIssues, duration, parseYamlConfig, showConfigValue } from '../../../shared-schemas/src/runtime/index.js';

export const CENTRAL_ROLES = ['all', 'ingest', 'detect', 'correlate', 'rca', 'act', 'api'] as const;
export type CentralRole = (typeof CENTRAL_ROLES)[number];

const listen = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:8080');

export const CentralConfigSchema = z
  .object({
    /** Which roles this process runs (ARCHITECTURE section 4); `all` = the embedded mode. */
    role: z.array(z.enum(CENTRAL_ROLES)).min(1).default(['all']),
    /** Databases and other durable state, created owner-only. */
    data_dir: z.string().min(1).default('./.aiops-central'),
    /** Default tenant for keys and agents created without one. */
    tenant: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/).default('default'),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    api: z
      .object({
        listen: listen.default('127.0.0.1:8080'),
        /** Largest request body (remote-write has its own limit below). */
        max_body: byteSize().default(1024 * 1024),
        max_remote_write_body: byteSize().default(16 * 1024 * 1024),
        /** Token bucket per API key. */
        rate_per_second: z.number().positive().max(1_000_000).default(50),
        burst: z.number().int().min(1).max(1_000_000).default(100),
        /** /metrics needs a read key when true. */
        protect_metrics: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        /** Raw samples and feature rows are kept this long, then only downsampled data. */
        raw_retention: duration({ min: 60_000 }).default(2 * 86_400_000),
        one_minute_retention: duration({ min: 60_000 }).default(15 * 86_400_000),
        five_minute_retention: duration({ min: 60_000 }).default(90 * 86_400_000),
        /** Log lines are kept this long. */
        log_retention: duration({ min: 60_000 }).default(7 * 86_400_000),
        /** Downsampling and retention run this often. */
        compact_interval: duration({ min: 1000 }).default(60_000),
      })
      .strict()
      .prefault({}),
    /** Agent ingest over MQTT: the embedded broker (default), an external broker, or off. */
    mqtt: mqttIngestConfigSchema.prefault({}),
    /** Agent ingest over gRPC (aiops.v1.AgentIngest). */
    grpc: grpcIngestConfigSchema.prefault({}),
    /** Optional: copy accepted samples to a Prometheus-compatible TSDB (remote_write) and read through its API (query). */
    tsdb: TsdbConfigSchema.prefault({}),
    /** What joins the roles: in-process (one process, the default) or Kafka (roles in separate processes). */
    bus: busConfigSchema.prefault({}),
    /** Anomalies to alerts (Dynamic X-Y); also set at runtime with PUT /api/v1/config/detection. */
    detection: detectionConfigSchema.prefault({}),
    /** Tier-2/3 models: the registry, hot reload, ONNX Runtime's providers, batching. */
    models: modelsConfigSchema.prefault({}),
    /** The service topology: the embedded graph (default) or Neo4j; what discovery keeps. */
    topology: topologyConfigSchema.prefault({}),
    /** Alert correlation into incidents (time-topology clustering); `npm run correlate --config` reads it too. */
    correlation: correlationConfigSchema.prefault({}),
    /** Root-cause analysis of incidents; `npm run rca --config` reads it too. */
    rca: rcaConfigSchema.prefault({}),
    /** Forecasts of resources running out (disk, memory, pools, queues) raised as predictive alerts. */
    predict: predictConfigSchema.prefault({}),
    /** Alertmanager-style inhibition: while a source alert fires, matching target alerts with equal labels are muted. */
    inhibit_rules: inhibitRulesSchema,
    /** Where new and changed incidents are sent (webhooks). */
    notify: notifyConfigSchema.prefault({}),
  })
  .strict();

export type CentralConfig = z.output<typeof CentralConfigSchema>;

export class CentralConfigError extends Error {
  override readonly name = 'CentralConfigError';
  readonly code = 'INVALID_CONFIG';
  readonly retryable = false;
  constructor(
    readonly issues: Array<{ path: string; message: string }>,
    options?: { cause?: unknown },
  ) {
    super(`invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n  ${issues.map((i) => `${i.path} ${i.message}`).join('\n  ')}`, options);
  }
}

/**
 * Validates a parsed config document (file contents, or {}); AIOPS_CENTRAL__API__LISTEN=0.0.0.0:8080
 * sets api.listen when the document leaves it unset (values read as YAML scalars).
 */
export function resolveCentralConfig(doc: unknown, env: NodeJS.ProcessEnv = {}): CentralConfig {
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new CentralConfigError([{ path: '(root)', message: `must be a mapping (got ${showConfigValue(doc)})` }]);
  }
  const withEnv: Record<string, unknown> = structuredClone((doc as Record<string, unknown> | null) ?? {});
  applyEnvOverrides(withEnv, env, 'AIOPS_CENTRAL__', 1);
  const parsed = CentralConfigSchema.safeParse(withEnv, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new CentralConfigError(configIssues(parsed.error, ''));
}

/** Reads and validates a YAML config file; a syntax error names the file, line and column. */
export function loadCentralConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): CentralConfig {
  if (path === undefined) return resolveCentralConfig({}, env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CentralConfigError([{ path: '(file)', message: `cannot read ${path}: ${(cause as Error).message}` }], { cause });
  }
  const r = parseYamlConfig(text, path);
  if ('problem' in r) throw new CentralConfigError([{ path: '(file)', message: r.problem }]);
  return resolveCentralConfig(r.value, env);
}
