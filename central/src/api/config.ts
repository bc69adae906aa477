// Runtime configuration over REST: GET/PUT /api/v1/config/detection and /api/v1/config/topology.
// Documents are validated whole before anything is stored (400 names the field), versioned
// (ETag; If-Match refuses a stale write with 409), audited, and handed to the live component
// (`apply`) once stored, so the running process and the database agree after a restart.
import { z } from 'zod';
import { SchemaDecodeError, validateTopologyDocument } from '../../../shared-schemas/src/index.js';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import type { ConfigStore } from '../storage/index.js';
import { ERR, storageToApi, tenantOf } from './common.js';

/** A runtime-configurable document: how to validate it and what to do once stored. */
export interface ConfigDocumentSpec {
  /** Returns the normalised document or throws: a zod error, or anything with `field`. */
  validate(body: unknown): unknown;
  /** Called after a successful put (and by the service at start with the stored version). */
  apply?(tenant: string, doc: unknown): void | Promise<void>;
  /** Answered by GET when nothing was stored yet. */
  defaults?(): unknown;
}

export interface ConfigRoutesDeps {
  configs: ConfigStore;
  detection: ConfigDocumentSpec;
  topology?: ConfigDocumentSpec;
}

export const topologySpec: ConfigDocumentSpec = {
  validate: (body) => validateTopologyDocument(body),
  defaults: () => ({ version: 1, name: '', nodes: [], edges: [] }),
};

const DocOut = z.object({ name: z.string(), version: z.number().int(), updatedAt: z.string().nullable(), updatedBy: z.string().nullable(), document: z.unknown() });

function validationError(err: unknown): never {
  if (err instanceof z.ZodError) {
    const issue = err.issues[0]!;
    throw new ApiError(400, 'invalid_request', issue.message, { field: ['body', ...issue.path.map(String)].join('.') });
  }
  if (err instanceof SchemaDecodeError) throw new ApiError(400, 'invalid_request', err.message, { field: `body${err.field ? `.${err.field.replace(/^[A-Za-z]+\.?/, '')}` : ''}`.replace(/\.$/, '') });
  if (err instanceof Error && typeof (err as { field?: unknown }).field === 'string') throw new ApiError(400, 'invalid_request', err.message, { field: `body.${(err as unknown as { field: string }).field}` });
  throw err;
}

export function registerConfigRoutes(gateway: Gateway, deps: ConfigRoutesDeps): void {
  const docs: Array<[string, ConfigDocumentSpec]> = [['detection', deps.detection], ['topology', deps.topology ?? topologySpec]];
  for (const [name, spec] of docs) {
    gateway.route({
      method: 'GET',
      path: `/api/v1/config/${name}`,
      scope: 'read',
      summary: `The ${name} configuration (version 0 = defaults, nothing stored yet)`,
      tags: ['config'],
      responses: { 200: { description: 'The document', body: DocOut }, 503: ERR[503] },
      handler: async (ctx) => {
        try {
          const d = await deps.configs.get(tenantOf(ctx.principal), name);
          const body = d ? { name, version: d.version, updatedAt: new Date(d.updatedAtMs).toISOString(), updatedBy: d.updatedBy, document: d.body } : { name, version: 0, updatedAt: null, updatedBy: null, document: spec.defaults?.() ?? null };
          return { status: 200, body, headers: { etag: `"${body.version}"` } };
        } catch (err) {
          return storageToApi(err);
        }
      },
    });
    gateway.route({
      method: 'PUT',
      path: `/api/v1/config/${name}`,
      scope: 'admin',
      summary: `Replace the ${name} configuration (If-Match: "<version>" to refuse a stale write)`,
      tags: ['config'],
      body: z.unknown(),
      audit: { action: `config.${name}.put`, target: () => name },
      responses: { 200: { description: 'Stored and applied', body: DocOut }, 400: ERR[400], 409: ERR[409], 503: ERR[503] },
      handler: async (ctx) => {
        const tenant = tenantOf(ctx.principal);
        let doc: unknown;
        try {
          doc = spec.validate(ctx.body);
        } catch (err) {
          validationError(err);
        }
        const ifMatch = ctx.headers['if-match'];
        let expectedVersion: number | undefined;
        if (typeof ifMatch === 'string' && ifMatch !== '*') {
          const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(ifMatch.trim());
          if (!m) throw new ApiError(400, 'invalid_request', 'If-Match must be a version ETag such as "3"', { field: 'header.if-match' });
          expectedVersion = Number(m[1]);
        }
        try {
          const stored = await deps.configs.put({ tenant, name, body: doc, updatedBy: ctx.principal?.keyId ?? 'unknown', ...(expectedVersion !== undefined ? { expectedVersion } : {}) }, ctx.nowMs);
          await spec.apply?.(tenant, doc);
          return { status: 200, body: { name, version: stored.version, updatedAt: new Date(stored.updatedAtMs).toISOString(), updatedBy: stored.updatedBy, document: stored.body }, headers: { etag: `"${stored.version}"` } };
        } catch (err) {
          return storageToApi(err);
        }
      },
    });
  }
}
