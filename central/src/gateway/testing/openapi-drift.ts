// Keeps the OpenAPI document true, both ways, against a running gateway:
//  1. every registered route is in the document with its method, operation id, scope
//     (x-required-scope and security), path and query parameters, request body media types and
//     declared responses;
//  2. every documented operation is answered by a route: probed over HTTP without a key (a
//     non-public route must answer 401, not 404/405) and with a key lacking the scope (403
//     naming the documented scope). Both stop before body parsing and handlers, so probing has
//     no side effects. Public GET routes are called; public routes of other methods are only
//     checked against the registry.
// Returns the problems found (empty = in sync). Central's end-to-end test runs it with every
// component's routes registered; give it burst room (one request per probe).
import type { ApiKeyScope } from '../../storage/types.js';
import type { OpenApiDocument, OpenApiOperation } from '../openapi.js';
import type { RouteInfo } from '../types.js';

export interface DriftCheckOptions {
  /** e.g. `http://127.0.0.1:41234` */
  baseUrl: string;
  routes: readonly RouteInfo[];
  /** Tokens of keys holding exactly one scope each (read, write, approve): used to provoke 403s. */
  tokens: Record<Exclude<ApiKeyScope, 'admin'>, string>;
  /** The document to check (default: fetched from /api/v1/openapi.json). */
  document?: OpenApiDocument;
}

export async function checkOpenApiDrift(opts: DriftCheckOptions): Promise<string[]> {
  const problems: string[] = [];
  const doc = opts.document ?? ((await (await fetch(`${opts.baseUrl}/api/v1/openapi.json`)).json()) as OpenApiDocument);
  if (doc.openapi !== '3.1.0') problems.push(`document: openapi is ${JSON.stringify(doc.openapi)}, expected "3.1.0"`);

  // 1. registry -> document
  const registered = new Set<string>();
  for (const r of opts.routes) {
    const where = `${r.method} ${r.path}`;
    registered.add(`${r.method.toLowerCase()} ${r.path}`);
    const op = doc.paths?.[r.path]?.[r.method.toLowerCase()];
    if (op === undefined) {
      problems.push(`${where}: registered but not documented`);
      continue;
    }
    if (op.operationId !== r.operationId) problems.push(`${where}: documented operationId ${op.operationId}, registered ${r.operationId}`);
    if (op['x-required-scope'] !== r.scope) problems.push(`${where}: documented scope ${op['x-required-scope']}, registered ${r.scope}`);
    const wantSecurity = r.scope === 'public' ? [] : [{ bearerAuth: [r.scope] }, { apiKeyHeader: [r.scope] }];
    if (JSON.stringify(op.security) !== JSON.stringify(wantSecurity)) problems.push(`${where}: security ${JSON.stringify(op.security)} does not require ${r.scope}`);
    const params = (op.parameters ?? []) as Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
    for (const name of pathParams(r.path)) {
      const p = params.find((x) => x.in === 'path' && x.name === name);
      if (p === undefined || p.required !== true || p.schema === undefined) problems.push(`${where}: path parameter ${name} is not documented as required with a schema`);
    }
    for (const p of params) {
      if (p.in === 'path' && !pathParams(r.path).includes(p.name)) problems.push(`${where}: documents path parameter ${p.name} the path does not have`);
    }
    const queryParams = params.filter((p) => p.in === 'query');
    if (r.hasQuery && queryParams.length === 0) problems.push(`${where}: has a query schema but no documented query parameter`);
    if (!r.hasQuery && queryParams.length > 0) problems.push(`${where}: documents query parameters it does not validate`);
    const content = (op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
    if (r.hasBody !== (content !== undefined)) problems.push(`${where}: request body ${r.hasBody ? 'taken but not documented' : 'documented but not taken'}`);
    for (const t of r.rawContentTypes) if (content?.[t] === undefined) problems.push(`${where}: raw body type ${t} not documented`);
    if (content !== undefined && r.hasBody && r.rawContentTypes.length === 0 && content['application/json']?.schema === undefined) {
      problems.push(`${where}: JSON body documented without a schema`);
    }
    for (const s of r.responseStatuses) if (op.responses?.[String(s)] === undefined) problems.push(`${where}: declared response ${s} not documented`);
    if (r.scope !== 'public') for (const s of ['401', '403', '429']) if (op.responses?.[s] === undefined) problems.push(`${where}: authenticated but ${s} not documented`);
  }

  // 2. document -> server
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops) as Array<[string, OpenApiOperation]>) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!registered.has(`${method} ${path}`)) problems.push(`${where}: documented but not registered`);
      const url = `${opts.baseUrl}${path.replace(/\{[^}]+\}/g, 'drift-probe')}`;
      const scope = op['x-required-scope'];
      if (scope === 'public') {
        if (method !== 'get') continue;
        const res = await fetch(url);
        const body = await res.text();
        if (res.status === 404 || res.status === 405) problems.push(`${where}: documented public, answered ${res.status} ${body.slice(0, 120)}`);
        continue;
      }
      const anon = await fetch(url, { method: method.toUpperCase() });
      const anonBody = (await anon.json().catch(() => ({}))) as { error?: string };
      if (anon.status !== 401 || anonBody.error !== 'unauthorized') problems.push(`${where}: without a key answered ${anon.status} ${anonBody.error ?? ''} (expected 401: is the route served and authenticated?)`);
      const other = (['read', 'write', 'approve'] as const).find((s) => s !== scope);
      if (other === undefined) continue;
      const res = await fetch(url, { method: method.toUpperCase(), headers: { authorization: `Bearer ${opts.tokens[other]}` } });
      const body = (await res.json().catch(() => ({}))) as { error?: string; requiredScope?: string };
      if (res.status !== 403 || body.requiredScope !== scope) problems.push(`${where}: a ${other}-only key answered ${res.status} ${body.error ?? ''} (expected 403 requiring ${scope})`);
    }
  }
  return problems;
}

function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
}
