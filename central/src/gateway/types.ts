// The contract between the gateway and the components that register routes on it.
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { ApiKeyRecord, ApiKeyScope } from '../storage/types.js';
import type { RouteScope } from './auth.js';

/** pino-compatible logger: a pino Logger satisfies it. */
export interface GatewayLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): GatewayLogger;
}

/** Injected time (CONVENTIONS 10): rate limits, key expiry and audit entries read it. */
export interface GatewayClock {
  now(): number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The key a request was authenticated with. Never holds the token. */
export interface Principal {
  keyId: string;
  keyName: string;
  tenant: string;
  scopes: readonly ApiKeyScope[];
}

/** A body the route takes as bytes (e.g. remote-write: protobuf + snappy). */
export interface RawBody {
  /** Media type without parameters, lower case. */
  contentType: string;
  /** Content-Encoding as sent (e.g. "snappy"), undefined when absent. Not decoded by the gateway. */
  contentEncoding: string | undefined;
  bytes: Buffer;
}

type Out<S, Fallback> = S extends z.ZodType ? z.output<S> : Fallback;

export interface RequestContext<P = Record<string, string>, Q = Record<string, unknown>, B = undefined> {
  readonly requestId: string;
  /** The authenticated key; undefined on public routes. */
  readonly principal: Principal | undefined;
  /** Path parameters, validated by the route's `params` schema when it has one. */
  readonly params: P;
  /** Query parameters, validated by the route's `query` schema when it has one. */
  readonly query: Q;
  /** The JSON body validated by the route's `body` schema; undefined when the request came as a raw body. */
  readonly body: B;
  /** The raw body, when the route declares `rawBody` and the request's Content-Type is one of its types. */
  readonly raw: RawBody | undefined;
  /** Request headers without credentials (Authorization and X-API-Key are removed). */
  readonly headers: Readonly<IncomingHttpHeaders>;
  /** Aborted when the client goes away or the route's timeout passes (stop work, the answer is sent). */
  readonly signal: AbortSignal;
  /** Logger bound to the request id. */
  readonly log: GatewayLogger;
  /** The injected clock's time when the request was authenticated, ms. */
  readonly nowMs: number;
}

/**
 * What a handler answers. `body`: a Buffer or string is sent as is (give `contentType`); any
 * other value is sent as JSON; undefined sends no body (e.g. 204).
 */
export interface HandlerResult {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface ResponseSpec {
  description: string;
  /** Schema of a JSON body (the OpenAPI document publishes it; `validateResponses` enforces it). */
  body?: z.ZodType;
  /** Media type of a non-JSON body, e.g. `text/plain; version=0.0.4`. */
  contentType?: string;
}

export interface RouteDefinition<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined> {
  method: HttpMethod;
  /** OpenAPI style, e.g. `/api/v1/incidents/{id}`. REST routes live under `/api/v1/`. */
  path: string;
  /** The key scope a caller needs; `public` routes are not authenticated nor rate limited. */
  scope: RouteScope;
  /** One line for the OpenAPI document. */
  summary: string;
  description?: string;
  /** OpenAPI tags (grouping in viewers). */
  tags?: string[];
  /** Unique across routes; derived from method and path when absent. */
  operationId?: string;
  /** A `z.object` whose keys are exactly the path's `{params}` (strings in, coerced as the schema says). */
  params?: P;
  /** A `z.object`; values arrive as strings (or arrays of strings when repeated): use `z.coerce` for numbers. */
  query?: Q;
  /** JSON body (`application/json` or `+json`), validated; errors answer 400 naming the field. */
  body?: B;
  /** Media types taken as bytes, unparsed (e.g. `application/x-protobuf`). May be combined with `body`. */
  rawBody?: { contentTypes: readonly string[] };
  /** This route's body limit (default: `limits.bodyBytes`). */
  bodyLimitBytes?: number;
  /** The handler must answer within this, ms (default `limits.handlerTimeoutMs`); 503 and `ctx.signal` aborted otherwise. */
  timeoutMs?: number;
  /** Declared answers, by status. Error statuses the gateway produces are added to the document. */
  responses: Record<number, ResponseSpec>;
  /**
   * Appends an audit entry (actor = key id) when the handler has answered, with the status.
   * `target` names what was acted on (default: the request path's parameters, joined).
   */
  audit?: { action: string; target?: (ctx: RequestContext<Out<P, Record<string, string>>, Out<Q, Record<string, unknown>>, Out<B, undefined>>) => string };
  handler(ctx: RequestContext<Out<P, Record<string, string>>, Out<Q, Record<string, unknown>>, Out<B, undefined>>): Promise<HandlerResult> | HandlerResult;
}

/** A route definition with its type parameters erased (how the gateway stores it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteDefinition = RouteDefinition<any, any, any>;

/** A readiness check: true or `{ ok: true }` when ready; false, `{ ok: false, reason }` or a throw when not. */
export type ReadinessCheck = () => boolean | { ok: boolean; reason?: string } | Promise<boolean | { ok: boolean; reason?: string }>;

/** What `gateway.routes()` lists: every registered route, built-ins included. */
export interface RouteInfo {
  method: HttpMethod;
  path: string;
  scope: RouteScope;
  operationId: string;
  summary: string;
  hasParams: boolean;
  hasQuery: boolean;
  hasBody: boolean;
  rawContentTypes: readonly string[];
  responseStatuses: readonly number[];
}

export type { ApiKeyRecord };
