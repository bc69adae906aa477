// Agent enrollment and the agent registry over HTTP (ARCHITECTURE section 7, "keys and agents").
//
//   POST   /api/v1/agents/enrollment-tokens   admin    one-time token, expiring (default 1h, at most 30d)
//   POST   /api/v1/agents/enroll              public   {token, agent_id} -> the agent's own secret
//   GET    /api/v1/agents                     admin    the registry (no secrets)
//   DELETE /api/v1/agents/{id}                admin    revoke; live connections are dropped (onRevoke)
//
// The enroll route is public because the one-time token in its body is the credential. What it
// answers is chosen so an anonymous caller learns nothing about tokens: an unknown, used and
// expired token all answer the same 401. Refused attempts (401, 409) draw from one token bucket
// shared by every caller (the gateway does not hand handlers the client address); once it is
// empty the route answers 429 without touching the store, so a flood of guesses costs no
// database write lock (the store consumes tokens in an immediate transaction). Tokens and
// secrets carry 256 random bits: the bucket protects the database, not the secrets.
//
// An agent id that is enrolled and active answers 409 and the token is NOT consumed: a second
// host configured with the same id (a cloned image) must not silently take over the first
// one's identity. Re-enrolling a reinstalled host means revoking the old registration first
// (`aiops agents revoke <id>`); a revoked id may be enrolled again. The check and the enrollment
// run one at a time in this process (enrollment is rare), so two concurrent requests for one id
// cannot both pass the check. Across central processes sharing a database the store itself
// would have to refuse (see the report of this change).
//
// Secrets never reach logs, audit entries or error bodies: handlers log ids only, the audit
// target is the agent id (and the token's public id), and the gateway's access log never holds
// bodies.
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { parseDuration, Serial } from '../../../shared-schemas/src/runtime/index.js';
import { ApiError, ErrorBodySchema, TokenBucketLimiter } from '../gateway/index.js';
import type { Gateway, RateLimit } from '../gateway/index.js';
import { MAX_ENROLLMENT_TOKEN_LIFETIME_MS, StorageError } from '../storage/index.js';
import type { AgentRecord, AgentStore } from '../storage/index.js';

/**
 * The agent id grammar of the edge agent (edge-agent/src/config/config.ts, AGENT_ID_RE): it
 * becomes an MQTT topic level and a gRPC metadata value. Kept identical on both sides; the
 * agent's enrollment test checks the agent's ids against this route.
 */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Tenant names as central's config accepts them (central/src/config/config.ts). */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const DEFAULT_ENROLLMENT_TOKEN_TTL_MS = 3_600_000;
/** Shortest token lifetime: a token that expires before an operator can paste it is a mistake. */
export const MIN_ENROLLMENT_TOKEN_TTL_MS = 60_000;
/** Refused enrollments (401, 409) allowed before the route answers 429: a burst, then a rate. */
export const DEFAULT_ENROLL_FAILURE_LIMIT: RateLimit = { ratePerSecond: 1, burst: 30 };

const ENROLL_TOKEN_ID = /^aiops_(e_[0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

export interface AgentRoutesDeps {
  agents: AgentStore;
  clock: { now(): number };
  /** Tenant of tokens created without one (central's `tenant` setting). */
  defaultTenant: string;
  /**
   * Called after an agent was revoked (and again when an already revoked agent is revoked), so
   * the MQTT broker and the gRPC server drop its live connections at once instead of at its
   * next reconnect. A failure is logged; the revocation itself stands.
   */
  onRevoke?: (agentId: string) => void | Promise<void>;
  /** Where `aiops_agent_enrollments_total` is registered (the gateway's registry); none: not exported. */
  registry?: Registry;
  /** Token bucket of refused enrollments (default DEFAULT_ENROLL_FAILURE_LIMIT). */
  enrollFailureLimit?: RateLimit;
}

export type EnrollmentResult = 'enrolled' | 'invalid_token' | 'conflict' | 'rate_limited';

const AgentId = z.string().regex(AGENT_ID_PATTERN, 'must be 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit (the agent id grammar)');
const Tenant = z.string().regex(TENANT_PATTERN, 'must be 1-63 characters of [A-Za-z0-9_.-], starting with a letter or digit');

const Ttl = z
  .string()
  .max(32)
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like "15m", "1h", "7d"' });
      return z.NEVER;
    }
    if (ms < MIN_ENROLLMENT_TOKEN_TTL_MS || ms > MAX_ENROLLMENT_TOKEN_LIFETIME_MS) {
      ctx.addIssue({ code: 'custom', message: `must be between 1m and ${MAX_ENROLLMENT_TOKEN_LIFETIME_MS / 86_400_000}d` });
      return z.NEVER;
    }
    return Math.round(ms);
  })
  .describe('How long the token stays valid, e.g. "15m", "1h", "7d" (default 1h, at most 30d)');

const CreateTokenBody = z
  .object({
    ttl: Ttl.optional(),
    tenant: Tenant.optional().describe("The tenant the enrolled agent joins (default: central's tenant)"),
  })
  .strict();

const CreateTokenResponse = z.object({
  token: z.string().describe('One-time enrollment token: shown once, give it to the agent as AIOPS_ENROLLMENT_TOKEN'),
  expires_at: z.string().describe('RFC 3339 time after which the token is refused'),
  tenant: z.string(),
});

const EnrollBody = z
  .object({
    token: z.string().min(1).max(512).describe('The one-time enrollment token'),
    agent_id: AgentId.describe("The agent's id (agent.id, default the host name)"),
  })
  .strict();

const EnrollResponse = z.object({
  agent_id: z.string(),
  tenant: z.string().describe('The tenant the token was issued for: the agent publishes under it'),
  secret: z.string().describe("The agent's own credential, shown once: presented with the agent id to MQTT and gRPC"),
});

const AgentView = z.object({
  agent_id: z.string(),
  tenant: z.string(),
  enrolled_at: z.string(),
  revoked_at: z.string().nullable(),
  last_seen_at: z.string().nullable(),
});

const ListQuery = z.object({ tenant: Tenant.optional().describe('Only agents of this tenant') }).strict();
const IdParams = z.object({ id: AgentId.describe('Agent id') });

const errorBody = (description: string) => ({ description, body: ErrorBodySchema });
const NO_STORE = { 'cache-control': 'no-store' };

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function view(r: AgentRecord): z.output<typeof AgentView> {
  return {
    agent_id: r.agentId,
    tenant: r.tenant,
    enrolled_at: iso(r.enrolledAtMs),
    revoked_at: r.revokedAtMs === 0 ? null : iso(r.revokedAtMs),
    last_seen_at: r.lastSeenAtMs === 0 ? null : iso(r.lastSeenAtMs),
  };
}

/** The public id of an enrollment token (`e_...`) when it is well-formed; never the secret half. */
function tokenId(token: string): string | undefined {
  return ENROLL_TOKEN_ID.exec(token)?.[1];
}

export function registerAgentRoutes(gateway: Gateway, deps: AgentRoutesDeps): void {
  const { agents, clock } = deps;
  const limiter = new TokenBucketLimiter({ defaults: deps.enrollFailureLimit ?? DEFAULT_ENROLL_FAILURE_LIMIT, maxBuckets: 1, now: () => clock.now() });
  // Enrollment: check-then-enroll must not interleave.
  const serial = new Serial();
  const registers = deps.registry !== undefined ? [deps.registry] : [];
  const enrollments =
    (deps.registry?.getSingleMetric('aiops_agent_enrollments_total') as Counter<'result'> | undefined) ??
    new Counter({ name: 'aiops_agent_enrollments_total', help: 'Enrollment requests by result (enrolled, invalid_token, conflict, rate_limited).', labelNames: ['result'] as const, registers });
  const count = (result: EnrollmentResult): void => enrollments.inc({ result });

  /** A refused attempt: charged to the shared failure bucket and counted. */
  const refuse = (result: 'invalid_token' | 'conflict', err: ApiError): ApiError => {
    limiter.take('enroll');
    count(result);
    return err;
  };

  gateway.route({
    method: 'POST',
    path: '/api/v1/agents/enrollment-tokens',
    scope: 'admin',
    summary: 'Create a one-time enrollment token for an agent',
    description: 'The token is shown once. An agent started with it (AIOPS_ENROLLMENT_TOKEN) obtains its own credentials; the token is then used up.',
    tags: ['agents'],
    operationId: 'createEnrollmentToken',
    body: CreateTokenBody,
    responses: { 201: { description: 'The token (shown once)', body: CreateTokenResponse } },
    audit: { action: 'agent.enrollment_token.create', target: (ctx) => `tenant/${ctx.body.tenant ?? deps.defaultTenant}` },
    handler: async (ctx) => {
      const now = clock.now();
      const tenant = ctx.body.tenant ?? deps.defaultTenant;
      const { token, expiresAtMs } = await agents.createEnrollmentToken({ tenant, expiresAtMs: now + (ctx.body.ttl ?? DEFAULT_ENROLLMENT_TOKEN_TTL_MS), createdBy: ctx.principal!.keyId }, now);
      ctx.log.info({ tenant, tokenId: tokenId(token), expiresAt: iso(expiresAtMs), by: ctx.principal!.keyId }, 'enrollment token created');
      return { status: 201, headers: NO_STORE, body: { token, expires_at: iso(expiresAtMs), tenant } };
    },
  });

  gateway.route({
    method: 'POST',
    path: '/api/v1/agents/enroll',
    scope: 'public',
    summary: 'Enroll an agent with a one-time token; answers its own credentials',
    description:
      'Unauthenticated: the one-time token in the body is the credential. Unknown, used and expired tokens answer the same 401. ' +
      'An agent id that is enrolled and active answers 409 without using the token (revoke it first to re-enroll a reinstalled host).',
    tags: ['agents'],
    operationId: 'enrollAgent',
    bodyLimitBytes: 4096,
    body: EnrollBody,
    responses: {
      201: { description: "The agent's credentials (shown once)", body: EnrollResponse },
      401: errorBody('The token is unknown, already used or expired (not told apart): create a new one with `aiops agents enroll`'),
      409: errorBody('An active agent already has this id (the token was not used)'),
      429: errorBody('Too many refused enrollments: retry after Retry-After'),
    },
    audit: {
      action: 'agent.enroll',
      target: (ctx) => {
        const id = tokenId(ctx.body.token);
        return id === undefined ? ctx.body.agent_id : `${ctx.body.agent_id} (token ${id})`;
      },
    },
    handler: (ctx) =>
      serial.run(async () => {
        const agentId = ctx.body.agent_id;
        if (limiter.exhausted('enroll')) {
          count('rate_limited');
          throw new ApiError(429, 'rate_limited', 'too many refused enrollments; retry later', { retryAfterSeconds: Math.max(1, Math.ceil(limiter.waitMs('enroll') / 1000)) });
        }
        const now = clock.now();
        const existing = await agents.get(agentId);
        if (existing !== undefined && existing.revokedAtMs === 0) {
          ctx.log.warn({ agentId }, 'enrollment refused: an active agent has this id');
          throw refuse('conflict', new ApiError(409, 'agent_exists', `an active agent is already enrolled as "${agentId}"; the token was not used. Give this agent another agent.id, or revoke the old registration (aiops agents revoke ${agentId}) and start the agent again`));
        }
        let enrolled;
        try {
          enrolled = await agents.enroll(ctx.body.token, agentId, now);
        } catch (err) {
          if (err instanceof StorageError && err.code === 'CONFLICT') {
            ctx.log.warn({ agentId }, 'enrollment refused: the id is enrolled in another tenant');
            throw refuse('conflict', new ApiError(409, 'agent_exists', `agent "${agentId}" is enrolled in another tenant; the token was not used`));
          }
          throw err;
        }
        if (enrolled === undefined) {
          ctx.log.warn({ agentId, tokenId: tokenId(ctx.body.token) }, 'enrollment refused: token unknown, used or expired');
          throw refuse('invalid_token', new ApiError(401, 'invalid_enrollment_token', 'the enrollment token is unknown, already used or expired; create a new one with `aiops agents enroll`'));
        }
        count('enrolled');
        ctx.log.info({ agentId, tenant: enrolled.record.tenant, tokenId: tokenId(ctx.body.token) }, 'agent enrolled');
        return { status: 201, headers: NO_STORE, body: { agent_id: enrolled.record.agentId, tenant: enrolled.record.tenant, secret: enrolled.secret } };
      }),
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/agents',
    scope: 'admin',
    summary: 'List enrolled agents (revoked ones included)',
    tags: ['agents'],
    operationId: 'listAgents',
    query: ListQuery,
    responses: { 200: { description: 'The agents, by id', body: z.object({ agents: z.array(AgentView) }) } },
    handler: async (ctx) => {
      const all = await agents.list();
      const tenant = ctx.query.tenant;
      return { status: 200, body: { agents: all.filter((a) => tenant === undefined || a.tenant === tenant).map(view) } };
    },
  });

  gateway.route({
    method: 'DELETE',
    path: '/api/v1/agents/{id}',
    scope: 'admin',
    summary: "Revoke an agent: its secret stops working and its live connections are dropped",
    description: 'Idempotent: revoking a revoked agent answers 204 again. The id may be enrolled again later with a new token.',
    tags: ['agents'],
    operationId: 'revokeAgent',
    params: IdParams,
    responses: { 204: { description: 'Revoked' }, 404: errorBody('No agent has this id') },
    audit: { action: 'agent.revoke' },
    handler: async (ctx) => {
      const agentId = ctx.params.id;
      const revoked = await agents.revoke(agentId, clock.now());
      if (!revoked && (await agents.get(agentId)) === undefined) {
        throw new ApiError(404, 'not_found', `no agent is enrolled as "${agentId}"`);
      }
      if (revoked) ctx.log.info({ agentId, by: ctx.principal!.keyId }, 'agent revoked');
      if (deps.onRevoke !== undefined) {
        try {
          await deps.onRevoke(agentId);
        } catch (err) {
          ctx.log.error({ agentId, err: (err as Error)?.message ?? String(err) }, 'agent revoked, but dropping its live connections failed: they end at their next reconnect');
        }
      }
      return { status: 204 };
    },
  });
}
