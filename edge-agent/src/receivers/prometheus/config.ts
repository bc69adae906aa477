// Config of the Prometheus scrape receiver (snake_case keys, defaults, unknown keys refused).
// Names follow Prometheus' scrape_config where one exists (job_name, metrics_path, scheme,
// basic_auth, bearer_token) so an operator's habits carry over.
import { z } from 'zod';
import { byteSize, duration } from '../../../../shared-schemas/src/runtime/index.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A credential: a string (a YAML number such as 12345 is taken as its text). A wrong value is
 * reported without echoing it, so a mistyped secret never reaches a terminal or a log.
 */
const secret = (opts: { allowEmpty: boolean }) =>
  z.unknown().transform((v, ctx) => {
    if (typeof v === 'string' && (opts.allowEmpty || v !== '')) return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    ctx.addIssue({ code: 'custom', message: `must be a ${opts.allowEmpty ? '' : 'non-empty '}string`, input: '(hidden)' });
    return z.NEVER;
  });

export interface ResolvedTarget {
  /** What is fetched. */
  url: URL;
  /** The `instance` label: host:port of the URL. */
  instance: string;
}

/**
 * `host:port`, `host` (port 80/443 from the scheme) or an http(s) URL. A URL keeps its own path
 * and query; a bare host gets `metrics_path`. Credentials in the URL are refused (use basic_auth,
 * which is never logged).
 */
export function resolveTarget(target: string, scheme: 'http' | 'https', metricsPath: string): ResolvedTarget | string {
  const t = target.trim();
  if (t === '') return 'must not be empty';
  const isUrl = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(t);
  let url: URL;
  try {
    url = new URL(isUrl ? t : `${scheme}://${t}${metricsPath}`);
  } catch {
    return 'is not host:port or an http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must use http or https, not ${url.protocol.slice(0, -1)}`;
  if (url.username !== '' || url.password !== '') return 'must not carry credentials: use basic_auth';
  if (url.hostname === '') return 'has no host';
  if (!isUrl && (url.pathname !== metricsPath || url.search !== '' || url.hash !== '')) return 'is not host:port; give a URL to set a path';
  url.hash = '';
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return { url, instance: `${url.hostname.includes(':') && !url.hostname.startsWith('[') ? `[${url.hostname}]` : url.hostname}:${port}` };
}

export const PrometheusConfigSchema = z
  .object({
    /** Scrape targets: "host:port" or "http(s)://host:port/path". */
    targets: z.array(z.string()).min(1, 'must list at least one target').max(1000),
    /** The `job` label; default: the component id (e.g. "prometheus/node"). */
    job_name: z.string().min(1).max(256).optional(),
    metrics_path: z.string().regex(/^\/[^\s?#]*$/, 'must be an absolute path like "/metrics"').default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    interval: duration({ min: 100, max: 3_600_000 }).default(10_000),
    /** Whole-scrape deadline (connect, headers, body); default min(5s, interval / 2). */
    timeout: duration({ min: 10, max: 3_600_000 }).optional(),
    basic_auth: z.object({ username: z.string().min(1), password: secret({ allowEmpty: true }) }).strict().optional(),
    bearer_token: secret({ allowEmpty: false }).optional(),
    /** Static labels added to every sample of these targets. */
    labels: z.record(z.string().regex(LABEL_NAME, 'must be a label name [a-zA-Z_][a-zA-Z0-9_]*'), z.string().max(1024)).default({}),
    /** Use timestamps the target exposes (else the scrape time). */
    honor_timestamps: z.boolean().default(true),
    /** Largest body after decompression; beyond: the scrape fails (body_too_large). */
    max_body_bytes: byteSize({ min: 1024 }).default(16 * 1024 * 1024),
    /** Samples per scrape; beyond: the scrape fails (sample_limit), as Prometheus' sample_limit. */
    max_samples: z.number().int().min(1).max(10_000_000).default(50_000),
    /** Labels per sample; beyond: the scrape fails (label_limit). */
    max_labels: z.number().int().min(1).max(1000).default(64),
    /** Longest label value in UTF-8 bytes; beyond: the scrape fails (label_value_too_long). */
    max_label_value_bytes: z.number().int().min(1).max(16 * 1024 * 1024).default(4096),
    /** Scrapes in flight at once across the targets of this receiver. */
    max_concurrent_scrapes: z.number().int().min(1).max(256).default(4),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.targets.forEach((t, i) => {
      const r = resolveTarget(t, c.scheme, c.metrics_path);
      // The target is echoed in the error with any user:password@ masked.
      if (typeof r === 'string') ctx.addIssue({ code: 'custom', path: ['targets', i], message: r, input: t.replace(/\/\/[^/@]*@/, '//(hidden)@') });
    });
    if (c.timeout !== undefined && c.timeout >= c.interval) {
      ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must be shorter than interval (${c.interval} ms)`, input: c.timeout });
    }
    if (c.basic_auth && c.bearer_token) {
      ctx.addIssue({ code: 'custom', path: ['bearer_token'], message: 'cannot be set together with basic_auth' });
    }
  });

export type PrometheusConfig = z.output<typeof PrometheusConfigSchema>;

/** The effective scrape timeout. */
export function scrapeTimeout(c: PrometheusConfig): number {
  return c.timeout ?? Math.min(5000, Math.floor(c.interval / 2));
}
