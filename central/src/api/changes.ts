// Changes over REST: what CI/CD pipelines and operators report when they deploy, roll back or
// change configuration, so that root-cause analysis can weigh "deployed just before it broke".
// Recorded with the write scope (audited), listed with read. One event names one service or
// host; `id` is the reporter's idempotency key (a retried webhook is answered 200 with the stored
// event, a new one 201).
import { z } from 'zod';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { CHANGE_LIMITS } from '../storage/index.js';
import type { ChangeEvent, SqliteChangeStore } from '../storage/index.js';
import { ERR, iso, storageToApi, tenantOf, timeParam } from './common.js';

export interface ChangeRoutesDeps {
  changes: SqliteChangeStore;
  /** Called after a new change is stored (root-cause analysis re-ranks the open incidents around it). */
  recorded?: (tenant: string, entity: string) => void;
}

/** How far ahead of central's clock a change's time may be (clock skew between reporters). */
export const MAX_CHANGE_CLOCK_SKEW_MS = 5 * 60_000;

const name = (what: string) => z.string().min(1).max(CHANGE_LIMITS.maxEntityLength).describe(what);
const ChangeIn = z
  .object({
    id: z.string().regex(CHANGE_LIMITS.id, 'must be 1..128 letters, digits or ._:/- starting with a letter or digit').optional().describe('idempotency key: a resent event with the same id is stored once'),
    service: name('the service changed').optional(),
    host: name('the host changed (instead of service)').optional(),
    kind: z.string().regex(CHANGE_LIMITS.kind, 'must be a lower-case word such as deploy, rollback, config').default('deploy'),
    at: timeParam.optional().describe('when the change took effect (default: now)'),
    description: z.string().max(CHANGE_LIMITS.maxDescriptionLength).optional(),
    version: z.string().max(CHANGE_LIMITS.maxVersionLength).optional(),
    source: z.string().min(1).max(CHANGE_LIMITS.maxSourceLength).optional().describe("who reports it (default: the API key's name)"),
  })
  .strict();
const ChangeOut = z.object({
  id: z.string(),
  service: z.string().optional(),
  host: z.string().optional(),
  kind: z.string(),
  at: z.string(),
  description: z.string(),
  version: z.string(),
  source: z.string(),
  recordedAt: z.string(),
});

function changeJson(c: ChangeEvent): z.output<typeof ChangeOut> {
  return { id: c.id, [c.entityKind]: c.entity, kind: c.kind, at: iso(c.atMs), description: c.description, version: c.version, source: c.source, recordedAt: iso(c.recordedAtMs) };
}

export function registerChangeRoutes(gateway: Gateway, deps: ChangeRoutesDeps): void {
  gateway.route({
    method: 'POST',
    path: '/api/v1/changes',
    scope: 'write',
    summary: 'Record a deploy, rollback or configuration change of a service or host (a prior for root-cause analysis)',
    tags: ['changes'],
    body: ChangeIn,
    audit: { action: 'change.record', target: (ctx) => ctx.body.service ?? ctx.body.host ?? '' },
    responses: { 200: { description: 'Already recorded (same id): the stored change', body: ChangeOut }, 201: { description: 'The recorded change', body: ChangeOut }, 400: ERR[400], 409: ERR[409], 503: ERR[503] },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      const b = ctx.body;
      if ((b.service === undefined) === (b.host === undefined)) throw new ApiError(400, 'invalid_request', 'name exactly one of service or host', { field: 'body.service' });
      const atMs = b.at ?? ctx.nowMs;
      if (atMs > ctx.nowMs + MAX_CHANGE_CLOCK_SKEW_MS) throw new ApiError(400, 'invalid_request', `at is ${Math.round((atMs - ctx.nowMs) / 60_000)} min in the future: record a change when it takes effect`, { field: 'body.at' });
      try {
        const r = await deps.changes.record(
          {
            ...(b.id !== undefined ? { id: b.id } : {}),
            tenant,
            atMs,
            entity: (b.service ?? b.host)!,
            entityKind: b.service !== undefined ? 'service' : 'host',
            kind: b.kind,
            description: b.description ?? '',
            version: b.version ?? '',
            source: b.source ?? ctx.principal?.keyName ?? 'unknown',
          },
          ctx.nowMs,
        );
        if (!r.duplicate) deps.recorded?.(tenant, r.change.entity);
        return { status: r.duplicate ? 200 : 201, body: changeJson(r.change) };
      } catch (err) {
        return storageToApi(err, 'body');
      }
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/changes',
    scope: 'read',
    summary: 'List changes, latest first',
    tags: ['changes'],
    query: z
      .object({
        service: name('only changes of this service').optional(),
        host: name('only changes of this host').optional(),
        from: timeParam.optional(),
        to: timeParam.optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(100),
      })
      .strict(),
    responses: { 200: { description: 'Changes', body: z.object({ changes: z.array(ChangeOut) }) }, 400: ERR[400], 503: ERR[503] },
    handler: async (ctx) => {
      const q = ctx.query;
      if (q.service !== undefined && q.host !== undefined) throw new ApiError(400, 'invalid_request', 'filter by service or by host, not both', { field: 'query.host' });
      if (q.from !== undefined && q.to !== undefined && q.from >= q.to) throw new ApiError(400, 'invalid_request', 'from must be before to', { field: 'query.from' });
      const entity = q.service ?? q.host;
      try {
        const list = await deps.changes.list(tenantOf(ctx.principal), {
          ...(entity !== undefined ? { entities: [entity], entityKind: q.service !== undefined ? 'service' : 'host' } : {}),
          ...(q.from !== undefined ? { fromMs: q.from } : {}),
          ...(q.to !== undefined ? { toMs: q.to } : {}),
          limit: q.limit,
        });
        return { status: 200, body: { changes: list.map(changeJson) } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });
}
