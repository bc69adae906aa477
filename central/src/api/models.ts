// The model registry over REST (issue #7, Deliver 4):
//   GET  /api/v1/models                              read   versions, stages and what this process serves
//   GET  /api/v1/models/{tier}/{version}             read   one version with its metadata
//   GET  /api/v1/models/{tier}/history               read   promotions and rollbacks, with who and when
//   POST /api/v1/models/{tier}/{version}/promote     admin  {to: canary|production}
//   POST /api/v1/models/{tier}/rollback              admin  production back to the version it replaced
// Training jobs register versions (npm run train); the serving side (ModelServer, in the detect
// role) picks up a change within its reload interval. Every change is audited.
import { z } from 'zod';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { MODEL_TIERS, RegistryError } from '../detect/registry/index.js';
import type { ModelRegistry, ModelTier } from '../detect/registry/index.js';
import type { ServingStatus } from '../detect/serving/index.js';
import { ERR } from './common.js';

export interface ModelRoutesDeps {
  registry: ModelRegistry;
  /** What this process serves (detect role); undefined when it serves no model. */
  serving?: () => ServingStatus;
}

const VersionOut = z.object({
  tier: z.enum(MODEL_TIERS),
  version: z.number().int(),
  stage: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  metadata: z.record(z.string(), z.unknown()),
});
const HistoryOut = z.object({ at: z.string(), actor: z.string(), action: z.string(), version: z.number().int(), from: z.string().optional(), to: z.string(), replaced: z.number().int().optional() });
const ServingOut = z.object({
  revision: z.string(),
  loadedAt: z.string().nullable(),
  provider: z.string().nullable(),
  tiers: z.record(z.string(), z.array(z.object({ version: z.number().int(), stage: z.string(), source: z.string() }))),
});

function registryToApi(err: unknown): never {
  if (err instanceof RegistryError) {
    if (err.code === 'NOT_FOUND') throw new ApiError(404, 'not_found', err.message, { cause: err });
    if (err.code === 'INVALID_ARGUMENT') throw new ApiError(400, 'invalid_request', err.message, { cause: err });
    throw new ApiError(409, 'conflict', err.message, { cause: err });
  }
  throw err;
}

export function registerModelRoutes(gateway: Gateway, deps: ModelRoutesDeps): void {
  const tier = z.enum(MODEL_TIERS, { message: `must be one of ${MODEL_TIERS.join(', ')}` });
  const version = z.string().regex(/^[1-9][0-9]{0,8}$/, 'must be a version number (1, 2, ...)').transform(Number);
  const actor = (ctx: { principal?: { keyId: string } }) => `key:${ctx.principal?.keyId ?? 'unknown'}`;

  gateway.route({
    method: 'GET',
    path: '/api/v1/models',
    scope: 'read',
    summary: 'Model versions per tier with their stages, and what this process serves',
    tags: ['models'],
    responses: {
      200: { description: 'Versions and serving state', body: z.object({ tiers: z.record(z.string(), z.object({ versions: z.array(VersionOut), production: z.number().int().nullable(), canary: z.number().int().nullable(), shadow: z.array(z.number().int()) })), serving: ServingOut.nullable() }) },
      503: ERR[503],
    },
    handler: async () => {
      const tiers: Record<string, unknown> = {};
      for (const t of MODEL_TIERS) {
        const s = await deps.registry.serving(t);
        tiers[t] = { versions: await deps.registry.list(t), production: s.production ?? null, canary: s.canary ?? null, shadow: s.shadow };
      }
      return { status: 200, body: { tiers, serving: deps.serving?.() ?? null } };
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/models/{tier}/history',
    scope: 'read',
    summary: 'Registrations, promotions and rollbacks of a tier, oldest first',
    tags: ['models'],
    params: z.object({ tier }),
    responses: { 200: { description: 'History', body: z.object({ history: z.array(HistoryOut) }) }, 400: ERR[400] },
    handler: async (ctx) => ({ status: 200, body: { history: await deps.registry.history(ctx.params.tier as ModelTier).catch(registryToApi) } }),
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/models/{tier}/{version}',
    scope: 'read',
    summary: 'One model version with its metadata (inputs, parameters, training data digest, metrics)',
    tags: ['models'],
    params: z.object({ tier, version }),
    responses: { 200: { description: 'The version', body: VersionOut }, 400: ERR[400], 404: ERR[404] },
    handler: async (ctx) => ({ status: 200, body: await deps.registry.get(ctx.params.tier as ModelTier, ctx.params.version).catch(registryToApi) }),
  });

  gateway.route({
    method: 'POST',
    path: '/api/v1/models/{tier}/{version}/promote',
    scope: 'admin',
    summary: 'Promote a version to canary or production (the production it replaces is retired and kept for rollback)',
    tags: ['models'],
    params: z.object({ tier, version }),
    body: z.object({ to: z.enum(['canary', 'production'], { message: 'must be canary or production' }) }).strict(),
    audit: { action: 'model.promote' },
    responses: { 200: { description: 'Promoted', body: HistoryOut }, 400: ERR[400], 404: ERR[404], 409: ERR[409] },
    handler: async (ctx) => ({ status: 200, body: await deps.registry.promote(ctx.params.tier as ModelTier, ctx.params.version, ctx.body.to, actor(ctx)).catch(registryToApi) }),
  });

  gateway.route({
    method: 'POST',
    path: '/api/v1/models/{tier}/rollback',
    scope: 'admin',
    summary: 'Retire the production version and bring back the one it replaced',
    tags: ['models'],
    params: z.object({ tier }),
    audit: { action: 'model.rollback' },
    responses: { 200: { description: 'Rolled back', body: HistoryOut }, 400: ERR[400], 409: ERR[409] },
    handler: async (ctx) => ({ status: 200, body: await deps.registry.rollback(ctx.params.tier as ModelTier, actor(ctx)).catch(registryToApi) }),
  });
}
