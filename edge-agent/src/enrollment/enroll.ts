// Agent enrollment: the agent's own credentials, obtained once from central with a one-time
// token and kept in an owner-only file (`aiops agents enroll` prints the token).
//
//   credentials file valid   -> used; the token (already consumed) is not needed any more
//   file readable by others  -> refused, with the chmod to run (the file holds the secret)
//   no file, a token         -> POST {token, agent_id} to <url>/api/v1/agents/enroll, then the
//                               file is written atomically (temp 0600 in the same folder, fsync,
//                               rename, fsync of the folder)
//   no file, no token        -> refused, telling the operator how to get a token
//
// Identity. The credentials bind an agent id and a tenant. The tenant is chosen by whoever
// created the token (`aiops agents enroll --tenant`): central is authoritative. When the config
// leaves agent.tenant (or agent.id) unset, the agent takes the enrolled value; when the config
// sets it, it must match, or the agent refuses to start (publishing under a tenant its
// credentials do not cover would be refused by central anyway, frame by frame). Taking the id
// from the file when agent.id is unset keeps an agent's identity across a host rename.
//
// Retries. Network errors, timeouts, 408, 429 and 5xx are retried with jittered exponential
// backoff (429/503 Retry-After honoured): an agent may start before central. Everything else
// is permanent and never retried (CONVENTIONS 8): 401 (token unknown, used or expired), 409 (an
// active agent has this id), 400, 404, redirects, TLS verification failures.
//
// Secrets (token, secret) are never logged and never put in error messages.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { Backoff } from '../exporters/internal/index.js';
import type { Logger } from '../../../shared-schemas/src/runtime/index.js';
import type { EnrollmentConfig } from './config.js';
import { ENROLLMENT_TOKEN_ENV } from './config.js';
import { EnrollmentError } from './errors.js';

export const ENROLL_PATH = '/api/v1/agents/enroll';
/** Answers larger than this are not read (central's answers are a few hundred bytes). */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_CREDENTIALS_FILE_BYTES = 64 * 1024;
const AGENT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** What an agent authenticates with: its id and its own secret, in its tenant. */
export interface AgentCredentials {
  agentId: string;
  tenant: string;
  /** Never log it. */
  secret: string;
}

export interface EnsuredCredentials extends AgentCredentials {
  /** `file`: read from the credentials file; `enrolled`: obtained from central now (and stored). */
  source: 'file' | 'enrolled';
  file: string;
}

/** The agent's identity as configured, and which parts the config set (as opposed to defaults). */
export interface ConfiguredIdentity {
  id: string;
  tenant: string;
  /** Default: both true (the values must match the credentials). */
  configured?: { id: boolean; tenant: boolean };
}

export interface EnsureCredentialsOptions {
  config: EnrollmentConfig;
  agent: ConfiguredIdentity;
  logger: Logger;
  /** Aborting stops waiting and retrying (SIGTERM during enrollment); rejects with code ABORTED. */
  signal?: AbortSignal;
  /** Waits between attempts (default: a timer, cut short by `signal`). Tests inject it. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random source of the backoff jitter. */
  random?: () => number;
  /** Wall clock for enrolled_at and retry.max_elapsed_time. */
  now?: () => number;
  userAgent?: string;
  /** Called before each wait between attempts (tests, progress). */
  onRetry?: (info: { attempt: number; delayMs: number; error: Error }) => void;
}

const StoredCredentialsSchema = z.object({
  version: z.literal(1),
  agent_id: z.string().regex(AGENT_ID_RE, 'must be an agent id'),
  tenant: z.string().regex(TENANT_RE, 'must be a tenant name'),
  secret: z.string().min(1).max(512),
  central_url: z.string().optional(),
  enrolled_at: z.string().optional(),
});

const EnrollResponseSchema = z.object({
  agent_id: z.string(),
  tenant: z.string().regex(TENANT_RE),
  secret: z.string().min(1).max(512),
});

/** A path as a shell argument (the operator pastes the hint). */
function sh(path: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * Reads the credentials file. Undefined when it does not exist. Throws EnrollmentError when it
 * is not owner-only (INSECURE_FILE, with the chmod to run), not a regular file or not valid
 * (BAD_FILE). Never follows a symbolic link.
 */
export async function readCredentialsFile(file: string): Promise<(AgentCredentials & { centralUrl?: string }) | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a folder on the path is a file, so no credentials file exists (writing it will say why it cannot).
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw new EnrollmentError('INSECURE_FILE', `credentials file ${file} is a symbolic link; it must be a regular file owned by the agent's user (mode 0600)`, false, { cause: err });
    throw new EnrollmentError('BAD_FILE', `cannot read credentials file ${file}: ${code ?? (err as Error).message}`, false, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new EnrollmentError('BAD_FILE', `credentials file ${file} is not a regular file`);
    if (process.platform !== 'win32') {
      if ((st.mode & 0o077) !== 0) {
        const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
        throw new EnrollmentError(
          'INSECURE_FILE',
          `credentials file ${file} is accessible by group or others (mode ${mode}) and holds this agent's secret; refusing to use it. ` +
            `Run: chmod 600 ${sh(file)} (if others may have read it, revoke the agent with \`aiops agents revoke\` and enroll it again)`,
        );
      }
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
        throw new EnrollmentError('INSECURE_FILE', `credentials file ${file} is owned by uid ${st.uid}, not by the agent's user (uid ${uid}); refusing to use it. Run: chown ${uid} ${sh(file)} && chmod 600 ${sh(file)}`);
      }
    }
    if (st.size > MAX_CREDENTIALS_FILE_BYTES) throw new EnrollmentError('BAD_FILE', `credentials file ${file} is not a credentials file (${st.size} bytes); remove it to enroll again with a new token`);
    const text = await fh.readFile('utf8');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new EnrollmentError('BAD_FILE', `credentials file ${file} is not valid JSON; remove it to enroll again with a new token (\`aiops agents enroll\`)`);
    }
    const r = StoredCredentialsSchema.safeParse(doc);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new EnrollmentError('BAD_FILE', `credentials file ${file} is not valid (${i.path.join('.') || '(root)'}: ${i.message}); remove it to enroll again with a new token (\`aiops agents enroll\`)`);
    }
    return { agentId: r.data.agent_id, tenant: r.data.tenant, secret: r.data.secret, ...(r.data.central_url !== undefined ? { centralUrl: r.data.central_url } : {}) };
  } finally {
    await fh.close();
  }
}

/**
 * Writes the credentials file atomically and owner-only: a temp file created 0600 (O_EXCL) in
 * the same folder, written, fsynced, renamed over the target, then the folder fsynced. The
 * folder is created 0700 when missing. A crash leaves either no file or the whole file.
 */
export async function writeCredentialsFile(file: string, creds: AgentCredentials, meta: { centralUrl: string; enrolledAtMs: number }): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const text = `${JSON.stringify({ version: 1, agent_id: creds.agentId, tenant: creds.tenant, secret: creds.secret, central_url: meta.centralUrl, enrolled_at: new Date(meta.enrolledAtMs).toISOString() }, null, 2)}\n`;
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      // The umask can only remove bits from 0600; chmod anyway in case the folder has a default ACL.
      await fh.chmod(0o600);
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let d: FileHandle | undefined;
  try {
    d = await open(dir, 'r');
    await d.sync();
  } catch {
    // Not every platform or filesystem can fsync a folder; the rename is still atomic.
  } finally {
    await d?.close().catch(() => undefined);
  }
}

/** Creates (and removes) a probe file where the credentials go: a folder we cannot write is found before the token is used up. */
async function probeWritable(file: string): Promise<void> {
  const dir = dirname(file);
  const probe = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.probe`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // O_EXCL: never follows (or truncates through) a planted symbolic link.
    const fh = await open(probe, 'wx', 0o600);
    await fh.close();
    await unlink(probe);
  } catch (err) {
    throw new EnrollmentError('WRITE_FAILED', `cannot write the credentials file in ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; the enrollment token was not used (fix agent.enrollment.credentials_file or agent.data_dir)`, false, { cause: err });
  }
}

/** The configured identity against the credentials: adopted where the config is silent, checked where it speaks. */
export function reconcileIdentity(creds: AgentCredentials, agent: ConfiguredIdentity, file: string): AgentCredentials {
  const configured = agent.configured ?? { id: true, tenant: true };
  if (configured.id && creds.agentId !== agent.id) {
    throw new EnrollmentError('IDENTITY_MISMATCH', `the credentials in ${file} are for agent "${creds.agentId}" but agent.id is "${agent.id}": set agent.id to "${creds.agentId}" (or leave it unset), or remove ${sh(file)} and enroll again with a new token`);
  }
  if (configured.tenant && creds.tenant !== agent.tenant) {
    throw new EnrollmentError(
      'IDENTITY_MISMATCH',
      `central enrolled agent "${creds.agentId}" in tenant "${creds.tenant}" (credentials in ${file}) but agent.tenant is "${agent.tenant}": ` +
        `leave agent.tenant unset (the enrolled tenant is used) or set it to "${creds.tenant}"; to move the agent to tenant "${agent.tenant}", revoke it, remove ${sh(file)} and enroll it with a token created for that tenant (aiops agents enroll --tenant ${agent.tenant})`,
    );
  }
  return { agentId: creds.agentId, tenant: creds.tenant, secret: creds.secret };
}

/** One attempt's outcome (CONVENTIONS 8: a result, not a throw). */
type Attempt =
  | { kind: 'success'; creds: AgentCredentials }
  | { kind: 'retryable'; error: Error; retryAfterMs?: number; ambiguous: boolean }
  | { kind: 'failure'; error: EnrollmentError };

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Central's error body, when it is one: `message` (with `field`) as the operator should see it. */
function centralMessage(body: string): string | undefined {
  try {
    const b = JSON.parse(body) as { message?: unknown; requestId?: unknown };
    if (typeof b.message !== 'string') return undefined;
    const m = b.message.length > 400 ? `${b.message.slice(0, 400)}...` : b.message;
    return typeof b.requestId === 'string' ? `${m} (request id ${b.requestId})` : m;
  } catch {
    return undefined;
  }
}

function retryAfterMs(res: IncomingMessage): number | undefined {
  const v = res.headers['retry-after'];
  if (v === undefined) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function classify(status: number, body: string, res: IncomingMessage, c: EnrollmentConfig, agentId: string, endpoint: string): Attempt {
  const said = centralMessage(body);
  if (status === 201) {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      doc = undefined;
    }
    const r = EnrollResponseSchema.safeParse(doc);
    if (!r.success || r.data.agent_id !== agentId) {
      return { kind: 'failure', error: new EnrollmentError('BAD_RESPONSE', `central answered the enrollment of "${agentId}" with an unexpected body at ${endpoint}; the token may be used up: check \`aiops agents list\`, revoke the agent if it is listed, and enroll again with a new token`) };
    }
    return { kind: 'success', creds: { agentId: r.data.agent_id, tenant: r.data.tenant, secret: r.data.secret } };
  }
  if (status === 401) {
    return {
      kind: 'failure',
      error: new EnrollmentError('TOKEN_REFUSED', `central refused the enrollment token (unknown, already used or expired): create a new one with \`aiops agents enroll\` and start the agent with ${ENROLLMENT_TOKEN_ENV}=<token>`),
    };
  }
  if (status === 409) {
    return { kind: 'failure', error: new EnrollmentError('AGENT_EXISTS', `central refused to enroll "${agentId}": ${said ?? 'an active agent already has this id'}`) };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const ra = retryAfterMs(res);
    return { kind: 'retryable', error: new Error(`central answered ${status}${said !== undefined ? `: ${said}` : ''}`), ...(ra !== undefined ? { retryAfterMs: ra } : {}), ambiguous: status >= 500 };
  }
  if (status >= 300 && status < 400) {
    return { kind: 'failure', error: new EnrollmentError('REJECTED', `central answered ${status} (redirect to ${res.headers.location ?? 'nowhere'}) at ${endpoint}: set agent.enrollment.url to central's API base URL`) };
  }
  if (status === 404 || status === 405) {
    return { kind: 'failure', error: new EnrollmentError('REJECTED', `no enrollment endpoint at ${endpoint} (${status}): is agent.enrollment.url central's API base URL (${c.url})?`) };
  }
  return { kind: 'failure', error: new EnrollmentError('REJECTED', `central refused the enrollment of "${agentId}" (${status})${said !== undefined ? `: ${said}` : ''}`) };
}

/** One POST to central; never throws (the outer signal's abort is a retryable outcome the loop ends on). */
function attempt(c: EnrollmentConfig, agentId: string, ca: Buffer | undefined, signal: AbortSignal | undefined, userAgent: string): Promise<Attempt> {
  const endpoint = `${c.url}${ENROLL_PATH}`;
  const url = new URL(endpoint);
  const payload = Buffer.from(JSON.stringify({ token: c.token, agent_id: agentId }), 'utf8');
  const https = url.protocol === 'https:';
  return new Promise<Attempt>((resolve) => {
    let settled = false;
    let sent = false;
    const ac = new AbortController();
    const onOuterAbort = (): void => ac.abort(signal?.reason);
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    const done = (a: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onOuterAbort);
      resolve(a);
    };
    const timer = setTimeout(() => {
      done({ kind: 'retryable', error: new Error(`no answer from ${url.host} within ${c.timeoutMs} ms`), ambiguous: sent });
      ac.abort();
    }, c.timeoutMs);
    const options = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(payload.length), accept: 'application/json', 'user-agent': userAgent },
      signal: ac.signal,
      agent: false as const,
      ...(https && ca !== undefined ? { ca } : {}),
    };
    const req = (https ? httpsRequest : httpRequest)(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          res.destroy();
          done({ kind: 'failure', error: new EnrollmentError('BAD_RESPONSE', `central's answer at ${endpoint} is larger than ${MAX_RESPONSE_BYTES} bytes: is agent.enrollment.url central?`) });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => done(classify(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), res, c, agentId, endpoint)));
      res.on('error', (err) => done({ kind: 'retryable', error: new Error(`the answer from ${url.host} was cut: ${err.message}`), ambiguous: true }));
    });
    req.on('finish', () => {
      sent = true;
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (TLS_VERIFY_CODES.has(code)) {
        done({
          kind: 'failure',
          error: new EnrollmentError('TLS', `cannot verify central's certificate at ${url.host} (${code}): set agent.enrollment.ca_file to the CA that signed it${c.caFile !== undefined ? ` (${c.caFile} did not verify it)` : ''}`, false, { cause: err }),
        });
        return;
      }
      done({ kind: 'retryable', error: new Error(`cannot reach central at ${url.host}: ${code || err.message}`), ambiguous: sent });
    });
    req.end(payload);
  });
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, signal !== undefined ? { signal } : {});

/**
 * The agent's credentials: from the credentials file when it exists, else by enrolling with
 * central (and storing them). Throws EnrollmentError (permanent, or GAVE_UP / ABORTED) with a
 * message for the operator; never logs or reports the token or the secret.
 */
export async function ensureCredentials(opts: EnsureCredentialsOptions): Promise<EnsuredCredentials> {
  const c = opts.config;
  const file = c.credentialsFile;
  const log = opts.logger;
  const stored = await readCredentialsFile(file);
  if (stored !== undefined) {
    const creds = reconcileIdentity(stored, opts.agent, file);
    if (stored.centralUrl !== undefined && stored.centralUrl !== c.url) {
      log.warn({ file, enrolledAt: stored.centralUrl, url: c.url }, 'the credentials were issued by another central URL than agent.enrollment.url; using them anyway');
    }
    log.info({ agentId: creds.agentId, tenant: creds.tenant, file }, 'using stored agent credentials');
    return { ...creds, source: 'file', file };
  }
  if (c.token === undefined) {
    throw new EnrollmentError(
      'NO_TOKEN',
      `no agent credentials at ${file} and no enrollment token: create one on central with \`aiops agents enroll\` and start the agent once with ${ENROLLMENT_TOKEN_ENV}=<token> (or agent.enrollment.token)`,
    );
  }
  await probeWritable(file);
  let ca: Buffer | undefined;
  if (c.caFile !== undefined) {
    try {
      ca = await readFile(c.caFile);
    } catch (cause) {
      throw new ConfigError('agent.enrollment.ca_file', `agent.enrollment.ca_file: cannot read ${c.caFile}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
  }
  const endpoint = `${c.url}${ENROLL_PATH}`;
  if (c.url.startsWith('http:') && !isLoopbackUrl(c.url)) log.warn({ url: c.url }, 'enrolling over plain http: the token and the agent secret cross the network unencrypted (use https)');
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const backoff = new Backoff({ initialMs: c.retry.initialIntervalMs, maxMs: c.retry.maxIntervalMs, multiplier: 2, jitter: 0.2, ...(opts.random ? { random: opts.random } : {}) });
  const started = now();
  const agentId = opts.agent.id;
  let ambiguous = false;
  log.info({ agentId, url: c.url }, 'enrolling with central');
  for (let n = 1; ; n++) {
    if (opts.signal?.aborted) throw new EnrollmentError('ABORTED', 'enrollment stopped before central answered', false);
    const a = await attempt(c, agentId, ca, opts.signal, opts.userAgent ?? 'aiops-agent');
    if (opts.signal?.aborted) throw new EnrollmentError('ABORTED', 'enrollment stopped before central answered', false);
    if (a.kind === 'success') {
      const enrolledAt = now();
      try {
        await writeCredentialsFile(file, a.creds, { centralUrl: c.url, enrolledAtMs: enrolledAt });
      } catch (err) {
        throw new EnrollmentError(
          'WRITE_FAILED',
          `central enrolled agent "${a.creds.agentId}" but its credentials could not be stored at ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the token is used up: fix the problem, revoke the agent (aiops agents revoke ${a.creds.agentId}) and enroll again with a new token`,
          false,
          { cause: err },
        );
      }
      log.info({ agentId: a.creds.agentId, tenant: a.creds.tenant, file, attempts: n }, 'enrolled with central; credentials stored');
      const creds = reconcileIdentity(a.creds, { ...opts.agent, configured: { id: true, tenant: opts.agent.configured?.tenant ?? true } }, file);
      return { ...creds, source: 'enrolled', file };
    }
    if (a.kind === 'failure') {
      if (a.error.code === 'TOKEN_REFUSED' && ambiguous) {
        throw new EnrollmentError('TOKEN_REFUSED', `${a.error.message}. An earlier attempt reached central without an answer and may have used the token: check \`aiops agents list\` and revoke "${agentId}" if it is listed`, false);
      }
      throw a.error;
    }
    ambiguous ||= a.ambiguous;
    let wait = backoff.next();
    if (a.retryAfterMs !== undefined) wait = Math.min(Math.max(wait, a.retryAfterMs), c.retry.maxIntervalMs);
    if (c.retry.maxElapsedMs > 0 && now() + wait - started > c.retry.maxElapsedMs) {
      throw new EnrollmentError('GAVE_UP', `could not enroll with central at ${endpoint} within ${c.retry.maxElapsedMs} ms (${n} attempts): ${a.error.message}`, true, { cause: a.error });
    }
    log.warn({ attempt: n, delayMs: wait, err: a.error.message }, 'enrollment: central not reachable, retrying');
    opts.onRetry?.({ attempt: n, delayMs: wait, error: a.error });
    try {
      await sleep(wait, opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw new EnrollmentError('ABORTED', 'enrollment stopped before central answered', false, { cause: err });
      throw err;
    }
  }
}

/**
 * What --check-config can say without enrolling: the credentials file's state (read, permission
 * and identity checked), or whether a token is at hand to enroll on the first start. Throws
 * EnrollmentError / ConfigError for what would stop the agent at start.
 */
export async function checkEnrollment(c: EnrollmentConfig, agent: ConfiguredIdentity): Promise<string> {
  const stored = await readCredentialsFile(c.credentialsFile);
  if (stored !== undefined) {
    const creds = reconcileIdentity(stored, agent, c.credentialsFile);
    return `enrolled as "${creds.agentId}" (tenant ${creds.tenant}), credentials in ${c.credentialsFile}`;
  }
  if (c.token === undefined) {
    throw new EnrollmentError('NO_TOKEN', `no agent credentials at ${c.credentialsFile} and no enrollment token: create one on central with \`aiops agents enroll\` and start the agent once with ${ENROLLMENT_TOKEN_ENV}=<token>`);
  }
  if (c.caFile !== undefined) {
    try {
      await readFile(c.caFile);
    } catch (cause) {
      throw new ConfigError('agent.enrollment.ca_file', `agent.enrollment.ca_file: cannot read ${c.caFile}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
    }
  }
  return `not enrolled yet: will enroll at ${c.url} on first start (token present), credentials to ${c.credentialsFile}`;
}

/** True for a URL whose host is this machine (localhost, 127.0.0.0/8, ::1): plain http never leaves it. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
