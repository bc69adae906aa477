// Incidents over REST (the correlation engine writes them; the routes and store exist first).
import { z } from 'zod';
import { incidentToJSON } from '../../../shared-schemas/src/index.js';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import type { AlertStore, IncidentStore } from '../storage/index.js';
import { alertJson } from './alerts.js';
import { ERR, LabelsSchema, storageToApi, tenantOf, timeParam } from './common.js';

export interface IncidentRoutesDeps {
  incidents: IncidentStore;
  alerts: AlertStore;
}

const RootCauseOut = z.object({ service: z.string(), component: z.string(), metric: z.string(), probability: z.number(), rank: z.number(), method: z.string(), evidence: z.array(z.string()) });
const IncidentOut = z.object({
  id: z.string(),
  tenant: z.string(),
  title: z.string(),
  status: z.enum(['open', 'acknowledged', 'mitigated', 'resolved']),
  severity: z.string(),
  openedAt: z.string(),
  updatedAt: z.string(),
  resolvedAt: z.string().nullable(),
  representativeFingerprint: z.string(),
  alertFingerprints: z.array(z.string()),
  services: z.array(z.string()),
  commonLabels: LabelsSchema,
  rootCauses: z.array(RootCauseOut),
});

export function registerIncidentRoutes(gateway: Gateway, deps: IncidentRoutesDeps): void {
  gateway.route({
    method: 'GET',
    path: '/api/v1/incidents',
    scope: 'read',
    summary: 'List incidents, most recently updated first',
    tags: ['incidents'],
    query: z
      .object({
        status: z.enum(['open', 'acknowledged', 'mitigated', 'resolved']).optional(),
        since: timeParam.optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(100),
      })
      .strict(),
    responses: { 200: { description: 'Incidents', body: z.object({ incidents: z.array(IncidentOut) }) }, 400: ERR[400], 503: ERR[503] },
    handler: async (ctx) => {
      try {
        const list = await deps.incidents.list(tenantOf(ctx.principal), {
          ...(ctx.query.status ? { status: ctx.query.status } : {}),
          ...(ctx.query.since !== undefined ? { sinceMs: ctx.query.since } : {}),
          limit: ctx.query.limit,
        });
        return { status: 200, body: { incidents: list.map((i) => incidentToJSON(i)) } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/incidents/{id}',
    scope: 'read',
    summary: 'One incident with its alerts, services and root causes',
    tags: ['incidents'],
    params: z.object({ id: z.string().min(1).max(128) }),
    responses: {
      200: { description: 'The incident', body: IncidentOut.extend({ alerts: z.array(z.unknown()) }) },
      404: ERR[404],
      503: ERR[503],
    },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      try {
        const inc = await deps.incidents.get(tenant, ctx.params.id);
        if (inc === undefined) throw new ApiError(404, 'not_found', `no incident ${JSON.stringify(ctx.params.id)} in tenant ${tenant}`);
        const alerts = [];
        for (const fp of inc.alertFingerprints.slice(0, 1000)) {
          const a = await deps.alerts.get(tenant, fp);
          if (a) alerts.push(alertJson(a));
        }
        return { status: 200, body: { ...incidentToJSON(inc), alerts } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });
}
