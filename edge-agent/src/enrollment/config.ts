// Config of agent enrollment: the `agent.enrollment` section. Keys are snake_case; the block is
// strict. Example:
//
//   agent:
//     id: web-1
//     enrollment:
//       url: https://central.example.com:8080        # central's API base URL
//       token: ${env:AIOPS_ENROLLMENT_TOKEN:-}         # or leave `token` out: the same variable is read
//       ca_file: /etc/aiops-agent/ca.pem               # https only; default: the system roots
//       # credentials_file: <agent.data_dir>/credentials.json
//
// The token is needed only for the first start: once the credentials file exists it is used and
// the token (already consumed by central) is ignored. Hence the `:-` default above: a missing
// variable must not make the config invalid on later starts.
import { join } from 'node:path';
import { z } from 'zod';
import { duration } from '../../../shared-schemas/src/runtime/index.js';

/** The environment variable the token is read from when the config has no `token` key. */
export const ENROLLMENT_TOKEN_ENV = 'AIOPS_ENROLLMENT_TOKEN';
export const DEFAULT_CREDENTIALS_FILE_NAME = 'credentials.json';

/** What `aiops agents enroll` prints (central/src/storage/credentials.ts: `aiops_e_<16 hex>_<43 base64url>`). */
const ENROLLMENT_TOKEN_RE = /^aiops_e_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

function checkUrl(u: string, ctx: z.RefinementCtx): void {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    ctx.addIssue({ code: 'custom', message: "must be central's base URL, e.g. https://central.example.com:8080", input: u });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL', input: u });
  else if (url.username !== '' || url.password !== '') ctx.addIssue({ code: 'custom', message: 'must not contain credentials (the enrollment token is the credential)', input: u });
  else if (url.search !== '' || url.hash !== '') ctx.addIssue({ code: 'custom', message: 'must not have a query or fragment (it is a base URL)', input: u });
}

export const enrollmentConfigSchema = z
  .object({
    /** Central's API base URL (http or https); `/api/v1/agents/enroll` is appended. */
    url: z.string().superRefine(checkUrl),
    /**
     * One-time token from `aiops agents enroll`. Secret: never logged, hidden by --print-config.
     * Absent or empty: read from AIOPS_ENROLLMENT_TOKEN; still absent: the agent can only start
     * with existing credentials.
     */
    token: z
      .string()
      .max(512)
      .optional()
      .refine((t) => t === undefined || t === '' || ENROLLMENT_TOKEN_RE.test(t), 'must be an enrollment token as printed by `aiops agents enroll` (aiops_e_...)'),
    /** Where the credentials are kept, owner-only (0600). Default: <agent.data_dir>/credentials.json. */
    credentials_file: z.string().min(1, 'must be a file path').optional(),
    /** PEM CA bundle to verify central with (https only; default: the system roots). */
    ca_file: z.string().min(1, 'must be a file path').optional(),
    /** One enrollment request must be answered within this. */
    timeout: duration({ min: 100, max: 300_000 }).default(10_000),
    /** Network errors, 429 and 5xx are retried with jittered exponential backoff; other refusals are not. */
    retry: z
      .object({
        initial_interval: duration({ min: 10, max: 600_000 }).default(1000),
        max_interval: duration({ min: 10, max: 3_600_000 }).default(60_000),
        /** Give up after this long (0 = keep trying until central answers, or the agent is stopped). */
        max_elapsed_time: duration({ min: 0, max: 30 * 86_400_000 }).default(0),
      })
      .strict()
      .refine((r) => r.initial_interval <= r.max_interval, { message: 'initial_interval must be <= max_interval', path: ['initial_interval'] })
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.ca_file !== undefined && c.url.startsWith('http:')) ctx.addIssue({ code: 'custom', message: 'ca_file needs an https:// url', path: ['ca_file'] });
  });

export type EnrollmentSectionInput = z.input<typeof enrollmentConfigSchema>;
export type EnrollmentSection = z.output<typeof enrollmentConfigSchema>;

/** The enrollment settings as the agent uses them (camelCase, defaults resolved). */
export interface EnrollmentConfig {
  /** Base URL without a trailing "/". */
  url: string;
  /** Undefined when neither the config nor AIOPS_ENROLLMENT_TOKEN gives one. Secret. */
  token: string | undefined;
  credentialsFile: string;
  caFile: string | undefined;
  timeoutMs: number;
  retry: { initialIntervalMs: number; maxIntervalMs: number; maxElapsedMs: number };
}

/**
 * Resolves a validated section: the default credentials file under `dataDir`, the token from
 * AIOPS_ENROLLMENT_TOKEN when the config has none. An environment token of the wrong shape is
 * reported like a config problem, at `agent.enrollment.token`.
 */
export function resolveEnrollmentConfig(s: EnrollmentSection, dataDir: string, env: NodeJS.ProcessEnv): { config: EnrollmentConfig } | { problem: { path: string; message: string } } {
  let token = s.token === '' ? undefined : s.token;
  if (token === undefined) {
    const fromEnv = env[ENROLLMENT_TOKEN_ENV]?.trim();
    if (fromEnv !== undefined && fromEnv !== '') {
      if (!ENROLLMENT_TOKEN_RE.test(fromEnv)) {
        return { problem: { path: 'agent.enrollment.token', message: `(from ${ENROLLMENT_TOKEN_ENV}) must be an enrollment token as printed by \`aiops agents enroll\` (aiops_e_...) (value hidden: secret)` } };
      }
      token = fromEnv;
    }
  }
  return {
    config: {
      url: s.url.replace(/\/+$/, ''),
      token,
      credentialsFile: s.credentials_file ?? join(dataDir, DEFAULT_CREDENTIALS_FILE_NAME),
      caFile: s.ca_file,
      timeoutMs: s.timeout,
      retry: { initialIntervalMs: s.retry.initial_interval, maxIntervalMs: s.retry.max_interval, maxElapsedMs: s.retry.max_elapsed_time },
    },
  };
}
