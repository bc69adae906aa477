// The OpenAPI 3.1 document, generated from the registered routes (never written by hand, so it
// cannot drift from what is served; openapi.test.ts checks both directions). Zod schemas become
// JSON Schema 2020-12 (OpenAPI 3.1's dialect) through z.toJSONSchema: request parts as their
// input type (what a client sends), responses as their output type.
import { z } from 'zod';
import type { RouteScope } from './auth.js';
import { isJsonMediaType } from './routes.js';
import type { CompiledRoute } from './routes.js';

/** The error body every gateway error answers with. */
export const ErrorBodySchema = z
  .object({
    /** Stable machine-readable code: invalid_request, unauthorized, forbidden, rate_limited, ... */
    error: z.string(),
    message: z.string(),
    requestId: z.string(),
    field: z.string().optional().describe('For invalid_request: the input at fault, e.g. body.alerts[0].labels'),
    problem: z.string().optional().describe('For invalid_request: what is wrong with that field'),
    issues: z
      .array(z.object({ field: z.string(), problem: z.string() }))
      .optional()
      .describe('For invalid_request: every problem found (at most 10)'),
    requiredScope: z.string().optional().describe('For forbidden: the scope the route needs'),
    retryAfterSeconds: z.number().int().optional().describe('For rate_limited and unavailable: also in the Retry-After header'),
    limitBytes: z.number().int().optional().describe('For payload_too_large: the route body limit'),
    allow: z.array(z.string()).optional().describe('For method_not_allowed: the methods the path answers'),
    accept: z.array(z.string()).optional().describe('For unsupported_media_type: the media types the route takes'),
  })
  .describe('The body of every error answer');

export type ErrorBody = z.output<typeof ErrorBodySchema>;

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json>; responses: Record<string, Json> };
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  security: Array<Record<string, string[]>>;
  'x-required-scope': RouteScope;
  'x-body-limit-bytes'?: number;
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
}

const DESCRIPTION = [
  'Every /api/v1 route except this document needs an API key, sent as `Authorization: Bearer <token>` or `X-API-Key: <token>`.',
  'Scopes are independent grants (read, write, approve) and `admin` implies all of them; each operation names its scope in `x-required-scope`.',
  '401 means no valid key (missing, malformed, unknown, expired or revoked); 403 means a valid key without the scope.',
  'Requests are rate limited per key (token bucket): 429 with Retry-After. Bodies over the route limit (`x-body-limit-bytes`) answer 413.',
  'Errors answer `{ error, message, requestId }`; invalid input adds `field` and `problem`. Every response carries X-Request-Id.',
].join(' ');

const STANDARD_ERRORS: Record<string, string> = {
  '400': 'Invalid input: `field` names the input at fault and `problem` says what is wrong.',
  '401': 'No valid API key: missing, malformed, unknown, expired or revoked (see WWW-Authenticate).',
  '403': 'The key is valid but lacks the scope this operation needs.',
  '413': 'The body is larger than this operation accepts.',
  '415': 'The Content-Type is not one this operation accepts.',
  '429': 'Rate limited: retry after the Retry-After header (seconds).',
  '500': 'Internal error (details are logged with the request id, never returned).',
  '503': 'Overloaded, timed out or a dependency is unavailable: retry after Retry-After.',
};

export function buildOpenApiDocument(routes: readonly CompiledRoute[], info: { title: string; version: string }): OpenApiDocument {
  const schemas = new SchemaSet();
  // Named here, not with .meta({ id }): that would register the id in zod's global registry.
  const errorRef = schemas.component('Error', ErrorBodySchema, 'output');
  const responses: Record<string, Json> = {};
  for (const [status, description] of Object.entries(STANDARD_ERRORS)) {
    responses[`E${status}`] = { description, content: { 'application/json': { schema: errorRef } } };
  }
  const paths: OpenApiDocument['paths'] = {};
  const sorted = [...routes].sort((a, b) => (a.def.path === b.def.path ? a.def.method.localeCompare(b.def.method) : a.def.path.localeCompare(b.def.path)));
  for (const r of sorted) {
    const d = r.def;
    const op: OpenApiOperation = {
      operationId: r.operationId,
      summary: d.summary,
      ...(d.description !== undefined ? { description: d.description } : {}),
      ...(d.tags !== undefined ? { tags: [...d.tags] } : {}),
      security: d.scope === 'public' ? [] : [{ bearerAuth: [d.scope] }, { apiKeyHeader: [d.scope] }],
      'x-required-scope': d.scope,
      responses: {},
    };
    const parameters: Json[] = [];
    const paramProps = d.params !== undefined ? objectProperties(schemas.resolve(schemas.add(d.params, 'input', `${r.operationId}Params`))) : undefined;
    for (const name of r.pathParams) {
      const p = paramProps?.properties[name];
      parameters.push(parameter(name, 'path', true, p ?? { type: 'string' }));
    }
    if (d.query !== undefined) {
      const q = objectProperties(schemas.resolve(schemas.add(d.query, 'input', `${r.operationId}Query`)));
      for (const [name, schema] of Object.entries(q.properties)) parameters.push(parameter(name, 'query', q.required.includes(name), schema));
    }
    if (parameters.length > 0) op.parameters = parameters;
    const hasBody = d.body !== undefined || r.rawTypes.length > 0;
    if (hasBody) {
      const content: Record<string, Json> = {};
      if (d.body !== undefined) content['application/json'] = { schema: schemas.add(d.body, 'input', `${r.operationId}Body`) };
      for (const t of r.rawTypes) content[t] = {};
      const optional = d.body !== undefined && d.body.safeParse(undefined).success;
      op.requestBody = { required: !optional, content };
      op['x-body-limit-bytes'] = r.bodyLimit;
    }
    for (const [status, spec] of Object.entries(d.responses)) {
      const out: Json = { description: spec.description };
      if (spec.body !== undefined) {
        out.content = { [spec.contentType !== undefined && isJsonMediaType(spec.contentType.split(';')[0]!.trim()) ? spec.contentType : 'application/json']: { schema: schemas.add(spec.body, 'output', `${r.operationId}Response${status}`) } };
      } else if (spec.contentType !== undefined) {
        out.content = { [spec.contentType]: {} };
      }
      op.responses[status] = out;
    }
    const add = (status: string): void => {
      if (op.responses[status] === undefined) op.responses[status] = { $ref: `#/components/responses/E${status}` };
    };
    if (parameters.length > 0 || hasBody) add('400');
    if (d.scope !== 'public') ['401', '403', '429'].forEach(add);
    if (hasBody) ['413', '415'].forEach(add);
    ['500', '503'].forEach(add);
    (paths[d.path] ??= {})[d.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: DESCRIPTION },
    paths,
    components: {
      schemas: schemas.components,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token.' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'API key in a header (same keys as bearerAuth).' },
      },
      responses,
    },
  };
}

function parameter(name: string, where: 'path' | 'query', required: boolean, schema: Json): Json {
  const { description, ...rest } = schema as Json & { description?: string };
  return { name, in: where, required, ...(description !== undefined ? { description } : {}), schema: rest };
}

function objectProperties(schema: Json): { properties: Record<string, Json>; required: string[] } {
  return {
    properties: (schema.properties as Record<string, Json> | undefined) ?? {},
    required: (schema.required as string[] | undefined) ?? [],
  };
}

/**
 * Collects converted schemas. Named sub-schemas (`.meta({ id })`) and recursive ones come out of
 * z.toJSONSchema as `$defs` with refs relative to the schema's own root; embedded in a larger
 * document those refs would point at the document root, so they are hoisted into
 * components.schemas and the refs rewritten. Equal definitions under one name are shared;
 * different ones get a suffix.
 */
class SchemaSet {
  readonly components: Record<string, Json> = {};
  private readonly fingerprints = new Map<string, string>();

  add(schema: z.ZodType, io: 'input' | 'output', hint: string): Json {
    const js = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', cycles: 'ref', reused: 'inline' }) as Json;
    delete js.$schema;
    const defs = (js.$defs as Record<string, Json> | undefined) ?? {};
    delete js.$defs;
    // A schema with an id is itself a named component.
    const ownId = typeof js.id === 'string' ? js.id : undefined;
    delete js.id;
    const rootRef = ownId !== undefined || containsRef(js, '#');
    if (Object.keys(defs).length === 0 && !rootRef) return js;
    const names = new Map<string, string>();
    // Anonymous definitions (zod names them __schema0...) are named after the route part.
    for (const [name, def] of Object.entries(defs)) names.set(name, this.name(/^__schema\d+$/.test(name) ? `${hint}_${name.slice(8)}` : name, def));
    const rootName = rootRef ? this.name(ownId ?? hint, js) : undefined;
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (node === null || typeof node !== 'object') return node;
      const out: Json = {};
      for (const [k, v] of Object.entries(node as Json)) {
        if (k === '$ref' && typeof v === 'string') {
          if (v === '#' && rootName !== undefined) out[k] = `#/components/schemas/${rootName}`;
          else if (v.startsWith('#/$defs/')) out[k] = `#/components/schemas/${names.get(v.slice(8)) ?? v.slice(8)}`;
          else out[k] = v;
        } else if (k === 'id' && typeof v === 'string') {
          // zod keeps the meta id as a keyword; the component name carries it.
        } else out[k] = rewrite(v);
      }
      return out;
    };
    for (const [name, def] of Object.entries(defs)) this.components[names.get(name)!] = rewrite(def) as Json;
    const root = rewrite(js) as Json;
    if (rootName === undefined) return root;
    this.components[rootName] = root;
    return { $ref: `#/components/schemas/${rootName}` };
  }

  /** Converts `schema` into the component `name` and answers a reference to it. */
  component(name: string, schema: z.ZodType, io: 'input' | 'output'): Json {
    const js = this.add(schema, io, name);
    if (typeof js.$ref === 'string') return js;
    const n = this.name(name, js);
    this.components[n] = js;
    return { $ref: `#/components/schemas/${n}` };
  }

  /** Follows a `#/components/schemas/X` reference (the object a named params/query schema stands for). */
  resolve(schema: Json): Json {
    const ref = schema.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) return this.components[ref.slice(21)] ?? schema;
    return schema;
  }

  private name(wanted: string, raw: Json): string {
    const base = wanted.replace(/[^A-Za-z0-9._-]/g, '_') || 'Schema';
    const fp = JSON.stringify(raw);
    for (let i = 1; ; i++) {
      const candidate = i === 1 ? base : `${base}_${i}`;
      const existing = this.fingerprints.get(candidate);
      if (existing === undefined) {
        this.fingerprints.set(candidate, fp);
        return candidate;
      }
      if (existing === fp) return candidate;
    }
  }
}

function containsRef(node: unknown, ref: string): boolean {
  if (Array.isArray(node)) return node.some((n) => containsRef(n, ref));
  if (node === null || typeof node !== 'object') return false;
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$ref' && v === ref) return true;
    if (containsRef(v, ref)) return true;
  }
  return false;
}
