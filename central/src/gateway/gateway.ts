// The HTTP gateway of central: owns the HTTP server (fastify 5 on node:http, decision 016) and
// lets components register routes declaratively. Every request goes through the same steps,
// in this order, before a handler runs:
//
//   request id -> shutting down? 503 -> overloaded? 503 -> no route? 404 / 405 -> public
//   route? skip auth -> credential (401 missing / malformed) -> key store verify (401 invalid,
//   or 429 when this address keeps failing; 503 store down) -> per-key token bucket (429) ->
//   scope (403) -> body read with the route's limit (413) -> media type (415) -> params,
//   query, body validated (400) -> handler (500 hides the cause; 503 past its timeout) ->
//   audit entry.
//
// The body is read only after authentication: an anonymous client cannot make the gateway
// buffer anything. Access logs are one line per request and carry the route pattern (never the
// URL, whose query string may hold secrets) and the key id (never the token).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { fastify } from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { ApiKeyScope, ApiKeyStore, AuditLog } from '../storage/types.js';
import { extractCredential, scopeAllows, wwwAuthenticate } from './auth.js';
import type { AuthFailureReason, RouteScope } from './auth.js';
import { parseGatewayConfig } from './config.js';
import type { GatewayConfig, GatewayConfigInput } from './config.js';
import { ApiError, GatewayError, RouteDefinitionError } from './errors.js';
import { parseJsonBody } from './json.js';
import { GatewayMetrics, UNMATCHED_ROUTE, methodLabel } from './metrics.js';
import { ErrorBodySchema, buildOpenApiDocument } from './openapi.js';
import type { ErrorBody, OpenApiDocument } from './openapi.js';
import { TokenBucketLimiter } from './rate-limit.js';
import { compileRoute, isJsonMediaType, mediaType, routeInfo } from './routes.js';
import type { CompiledRoute } from './routes.js';
import type {
  AnyRouteDefinition,
  GatewayClock,
  GatewayLogger,
  HandlerResult,
  Principal,
  RawBody,
  ReadinessCheck,
  RequestContext,
  RouteDefinition,
  RouteInfo,
} from './types.js';
import { validate } from './validation.js';
import type { FieldProblem } from './validation.js';

export interface GatewaySettings {
  /** Validated here (GatewayConfigError names the bad key); defaults fill the rest. */
  config?: GatewayConfigInput;
  keys: ApiKeyStore;
  /** When given, routes with `audit` append an entry per answered request. */
  audit?: AuditLog;
  logger: GatewayLogger;
  /** prom-client registry the gateway's metrics are registered on, and /metrics renders. */
  registry: Registry;
  clock: GatewayClock;
  /** Request id source (default: random UUIDs). */
  ids?: () => string;
}

export interface Gateway {
  /** Registers a route. Before start() only; throws RouteDefinitionError on a bad definition. */
  route<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(def: RouteDefinition<P, Q, B>): void;
  /** Adds a check /readyz runs; every check must pass for 200. */
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /** Every registered route, built-ins included. */
  routes(): RouteInfo[];
  /** The OpenAPI document served at /api/v1/openapi.json. */
  openapi(): OpenApiDocument;
  /** Runs the readiness checks as /readyz does. */
  readiness(): Promise<ReadinessReport>;
  start(): Promise<void>;
  /** Stops accepting, answers what is in flight (up to limits.shutdownGraceMs), closes. Idempotent; safe without start(). */
  shutdown(): Promise<void>;
  /** Where the server listens, once started. */
  readonly address: { host: string; port: number } | undefined;
  readonly config: GatewayConfig;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Array<{ name: string; ok: boolean; reason?: string }>;
}

export const OPENAPI_PATH = '/api/v1/openapi.json';
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'proxy-authorization', 'cookie']);
const NO_BODY_STATUSES = new Set([204, 304]);

export function createGateway(settings: GatewaySettings): Gateway {
  return new HttpGateway(settings);
}

interface RequestState {
  id: string;
  route: CompiledRoute | undefined;
  startNs: bigint;
  principal: Principal | undefined;
  authFailure: AuthFailureReason | undefined;
  bytesIn: number | undefined;
  bytesOut: number | undefined;
  finished: boolean;
  owner: HttpGateway;
  request: FastifyRequest;
}

const STATE = Symbol('gateway.request');
type RawWithState = { [STATE]?: RequestState };

/** The response is over (sent, or the connection closed): one shared listener, no closure per request. */
function onResponseClose(this: ServerResponse): void {
  const st = (this as RawWithState)[STATE];
  if (st !== undefined) st.owner.finish(st.request, this, st);
}

interface RouteConfig {
  gw?: CompiledRoute;
}

class HttpGateway implements Gateway {
  readonly config: GatewayConfig;
  address: { host: string; port: number } | undefined;
  private readonly app: FastifyInstance;
  private readonly compiled: CompiledRoute[] = [];
  private readonly byKey = new Map<string, CompiledRoute>();
  private readonly operationIds = new Set<string>();
  private readonly checks: Array<{ name: string; check: ReadinessCheck }> = [];
  private readonly metrics: GatewayMetrics;
  private readonly keyLimiter: TokenBucketLimiter;
  private readonly failLimiter: TokenBucketLimiter;
  private readonly ids: () => string;
  private inFlight = 0;
  private sealed = false;
  private started = false;
  private closing = false;
  private shutdownPromise: Promise<void> | undefined;
  private openapiDoc: OpenApiDocument | undefined;
  private openapiBody: string | undefined;
  private readinessRun: Promise<ReadinessReport> | undefined;
  private server: Server | undefined;

  constructor(private readonly s: GatewaySettings) {
    this.config = parseGatewayConfig(s.config);
    const c = this.config;
    this.ids = s.ids ?? randomUUID;
    this.metrics = new GatewayMetrics(s.registry);
    const now = (): number => s.clock.now();
    this.keyLimiter = new TokenBucketLimiter({ defaults: { ratePerSecond: c.rateLimit.ratePerSecond, burst: c.rateLimit.burst }, overrides: c.rateLimit.perKey, maxBuckets: c.rateLimit.maxBuckets, now });
    this.failLimiter = new TokenBucketLimiter({ defaults: { ratePerSecond: c.authFailureLimit.ratePerSecond, burst: c.authFailureLimit.burst }, maxBuckets: c.authFailureLimit.maxBuckets, now });

    this.app = fastify({
      logger: false,
      bodyLimit: c.limits.bodyBytes,
      forceCloseConnections: 'idle',
      return503OnClosing: false,
      trustProxy: c.trustProxy,
      exposeHeadRoutes: true,
      requestIdHeader: false,
      genReqId: (req) => this.requestIdFor(req),
      routerOptions: { maxParamLength: 200 },
      serverFactory: (handler) => {
        const server = createServer(
          {
            maxHeaderSize: c.limits.maxHeaderBytes,
            requestTimeout: c.limits.requestTimeoutMs,
            headersTimeout: Math.min(c.limits.headersTimeoutMs, c.limits.requestTimeoutMs),
            keepAliveTimeout: c.limits.keepAliveTimeoutMs,
          },
          handler,
        );
        server.maxHeadersCount = c.limits.maxHeadersCount;
        this.server = server;
        return server;
      },
      clientErrorHandler: (err, socket) => this.onClientError(err, socket),
      frameworkErrors: (err, request, reply) => {
        const st = this.begin(request, reply);
        this.sendError(reply, st, err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400, { error: 'invalid_request', message: clip(err.message) });
      },
    });

    // Every body arrives as bytes; the route decides how to read it (JSON, or raw for its types).
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    this.app.addHook('onRequest', async (request, reply) => {
      const st = this.begin(request, reply);
      if (this.closing) {
        reply.header('connection', 'close');
        return this.sendError(reply, st, 503, { error: 'unavailable', message: 'the server is shutting down', retryAfterSeconds: 1 });
      }
      const route = st.route;
      // Probes and scrapes are answered under load: restarting a busy process makes it worse.
      if ((route === undefined || !route.builtin) && this.inFlight > c.limits.maxInFlight) {
        this.metrics.overloaded.inc();
        return this.sendError(reply, st, 503, { error: 'overloaded', message: 'too many requests in flight', retryAfterSeconds: 1 });
      }
      // 404 and 405 are answered here, before fastify would read (and buffer) a body.
      if (route === undefined) return this.answerNoRoute(request, reply, st);
      const scope = this.scopeOf(route);
      if (scope === 'public') return undefined;
      return this.authenticate(request, reply, st, scope);
    });

    // Reached only if the hook above did not answer (it always does); kept as the router's fallback.
    this.app.setNotFoundHandler((request, reply) => this.answerNoRoute(request, reply, this.begin(request, reply)));

    this.app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, request, reply) => {
      const st = this.begin(request, reply);
      this.answerError(err, request, reply, st);
    });

    this.registerBuiltins();
  }

  // ------------------------------------------------------------------ registration

  route<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(def: RouteDefinition<P, Q, B>): void {
    this.add(def as AnyRouteDefinition, false);
  }

  private add(def: AnyRouteDefinition, builtin: boolean): void {
    const name = `${String(def?.method)} ${String(def?.path)}`;
    if (this.sealed) throw new RouteDefinitionError('ROUTES_SEALED', name, `route ${name}: routes must be registered before start()`);
    if (!builtin && ['/healthz', '/readyz', '/metrics', OPENAPI_PATH].includes(def.path)) {
      throw new RouteDefinitionError('RESERVED_PATH', name, `route ${name}: ${def.path} is served by the gateway itself`);
    }
    const r = compileRoute(def, this.config.limits.bodyBytes, builtin);
    const key = `${def.method} ${r.shape}`;
    const clash = this.byKey.get(key);
    if (clash) throw new RouteDefinitionError('DUPLICATE_ROUTE', name, `route ${name}: collides with ${clash.def.method} ${clash.def.path}`);
    if (this.operationIds.has(r.operationId)) throw new RouteDefinitionError('DUPLICATE_ROUTE', name, `route ${name}: operationId ${r.operationId} is already used`);
    try {
      this.app.route({
        method: def.method,
        url: r.routerPath,
        bodyLimit: r.bodyLimit,
        config: { gw: r } satisfies RouteConfig,
        handler: (request, reply) => this.handle(r, request, reply),
      });
    } catch (err) {
      throw new RouteDefinitionError('INVALID_ROUTE', name, `route ${name}: refused by the router: ${(err as Error).message}`, { cause: err });
    }
    this.byKey.set(key, r);
    this.operationIds.add(r.operationId);
    this.compiled.push(r);
  }

  addReadinessCheck(name: string, check: ReadinessCheck): void {
    if (typeof name !== 'string' || name === '' || this.checks.some((c) => c.name === name)) {
      throw new GatewayError('INVALID_CHECK', `readiness check name must be unique and non-empty (got ${JSON.stringify(name)})`);
    }
    this.checks.push({ name, check });
  }

  routes(): RouteInfo[] {
    return this.compiled.map(routeInfo);
  }

  openapi(): OpenApiDocument {
    if (this.openapiDoc !== undefined && this.sealed) return this.openapiDoc;
    const doc = buildOpenApiDocument(this.compiled, this.config.info);
    if (this.sealed) this.openapiDoc = doc;
    return doc;
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.started) return;
    if (this.closing) throw new GatewayError('SHUT_DOWN', 'the gateway was shut down; create a new one');
    this.sealed = true;
    this.started = true;
    this.openapiBody = JSON.stringify(this.openapi());
    const { host, port } = this.config.listen;
    try {
      await this.app.listen({ host, port });
    } catch (err) {
      throw new GatewayError('LISTEN_FAILED', `gateway: cannot listen on ${host}:${port}: ${(err as Error).message}`, true, { cause: err });
    }
    const a = this.app.server.address();
    if (a !== null && typeof a === 'object') this.address = { host: a.address, port: a.port };
    this.s.logger.info({ address: this.address, routes: this.compiled.length }, 'gateway listening');
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    this.closing = true;
    this.sealed = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.s.logger.warn({ inFlight: this.inFlight }, 'gateway: shutdown grace period over, closing remaining connections');
        this.server?.closeAllConnections();
        resolve();
      }, this.config.limits.shutdownGraceMs);
      timer.unref();
    });
    try {
      const closed = this.app.close();
      await Promise.race([closed, grace]);
      // After the grace period the sockets are gone and close() settles promptly.
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  // ------------------------------------------------------------------ per request

  private requestIdFor(req: IncomingMessage): string {
    if (this.config.acceptRequestId) {
      const h = req.headers['x-request-id'];
      if (typeof h === 'string' && REQUEST_ID_RE.test(h)) return h;
    }
    return this.ids();
  }

  /** The request's state, made on first call: request id header, in-flight count, access log on close. */
  private begin(request: FastifyRequest, reply: FastifyReply): RequestState {
    const existing = (request.raw as RawWithState)[STATE];
    if (existing !== undefined) return existing;
    const cfg = request.routeOptions.config as RouteConfig | undefined;
    const st: RequestState = { id: request.id, route: cfg?.gw, startNs: process.hrtime.bigint(), principal: undefined, authFailure: undefined, bytesIn: contentLength(request.headers), bytesOut: undefined, finished: false, owner: this, request };
    (request.raw as RawWithState)[STATE] = st;
    reply.header('x-request-id', st.id);
    reply.header('x-content-type-options', 'nosniff');
    this.inFlight++;
    this.metrics.inFlight.inc();
    (reply.raw as RawWithState)[STATE] = st;
    reply.raw.on('close', onResponseClose);
    return st;
  }

  /** @internal called by onResponseClose. */
  finish(request: FastifyRequest, res: ServerResponse, st: RequestState): void {
    if (st.finished) return;
    st.finished = true;
    this.inFlight--;
    this.metrics.inFlight.dec();
    const seconds = Number(process.hrtime.bigint() - st.startNs) / 1e9;
    const route = st.route?.def.path ?? UNMATCHED_ROUTE;
    const method = methodLabel(request.method);
    const status = res.statusCode;
    this.metrics.requests.inc({ route, method, status: String(status) });
    this.metrics.duration.observe({ route, method }, seconds);
    const aborted = !res.writableFinished;
    const line: Record<string, unknown> = {
      reqId: st.id,
      method,
      route,
      status,
      durationMs: Math.round(seconds * 1e4) / 10,
      bytesIn: st.bytesIn,
      bytesOut: st.bytesOut ?? 0,
      remote: request.ip,
    };
    if (st.principal) {
      line.keyId = st.principal.keyId;
      line.tenant = st.principal.tenant;
    }
    if (st.authFailure) line.authFailure = st.authFailure;
    if (aborted) line.aborted = true;
    this.s.logger.info(line, 'request');
  }

  private scopeOf(route: CompiledRoute): RouteScope {
    if (route.builtin && route.def.path === '/metrics') return this.config.metricsScope ?? 'public';
    return route.def.scope;
  }

  private unauthorized(reply: FastifyReply, st: RequestState, reason: AuthFailureReason, message: string): FastifyReply {
    st.authFailure = reason;
    this.metrics.authFailure(reason);
    reply.header('www-authenticate', wwwAuthenticate(reason));
    return this.sendError(reply, st, 401, { error: 'unauthorized', message });
  }

  private async authenticate(request: FastifyRequest, reply: FastifyReply, st: RequestState, scope: ApiKeyScope): Promise<FastifyReply | undefined> {
    const cred = extractCredential(request.headers, this.config.limits.maxTokenLength);
    if (cred.kind === 'none') return this.unauthorized(reply, st, 'missing', 'an API key is required (Authorization: Bearer <token> or X-API-Key)');
    if (cred.kind === 'malformed') return this.unauthorized(reply, st, 'malformed', cred.why);

    const nowMs = this.s.clock.now();
    let record;
    try {
      // No timer here (one per request is measurable): a hanging store fills limits.maxInFlight,
      // new requests get 503 and each waiting one ends when its client gives up.
      record = await this.s.keys.verify(cred.token, nowMs);
    } catch (err) {
      st.authFailure = 'store_error';
      this.metrics.authFailure('store_error');
      this.s.logger.error({ reqId: st.id, err: describeError(err) }, 'gateway: key store failed to verify a credential');
      reply.header('retry-after', '1');
      return this.sendError(reply, st, 503, { error: 'unavailable', message: 'credentials cannot be checked right now', retryAfterSeconds: 1 });
    }
    // The store promises active, unexpired keys only; checked again so a store bug cannot let one through.
    if (record === undefined || record.revokedAtMs !== 0 || (record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs)) {
      // Refused credentials are counted per client address; past the bucket the answer becomes
      // 429 with Retry-After (a client looping on a revoked key is told to back off). Only
      // failures are charged: a valid key from the same address (a NAT, a proxy) still passes.
      const client = request.ip ?? 'unknown';
      const before = this.failLimiter.evictions;
      const t = this.failLimiter.take(client);
      if (this.failLimiter.evictions !== before) this.metrics.bucketEvictions.inc({ limiter: 'auth_failures' }, this.failLimiter.evictions - before);
      if (!t.allowed) {
        st.authFailure = 'invalid';
        this.metrics.authFailure('invalid');
        this.metrics.rateLimited.inc({ limiter: 'auth_failures' });
        const retryAfterSeconds = Math.max(1, Math.ceil(t.retryAfterMs / 1000));
        reply.header('retry-after', String(retryAfterSeconds));
        return this.sendError(reply, st, 429, { error: 'rate_limited', message: 'too many refused credentials from this address', retryAfterSeconds });
      }
      return this.unauthorized(reply, st, 'invalid', 'the API key is unknown, expired or revoked');
    }
    st.principal = { keyId: record.id, keyName: record.name, tenant: record.tenant, scopes: [...record.scopes] };

    const before = this.keyLimiter.evictions;
    const taken = this.keyLimiter.take(record.id);
    if (this.keyLimiter.evictions !== before) this.metrics.bucketEvictions.inc({ limiter: 'key' }, this.keyLimiter.evictions - before);
    if (!taken.allowed) {
      this.metrics.rateLimited.inc({ limiter: 'key' });
      const retryAfterSeconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
      reply.header('retry-after', String(retryAfterSeconds));
      return this.sendError(reply, st, 429, { error: 'rate_limited', message: `rate limit of key ${record.id} exceeded`, retryAfterSeconds });
    }
    if (!scopeAllows(record.scopes, scope)) {
      st.authFailure = 'insufficient_scope';
      this.metrics.authFailure('insufficient_scope');
      reply.header('www-authenticate', wwwAuthenticate('insufficient_scope', scope));
      return this.sendError(reply, st, 403, { error: 'forbidden', message: `this operation needs the ${scope} scope`, requiredScope: scope });
    }
    return undefined;
  }

  private async handle(r: CompiledRoute, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const st = this.begin(request, reply);
    const def = r.def;
    let params: unknown = request.params;
    if (def.params !== undefined) {
      const v = validate(def.params, 'params', params);
      if (!v.ok) return this.badRequest(reply, st, v.problems);
      params = v.value;
    }
    let query: unknown = request.query;
    if (def.query !== undefined) {
      const v = validate(def.query, 'query', query);
      if (!v.ok) return this.badRequest(reply, st, v.problems);
      query = v.value;
    }
    let body: unknown;
    let raw: RawBody | undefined;
    if (def.body !== undefined || r.rawTypes.length > 0) {
      const bytes = Buffer.isBuffer(request.body) ? request.body : undefined;
      if (bytes !== undefined) st.bytesIn = bytes.length;
      const type = mediaType(request.headers['content-type']);
      const encoding = request.headers['content-encoding'];
      if (r.rawTypes.includes(type)) {
        raw = { contentType: type, contentEncoding: encoding, bytes: bytes ?? Buffer.alloc(0) };
      } else if (def.body !== undefined && (isJsonMediaType(type) || (type === '' && (bytes === undefined || bytes.length === 0)))) {
        if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return this.unsupported(r, reply, st, `Content-Encoding ${clip(encoding, 40)} is not accepted for JSON bodies`);
        let input: unknown;
        if (bytes !== undefined && bytes.length > 0) {
          const parsed = parseJsonBody(bytes);
          if (!parsed.ok) return this.badRequest(reply, st, [{ field: parsed.field, problem: parsed.problem }]);
          input = parsed.value;
        }
        const v = validate(def.body, 'body', input);
        if (!v.ok) return this.badRequest(reply, st, input === undefined ? [{ field: 'body', problem: 'a JSON body is required' }] : v.problems);
        body = v.value;
      } else {
        return this.unsupported(r, reply, st, `Content-Type ${type === '' ? '(none)' : clip(type, 60)} is not accepted here; send ${acceptOf(r).join(' or ')}`);
      }
    }

    const ctx = new Context(st, params, query, body, raw, request, reply, this.s.logger, this.s.clock.now());
    const timeoutMs = def.timeoutMs ?? this.config.limits.handlerTimeoutMs;
    // Extra arguments instead of a closure: this runs once per request.
    const timer = setTimeout(this.onHandlerTimeout, timeoutMs, ctx, reply, st, timeoutMs);
    let result: HandlerResult;
    try {
      result = await (def.handler as (c: RequestContext<unknown, unknown, unknown>) => Promise<HandlerResult> | HandlerResult)(ctx);
      if (reply.sent) return reply; // the timeout has answered already
      this.checkResult(r, result);
    } catch (err) {
      if (reply.sent) return reply;
      if (def.audit !== undefined) await this.audit(r, ctx, err instanceof ApiError ? err.status : 500);
      this.answerError(err, request, reply, st);
      return reply;
    } finally {
      clearTimeout(timer);
      ctx.release();
    }
    if (def.audit !== undefined) await this.audit(r, ctx, result.status);
    return this.sendResult(reply, st, result);
  }

  private readonly onHandlerTimeout = (ctx: Context, reply: FastifyReply, st: RequestState, timeoutMs: number): void => {
    ctx.abort(new GatewayError('TIMEOUT', `no answer within ${timeoutMs} ms`, true));
    if (reply.sent) return;
    this.s.logger.warn({ reqId: st.id, route: st.route?.def.path, timeoutMs }, 'gateway: handler timed out');
    reply.header('retry-after', '1');
    this.sendError(reply, st, 503, { error: 'timeout', message: `the request was not answered within ${timeoutMs} ms`, retryAfterSeconds: 1 });
  };

  private badRequest(reply: FastifyReply, st: RequestState, problems: FieldProblem[]): FastifyReply {
    const first = problems[0]!;
    return this.sendError(reply, st, 400, { error: 'invalid_request', message: `${first.field}: ${first.problem}`, field: first.field, problem: first.problem, issues: problems });
  }

  private unsupported(r: CompiledRoute, reply: FastifyReply, st: RequestState, message: string): FastifyReply {
    return this.sendError(reply, st, 415, { error: 'unsupported_media_type', message, accept: acceptOf(r) });
  }

  /** A handler's answer must be a sane HTTP status (and, with validateResponses, what the route declares). */
  private checkResult(r: CompiledRoute, result: HandlerResult): void {
    if (result === null || typeof result !== 'object' || !Number.isInteger(result.status) || result.status < 200 || result.status > 599) {
      throw new GatewayError('BAD_RESULT', `handler of ${r.def.method} ${r.def.path} returned no valid { status } (got ${describeValue(result)})`);
    }
    if (!this.config.validateResponses) return;
    const spec = r.def.responses[result.status];
    if (spec === undefined) throw new GatewayError('UNDECLARED_RESPONSE', `handler of ${r.def.method} ${r.def.path} answered ${result.status}, which the route does not declare`);
    if (spec.body !== undefined) {
      const v = spec.body.safeParse(result.body);
      if (!v.success) {
        const i = v.error.issues[0]!;
        throw new GatewayError('RESPONSE_SCHEMA', `handler of ${r.def.method} ${r.def.path} answered ${result.status} with a body not matching its schema at ${['body', ...i.path.map(String)].join('.')}: ${i.message}`);
      }
    }
  }

  private sendResult(reply: FastifyReply, st: RequestState, result: HandlerResult): FastifyReply {
    reply.code(result.status);
    setHandlerHeaders(reply, result.headers);
    if (result.body === undefined || NO_BODY_STATUSES.has(result.status)) {
      st.bytesOut = 0;
      return reply.send();
    }
    if (Buffer.isBuffer(result.body) || typeof result.body === 'string') {
      st.bytesOut = Buffer.byteLength(result.body);
      reply.type(result.contentType ?? (typeof result.body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream'));
      return reply.send(result.body);
    }
    const text = JSON.stringify(result.body);
    st.bytesOut = Buffer.byteLength(text);
    reply.type(result.contentType ?? 'application/json; charset=utf-8');
    return reply.send(text);
  }

  private async audit(r: CompiledRoute, ctx: RequestContext<unknown, unknown, unknown>, status: number): Promise<void> {
    const a = r.def.audit;
    if (a === undefined || this.s.audit === undefined) return;
    let target: string;
    try {
      target = a.target ? a.target(ctx as never) : r.pathParams.map((p) => String((ctx.params as Record<string, unknown>)[p])).join('/') || r.def.path;
    } catch {
      target = r.def.path;
    }
    try {
      await this.s.audit.append({
        atMs: this.s.clock.now(),
        actor: ctx.principal?.keyId ?? 'anonymous',
        action: a.action,
        target,
        details: { status, requestId: ctx.requestId, method: r.def.method, route: r.def.path, tenant: ctx.principal?.tenant },
      });
    } catch (err) {
      this.metrics.auditFailures.inc();
      this.s.logger.error({ reqId: ctx.requestId, action: a.action, err: describeError(err) }, 'gateway: audit log refused an entry');
    }
  }

  /** Answers an error raised by fastify (body limit, timeout) or thrown by a handler. */
  private answerError(err: unknown, request: FastifyRequest, reply: FastifyReply, st: RequestState): void {
    if (reply.sent) return;
    if (err instanceof ApiError) {
      setHandlerHeaders(reply, err.headers);
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(0, Math.ceil(err.retryAfterSeconds))));
      this.sendError(reply, st, err.status, {
        error: err.code,
        message: err.message,
        ...(err.field !== undefined ? { field: err.field, problem: err.message } : {}),
        ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: Math.ceil(err.retryAfterSeconds) } : {}),
      });
      return;
    }
    const e = err as Error & { code?: string; statusCode?: number };
    if (!request.raw.complete && request.raw.destroyed) {
      // The client went away while sending its body: nobody reads this answer, nothing to log.
      this.sendError(reply, st, 400, { error: 'aborted', message: 'the request was aborted by the client' });
      return;
    }
    switch (e?.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE': {
        const limit = st.route?.bodyLimit ?? this.config.limits.bodyBytes;
        this.metrics.bodyTooLarge.inc({ route: st.route?.def.path ?? UNMATCHED_ROUTE });
        // The rest of the body is not read: the connection closes after this answer.
        reply.header('connection', 'close');
        this.sendError(reply, st, 413, { error: 'payload_too_large', message: `the body exceeds the limit of ${limit} bytes`, limitBytes: limit });
        return;
      }
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        this.sendError(reply, st, 400, { error: 'invalid_request', message: 'body: the body length does not match Content-Length', field: 'body', problem: 'the body length does not match Content-Length' });
        return;
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        this.sendError(reply, st, 415, { error: 'unsupported_media_type', message: 'the Content-Type is not accepted here' });
        return;
    }
    if (typeof e?.code === 'string' && e.code.startsWith('FST_') && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      this.sendError(reply, st, e.statusCode, { error: 'invalid_request', message: clip(e.message) });
      return;
    }
    // Anything else is a bug or an outage behind the handler: logged in full, answered without detail.
    this.s.logger.error({ reqId: st.id, route: st.route?.def.path, method: request.method, err: describeError(err) }, 'gateway: request failed');
    this.sendError(reply, st, 500, { error: 'internal', message: `internal error; quote request id ${st.id} when reporting it` });
  }

  private sendError(reply: FastifyReply, st: RequestState, status: number, body: Omit<ErrorBody, 'requestId'>): FastifyReply {
    const payload = JSON.stringify({ ...body, requestId: st.id } satisfies ErrorBody);
    st.bytesOut = Buffer.byteLength(payload);
    // Refused before its body was read: close rather than let node drain an upload nobody wants.
    const h = reply.request.headers;
    if ((h['transfer-encoding'] !== undefined || Number(h['content-length']) > 0) && !reply.request.raw.complete) reply.header('connection', 'close');
    return reply.code(status).header('x-request-id', st.id).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(payload);
  }

  private answerNoRoute(request: FastifyRequest, reply: FastifyReply, st: RequestState): FastifyReply {
    const path = request.url.split('?', 1)[0]!;
    const allow = this.allowedMethods(path);
    if (allow.length > 0) {
      reply.header('allow', allow.join(', '));
      return this.sendError(reply, st, 405, { error: 'method_not_allowed', message: `${methodLabel(request.method)} is not allowed here`, allow });
    }
    return this.sendError(reply, st, 404, { error: 'route_not_found', message: 'no route answers this path' });
  }

  private allowedMethods(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.compiled) {
      if (!r.matcher.test(path)) continue;
      out.add(r.def.method);
      if (r.def.method === 'GET') out.add('HEAD');
    }
    return [...out].sort();
  }

  private onClientError(err: Error & { code?: string }, socket: Socket): void {
    const kind = err.code === 'HPE_HEADER_OVERFLOW' ? 'header_overflow' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'timeout' : err.code === 'ECONNRESET' ? 'reset' : 'parse_error';
    this.metrics.clientErrors.inc({ kind });
    if (kind === 'reset' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, text] = kind === 'header_overflow' ? [431, 'Request Header Fields Too Large'] : kind === 'timeout' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
    const id = this.ids();
    const body = JSON.stringify({
      error: kind === 'header_overflow' ? 'headers_too_large' : kind === 'timeout' ? 'request_timeout' : 'bad_request',
      message: kind === 'header_overflow' ? `request line and headers exceed ${this.config.limits.maxHeaderBytes} bytes` : kind === 'timeout' ? 'the request did not arrive in time' : 'the request could not be parsed',
      requestId: id,
    } satisfies ErrorBody);
    this.s.logger.info({ reqId: id, status, clientError: kind, remote: socket.remoteAddress }, 'request');
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`);
  }

  // ------------------------------------------------------------------ built-in routes

  private registerBuiltins(): void {
    const err = { description: 'Error', body: ErrorBodySchema };
    this.add(
      {
        method: 'GET',
        path: '/healthz',
        scope: 'public',
        summary: 'Liveness: the process is up and its event loop answers.',
        description: 'Unauthenticated so that orchestrators (kubelet, systemd) can probe without a key; reveals nothing.',
        tags: ['operations'],
        operationId: 'getHealthz',
        responses: { 200: { description: 'Alive', body: HealthBody } },
        handler: () => ({ status: 200, body: { status: 'ok' } }),
      },
      true,
    );
    this.add(
      {
        method: 'GET',
        path: '/readyz',
        scope: 'public',
        summary: 'Readiness: every registered check passes (stores open, consumers connected).',
        description: 'Unauthenticated for load balancers and orchestrators; lists check names and failure reasons, no data.',
        tags: ['operations'],
        operationId: 'getReadyz',
        responses: { 200: { description: 'Ready', body: ReadyBody }, 503: { description: 'Not ready: the failing checks', body: ReadyBody } },
        handler: async () => {
          const r = await this.readiness();
          const failing = r.checks.filter((c) => !c.ok);
          const headers: Record<string, string> = r.ready ? {} : { 'retry-after': '1' };
          return {
            status: r.ready ? 200 : 503,
            headers,
            body: { status: r.ready ? 'ready' : 'not_ready', checks: r.checks, ...(failing.length > 0 ? { failing } : {}) },
          };
        },
      },
      true,
    );
    this.add(
      {
        method: 'GET',
        path: '/metrics',
        scope: this.config.metricsScope ?? 'public',
        summary: 'Self-metrics in the Prometheus text format.',
        description: 'Unauthenticated by default (scrapers rarely carry keys; the metrics hold counts, never payloads); set metricsScope to require a key.',
        tags: ['operations'],
        operationId: 'getMetrics',
        responses: { 200: { description: 'Prometheus text exposition', contentType: 'text/plain; version=0.0.4; charset=utf-8' }, 500: err },
        handler: async () => ({ status: 200, body: await this.s.registry.metrics(), contentType: this.s.registry.contentType }),
      },
      true,
    );
    this.add(
      {
        method: 'GET',
        path: OPENAPI_PATH,
        scope: 'public',
        summary: 'This OpenAPI 3.1 document.',
        description: 'Public: it describes the API, holds no data.',
        tags: ['operations'],
        operationId: 'getOpenApiDocument',
        responses: { 200: { description: 'The OpenAPI document', contentType: 'application/json' } },
        handler: () => ({ status: 200, body: this.openapiBody ?? JSON.stringify(this.openapi()), contentType: 'application/json; charset=utf-8' }),
      },
      true,
    );
  }

  readiness(): Promise<ReadinessReport> {
    // Concurrent probes share one run of the checks.
    this.readinessRun ??= this.runChecks().finally(() => {
      this.readinessRun = undefined;
    });
    return this.readinessRun;
  }

  private async runChecks(): Promise<ReadinessReport> {
    const timeoutMs = this.config.limits.readinessTimeoutMs;
    const checks = await Promise.all(
      this.checks.map(async ({ name, check }) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<{ ok: false; reason: string }>((resolve) => {
            timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
            timer.unref();
          });
          const r = await Promise.race([Promise.resolve().then(check), timeout]);
          if (r === true) return { name, ok: true };
          if (r === false) return { name, ok: false, reason: 'not ready' };
          if (r !== null && typeof r === 'object' && typeof r.ok === 'boolean') {
            return r.ok ? { name, ok: true } : { name, ok: false, reason: clip(r.reason ?? 'not ready') };
          }
          return { name, ok: false, reason: 'the check returned no verdict' };
        } catch (err) {
          return { name, ok: false, reason: clip((err as Error)?.message ?? String(err)) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    if (this.closing) checks.push({ name: 'gateway', ok: false, reason: 'shutting down' });
    return { ready: checks.every((c) => c.ok), checks };
  }
}

/**
 * The RequestContext a handler gets. A class (not an object literal with closures) because it
 * is made once per request: the signal, the child logger and the header copy are only built
 * when a handler first reads them.
 */
class Context implements RequestContext<unknown, unknown, unknown> {
  readonly requestId: string;
  readonly principal: Principal | undefined;
  private ac: AbortController | undefined;
  private abortReason: GatewayError | undefined;
  private childLog: GatewayLogger | undefined;
  private headerCopy: IncomingHttpHeaders | undefined;
  private listening = false;

  constructor(
    st: RequestState,
    readonly params: unknown,
    readonly query: unknown,
    readonly body: unknown,
    readonly raw: RawBody | undefined,
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly logger: GatewayLogger,
    readonly nowMs: number,
  ) {
    this.requestId = st.id;
    this.principal = st.principal;
  }

  get headers(): IncomingHttpHeaders {
    return (this.headerCopy ??= withoutCredentials(this.request.headers));
  }

  get log(): GatewayLogger {
    return (this.childLog ??= this.logger.child({ reqId: this.requestId }));
  }

  get signal(): AbortSignal {
    if (this.ac === undefined) {
      this.ac = new AbortController();
      if (this.abortReason !== undefined) this.ac.abort(this.abortReason);
      else {
        this.onClose = () => {
          if (!this.reply.raw.writableFinished) this.abort(new GatewayError('CLIENT_GONE', 'the client closed the connection'));
        };
        this.reply.raw.once('close', this.onClose);
        this.listening = true;
      }
    }
    return this.ac.signal;
  }

  abort(reason: GatewayError): void {
    this.abortReason ??= reason;
    this.ac?.abort(reason);
  }

  /** The handler has returned: stop watching the connection. */
  release(): void {
    if (this.listening && this.onClose !== undefined) this.reply.raw.off('close', this.onClose);
    this.listening = false;
  }

  private onClose: (() => void) | undefined;
}

function acceptOf(r: CompiledRoute): string[] {
  return [...(r.def.body !== undefined ? ['application/json'] : []), ...r.rawTypes];
}

const HealthBody = z.object({ status: z.literal('ok') });
const CheckResult = z.object({ name: z.string(), ok: z.boolean(), reason: z.string().optional() });
const ReadyBody = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.array(CheckResult), failing: z.array(CheckResult).optional() });

/** Headers a handler asks for, except those the gateway and node own. */
function setHandlerHeaders(reply: FastifyReply, headers: Record<string, string> | undefined): void {
  if (headers === undefined) return;
  for (const [k, v] of Object.entries(headers)) {
    const lk = k.toLowerCase();
    if (lk === 'content-length' || lk === 'transfer-encoding' || lk === 'x-request-id' || lk === 'connection') continue;
    reply.header(lk, v);
  }
}

function contentLength(headers: IncomingHttpHeaders | Record<string, unknown>): number | undefined {
  const v = headers['content-length'];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function withoutCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!CREDENTIAL_HEADERS.has(k)) out[k] = v;
  return out;
}

function clip(s: string, n = 300): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

function describeValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  return `{ ${Object.keys(v).slice(0, 5).join(', ')} }`;
}

/** An error for a log line: name, code, message and stack; never request data. */
function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown };
  return { type: e.name, ...(e.code !== undefined ? { code: e.code } : {}), message: e.message, stack: e.stack };
}
