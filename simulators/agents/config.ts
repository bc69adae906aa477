// Options of the virtual agents, validated whole before anything connects. Errors name the
// option as the command line spells it (`--count must be an integer 1..10000 (got 0)`), so the
// same message serves the library and `npm run simulate -- agents`.
//
// Units: durations are milliseconds in the library (durationMs, windowMs ...); the command line
// also accepts "60s", "5m", "500ms". Rate: windows (frames) per second PER AGENT; the offered
// load in series-windows per second is count x series x rate.
import { z } from 'zod';
import { CODEC_NAMES, isCodecAvailable } from '../../shared-schemas/src/index.js';
import type { CodecName } from '../../shared-schemas/src/index.js';
import type { CredentialsSource } from './credentials.js';

/** Hard ceilings (the brief's bound on agents; the shared dictionary's default bound on series). */
export const MAX_AGENTS = 10_000;
export const MAX_SERIES_PER_AGENT = 100_000;
export const MAX_RATE_PER_AGENT = 1000;
const WEEK_MS = 7 * 24 * 3600 * 1000;

export type VirtualAgentsErrorCode = 'BAD_OPTION' | 'CONNECT_FAILED' | 'ABORTED';

/** Errors of the virtual agents. `retryable` says whether running again unchanged can help. */
export class VirtualAgentsError extends Error {
  override readonly name = 'VirtualAgentsError';
  readonly code: VirtualAgentsErrorCode;
  /** The option at fault (`--count`), for BAD_OPTION. */
  readonly option: string | undefined;
  readonly retryable: boolean;

  constructor(code: VirtualAgentsErrorCode, message: string, opts: { option?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.option = opts.option;
    this.retryable = opts.retryable ?? code === 'CONNECT_FAILED';
  }
}

export type Protocol = 'mqtt' | 'grpc';

/** Where the virtual agents send their frames. */
export interface TargetSpec {
  protocol: Protocol;
  tls: boolean;
  host: string;
  port: number;
  /** mqtt(s)://host:port for mqtt.js; host:port for gRPC. */
  address: string;
  /** For logs: scheme, host and port only. */
  display: string;
}

const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const TOPIC_PREFIX_RE = /^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$/;
const DEFAULT_PORTS: Record<string, number | undefined> = { mqtt: 1883, mqtts: 8883, grpc: undefined, grpcs: undefined };

/** Parses --target. Throws VirtualAgentsError naming --target. */
export function parseTarget(target: string): TargetSpec {
  const bad = (why: string): VirtualAgentsError =>
    new VirtualAgentsError('BAD_OPTION', `--target ${why} (got ${JSON.stringify(target)})`, { option: '--target' });
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(target);
  if (!m) throw bad('must be a URL: mqtt://host:port, mqtts://host:port, grpc://host:port or grpcs://host:port');
  const scheme = (m[1] as string).toLowerCase();
  if (!(scheme in DEFAULT_PORTS)) throw bad(`has an unknown scheme "${scheme}:" (known: mqtt, mqtts, grpc, grpcs)`);
  const rest = m[2] as string;
  if (rest.includes('@')) throw bad('must not contain credentials: use --username and --password');
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?\/?$/.exec(rest);
  if (!hp) throw bad('must be scheme://host:port with no path or query');
  const host = hp[1] as string;
  const port = hp[2] !== undefined ? Number(hp[2]) : DEFAULT_PORTS[scheme];
  if (port === undefined) throw bad(`needs a port for ${scheme}://`);
  if (!(port >= 1 && port <= 65_535)) throw bad('has a port outside 1..65535');
  const protocol: Protocol = scheme.startsWith('mqtt') ? 'mqtt' : 'grpc';
  const tls = scheme.endsWith('s');
  return {
    protocol,
    tls,
    host,
    port,
    address: protocol === 'mqtt' ? `${scheme}://${host}:${port}` : `${host}:${port}`,
    display: `${scheme}://${host}:${port}`,
  };
}

/** Id of virtual agent `index` (0-based): `<prefix>-<index, at least 5 digits>`. */
export function agentIdOf(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(5, '0')}`;
}

const DURATION_RE = /^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "60" and "60s" are seconds; "500ms", "5m", "1h". Returns ms (may be negative: checked later). */
export function parseDurationMs(text: string, option: string): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m) {
    throw new VirtualAgentsError('BAD_OPTION', `${option} must be a duration like 60, 60s, 500ms or 5m (got ${JSON.stringify(text)})`, { option });
  }
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 's'] as number));
}

const int = (min: number, max: number) =>
  z.number({ error: 'must be a number' }).int('must be an integer').min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);
const ms = (min: number, max: number) => int(min, max);

/** Option keys -> the command-line flag named in errors. */
export const OPTION_FLAGS = {
  target: '--target',
  count: '--count',
  series: '--series',
  rate: '--rate',
  durationMs: '--duration',
  windows: '--windows',
  windowMs: '--window',
  samplesPerWindow: '--samples-per-window',
  align: '--align',
  maxInFlight: '--max-in-flight',
  maxBacklog: '--max-backlog',
  codec: '--codec',
  brotliQuality: '--brotli-quality',
  tenant: '--tenant',
  topicPrefix: '--topic-prefix',
  agentIdPrefix: '--agent-prefix',
  seed: '--seed',
  sequenceStart: '--sequence-start',
  startTimeMs: '--start-time',
  username: '--username',
  password: '--password',
  credentials: '--credentials-file',
  caFile: '--ca-file',
  connectConcurrency: '--connect-concurrency',
  connectTimeoutMs: '--connect-timeout',
  ackTimeoutMs: '--ack-timeout',
  drainTimeoutMs: '--drain-timeout',
  heartbeatIntervalMs: '--heartbeat-interval',
  dictionaryResetMs: '--dictionary-reset-interval',
  progressIntervalMs: '--progress-interval',
  retryInitialMs: '--retry-initial',
  retryMaxMs: '--retry-max',
  maxFrameAttempts: '--max-frame-attempts',
} as const;

export const virtualAgentsOptionsSchema = z
  .object({
    /** mqtt://host:port | mqtts://host:port | grpc://host:port | grpcs://host:port */
    target: z.string({ error: 'is required (mqtt://host:port or grpc://host:port)' }),
    /** Virtual agents (hosts); each has its own connection. */
    count: int(1, MAX_AGENTS).default(10),
    /** Series per agent: rows of every frame. */
    series: int(1, MAX_SERIES_PER_AGENT).default(100),
    /** Windows (frames) per second per agent. Default: real time, 1000 / windowMs. */
    rate: z
      .number({ error: 'must be a number' })
      .refine((r) => Number.isFinite(r) && r > 0, 'must be > 0')
      .refine((r) => r <= MAX_RATE_PER_AGENT, `must be <= ${MAX_RATE_PER_AGENT} windows per second per agent`)
      .optional(),
    /** Sending phase in real time; the run then drains acknowledgements and stops by itself. */
    durationMs: ms(1, WEEK_MS).default(60_000),
    /** Optional bound on windows per agent (the run also ends when every agent sent this many). */
    windows: int(1, Number.MAX_SAFE_INTEGER).optional(),
    /** Simulated window length (FeatureFrame.windowEndMs - windowStartMs). */
    windowMs: ms(100, 3_600_000).default(10_000),
    /** FeatureRow.count: raw samples per window (e.g. 10 at a 1 s scrape and a 10 s window). */
    samplesPerWindow: int(1, 1_000_000).default(10),
    /** true: every agent sends at the same instant (synchronised clocks); false: spread evenly. */
    align: z.boolean({ error: 'must be true or false' }).default(false),
    /** Frames sent and not acknowledged, per agent (backpressure). */
    maxInFlight: int(1, 10_000).default(8),
    /** Windows queued per agent while disconnected or backpressured; beyond it the oldest is dropped (counted). */
    maxBacklog: int(1, 1_000_000).default(100),
    codec: z.enum(CODEC_NAMES as unknown as [CodecName, ...CodecName[]], { error: `must be one of ${CODEC_NAMES.join(', ')}` }).default('brotli'),
    brotliQuality: int(0, 11).default(5),
    tenant: z.string().regex(ID_RE, 'must be 1-128 characters of [A-Za-z0-9_.-]').default('default'),
    topicPrefix: z.string().regex(TOPIC_PREFIX_RE, 'must be a topic without wildcards or leading/trailing "/"').default('aiops/v1'),
    /** Agent ids are `<prefix>-<index, 5 digits>`. */
    agentIdPrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 characters of [A-Za-z0-9_.-]').default('vagent'),
    /** Seed of the value generator: the same seed gives the same rows. */
    seed: int(0, 0xffff_ffff).default(1),
    /** First frame sequence of every agent. Default: the current time in ms (above any earlier run, as central deduplicates by sequence). */
    sequenceStart: int(1, Number.MAX_SAFE_INTEGER - 1e12).optional(),
    /** Start of the first simulated window (ms since the epoch). Default: so that the last window ends about now. */
    startTimeMs: int(0, Number.MAX_SAFE_INTEGER / 2).optional(),
    username: z.string().min(1, 'must not be empty').max(65_535).optional(),
    password: z.string().max(65_535).optional(),
    /**
     * Per-agent MQTT credentials (central's embedded broker: username = agent id, password = its
     * enrolled secret): agent id -> {username, password}. Excludes username/password.
     */
    credentials: z.custom<CredentialsSource>((v) => typeof v === 'function', { error: 'must be a function (agentId) => {username, password}' }).optional(),
    /** PEM CA bundle for mqtts:// and grpcs:// (default: the system roots). */
    caFile: z.string().min(1, 'must be a file path').optional(),
    /** Connection attempts in progress at once (a thousand simultaneous CONNECTs overwhelm a broker). */
    connectConcurrency: int(1, 10_000).default(50),
    connectTimeoutMs: ms(100, 600_000).default(10_000),
    /** A frame unacknowledged this long breaks the connection: reconnect and resend (as the real exporter). */
    ackTimeoutMs: ms(100, 3_600_000).default(30_000),
    /** After the sending phase, how long to wait for outstanding acknowledgements. */
    drainTimeoutMs: ms(0, 600_000).default(10_000),
    /** Heartbeats on connect and this often; 0 = none. */
    heartbeatIntervalMs: ms(0, 3_600_000).default(30_000),
    /** MQTT only, as the real exporter: a new dictionary epoch this often; 0 = never. */
    dictionaryResetMs: ms(0, 86_400_000).default(300_000),
    /** onProgress this often. */
    progressIntervalMs: ms(100, 3_600_000).default(5_000),
    retryInitialMs: ms(10, 600_000).default(500),
    retryMaxMs: ms(10, 3_600_000).default(30_000),
    /** A frame that was the oldest unacknowledged one on this many failed connections is dropped. */
    maxFrameAttempts: int(1, 1_000_000).default(10),
  })
  .strict();

export type VirtualAgentsOptions = z.input<typeof virtualAgentsOptionsSchema>;

export interface VirtualAgentsConfig extends Omit<z.output<typeof virtualAgentsOptionsSchema>, 'rate' | 'sequenceStart' | 'startTimeMs'> {
  rate: number;
  sequenceStart: number;
  startTimeMs: number;
  targetSpec: TargetSpec;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function flagOf(key: string): string {
  return (OPTION_FLAGS as Record<string, string>)[key] ?? key;
}

/**
 * Validates options and fills defaults. `now` (ms) sets the default sequence start and start
 * time. Throws VirtualAgentsError('BAD_OPTION') naming the first bad option.
 */
export function resolveVirtualAgentsOptions(input: VirtualAgentsOptions, now: number = Date.now()): VirtualAgentsConfig {
  if (input === null || typeof input !== 'object') throw new VirtualAgentsError('BAD_OPTION', `options must be an object (got ${show(input)})`);
  const parsed = virtualAgentsOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      throw new VirtualAgentsError('BAD_OPTION', `${key} is not a known option (known: ${Object.keys(OPTION_FLAGS).join(', ')})`, { option: key });
    }
    const key = String(issue.path[0] ?? '');
    const flag = flagOf(key);
    const got = (input as Record<string, unknown>)[key];
    const shown = key === 'password' ? '(hidden)' : key === 'credentials' ? typeof got : show(got);
    throw new VirtualAgentsError('BAD_OPTION', `${flag} ${issue.message} (got ${shown})`, { option: flag });
  }
  const o = parsed.data;
  const targetSpec = parseTarget(o.target);
  const bad = (key: keyof typeof OPTION_FLAGS, why: string): never => {
    throw new VirtualAgentsError('BAD_OPTION', `${OPTION_FLAGS[key]} ${why}`, { option: OPTION_FLAGS[key] });
  };
  if (o.password !== undefined && o.username === undefined) bad('password', 'needs --username');
  if ((o.username !== undefined || o.password !== undefined) && targetSpec.protocol !== 'mqtt') bad('username', 'applies to mqtt:// and mqtts:// targets only');
  if (o.credentials !== undefined && (o.username !== undefined || o.password !== undefined)) bad('credentials', 'cannot be combined with --username/--password (one or the other)');
  if (o.credentials !== undefined && targetSpec.protocol !== 'mqtt') bad('credentials', 'applies to mqtt:// and mqtts:// targets only');
  if (o.caFile !== undefined && !targetSpec.tls) bad('caFile', 'needs a TLS target (mqtts:// or grpcs://)');
  if (!isCodecAvailable(o.codec)) bad('codec', `${o.codec} is not available in this process (its native addon does not load)`);
  if (o.retryInitialMs > o.retryMaxMs) bad('retryInitialMs', `must be <= --retry-max (${o.retryMaxMs} ms) (got ${o.retryInitialMs} ms)`);
  const rate = o.rate ?? 1000 / o.windowMs;
  const framesPerAgent = o.windows ?? Math.max(1, Math.ceil((o.durationMs / 1000) * rate));
  // Simulated time runs at rate x windowMs per real second; when that is faster than real time,
  // start in the past so the last window still ends about now (central may refuse the future).
  const ahead = Math.max(0, framesPerAgent * o.windowMs - o.durationMs);
  const startTimeMs = o.startTimeMs ?? Math.floor((now - ahead) / o.windowMs) * o.windowMs - o.windowMs;
  const sequenceStart = o.sequenceStart ?? Math.max(1, Math.floor(now));
  return { ...o, rate, sequenceStart, startTimeMs: Math.max(0, startTimeMs), targetSpec };
}
