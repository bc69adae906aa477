// The agent's configuration: a YAML file, then the environment, then defaults (the first that
// sets a value wins), validated whole before anything is built (CONVENTIONS 7). Every problem is
// reported at once, each naming its path and the bad value:
//   receivers.prometheus/node.interval must be >= 1 ms (got "0s")
//
// Environment: string values in the file may reference variables as ${env:NAME} or ${NAME},
// with a default as ${env:NAME:-default} (a missing variable without a default is an error); and a key the file leaves out may be set with
// AIOPS_AGENT__<SECTION>__<KEY>[__<KEY>...] (sections: AGENT, TELEMETRY, FEATURES, and
// RECEIVERS/PROCESSORS/EXPORTERS followed by a component id without "/"), values read as YAML
// scalars, e.g. AIOPS_AGENT__AGENT__TENANT=shop or AIOPS_AGENT__EXPORTERS__MQTT__URL=mqtts://c:8883.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { AnyFactory } from '../component.js';
import { ConfigError } from '../errors.js';
import { MAX_PRECISION_BITS, MIN_PRECISION_BITS } from '../../../shared-schemas/src/index.js';
import { applyEnvOverrides, configIssues, duration, parseYamlConfig, showConfigValue } from '../../../shared-schemas/src/runtime/index.js';
import type { ConfigIssue } from '../../../shared-schemas/src/runtime/index.js';
import { enrollmentConfigSchema, resolveEnrollmentConfig } from '../enrollment/config.js';
import type { EnrollmentConfig } from '../enrollment/config.js';

const ID_RE = /^[a-z][a-z0-9_-]*(\/[A-Za-z0-9_.-]+)?$/;
const AGENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const AgentSectionSchema = z
  .object({
    /** Unique per tenant; default: the host name. Only [A-Za-z0-9_.-], as it becomes an MQTT topic level. */
    id: z.string().regex(AGENT_ID_RE, 'must be 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit').optional(),
    /**
     * Default "default". With `enrollment`, the tenant central enrolled the agent in is used when
     * this is unset, and must equal it when set (the token decides the tenant).
     */
    tenant: z.string().regex(AGENT_ID_RE, 'must be 1-128 characters of [A-Za-z0-9_.-]').optional(),
    /** Durable state: buffer, checkpoints, detector snapshots (and the enrollment credentials). */
    data_dir: z.string().min(1).default('/var/lib/aiops-agent'),
    /** Enrollment with central (edge-agent/src/enrollment/config.ts): the agent's own credentials. */
    enrollment: enrollmentConfigSchema.optional(),
  })
  .strict();

export const TelemetrySectionSchema = z
  .object({
    /** host:port for /metrics and /healthz; null disables the endpoint. */
    listen: z.string().regex(/^[^\s:]*:\d{1,5}$/, 'must be host:port').nullable().default('127.0.0.1:9464'),
    log_level: z.enum(LOG_LEVELS).default('info'),
  })
  .strict();

export const FeaturesSectionSchema = z
  .object({
    /** Window length of the features sent to central. */
    window: duration({ min: 1000, max: 3_600_000 }).default(10_000),
    /** A window closes this long after its end, to admit late samples. */
    grace: duration({ min: 0, max: 600_000 }).default(2_000),
    /** Series tracked at once (beyond: dropped and counted). */
    max_series: z.number().int().min(1).max(2_000_000).default(100_000),
    /**
     * Significant bits kept in the derived statistics (mean, std, p50, p95, score, band): 24 =
     * full float32; 15 (default) = relative error at most 2^-15 (3.1e-5) and about a fifth fewer
     * bytes on the wire. min, max and last are always exact. docs/decisions/012.
     */
    precision_bits: z.number().int().min(MIN_PRECISION_BITS).max(MAX_PRECISION_BITS).default(15),
  })
  .strict();

const PipelineSchema = z
  .object({
    receivers: z.array(z.string()).min(1, 'must list at least one receiver'),
    processors: z.array(z.string()).default([]),
    exporters: z.array(z.string()).min(1, 'must list at least one exporter'),
  })
  .strict();

const TopSchema = z
  .object({
    agent: AgentSectionSchema.default({ data_dir: '/var/lib/aiops-agent' }),
    telemetry: TelemetrySectionSchema.default({ listen: '127.0.0.1:9464', log_level: 'info' }),
    features: FeaturesSectionSchema.default({ window: 10_000, grace: 2_000, max_series: 100_000, precision_bits: 15 }),
    receivers: z.record(z.string(), z.unknown()).default({}),
    processors: z.record(z.string(), z.unknown()).default({}),
    exporters: z.record(z.string(), z.unknown()).default({}),
    pipelines: z.object({ metrics: PipelineSchema }).strict(),
  })
  .strict();

export interface ResolvedComponent {
  id: string;
  kind: 'receiver' | 'processor' | 'exporter';
  factory: AnyFactory;
  config: unknown;
}

export interface AgentConfig {
  agent: {
    id: string;
    tenant: string;
    dataDir: string;
    /** Which of id and tenant the config set (file or environment) rather than defaulted. Absent: both. */
    configured?: { id: boolean; tenant: boolean };
    /** Present when `agent.enrollment` is configured. Holds the token: print through printableConfig only. */
    enrollment?: EnrollmentConfig;
  };
  telemetry: { listen: string | null; logLevel: (typeof LOG_LEVELS)[number] };
  features: { windowMs: number; graceMs: number; maxSeries: number; precisionBits: number };
  components: Map<string, ResolvedComponent>;
  pipeline: { receivers: string[]; processors: string[]; exporters: string[] };
}

export interface FactoryRegistry {
  receivers: ReadonlyMap<string, AnyFactory>;
  processors: ReadonlyMap<string, AnyFactory>;
  exporters: ReadonlyMap<string, AnyFactory>;
}

export type { ConfigIssue };

const show = showConfigValue;

/** Reads a YAML file; a syntax error names the file, line and column. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('(file)', `cannot read config file ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, source = '(config)'): unknown {
  const r = parseYamlConfig(text, source);
  if ('problem' in r) throw new ConfigError('(file)', r.problem);
  return r.value;
}

/** ${env:NAME} / ${NAME} in strings; a missing variable is an issue at that path. */
function substituteEnv(v: unknown, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[]): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const val = env[name] ?? fallback;
      if (val === undefined) {
        issues.push({ path, message: `refers to environment variable ${name}, which is not set` });
        return '';
      }
      return val;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => substituteEnv(x, env, `${path}[${i}]`, issues));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = substituteEnv(x, env, path ? `${path}.${k}` : k, issues);
    return out;
  }
  return v;
}

/**
 * Validates a parsed config document against the schemas of the registered factories and
 * returns it resolved (defaults applied, durations in ms). Throws one ConfigError listing every
 * problem found.
 */
export function resolveConfig(rawInput: unknown, registry: FactoryRegistry, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const issues: ConfigIssue[] = [];
  if (rawInput === null || typeof rawInput !== 'object' || Array.isArray(rawInput)) {
    throw new ConfigError('(root)', `(root) must be a mapping (got ${show(rawInput)})`);
  }
  const raw = substituteEnv(structuredClone(rawInput), env, '', issues) as Record<string, unknown>;
  applyEnvOverrides(raw, env, 'AIOPS_AGENT__');
  const top = TopSchema.safeParse(raw, { reportInput: true });
  if (!top.success) issues.push(...configIssues(top.error, ''));

  const components = new Map<string, ResolvedComponent>();
  const sections = [
    ['receivers', 'receiver', registry.receivers],
    ['processors', 'processor', registry.processors],
    ['exporters', 'exporter', registry.exporters],
  ] as const;
  for (const [section, kind, factories] of sections) {
    const block = raw[section];
    if (block === undefined || block === null || typeof block !== 'object') continue;
    for (const [id, value] of Object.entries(block as Record<string, unknown>)) {
      const path = `${section}.${id}`;
      if (!ID_RE.test(id)) {
        issues.push({ path, message: `is not a valid component id: use "type" or "type/name" (got "${id}")` });
        continue;
      }
      const type = id.split('/')[0]!;
      const factory = factories.get(type);
      if (!factory) {
        issues.push({ path, message: `unknown ${kind} type "${type}" (known: ${[...factories.keys()].join(', ') || 'none'})` });
        continue;
      }
      const parsed = factory.configSchema.safeParse(value ?? {}, { reportInput: true });
      if (!parsed.success) {
        issues.push(...configIssues(parsed.error, path));
        continue;
      }
      components.set(id, { id, kind, factory, config: parsed.data });
    }
  }

  // References are checked on the raw document, so that they are reported even when other
  // sections are invalid.
  const rawPipe = (raw.pipelines as { metrics?: Record<string, unknown> } | undefined)?.metrics;
  if (rawPipe && typeof rawPipe === 'object') {
    for (const [section, kind] of [['receivers', 'receiver'], ['processors', 'processor'], ['exporters', 'exporter']] as const) {
      const list = rawPipe[section];
      if (!Array.isArray(list)) continue;
      const seen = new Set<string>();
      list.forEach((id: unknown, i) => {
        const path = `pipelines.metrics.${section}[${i}]`;
        if (typeof id !== 'string') return;
        if (seen.has(id)) issues.push({ path, message: `lists "${id}" twice` });
        seen.add(id);
        const declared = (raw[section] as Record<string, unknown> | undefined)?.[id] !== undefined;
        if (!declared) issues.push({ path, message: `refers to ${kind} "${id}", which is not configured under ${section}` });
      });
    }
  }

  let enrollment: EnrollmentConfig | undefined;
  const agentSection = top.success ? top.data.agent : undefined;
  if (agentSection?.enrollment !== undefined) {
    const r = resolveEnrollmentConfig(agentSection.enrollment, agentSection.data_dir, env);
    if ('problem' in r) issues.push(r.problem);
    else enrollment = r.config;
  }

  if (issues.length > 0) {
    const text = issues.map((i) => (i.message.startsWith(i.path) ? i.message : `${i.path} ${i.message}`)).join('\n  ');
    throw new ConfigError(issues[0]!.path, `invalid configuration (${issues.length} problem${issues.length > 1 ? 's' : ''}):\n  ${text}`);
  }
  const t = top.data!;
  return {
    agent: {
      id: t.agent.id ?? sanitizeAgentId(hostname()),
      tenant: t.agent.tenant ?? 'default',
      dataDir: t.agent.data_dir,
      configured: { id: t.agent.id !== undefined, tenant: t.agent.tenant !== undefined },
      ...(enrollment !== undefined ? { enrollment } : {}),
    },
    telemetry: { listen: t.telemetry.listen, logLevel: t.telemetry.log_level },
    features: { windowMs: t.features.window, graceMs: t.features.grace, maxSeries: t.features.max_series, precisionBits: t.features.precision_bits },
    components,
    pipeline: { receivers: t.pipelines.metrics.receivers, processors: t.pipelines.metrics.processors, exporters: t.pipelines.metrics.exporters },
  };
}

/** A host name made safe for an MQTT topic level. */
export function sanitizeAgentId(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return s || 'agent';
}
