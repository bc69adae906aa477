// Route definitions checked at registration: the path grammar, the params schema against the
// path, unique (method, shape) and operation ids. A refused definition throws
// RouteDefinitionError; nothing is half-registered.
import { z } from 'zod';
import { escapeRegex } from '../../../shared-schemas/src/runtime/index.js';
import { RouteDefinitionError } from './errors.js';
import type { AnyRouteDefinition, HttpMethod, RouteInfo } from './types.js';

export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

// Segments are literals (RFC 3986 unreserved characters) or `{name}` parameters.
const SEGMENT_RE = /^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$/;
const MEDIA_TYPE_RE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;
const OPERATION_ID_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

export interface CompiledRoute {
  def: AnyRouteDefinition;
  operationId: string;
  /** `{name}` parameters in path order. */
  pathParams: string[];
  /** The same path in fastify's syntax (`:name`). */
  routerPath: string;
  /** Matches a request path (no query) against this route's pattern. */
  matcher: RegExp;
  /** Path with every parameter name erased: two routes with one shape and method collide. */
  shape: string;
  bodyLimit: number;
  rawTypes: string[];
  /** Registered by the gateway itself (/healthz, /readyz, /metrics, the OpenAPI document). */
  builtin: boolean;
}

export function compileRoute(def: AnyRouteDefinition, defaultBodyLimit: number, builtin: boolean): CompiledRoute {
  const name = `${String(def.method)} ${String(def.path)}`;
  const fail = (message: string, code: 'INVALID_ROUTE' | 'RESERVED_PATH' = 'INVALID_ROUTE'): never => {
    throw new RouteDefinitionError(code, name, `route ${name}: ${message}`);
  };
  if (!HTTP_METHODS.includes(def.method)) fail(`method must be one of ${HTTP_METHODS.join(', ')}`);
  if (typeof def.path !== 'string' || !def.path.startsWith('/') || def.path.length > 200) fail('path must start with "/" (at most 200 characters)');
  const segments = def.path.split('/').slice(1);
  const pathParams: string[] = [];
  for (const s of segments) {
    if (!SEGMENT_RE.test(s)) fail(`path segment "${s}" must be a literal of [A-Za-z0-9._~-] or a {name} parameter`);
    if (s.startsWith('{')) {
      const p = s.slice(1, -1);
      if (pathParams.includes(p)) fail(`parameter {${p}} appears twice`);
      pathParams.push(p);
    }
  }
  if (!builtin && !def.path.startsWith('/api/') && def.path !== '/graphql') fail('REST routes live under /api/ (or /graphql)', 'RESERVED_PATH');
  if (!['read', 'write', 'approve', 'admin', 'public'].includes(def.scope)) fail(`scope must be read, write, approve, admin or public (got ${JSON.stringify(def.scope)})`);
  if (typeof def.summary !== 'string' || def.summary.trim() === '') fail('summary is required (it documents the route)');
  if (typeof def.handler !== 'function') fail('handler must be a function');
  if (def.params !== undefined) {
    if (!(def.params instanceof z.ZodObject)) fail('params must be a z.object');
    const keys = Object.keys((def.params as z.ZodObject).shape).sort();
    const want = [...pathParams].sort();
    if (keys.join(',') !== want.join(',')) fail(`params schema keys [${keys.join(', ')}] must be the path parameters [${want.join(', ')}]`);
  }
  if (def.query !== undefined && !(def.query instanceof z.ZodObject)) fail('query must be a z.object (each key is a documented query parameter)');
  if (def.body !== undefined && !isZod(def.body)) fail('body must be a zod schema');
  if ((def.method === 'GET' || def.method === 'DELETE') && (def.body !== undefined || def.rawBody !== undefined)) fail(`${def.method} routes take no body`);
  const rawTypes = (def.rawBody?.contentTypes ?? []).map((t) => t.toLowerCase());
  if (def.rawBody !== undefined && rawTypes.length === 0) fail('rawBody.contentTypes must list at least one media type');
  for (const t of rawTypes) {
    if (!MEDIA_TYPE_RE.test(t)) fail(`rawBody content type "${t}" is not a media type`);
    if (def.body !== undefined && isJsonMediaType(t)) fail(`rawBody content type "${t}" is JSON, which the body schema takes`);
  }
  const bodyLimit = def.bodyLimitBytes ?? defaultBodyLimit;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) fail('bodyLimitBytes must be a positive integer');
  if (def.timeoutMs !== undefined && (!Number.isInteger(def.timeoutMs) || def.timeoutMs < 1)) fail('timeoutMs must be a positive integer');
  const statuses = Object.keys(def.responses ?? {});
  if (statuses.length === 0) fail('responses must declare at least one status');
  for (const s of statuses) {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 100 || n > 599) fail(`response status ${s} is not an HTTP status`);
    const spec = def.responses[n]!;
    if (typeof spec.description !== 'string' || spec.description === '') fail(`response ${s} needs a description`);
    if (spec.body !== undefined && !isZod(spec.body)) fail(`response ${s} body must be a zod schema`);
  }
  const operationId = def.operationId ?? deriveOperationId(def.method, def.path);
  if (!OPERATION_ID_RE.test(operationId)) fail(`operationId "${operationId}" must match ${OPERATION_ID_RE}`);
  if (def.audit !== undefined && (typeof def.audit.action !== 'string' || def.audit.action === '')) fail('audit.action is required');
  return {
    def,
    operationId,
    pathParams,
    routerPath: segments.length === 0 ? '/' : `/${segments.map((s) => (s.startsWith('{') ? `:${s.slice(1, -1)}` : s)).join('/')}`,
    matcher: new RegExp(`^/${segments.map((s) => (s.startsWith('{') ? '[^/]+' : escapeRegex(s))).join('/')}$`),
    shape: `/${segments.map((s) => (s.startsWith('{') ? '{}' : s)).join('/')}`,
    bodyLimit,
    rawTypes,
    builtin,
  };
}

/** `GET /api/v1/incidents/{id}` -> `getApiV1IncidentsById`. */
export function deriveOperationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith('{') ? `By_${s.slice(1, -1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter((w) => w !== '');
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

export function isJsonMediaType(t: string): boolean {
  return t === 'application/json' || (t.startsWith('application/') && t.endsWith('+json'));
}

/** Media type without parameters, lower case ("application/json; charset=utf-8" -> "application/json"). */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

export function routeInfo(r: CompiledRoute): RouteInfo {
  return {
    method: r.def.method,
    path: r.def.path,
    scope: r.def.scope,
    operationId: r.operationId,
    summary: r.def.summary,
    hasParams: r.pathParams.length > 0,
    hasQuery: r.def.query !== undefined,
    hasBody: r.def.body !== undefined || r.rawTypes.length > 0,
    rawContentTypes: r.rawTypes,
    responseStatuses: Object.keys(r.def.responses).map(Number),
  };
}

function isZod(s: unknown): boolean {
  return s instanceof z.ZodType;
}
