// Configuration of central's `tsdb:` section (ARCHITECTURE sections 4 and 8): the optional
// remote-write exporter to a Prometheus-compatible TSDB (Prometheus with its remote-write
// receiver, VictoriaMetrics, ...) and the optional query adapter over its Prometheus HTTP API.
// Both are off unless their block is present. Validated whole before anything is built
// (CONVENTIONS 7); errors name the path and the value, except for secret-named keys
// (bearer_token, password, headers named like authorization) whose values are never echoed.
//
// Secrets (bearer_token, basic_auth.password, header values) are never logged by the exporter
// or the adapter; keep them out of the file with the environment overrides
// (AIOPS_CENTRAL__TSDB__REMOTE_WRITE__BEARER_TOKEN=...).
import { z } from 'zod';
import { CodedError, configIssues, duration } from '../../../shared-schemas/src/runtime/index.js';
import type { ConfigIssue } from '../../../shared-schemas/src/runtime/index.js';

/** Headers the protocol sets; a configured header may not replace them (as in Prometheus). */
const RESERVED_HEADERS = ['content-type', 'content-encoding', 'content-length', 'x-prometheus-remote-write-version', 'user-agent', 'host', 'connection', 'transfer-encoding'];
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Printable ASCII and tab (RFC 9110 field-value without obs-text): no CR/LF injection. */
const HEADER_VALUE_RE = /^[\t\x20-\x7e]*$/;

const httpUrl = z.string().superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL', input: s });
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL', input: s });
  // Credentials in a URL end up in logs and error messages: they go in basic_auth instead.
  if (u.username !== '' || u.password !== '') ctx.addIssue({ code: 'custom', message: 'must not contain credentials: use basic_auth or bearer_token' });
  if (u.hash !== '') ctx.addIssue({ code: 'custom', message: 'must not contain a #fragment', input: s });
});

const authShape = {
  /** Extra request headers (e.g. X-Scope-OrgID for a multi-tenant TSDB). Values never logged. */
  headers: z
    .record(z.string(), z.string())
    .optional()
    .superRefine((h, ctx) => {
      for (const [name, value] of Object.entries(h ?? {})) {
        if (!HEADER_NAME_RE.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid HTTP header name' });
        else if (RESERVED_HEADERS.includes(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: 'is set by the protocol and cannot be configured' });
        // No `input`: a header value may be a credential, so it is never echoed.
        if (!HEADER_VALUE_RE.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be printable ASCII (no line breaks)' });
      }
    }),
  /** Sent as `Authorization: Bearer <token>`. Secret. */
  bearer_token: z.string().min(1).regex(HEADER_VALUE_RE, 'must be printable ASCII (no line breaks)').optional(),
  basic_auth: z
    .object({
      username: z.string().min(1).regex(/^[^:\r\n]*$/, 'must not contain ":" or line breaks'),
      /** Secret. */
      password: z.string().regex(/^[^\r\n]*$/, 'must not contain line breaks'),
    })
    .strict()
    .optional(),
};

function checkAuth(c: { headers?: Record<string, string> | undefined; bearer_token?: string | undefined; basic_auth?: unknown }, ctx: z.RefinementCtx): void {
  if (c.bearer_token !== undefined && c.basic_auth !== undefined) ctx.addIssue({ code: 'custom', path: ['bearer_token'], message: 'bearer_token and basic_auth are mutually exclusive' });
  const hasAuthHeader = Object.keys(c.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
  if (hasAuthHeader && (c.bearer_token !== undefined || c.basic_auth !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['headers'], message: 'an Authorization header cannot be combined with bearer_token or basic_auth' });
  }
}

export const RemoteWriteConfigSchema = z
  .object({
    /** The TSDB's remote-write endpoint: Prometheus or VictoriaMetrics `http://host:port/api/v1/write`. */
    url: httpUrl,
    ...authShape,
    batch: z
      .object({
        /** Samples per request (Prometheus' max_samples_per_send is 2000 by default). */
        max_samples: z.number().int().min(1).max(1_000_000).default(5000),
        /** A partial batch is sent once its oldest sample waited this long. */
        max_delay: duration({ min: 1, max: 600_000 }).default(1000),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        /** Samples waiting to be sent at most; beyond it the oldest are dropped (counted, logged once per burst). */
        capacity: z.number().int().min(1).max(100_000_000).default(500_000),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        /** First backoff after a retryable failure (5xx, 429, network error, timeout); doubles per attempt, jittered +-20%. */
        initial: duration({ min: 1, max: 600_000 }).default(100),
        max_backoff: duration({ min: 1, max: 3_600_000 }).default(5000),
        /** A Retry-After answer (429/503) is honoured up to this long. */
        max_retry_after: duration({ min: 1, max: 3_600_000 }).default(60_000),
      })
      .strict()
      .prefault({})
      .superRefine((r, ctx) => {
        if (r.initial > r.max_backoff) ctx.addIssue({ code: 'custom', path: ['initial'], message: `must be <= max_backoff (${r.max_backoff} ms)`, input: r.initial });
      }),
    /** One request's deadline (connect, send, answer). */
    timeout: duration({ min: 1, max: 600_000 }).default(30_000),
    /** shutdown() keeps sending what is queued (and retrying) for at most this long, then drops the rest (counted). */
    shutdown_grace: duration({ min: 0, max: 600_000 }).default(5000),
  })
  .strict()
  .superRefine(checkAuth);

export const QueryConfigSchema = z
  .object({
    /** Base of the Prometheus HTTP API, e.g. http://127.0.0.1:9090 (Prometheus) or http://127.0.0.1:8428 (VictoriaMetrics). */
    url: httpUrl,
    ...authShape,
    /** One HTTP request's deadline; a query split into several requests has this per request. */
    timeout: duration({ min: 1, max: 600_000 }).default(30_000),
    /** Store-wide caps of a query's maxSeries / maxPoints (as the SQLite store's limits). */
    max_series: z.number().int().min(1).max(1_000_000).default(10_000),
    max_points: z.number().int().min(1).max(100_000_000).default(2_000_000),
    /**
     * How the TSDB's range selector `x[d]` evaluated at t bounds its window: `closed` [t-d, t]
     * (Prometheus 2.x), `left_open` (t-d, t] (Prometheus 3, VictoriaMetrics), or `auto`: asked
     * once with a data-free probe query. Needed so 1m/5m buckets are exactly [start, start+step).
     */
    range_window: z.enum(['auto', 'closed', 'left_open']).default('auto'),
    /** Resolution 'auto': raw when the range starts within raw_within of now, else 1m within one_minute_within, else 5m. */
    auto: z
      .object({
        raw_within: duration({ min: 60_000 }).default(2 * 86_400_000),
        one_minute_within: duration({ min: 60_000 }).default(30 * 86_400_000),
      })
      .strict()
      .prefault({})
      .superRefine((a, ctx) => {
        if (a.one_minute_within < a.raw_within) ctx.addIssue({ code: 'custom', path: ['one_minute_within'], message: `must be >= raw_within (${a.raw_within} ms)`, input: a.one_minute_within });
      }),
  })
  .strict()
  .superRefine(checkAuth);

export const TsdbConfigSchema = z
  .object({
    /** Copy every sample central stores to the TSDB. Off when absent. */
    remote_write: RemoteWriteConfigSchema.optional(),
    /** Read metrics (RCA, the REST query) from the TSDB instead of SQLite. Off when absent. */
    query: QueryConfigSchema.optional(),
  })
  .strict();

export type RemoteWriteConfig = z.output<typeof RemoteWriteConfigSchema>;
export type RemoteWriteConfigInput = z.input<typeof RemoteWriteConfigSchema>;
export type QueryConfig = z.output<typeof QueryConfigSchema>;
export type QueryConfigInput = z.input<typeof QueryConfigSchema>;
export type TsdbConfig = z.output<typeof TsdbConfigSchema>;
export type TsdbConfigInput = z.input<typeof TsdbConfigSchema>;

/** The `tsdb:` section is invalid; `issues` lists every problem with its path. Never retryable. */
export class TsdbConfigError extends CodedError<'INVALID_CONFIG'> {
  override name = 'TsdbConfigError';
  constructor(
    readonly issues: ConfigIssue[],
    options?: { cause?: unknown },
  ) {
    super('INVALID_CONFIG', `invalid tsdb configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, false, options);
  }
}

/** Validates the `tsdb:` section (undefined = both parts off) and applies defaults; throws TsdbConfigError naming every bad field. */
export function validateTsdbConfig(raw: unknown, prefix = 'tsdb'): TsdbConfig {
  const parsed = TsdbConfigSchema.safeParse(raw ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  // Header values may be credentials whatever the header's name, and a URL refused for holding
  // credentials holds them: never echo either (configIssues hides only secret-named keys).
  for (const issue of parsed.error.issues) {
    if (issue.path.includes('headers') || issue.message.startsWith('must not contain credentials')) delete (issue as { input?: unknown }).input;
  }
  throw new TsdbConfigError(configIssues(parsed.error, prefix));
}

/** The request headers of an auth block: configured headers, then Authorization. */
export function authHeaders(c: { headers?: Record<string, string> | undefined; bearer_token?: string | undefined; basic_auth?: { username: string; password: string } | undefined }): Record<string, string> {
  const out: Record<string, string> = { ...c.headers };
  if (c.bearer_token !== undefined) out['authorization'] = `Bearer ${c.bearer_token}`;
  else if (c.basic_auth !== undefined) out['authorization'] = `Basic ${Buffer.from(`${c.basic_auth.username}:${c.basic_auth.password}`, 'utf8').toString('base64')}`;
  return out;
}
