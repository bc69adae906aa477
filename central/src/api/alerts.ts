// Alerts over REST: POST /api/v1/alerts/ingest takes Alertmanager webhook v4 bodies and the
// generic JSON form (central/src/receivers/alerts/parse.ts documents both) and hands the
// alerts to the alert pipeline (dedup, store, correlation); GET /api/v1/alerts lists them.
import { z } from 'zod';
import { alertToJSON } from '../../../shared-schemas/src/index.js';
import type { AlertConsumer } from '../component.js';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { AlertIngestError, parseAlertBody } from '../receivers/alerts/index.js';
import type { AlertStore, StoredAlert } from '../storage/index.js';
import { ERR, labelFilters, LabelsSchema, storageToApi, tenantOf, timeParam } from './common.js';

export interface AlertRoutesDeps {
  alerts: AlertStore;
  /** The head of the alert pipeline; resolves once the alerts are durable. */
  ingest: AlertConsumer;
}

const AlertOut = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: LabelsSchema,
  annotations: LabelsSchema,
  startsAt: z.string(),
  endsAt: z.string(),
  generatorURL: z.string(),
  fingerprint: z.string(),
  tenant: z.string().optional(),
  source: z.string().optional(),
  receivedAt: z.string(),
  updatedAt: z.string(),
  duplicates: z.number().int(),
  incidentId: z.string().optional(),
});

export function alertJson(a: StoredAlert): z.output<typeof AlertOut> {
  return {
    ...alertToJSON(a),
    receivedAt: new Date(a.receivedAtMs).toISOString(),
    updatedAt: new Date(a.updatedAtMs).toISOString(),
    duplicates: a.duplicates,
    ...(a.incidentId !== undefined ? { incidentId: a.incidentId } : {}),
  };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function registerAlertRoutes(gateway: Gateway, deps: AlertRoutesDeps): void {
  gateway.route({
    method: 'POST',
    path: '/api/v1/alerts/ingest',
    scope: 'write',
    summary: 'Receive alerts (Alertmanager webhook v4, or the generic JSON form)',
    description:
      'Alertmanager: point a webhook_config at this URL with an API key (http_config.authorization.credentials). Generic form: {"alerts":[{"labels":{"alertname":"..."},"annotations":{},"startsAt":"RFC 3339","endsAt":"RFC 3339 or omitted","status":"firing|resolved"}]}. Alerts are deduplicated by fingerprint (labels).',
    tags: ['alerts'],
    body: z.unknown(),
    responses: {
      200: { description: 'Alerts accepted', body: z.object({ format: z.enum(['alertmanager-v4', 'generic']), accepted: z.number().int() }) },
      400: ERR[400],
      503: ERR[503],
    },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      let parsed: ReturnType<typeof parseAlertBody>;
      try {
        parsed = parseAlertBody(ctx.body, { tenant, source: `api:${ctx.principal?.keyId ?? 'unknown'}`, nowMs: ctx.nowMs });
      } catch (err) {
        if (err instanceof AlertIngestError) throw new ApiError(400, 'invalid_request', err.message, { field: `body.${err.field}`.replace(/^body\.body/, 'body') });
        throw err;
      }
      try {
        await deps.ingest.consumeAlerts(parsed.alerts);
      } catch (err) {
        storageToApi(err);
      }
      return { status: 200, body: { format: parsed.format, accepted: parsed.alerts.length } };
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/alerts',
    scope: 'read',
    summary: 'List alerts, most recently updated first',
    tags: ['alerts'],
    query: z
      .object({
        status: z.enum(['firing', 'resolved']).optional(),
        since: timeParam.optional().describe('only alerts updated at or after this time'),
        limit: z.coerce.number().int().min(1).max(10_000).default(100),
        label: z
          .union([z.string(), z.array(z.string())])
          .optional()
          .describe('label equality filter name=value; repeat for several'),
      })
      .strict(),
    responses: { 200: { description: 'Alerts', body: z.object({ alerts: z.array(AlertOut) }) }, 400: ERR[400], 503: ERR[503] },
    handler: async (ctx) => {
      const labels = labelFilters(ctx.query.label, LABEL_NAME);
      try {
        const list = await deps.alerts.list(tenantOf(ctx.principal), {
          ...(ctx.query.status ? { status: ctx.query.status } : {}),
          ...(ctx.query.since !== undefined ? { sinceMs: ctx.query.since } : {}),
          ...(ctx.query.label !== undefined ? { labels } : {}),
          limit: ctx.query.limit,
        });
        return { status: 200, body: { alerts: list.map(alertJson) } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });
}
