// Incidents over REST: the correlation stage writes them; people list, read (alerts, services,
// timeline), acknowledge and resolve them here. Acknowledge and resolve go through the stage
// so its live state agrees, and are audited with who did it.
import { z } from 'zod';
import { incidentToJSON } from '../../../shared-schemas/src/index.js';
import type { Incident } from '../../../shared-schemas/src/index.js';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import type { AlertStore, IncidentStore } from '../storage/index.js';
import { alertJson } from './alerts.js';
import { ERR, LabelsSchema, storageToApi, tenantOf, timeParam } from './common.js';

export interface IncidentActions {
  acknowledge(tenant: string, id: string, actor: string, comment?: string): Promise<Incident | undefined>;
  resolveIncident(tenant: string, id: string, actor: string, comment?: string): Promise<Incident | undefined>;
}

export interface IncidentAnalysis {
  /** Analyses the incident now and stores its root causes (the RCA stage). */
  analyseNow(tenant: string, id: string): Promise<{ incident: Incident | undefined; run: { series: number; analysed: ReadonlySet<string> } | undefined }>;
}

export interface IncidentRoutesDeps {
  incidents: IncidentStore;
  alerts: AlertStore;
  /** The correlation stage (acknowledge, resolve); without it those routes answer 503. */
  actions?: IncidentActions;
  /** The RCA stage (analyze on demand); without it that route answers 503. */
  analysis?: IncidentAnalysis;
}

const TimelineOut = z.object({ at: z.string(), type: z.string(), fingerprint: z.string(), related: z.string(), actor: z.string(), text: z.string() });
const ActionBody = z.object({ comment: z.string().max(1024).optional() }).strict().optional();

const RootCauseOut = z.object({ service: z.string(), component: z.string(), metric: z.string(), probability: z.number(), rank: z.number(), method: z.string(), evidence: z.array(z.string()), onsetAt: z.string().nullable() });
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
        severity: z.enum(['info', 'warning', 'critical']).optional(),
        service: z.string().min(1).max(1024).optional().describe('only incidents naming this service'),
        since: timeParam.optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(100),
        offset: z.coerce.number().int().min(0).max(100_000).default(0).describe('skip this many (the previous page\'s "next")'),
      })
      .strict(),
    responses: { 200: { description: 'Incidents; "next" is the offset of the following page when this one is full', body: z.object({ incidents: z.array(IncidentOut), next: z.number().int().optional() }) }, 400: ERR[400], 503: ERR[503] },
    handler: async (ctx) => {
      try {
        const q = ctx.query;
        const list = await deps.incidents.list(tenantOf(ctx.principal), {
          ...(q.status ? { status: q.status } : {}),
          ...(q.severity ? { severity: q.severity } : {}),
          ...(q.service !== undefined ? { service: q.service } : {}),
          ...(q.since !== undefined ? { sinceMs: q.since } : {}),
          limit: q.limit,
          offset: q.offset,
        });
        return { status: 200, body: { incidents: list.map((i) => incidentToJSON(i)), ...(list.length === q.limit ? { next: q.offset + q.limit } : {}) } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/incidents/{id}',
    scope: 'read',
    summary: 'One incident with its alerts, services, root causes and timeline',
    tags: ['incidents'],
    params: z.object({ id: z.string().min(1).max(128) }),
    responses: {
      200: { description: 'The incident', body: IncidentOut.extend({ alerts: z.array(z.unknown()), timeline: z.array(TimelineOut) }) },
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
        const timeline = (await deps.incidents.timeline(tenant, inc.id, 1000)).map((e) => ({ at: new Date(e.atMs).toISOString(), type: e.type, fingerprint: e.fingerprint, related: e.related, actor: e.actor, text: e.text }));
        return { status: 200, body: { ...incidentToJSON(inc), alerts, timeline } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });

  for (const [verb, action, summary] of [
    ['ack', 'acknowledge', 'Acknowledge an incident (someone is on it); kept while it grows'],
    ['resolve', 'resolveIncident', 'Resolve an incident by hand; later alerts open a new one'],
  ] as const) {
    gateway.route({
      method: 'POST',
      path: `/api/v1/incidents/{id}/${verb}`,
      scope: 'write',
      summary,
      tags: ['incidents'],
      params: z.object({ id: z.string().min(1).max(128) }),
      body: ActionBody,
      audit: { action: `incident.${verb}`, target: (ctx) => ctx.params.id },
      responses: { 200: { description: 'The incident after the change', body: IncidentOut }, 404: ERR[404], 503: ERR[503] },
      handler: async (ctx) => {
        const tenant = tenantOf(ctx.principal);
        if (!deps.actions) throw new ApiError(503, 'unavailable', 'incident actions need the correlation stage, which does not run in this process');
        try {
          const inc = await deps.actions[action](tenant, ctx.params.id, ctx.principal?.keyId ?? 'unknown', ctx.body?.comment ?? '');
          if (inc === undefined) throw new ApiError(404, 'not_found', `no incident ${JSON.stringify(ctx.params.id)} in tenant ${tenant}`);
          return { status: 200, body: incidentToJSON(inc) };
        } catch (err) {
          return storageToApi(err);
        }
      },
    });
  }

  gateway.route({
    method: 'POST',
    path: '/api/v1/incidents/{id}/analyze',
    scope: 'write',
    summary: 'Rank the incident\'s root causes now (root-cause analysis on demand) and store them on it',
    tags: ['incidents'],
    params: z.object({ id: z.string().min(1).max(128) }),
    audit: { action: 'incident.analyze', target: (ctx) => ctx.params.id },
    responses: {
      200: { description: 'The incident with its root causes; "analysed" says how much data the analysis read (null: no metrics to rank)', body: IncidentOut.extend({ analysed: z.object({ series: z.number(), entities: z.number() }).nullable() }) },
      404: ERR[404],
      503: ERR[503],
    },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      if (!deps.analysis) throw new ApiError(503, 'unavailable', 'root-cause analysis does not run in this process (rca.enabled false, or a role without correlation)');
      try {
        const { incident, run } = await deps.analysis.analyseNow(tenant, ctx.params.id);
        if (incident === undefined) throw new ApiError(404, 'not_found', `no incident ${JSON.stringify(ctx.params.id)} in tenant ${tenant}`);
        return { status: 200, body: { ...incidentToJSON(incident), analysed: run ? { series: run.series, entities: run.analysed.size } : null } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });
}
