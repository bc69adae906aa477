// Options of the live fleet, validated whole before anything is simulated or connected. Errors
// name the option as the command line spells it (`--backfill must be ...`), so the same message
// serves the library and `npm run simulate -- fleet`; FleetError.option holds the flag.
//
// Units: durations are milliseconds in the library (backfillMs, faultAfterMs ...); the command
// line takes the scenario files' duration syntax ("20m", "90s", "1h30m").
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatorError } from '../model/index.js';
import type { Scenario } from '../scenario/index.js';

export type FleetErrorCode =
  /** An option is invalid (FleetError.option names it). */
  | 'BAD_OPTION'
  /** The scenario cannot be loaded, validated or simulated. */
  | 'SCENARIO'
  /** The credentials hook failed or returned nothing usable for an agent. */
  | 'CREDENTIALS'
  /** Another fleet holds the data folder. */
  | 'DATA_DIR_LOCKED'
  /** An agent could not be built or started. */
  | 'START_FAILED'
  /** start() after stop(), or twice. */
  | 'STATE';

/** Errors of the live fleet. `retryable` says whether the same call can succeed later. */
export class FleetError extends SimulatorError<FleetErrorCode> {
  override readonly name = 'FleetError';
  /** The option at fault (`--backfill`), for BAD_OPTION. */
  readonly option: string | undefined;

  constructor(code: FleetErrorCode, message: string, opts: { option?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, { ...(opts.cause === undefined ? {} : { cause: opts.cause }), retryable: opts.retryable ?? (code === 'DATA_DIR_LOCKED' || code === 'CREDENTIALS') });
    this.option = opts.option;
  }
}

/** Library option -> command-line flag, for messages. */
export const OPTION_FLAGS = {
  scenario: '--scenario',
  target: '--target',
  backfillMs: '--backfill',
  faultAfterMs: '--fault-after',
  dataDir: '--data-dir',
  tenant: '--tenant',
  topicPrefix: '--topic-prefix',
  agentIdPrefix: '--agent-prefix',
  seed: '--seed',
  caFile: '--ca-file',
  statusIntervalMs: '--status-interval',
} as const;

export const DEFAULT_BACKFILL_MS = 20 * 60_000;
export const DEFAULT_FAULT_AFTER_MS = 3 * 60_000;
export const DEFAULT_STATUS_INTERVAL_MS = 10_000;
/**
 * The agents' normalize processor drops samples older than max_age (1 h by default, kept); the
 * backfill stays 5 minutes under it so the oldest backfilled sample is never dropped as too old,
 * even when starting the agents takes a while.
 */
export const NORMALIZE_MAX_AGE_MS = 3_600_000;
export const MAX_BACKFILL_MS = NORMALIZE_MAX_AGE_MS - 5 * 60_000;
/** Default --data-dir: stable across runs (see README: frame sequences must not restart at 1). */
export const DEFAULT_DATA_DIR = join(tmpdir(), 'aiops-sim-fleet');

export interface LiveFleetOptions {
  /** Scenario YAML file, or an already validated Scenario. */
  scenario: string | Scenario;
  /** Central's MQTT listener: mqtt://host:port or mqtts://host:port (no credentials in it). */
  target: string;
  /** History fed at start, in one go, with past timestamps. Default 20 min; 0 .. 55 min. */
  backfillMs?: number;
  /** The scenario's first fault starts this long after the live start. Default 3 min; rounded up to the scenario step. */
  faultAfterMs?: number;
  /** Durable state of the agents (buffer, sequence lease) under `<dataDir>/<agentId>`. Default DEFAULT_DATA_DIR. */
  dataDir?: string;
  /** Tenant of every agent (an MQTT topic level). Default "default". */
  tenant?: string;
  /** MQTT topic prefix. Default "aiops/v1". */
  topicPrefix?: string;
  /** Agent ids are `<prefix><host name>`, sanitised for an MQTT topic level. Default "sim-". */
  agentIdPrefix?: string;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** PEM CA bundle to verify an mqtts:// target with. */
  caFile?: string;
  /** A status report this often (besides the events); 0 = events only. Default 10 s. */
  statusIntervalMs?: number;
}

export interface ResolvedFleetOptions {
  scenario: string | Scenario;
  target: string;
  backfillMs: number;
  faultAfterMs: number;
  dataDir: string;
  tenant: string;
  topicPrefix: string;
  agentIdPrefix: string;
  seed: number | undefined;
  caFile: string | undefined;
  statusIntervalMs: number;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$|^$/;
const TOPIC_PREFIX_RE = /^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$/;

function show(v: unknown): string {
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) >= 1000) return `${v} ms`;
  return JSON.stringify(v) ?? String(v);
}

function bad(field: keyof typeof OPTION_FLAGS, rule: string, got: unknown): FleetError {
  const flag = OPTION_FLAGS[field];
  return new FleetError('BAD_OPTION', `${flag} ${rule} (got ${show(got)})`, { option: flag });
}

/** Parses --target: mqtt:// or mqtts://, host and port, nothing else. */
export function parseMqttTarget(target: unknown): { url: string; tls: boolean; display: string } {
  if (typeof target !== 'string' || target === '') throw bad('target', 'is required: mqtt://host:port or mqtts://host:port', target);
  const m = /^(mqtts?):\/\/(.*)$/i.exec(target);
  if (!m) throw bad('target', 'must be mqtt://host:port or mqtts://host:port', target);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (rest.includes('@')) throw bad('target', 'must not contain credentials: use a credentials hook (--credentials-file, or --username and --password)', target.replace(/\/\/[^@]*@/, '//***@'));
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?\/?$/.exec(rest);
  if (!hp) throw bad('target', 'must be scheme://host:port with no path or query', target);
  const port = hp[2] !== undefined ? Number(hp[2]) : scheme === 'mqtts' ? 8883 : 1883;
  if (!(port >= 1 && port <= 65_535)) throw bad('target', 'has a port outside 1..65535', target);
  const url = `${scheme}://${hp[1]}:${port}`;
  return { url, tls: scheme === 'mqtts', display: url };
}

function duration(field: keyof typeof OPTION_FLAGS, v: unknown, dflt: number, min: number, max: number, rule: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(field, rule, v);
  return v;
}

/** Validates the options and applies defaults. Throws FleetError BAD_OPTION naming the option. */
export function resolveFleetOptions(o: LiveFleetOptions): ResolvedFleetOptions {
  if (o === null || typeof o !== 'object') throw new FleetError('BAD_OPTION', `options must be an object (got ${show(o)})`);
  const scenario = o.scenario;
  if (typeof scenario === 'string') {
    if (scenario.trim() === '') throw bad('scenario', 'must name a scenario YAML file', scenario);
  } else if (scenario === null || typeof scenario !== 'object' || typeof (scenario as Scenario).stepMs !== 'number') {
    throw bad('scenario', 'must be a scenario file path or a validated Scenario', scenario);
  }
  parseMqttTarget(o.target);
  const backfillMs = duration('backfillMs', o.backfillMs, DEFAULT_BACKFILL_MS, 0, MAX_BACKFILL_MS, `must be a duration from 0s to 55m: the oldest backfilled sample must stay younger than the agent's normalize max_age (1h)`);
  const faultAfterMs = duration('faultAfterMs', o.faultAfterMs, DEFAULT_FAULT_AFTER_MS, 0, 24 * 3_600_000, 'must be a duration from 0s to 24h');
  const statusIntervalMs = duration('statusIntervalMs', o.statusIntervalMs, DEFAULT_STATUS_INTERVAL_MS, 0, 3_600_000, 'must be 0 (events only) or a duration up to 1h');
  if (statusIntervalMs > 0 && statusIntervalMs < 100) throw bad('statusIntervalMs', 'must be 0 (events only) or at least 100ms', statusIntervalMs);
  const dataDir = o.dataDir ?? DEFAULT_DATA_DIR;
  if (typeof dataDir !== 'string' || dataDir.trim() === '') throw bad('dataDir', 'must be a folder path', dataDir);
  const tenant = o.tenant ?? 'default';
  if (typeof tenant !== 'string' || !ID_RE.test(tenant)) throw bad('tenant', 'must be 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit', tenant);
  const topicPrefix = o.topicPrefix ?? 'aiops/v1';
  if (typeof topicPrefix !== 'string' || !TOPIC_PREFIX_RE.test(topicPrefix)) throw bad('topicPrefix', 'must be a topic without wildcards or leading/trailing "/"', topicPrefix);
  const agentIdPrefix = o.agentIdPrefix ?? 'sim-';
  if (typeof agentIdPrefix !== 'string' || !PREFIX_RE.test(agentIdPrefix)) throw bad('agentIdPrefix', 'must be empty or up to 64 characters of [A-Za-z0-9_.-], starting with a letter or digit', agentIdPrefix);
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffff_ffff)) throw bad('seed', 'must be an integer 0..4294967295', o.seed);
  if (o.caFile !== undefined && (typeof o.caFile !== 'string' || o.caFile === '')) throw bad('caFile', 'must be a file path', o.caFile);
  if (o.caFile !== undefined && !/^mqtts:/i.test(o.target)) throw bad('caFile', 'needs an mqtts:// --target', o.caFile);
  return {
    scenario,
    target: parseMqttTarget(o.target).url,
    backfillMs,
    faultAfterMs,
    dataDir,
    tenant,
    topicPrefix,
    agentIdPrefix,
    seed: o.seed,
    caFile: o.caFile,
    statusIntervalMs,
  };
}
