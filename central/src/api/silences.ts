// Silences over REST (Alertmanager's model): who muted which alerts, until when, and why.
// Created, updated and expired with the write scope, audited; listed with read. Matchers are
// Alertmanager's objects ({name, value, isRegex, isEqual}) or one selector text
// ('{alertname="DiskFull", host=~"db-.*"}'). The mute stage re-reads silences at once after
// a change.
import { z } from 'zod';
import { parseDuration } from '../../../shared-schemas/src/runtime/index.js';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { silenceState } from '../storage/index.js';
import type { LabelMatcher, Silence, SqliteSilenceStore } from '../storage/index.js';
import { parseSelector, SelectorSyntaxError } from './selector.js';
import { ERR, iso, storageToApi, tenantOf, timeParam } from './common.js';

export interface SilenceRoutesDeps {
  silences: SqliteSilenceStore;
  /** Called after a change so muting follows at once. */
  changed?: (tenant: string) => void;
}

const AmMatcher = z.object({ name: z.string().min(1).max(256), value: z.string().max(4096), isRegex: z.boolean().default(false), isEqual: z.boolean().default(true) }).strict();
const SilenceIn = z
  .object({
    id: z.string().uuid().optional().describe('update this silence (while it has not expired)'),
    matchers: z.union([z.array(AmMatcher).min(1).max(32), z.string().min(2).max(4096)]),
    startsAt: timeParam.optional().describe('default: now'),
    endsAt: timeParam.optional(),
    duration: z.string().max(32).optional().describe('instead of endsAt: "2h", "30m"'),
    createdBy: z.string().min(1).max(256).optional().describe("default: the API key's name"),
    comment: z.string().min(1).max(4096),
  })
  .strict();
const MatcherOut = z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean() });
const SilenceOut = z.object({ id: z.string(), status: z.object({ state: z.enum(['pending', 'active', 'expired']) }), matchers: z.array(MatcherOut), startsAt: z.string(), endsAt: z.string(), updatedAt: z.string(), createdBy: z.string(), comment: z.string() });

const toAm = (m: LabelMatcher) => ({ name: m.name, value: m.value, isRegex: m.op === '=~' || m.op === '!~', isEqual: m.op === '=' || m.op === '=~' });
const fromAm = (m: z.output<typeof AmMatcher>): LabelMatcher => ({ name: m.name, value: m.value, op: m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=' });

function silenceJson(s: Silence, now: number): z.output<typeof SilenceOut> {
  return { id: s.id, status: { state: silenceState(s, now) }, matchers: s.matchers.map(toAm), startsAt: iso(s.startsAtMs), endsAt: iso(s.endsAtMs), updatedAt: iso(s.updatedAtMs), createdBy: s.createdBy, comment: s.comment };
}

export function registerSilenceRoutes(gateway: Gateway, deps: SilenceRoutesDeps): void {
  gateway.route({
    method: 'POST',
    path: '/api/v1/silences',
    scope: 'write',
    summary: 'Create or update a silence (mutes matching alerts between startsAt and endsAt)',
    tags: ['silences'],
    body: SilenceIn,
    audit: { action: 'silence.put', target: (ctx) => ctx.body.id ?? 'new' },
    responses: { 200: { description: 'The stored silence', body: SilenceOut }, 400: ERR[400], 404: ERR[404], 503: ERR[503] },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      const b = ctx.body;
      let matchers: LabelMatcher[];
      if (typeof b.matchers === 'string') {
        try {
          matchers = parseSelector(b.matchers).matchers;
        } catch (err) {
          if (err instanceof SelectorSyntaxError) throw new ApiError(400, 'invalid_request', `matchers: ${err.message}`, { field: 'body.matchers' });
          throw err;
        }
      } else matchers = b.matchers.map(fromAm);
      const startsAtMs = b.startsAt ?? ctx.nowMs;
      let endsAtMs = b.endsAt;
      if (b.duration !== undefined) {
        const d = parseDuration(b.duration);
        if (!Number.isFinite(d) || d <= 0) throw new ApiError(400, 'invalid_request', `duration must look like "2h" or "30m" (got ${JSON.stringify(b.duration)})`, { field: 'body.duration' });
        if (endsAtMs !== undefined) throw new ApiError(400, 'invalid_request', 'give endsAt or duration, not both', { field: 'body.duration' });
        endsAtMs = startsAtMs + d;
      }
      if (endsAtMs === undefined) throw new ApiError(400, 'invalid_request', 'endsAt or duration is required (a silence must end)', { field: 'body.endsAt' });
      try {
        const s = await deps.silences.put({ ...(b.id ? { id: b.id } : {}), tenant, matchers, startsAtMs, endsAtMs, createdBy: b.createdBy ?? ctx.principal?.keyName ?? 'unknown', comment: b.comment }, ctx.nowMs);
        deps.changed?.(tenant);
        return { status: 200, body: silenceJson(s, ctx.nowMs) };
      } catch (err) {
        return storageToApi(err, 'body');
      }
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/silences',
    scope: 'read',
    summary: 'List silences, most recently changed first',
    tags: ['silences'],
    query: z.object({ state: z.enum(['pending', 'active', 'expired']).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(1000) }).strict(),
    responses: { 200: { description: 'Silences', body: z.object({ silences: z.array(SilenceOut) }) }, 400: ERR[400], 503: ERR[503] },
    handler: async (ctx) => {
      try {
        const list = await deps.silences.list(tenantOf(ctx.principal), { limit: ctx.query.limit });
        const out = list.map((s) => silenceJson(s, ctx.nowMs)).filter((s) => ctx.query.state === undefined || s.status.state === ctx.query.state);
        return { status: 200, body: { silences: out } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/silences/{id}',
    scope: 'read',
    summary: 'One silence',
    tags: ['silences'],
    params: z.object({ id: z.string().min(1).max(64) }),
    responses: { 200: { description: 'The silence', body: SilenceOut }, 404: ERR[404], 503: ERR[503] },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      try {
        const s = await deps.silences.get(tenant, ctx.params.id);
        if (!s) throw new ApiError(404, 'not_found', `no silence ${JSON.stringify(ctx.params.id)} in tenant ${tenant}`);
        return { status: 200, body: silenceJson(s, ctx.nowMs) };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });

  gateway.route({
    method: 'DELETE',
    path: '/api/v1/silences/{id}',
    scope: 'write',
    summary: 'Expire a silence now (it stays listed as expired)',
    tags: ['silences'],
    params: z.object({ id: z.string().min(1).max(64) }),
    audit: { action: 'silence.expire', target: (ctx) => ctx.params.id },
    responses: { 200: { description: 'The expired silence', body: SilenceOut }, 404: ERR[404], 503: ERR[503] },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      try {
        const s = await deps.silences.expire(tenant, ctx.params.id, ctx.nowMs);
        if (!s) throw new ApiError(404, 'not_found', `no silence ${JSON.stringify(ctx.params.id)} in tenant ${tenant}`);
        deps.changed?.(tenant);
        return { status: 200, body: silenceJson(s, ctx.nowMs) };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });
}
