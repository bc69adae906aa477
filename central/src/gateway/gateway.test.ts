// The gateway over real HTTP (fetch, node:http, raw sockets) on 127.0.0.1:0 with the in-memory
// key store and a manual clock: authentication, scopes, rate limits, body limits, validation,
// routing errors, hostile input, concurrency, readiness, metrics, audit, lifecycle.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { z } from 'zod';
import type { AuditEntry, AuditLog } from '../storage/types.js';
import { ApiError, GatewayConfigError, RouteDefinitionError, createGateway } from './index.js';
import type { Gateway } from './index.js';
import { startTestGateway } from './testing/index.js';
import type { TestGateway } from './testing/index.js';
import { MemoryApiKeyStore, secretOf } from './testing/memory-api-key-store.js';
import { ManualClock } from './testing/manual-clock.js';
import { captureLogs } from './testing/log-capture.js';

const ok = { 200: { description: 'ok', body: z.object({ ok: z.literal(true) }) } };

/** One route per scope, plus the routes the other tests use. */
function registerCommon(g: Gateway): void {
  for (const scope of ['read', 'write', 'approve', 'admin'] as const) {
    g.route({ method: 'GET', path: `/api/v1/scoped/${scope}`, scope, summary: `needs ${scope}`, responses: ok, handler: () => ({ status: 200, body: { ok: true } }) });
  }
  g.route({
    method: 'GET',
    path: '/api/v1/whoami',
    scope: 'read',
    summary: 'the caller',
    responses: { 200: { description: 'principal', body: z.object({ keyId: z.string(), tenant: z.string(), headers: z.array(z.string()) }) } },
    handler: (ctx) => ({ status: 200, body: { keyId: ctx.principal!.keyId, tenant: ctx.principal!.tenant, headers: Object.keys(ctx.headers) } }),
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('authentication and scopes', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ register: registerCommon });
  });
  after(() => t.close());

  it('401 without a credential, with a challenge and a request id', async () => {
    const res = await fetch(`${t.url}/api/v1/scoped/read`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="aiops"');
    const body = await json(res);
    assert.equal(body.error, 'unauthorized');
    assert.equal(body.requestId, res.headers.get('x-request-id'));
    assert.ok(typeof body.requestId === 'string' && body.requestId.length > 0);
  });

  it('401 for malformed, unknown, expired and revoked credentials, without telling them apart beyond malformed', async () => {
    const expiring = await t.store.create({ name: 'e', tenant: 't1', scopes: ['read'], expiresAtMs: t.clock.now() + 60_000 }, t.clock.now());
    const revoked = await t.store.create({ name: 'r', tenant: 't1', scopes: ['read'] }, t.clock.now());
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: { authorization: `Bearer ${expiring.token}` } })).status, 200);
    await t.store.revoke(revoked.record.id, t.clock.now());
    t.clock.advance(60_000);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'invalid_request'],
      ['unknown token', { authorization: 'Bearer k_00000000.nope' }, 'invalid_token'],
      ['wrong secret', { authorization: `Bearer aiops_${t.keyIds.read}_${'w'.repeat(43)}` }, 'invalid_token'],
      ['expired', { authorization: `Bearer ${expiring.token}` }, 'invalid_token'],
      ['revoked', { authorization: `Bearer ${revoked.token}` }, 'invalid_token'],
      ['two different keys', { authorization: `Bearer ${t.tokens.read}`, 'x-api-key': t.tokens.admin }, 'invalid_request'],
    ];
    for (const [name, headers, error] of cases) {
      const res = await fetch(`${t.url}/api/v1/scoped/read`, { headers });
      assert.equal(res.status, 401, name);
      assert.match(res.headers.get('www-authenticate')!, new RegExp(`error="${error}"`), name);
      assert.equal((await json(res)).error, 'unauthorized', name);
    }
  });

  it('accepts X-API-Key as well as Authorization: Bearer, and hands the handler the key (not the token)', async () => {
    for (const headers of [{ 'x-api-key': t.tokens.read }, { authorization: `bearer ${t.tokens.read}` }] as Array<Record<string, string>>) {
      const res = await fetch(`${t.url}/api/v1/whoami`, { headers });
      assert.equal(res.status, 200);
      const body = await json(res);
      assert.equal(body.keyId, t.keyIds.read);
      assert.equal(body.tenant, 't1');
      assert.ok(!(body.headers as string[]).includes('authorization') && !(body.headers as string[]).includes('x-api-key'), 'credentials are not passed to handlers');
    }
  });

  it('403 (not 401) for a valid key without the scope, for every scope; admin passes everywhere', async () => {
    const scopes = ['read', 'write', 'approve', 'admin'] as const;
    for (const held of scopes) {
      for (const required of scopes) {
        const res = await fetch(`${t.url}/api/v1/scoped/${required}`, { headers: t.auth(held) });
        const want = held === 'admin' || held === required ? 200 : 403;
        assert.equal(res.status, want, `${held} key -> ${required} route`);
        const body = await json(res);
        if (want === 403) {
          assert.equal(body.error, 'forbidden');
          assert.equal(body.requiredScope, required);
          assert.equal(res.headers.get('www-authenticate'), `Bearer realm="aiops", error="insufficient_scope", scope="${required}"`);
        }
      }
    }
  });

  it('a key with several scopes gets each of them', async () => {
    const k = await t.store.create({ name: 'approver', tenant: 't1', scopes: ['read', 'approve'] }, t.clock.now());
    const h = { authorization: `Bearer ${k.token}` };
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: h })).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/approve`, { headers: h })).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/write`, { headers: h })).status, 403);
  });

  it('counts auth failures by reason', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const reason of ['missing', 'malformed', 'invalid', 'insufficient_scope']) {
      assert.match(text, new RegExp(`aiops_gateway_auth_failures_total\\{reason="${reason}"\\} [1-9]`), reason);
    }
  });
});

describe('rate limits', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ register: registerCommon, config: { rateLimit: { ratePerSecond: 0.5, burst: 3 }, authFailureLimit: { ratePerSecond: 1, burst: 3 } } });
  });
  after(() => t.close());

  it('429 with Retry-After and a JSON body once the burst is spent, 200 again after the refill', async () => {
    const h = t.auth('read');
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: h })).status, 200, `request ${i}`);
    const res = await fetch(`${t.url}/api/v1/scoped/read`, { headers: h });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '2', '1 token at 0.5/s');
    const body = await json(res);
    assert.equal(body.error, 'rate_limited');
    assert.equal(body.retryAfterSeconds, 2);
    t.clock.advance(1999);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: h })).status, 429);
    t.clock.advance(1);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: h })).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: h })).status, 429);
  });

  it('limits each key on its own; a limited key gets 429 even on routes it lacks the scope for', async () => {
    const h = t.auth('write');
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${t.url}/api/v1/scoped/write`, { headers: h })).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: h })).status, 429);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/approve`, { headers: t.auth('approve') })).status, 200, 'another key is not affected');
  });

  it('public routes are not rate limited', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });

  it('an address whose credentials keep failing gets 429, while a valid key from it still passes', async () => {
    t.clock.advance(60_000);
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: { authorization: `Bearer k_00000000.guess${i}` } })).status, 401);
    const res = await fetch(`${t.url}/api/v1/scoped/read`, { headers: { authorization: 'Bearer k_00000000.guess9' } });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal((await json(res)).error, 'rate_limited');
    assert.equal((await fetch(`${t.url}/api/v1/scoped/approve`, { headers: t.auth('approve') })).status, 200, 'valid keys are not refused');
    t.clock.advance(1000);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read`, { headers: { authorization: 'Bearer k_00000000.guess10' } })).status, 401, 'one token back after a second');
  });

  it('counts rate-limited requests', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(text, /aiops_gateway_rate_limited_total\{limiter="key"\} [1-9]/);
    assert.match(text, /aiops_gateway_rate_limited_total\{limiter="auth_failures"\} 1/);
  });
});

describe('per-key rate overrides', () => {
  it('a key with an override gets its own rate and burst', async () => {
    // The key id is in the token, so the override is known before the key exists in the store.
    const store = new MemoryApiKeyStore();
    const clock = new ManualClock();
    const big = await store.create({ name: 'remote-write', tenant: 't1', scopes: ['write'] }, clock.now());
    const small = await store.create({ name: 'other', tenant: 't1', scopes: ['write'] }, clock.now());
    const g = createGateway({
      config: { listen: { host: '127.0.0.1', port: 0 }, rateLimit: { ratePerSecond: 1, burst: 2, perKey: { [big.record.id]: { ratePerSecond: 10, burst: 20 } } } },
      keys: store,
      logger: captureLogs().logger,
      registry: new Registry(),
      clock,
    });
    g.route({ method: 'POST', path: '/api/v1/metrics/write', scope: 'write', summary: 'write', responses: { 204: { description: 'stored' } }, handler: () => ({ status: 204 }) });
    await g.start();
    try {
      const url = `http://127.0.0.1:${g.address!.port}/api/v1/metrics/write`;
      const count = async (token: string): Promise<number> => {
        let n = 0;
        while ((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status === 204) n++;
        return n;
      };
      assert.equal(await count(big.token), 20);
      assert.equal(await count(small.token), 2);
      clock.advance(1000);
      assert.equal(await count(big.token), 10);
      assert.equal(await count(small.token), 1);
    } finally {
      await g.shutdown();
    }
  });
});

describe('bodies: limits, media types, validation', () => {
  let t: TestGateway;
  const AlertsBody = z.object({
    receiver: z.string().min(1),
    alerts: z.array(z.object({ labels: z.record(z.string(), z.string()), startsAt: z.iso.datetime().optional() })).min(1).max(100),
  });
  let lastRaw: { contentType: string; contentEncoding: string | undefined; bytes: string } | undefined;
  before(async () => {
    t = await startTestGateway({
      register: (g) => {
        registerCommon(g);
        g.route({
          method: 'POST',
          path: '/api/v1/alerts/ingest',
          scope: 'write',
          summary: 'ingest alerts',
          bodyLimitBytes: 4096,
          body: AlertsBody,
          responses: { 202: { description: 'accepted', body: z.object({ accepted: z.number().int() }) } },
          handler: (ctx) => ({ status: 202, body: { accepted: ctx.body.alerts.length } }),
        });
        g.route({
          method: 'POST',
          path: '/api/v1/metrics/write',
          scope: 'write',
          summary: 'remote-write (protobuf + snappy) or JSON samples',
          bodyLimitBytes: 64 * 1024,
          rawBody: { contentTypes: ['application/x-protobuf'] },
          body: z.object({ samples: z.array(z.object({ name: z.string(), value: z.number() })) }),
          responses: { 204: { description: 'stored' } },
          handler: (ctx) => {
            lastRaw = ctx.raw ? { contentType: ctx.raw.contentType, contentEncoding: ctx.raw.contentEncoding, bytes: ctx.raw.bytes.toString('hex') } : undefined;
            if (ctx.raw === undefined) assert.ok(ctx.body !== undefined);
            return { status: 204 };
          },
        });
        g.route({
          method: 'GET',
          path: '/api/v1/incidents/{id}',
          scope: 'read',
          summary: 'incident',
          params: z.object({ id: z.string().regex(/^inc-[0-9]+$/, 'must look like inc-<number>') }),
          query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(10), status: z.enum(['open', 'resolved']).optional() }),
          responses: { 200: { description: 'the incident', body: z.object({ id: z.string(), limit: z.number() }) } },
          handler: (ctx) => ({ status: 200, body: { id: ctx.params.id, limit: ctx.query.limit } }),
        });
      },
    });
  });
  after(() => t.close());

  const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { ...t.auth('write'), 'content-type': 'application/json', ...headers }, body });

  it('a valid body reaches the handler validated', async () => {
    const res = await post('/api/v1/alerts/ingest', JSON.stringify({ receiver: 'r', alerts: [{ labels: { alertname: 'A' } }, { labels: {} }] }));
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { accepted: 2 });
  });

  it('400 names the field and the problem', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['label value not a string', { receiver: 'r', alerts: [{ labels: { a: 'x' } }, { labels: { sev: 3 } }] }, 'body.alerts[1].labels.sev'],
      ['labels missing', { receiver: 'r', alerts: [{}] }, 'body.alerts[0].labels'],
      ['empty receiver', { receiver: '', alerts: [{ labels: {} }] }, 'body.receiver'],
      ['bad date', { receiver: 'r', alerts: [{ labels: {}, startsAt: 'yesterday' }] }, 'body.alerts[0].startsAt'],
      ['not an object', [1, 2], 'body'],
    ];
    for (const [name, body, field] of cases) {
      const res = await post('/api/v1/alerts/ingest', JSON.stringify(body));
      assert.equal(res.status, 400, name);
      const b = await json(res);
      assert.equal(b.error, 'invalid_request', name);
      assert.equal(b.field, field, name);
      assert.ok(typeof b.problem === 'string' && b.problem.length > 0, name);
      assert.ok(Array.isArray(b.issues) && b.issues.length >= 1);
    }
  });

  it('400 for path and query parameters, naming them', async () => {
    const bad = await fetch(`${t.url}/api/v1/incidents/42`, { headers: t.auth('read') });
    assert.equal(bad.status, 400);
    const b = await json(bad);
    assert.equal(b.field, 'params.id');
    assert.equal(b.problem, 'must look like inc-<number>');
    const q = await json(await fetch(`${t.url}/api/v1/incidents/inc-1?limit=1000`, { headers: t.auth('read') }));
    assert.equal(q.field, 'query.limit');
    const e = await json(await fetch(`${t.url}/api/v1/incidents/inc-1?status=closed`, { headers: t.auth('read') }));
    assert.equal(e.field, 'query.status');
    const good = await fetch(`${t.url}/api/v1/incidents/inc-7?limit=5`, { headers: t.auth('read') });
    assert.deepEqual(await good.json(), { id: 'inc-7', limit: 5 });
  });

  it('400 for malformed JSON, empty bodies and prototype poisoning', async () => {
    for (const [body, field, re] of [
      ['{"receiver": "r", "alerts": [', 'body', /^malformed JSON/],
      ['', 'body', /required/],
      ['{"receiver":"r","alerts":[{"labels":{}}],"__proto__":{"admin":true}}', 'body.__proto__', /prototype/],
    ] as const) {
      const res = await post('/api/v1/alerts/ingest', body);
      assert.equal(res.status, 400, body);
      const b = await json(res);
      assert.equal(b.field, field);
      assert.match(b.problem as string, re);
    }
  });

  it('415 for a media type the route does not take', async () => {
    const res = await post('/api/v1/alerts/ingest', 'receiver=r', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 415);
    const b = await json(res);
    assert.equal(b.error, 'unsupported_media_type');
    assert.deepEqual(b.accept, ['application/json']);
    assert.equal((await post('/api/v1/alerts/ingest', '{}', { 'content-encoding': 'gzip' })).status, 415);
  });

  it('raw bodies arrive as bytes with their encoding; the same route still takes JSON', async () => {
    const bytes = Uint8Array.from([0xff, 0x00, 0x10, 0x80]);
    const res = await post('/api/v1/metrics/write', bytes, { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' });
    assert.equal(res.status, 204);
    assert.deepEqual(lastRaw, { contentType: 'application/x-protobuf', contentEncoding: 'snappy', bytes: 'ff001080' });
    const j = await post('/api/v1/metrics/write', JSON.stringify({ samples: [{ name: 'up', value: 1 }] }));
    assert.equal(j.status, 204);
    assert.equal(lastRaw, undefined);
  });

  it('413 when the body is over the route limit (by Content-Length)', async () => {
    const res = await post('/api/v1/alerts/ingest', JSON.stringify({ receiver: 'r'.repeat(5000), alerts: [] }));
    assert.equal(res.status, 413);
    const b = await json(res);
    assert.equal(b.error, 'payload_too_large');
    assert.equal(b.limitBytes, 4096);
    assert.equal(res.headers.get('connection'), 'close');
  });

  it('413 on a declared Content-Length before the body is sent', async () => {
    const r = await rawHttp(t.url, '/api/v1/metrics/write', { ...t.auth('write'), 'content-type': 'application/x-protobuf', 'content-length': String(512 * 1024 * 1024) }, { chunks: 1, chunkBytes: 100, stopOnResponse: true });
    assert.equal(r.status, 413);
    assert.ok(r.sentBytes <= 100, 'answered before the body arrived');
    assert.equal(JSON.parse(r.body).limitBytes, 64 * 1024);
  });

  it('413 on a chunked stream as soon as it passes the limit; the connection is closed', async () => {
    const r = await rawHttp(t.url, '/api/v1/metrics/write', { ...t.auth('write'), 'content-type': 'application/x-protobuf', 'transfer-encoding': 'chunked' }, { chunks: 400, chunkBytes: 16 * 1024, stopOnResponse: true });
    assert.equal(r.status, 413);
    assert.equal(r.headers.connection, 'close');
    assert.ok(r.sentBytes < 400 * 16 * 1024, `answered before the whole stream was sent (sent ${r.sentBytes})`);
    assert.equal(JSON.parse(r.body).error, 'payload_too_large');
  });

  it('an unauthenticated upload is refused before its body is read', async () => {
    const r = await rawHttp(t.url, '/api/v1/metrics/write', { 'content-type': 'application/x-protobuf', 'content-length': String(10 * 1024 * 1024) }, { chunks: 1, chunkBytes: 10, stopOnResponse: true });
    assert.equal(r.status, 401);
  });

  it('unknown paths and wrong methods are answered before any body is read; the upload connection is closed', async () => {
    for (const path of ['/api/v1/nowhere', '/api/v1/incidents/inc-1']) {
      const r = await rawHttp(t.url, path, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) }, { chunks: 1, chunkBytes: 10, stopOnResponse: true });
      assert.equal(r.status, path === '/api/v1/nowhere' ? 404 : 405);
      assert.equal(r.headers.connection, 'close');
    }
    const plain = await fetch(`${t.url}/api/v1/incidents/inc-1`);
    assert.equal(plain.status, 401);
    assert.notEqual(plain.headers.get('connection'), 'close', 'a refused request without a body keeps its connection');
  });

  it('counts 413s by route', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(text, /aiops_gateway_body_too_large_total\{route="\/api\/v1\/metrics\/write"\} 2/);
    assert.match(text, /aiops_gateway_body_too_large_total\{route="\/api\/v1\/alerts\/ingest"\} 1/);
  });
});

describe('routing and failures', () => {
  let t: TestGateway;
  let gate: { release: () => void; started: Promise<void> } | undefined;
  let aborted: unknown;
  before(async () => {
    t = await startTestGateway({
      config: { limits: { maxInFlight: 2, handlerTimeoutMs: 30_000, shutdownGraceMs: 1000 } },
      register: (g) => {
        registerCommon(g);
        g.route({
          method: 'POST',
          path: '/api/v1/explode',
          scope: 'write',
          summary: 'fails',
          responses: { 200: { description: 'never' } },
          handler: () => {
            throw new Error('SQLITE_CORRUPT: database disk image is malformed at /var/lib/aiops/central.db password=hunter2');
          },
        });
        g.route({
          method: 'DELETE',
          path: '/api/v1/incidents/{id}',
          scope: 'admin',
          summary: 'delete',
          responses: { 204: { description: 'deleted' } },
          handler: (ctx) => {
            throw new ApiError(404, 'not_found', `incident ${ctx.params.id} does not exist`);
          },
        });
        g.route({
          method: 'GET',
          path: '/api/v1/slow',
          scope: 'read',
          summary: 'waits for the test',
          timeoutMs: 200,
          responses: ok,
          handler: async (ctx) => {
            const g0 = gate!;
            g0.release();
            await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
            aborted = ctx.signal.reason;
            return { status: 200, body: { ok: true } };
          },
        });
        g.route({
          method: 'GET',
          path: '/api/v1/hold',
          scope: 'read',
          summary: 'holds until released',
          responses: ok,
          handler: async () => {
            await holdUntil;
            return { status: 200, body: { ok: true } };
          },
        });
        g.route({ method: 'GET', path: '/api/v1/undeclared', scope: 'read', summary: 'answers a status it does not declare', responses: ok, handler: () => ({ status: 201, body: { ok: true } }) });
        g.route({ method: 'GET', path: '/api/v1/wrong-shape', scope: 'read', summary: 'answers a body off its schema', responses: ok, handler: () => ({ status: 200, body: { ok: 'yes' } }) });
      },
    });
  });
  after(() => t.close());
  let releaseHold!: () => void;
  const holdUntil = new Promise<void>((resolve) => {
    releaseHold = resolve;
  });

  it('404 JSON for an unknown path, 405 with Allow for a wrong method, HEAD on GET routes', async () => {
    const nf = await fetch(`${t.url}/api/v1/nothing-here?token=abc`);
    assert.equal(nf.status, 404);
    const b = await json(nf);
    assert.equal(b.error, 'route_not_found');
    assert.ok(nf.headers.get('x-request-id'));
    const na = await fetch(`${t.url}/api/v1/scoped/read`, { method: 'POST' });
    assert.equal(na.status, 405);
    assert.equal(na.headers.get('allow'), 'GET, HEAD');
    assert.deepEqual((await json(na)).allow, ['GET', 'HEAD']);
    const dm = await fetch(`${t.url}/api/v1/incidents/inc-1`, { method: 'PUT' });
    assert.equal(dm.status, 405);
    assert.equal(dm.headers.get('allow'), 'DELETE');
    const head = await fetch(`${t.url}/api/v1/scoped/read`, { method: 'HEAD', headers: t.auth('read') });
    assert.equal(head.status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/scoped/read/`, { headers: t.auth('read') })).status, 404, 'no trailing-slash aliasing');
  });

  it('a path with broken percent-encoding answers 400 JSON with a request id', async () => {
    const r = await rawSocket(t.url, 'GET /api/v1/incidents/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(r, /^HTTP\/1\.1 400 /);
    assert.match(r, /x-request-id: /i);
    assert.match(r, /"requestId":/);
  });

  it('500 hides the cause; the log has it with the request id', async () => {
    const res = await fetch(`${t.url}/api/v1/explode`, { method: 'POST', headers: t.auth('write') });
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.ok(!/SQLITE|hunter2|central\.db|Error|at /.test(text), text);
    const b = JSON.parse(text) as Record<string, unknown>;
    assert.equal(b.error, 'internal');
    const id = res.headers.get('x-request-id')!;
    assert.equal(b.requestId, id);
    const logged = t.logs.records().find((r) => r.reqId === id && r.level === 50);
    assert.ok(logged, 'the failure is logged at error level with the request id');
    assert.match(JSON.stringify(logged), /SQLITE_CORRUPT/);
  });

  it('ApiError reaches the client with its status and code', async () => {
    const res = await fetch(`${t.url}/api/v1/incidents/inc-9`, { method: 'DELETE', headers: t.auth('admin') });
    assert.equal(res.status, 404);
    const b = await json(res);
    assert.equal(b.error, 'not_found');
    assert.equal(b.message, 'incident inc-9 does not exist');
  });

  it('with validateResponses, undeclared statuses and off-schema bodies answer 500', async () => {
    assert.equal((await fetch(`${t.url}/api/v1/undeclared`, { headers: t.auth('read') })).status, 500);
    assert.equal((await fetch(`${t.url}/api/v1/wrong-shape`, { headers: t.auth('read') })).status, 500);
    assert.ok(t.logs.lines.some((l) => l.includes('RESPONSE_SCHEMA') && l.includes('body.ok')));
  });

  it('503 after the route timeout, and the handler sees its signal aborted', async () => {
    let release!: () => void;
    gate = { release: () => release(), started: new Promise<void>((r) => (release = r)) };
    const res = await fetch(`${t.url}/api/v1/slow`, { headers: t.auth('read') });
    assert.equal(res.status, 503);
    assert.equal((await json(res)).error, 'timeout');
    assert.equal(res.headers.get('retry-after'), '1');
    for (let i = 0; i < 50 && aborted === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    assert.match(String((aborted as Error)?.message), /no answer within 200 ms/);
  });

  it('a client that goes away aborts the handler\'s signal; the access line says aborted', async () => {
    let release!: () => void;
    const started = new Promise<void>((r) => (release = r));
    gate = { release: () => release(), started };
    aborted = undefined;
    const client = new AbortController();
    const pending = fetch(`${t.url}/api/v1/slow`, { headers: { ...t.auth('read'), 'x-request-id': 'gone-1' }, signal: client.signal }).catch((e: unknown) => e);
    await started;
    client.abort();
    await pending;
    for (let i = 0; i < 100 && aborted === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal((aborted as { code?: string })?.code, 'CLIENT_GONE');
    for (let i = 0; i < 100 && !t.logs.records().some((l) => l.reqId === 'gone-1' && l.msg === 'request'); i++) await new Promise((r) => setTimeout(r, 5));
    const line = t.logs.records().find((l) => l.reqId === 'gone-1' && l.msg === 'request');
    assert.equal(line?.aborted, true);
    assert.ok(!t.logs.records().some((l) => l.reqId === 'gone-1' && l.level === 50), 'nothing logged as an error');
  });

  it('serves concurrent requests; beyond maxInFlight answers 503 while probes still answer', async () => {
    const held = [fetch(`${t.url}/api/v1/hold`, { headers: t.auth('read') }), fetch(`${t.url}/api/v1/hold`, { headers: t.auth('read') })];
    // Wait until both are in flight (the scrape is the third, exempt from the limit like every probe).
    let seen = false;
    for (let i = 0; i < 400 && !seen; i++) {
      seen = /aiops_gateway_in_flight_requests 3\n/.test(await (await fetch(`${t.url}/metrics`)).text());
      if (!seen) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(seen, 'two requests held in flight');
    const over = await fetch(`${t.url}/api/v1/scoped/read`, { headers: t.auth('read') });
    assert.equal(over.status, 503);
    assert.equal((await json(over)).error, 'overloaded');
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    releaseHold();
    const statuses = await Promise.all(held.map(async (p) => (await p).status));
    assert.deepEqual(statuses, [200, 200]);
  });
});

describe('concurrency', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ config: { rateLimit: { ratePerSecond: 1000, burst: 1000 } }, register: registerCommon });
  });
  after(() => t.close());

  it('answers 100 concurrent authenticated requests, each with its own request id', async () => {
    const all = await Promise.all(
      Array.from({ length: 100 }, (_, i) => fetch(`${t.url}/api/v1/whoami`, { headers: t.auth((['read', 'admin'] as const)[i % 2]!) }).then(async (r) => ({ status: r.status, id: r.headers.get('x-request-id'), body: await json(r) }))),
    );
    assert.ok(all.every((r) => r.status === 200));
    assert.equal(new Set(all.map((r) => r.id)).size, 100);
    const m = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(m, /aiops_gateway_in_flight_requests 1\n/, 'only the scrape itself is in flight');
    assert.match(m, /aiops_gateway_requests_total\{route="\/api\/v1\/whoami",method="GET",status="200"\} 100/);
  });

  it('reuses a well-formed incoming X-Request-Id, replaces a hostile one', async () => {
    const a = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(a.headers.get('x-request-id'), 'trace-abc.123');
    const b = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'x\u0000"}{' } }).catch(() => undefined);
    if (b) assert.notEqual(b.headers.get('x-request-id'), 'x\u0000"}{');
    const c = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'a'.repeat(65) } });
    assert.notEqual(c.headers.get('x-request-id'), 'a'.repeat(65));
  });
});

describe('hostile headers', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ register: registerCommon });
  });
  after(() => t.close());

  it('a huge Authorization header is refused by the server (431) with a JSON body, and the server lives on', async () => {
    const r = await rawSocket(t.url, `GET /api/v1/scoped/read HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'A'.repeat(20_000)}\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 431 /);
    assert.match(r, /X-Request-Id: /i);
    assert.match(r, /"error":"headers_too_large"/);
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });

  it('a long but fitting Authorization header is malformed: 401 without asking the store', async () => {
    const before = t.store.verifyCalls;
    const res = await fetch(`${t.url}/api/v1/scoped/read`, { headers: { authorization: `Bearer ${'A'.repeat(4000)}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate')!, /invalid_request/);
    assert.equal(t.store.verifyCalls, before);
  });

  it('many headers: within the size limit they are answered, beyond it 431; the server lives on', async () => {
    const few = Array.from({ length: 600 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const r1 = await rawSocket(t.url, `GET /api/v1/scoped/read HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.tokens.read}\r\n${few}\r\nConnection: close\r\n\r\n`);
    assert.match(r1, /^HTTP\/1\.1 (200|401) /);
    const many = Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const r2 = await rawSocket(t.url, `GET /api/v1/scoped/read HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`);
    assert.match(r2, /^HTTP\/1\.1 431 /);
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });

  it('garbage instead of HTTP answers 400 and closes', async () => {
    const r = await rawSocket(t.url, 'HELLO THERE\r\n\r\n');
    assert.match(r, /^HTTP\/1\.1 400 /);
    const m = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(m, /aiops_gateway_client_errors_total\{kind="header_overflow"\} [1-9]/);
    assert.match(m, /aiops_gateway_client_errors_total\{kind="parse_error"\} [1-9]/);
  });
});

describe('health, readiness, metrics', () => {
  let t: TestGateway;
  let storeReady = true;
  let throwing = false;
  let hanging = false;
  before(async () => {
    t = await startTestGateway({
      config: { metricsScope: 'read', limits: { readinessTimeoutMs: 50, shutdownGraceMs: 1000 } },
      register: (g) => {
        registerCommon(g);
        g.addReadinessCheck('store', () => (storeReady ? true : { ok: false, reason: 'sqlite not open' }));
        g.addReadinessCheck('bus', async () => {
          if (throwing) throw new Error('bus disconnected');
          return true;
        });
        g.addReadinessCheck('slow', () => (hanging ? new Promise<boolean>(() => {}) : true));
      },
    });
  });
  after(() => t.close());

  it('/healthz answers without a key', async () => {
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('/readyz flips with its checks and names the failing ones', async () => {
    let res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 200);
    assert.equal((await json(res)).status, 'ready');
    storeReady = false;
    res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 503);
    let b = await json(res);
    assert.equal(b.status, 'not_ready');
    assert.deepEqual(b.failing, [{ name: 'store', ok: false, reason: 'sqlite not open' }]);
    throwing = true;
    hanging = true;
    b = await json(await fetch(`${t.url}/readyz`));
    assert.deepEqual(
      (b.failing as Array<{ name: string; reason: string }>).map((f) => [f.name, f.reason]),
      [
        ['store', 'sqlite not open'],
        ['bus', 'bus disconnected'],
        ['slow', 'no answer within 50 ms'],
      ],
    );
    storeReady = true;
    throwing = false;
    hanging = false;
    res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 200);
  });

  it('/metrics needs a key when metricsScope is set, and renders the Prometheus text format', async () => {
    assert.equal((await fetch(`${t.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${t.url}/metrics`, { headers: t.auth('write') })).status, 403);
    const res = await fetch(`${t.url}/metrics`, { headers: t.auth('read') });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /# TYPE aiops_gateway_requests_total counter/);
    assert.match(text, /aiops_gateway_requests_total\{route="\/readyz",method="GET",status="503"\} 2/);
    assert.match(text, /# TYPE aiops_gateway_request_duration_seconds histogram/);
    assert.match(text, /aiops_gateway_request_duration_seconds_bucket\{le="0.005",route="\/healthz",method="GET"\} /);
  });
});

describe('audit', () => {
  it('appends an entry per answered request of an audited route, with the key id as actor', async () => {
    const entries: AuditEntry[] = [];
    const audit: AuditLog = {
      append: async (e) => void entries.push(e),
      list: async () => entries.map((e, i) => ({ ...e, seq: i + 1 })),
    };
    const t = await startTestGateway({
      audit,
      register: (g) =>
        g.route({
          method: 'POST',
          path: '/api/v1/approvals/{id}/approve',
          scope: 'approve',
          summary: 'approve an action',
          audit: { action: 'approval.approve' },
          responses: { 204: { description: 'approved' } },
          handler: (ctx) => {
            if (ctx.params.id === 'gone') throw new ApiError(404, 'not_found', 'no such approval');
            return { status: 204 };
          },
        }),
    });
    try {
      assert.equal((await fetch(`${t.url}/api/v1/approvals/a-1/approve`, { method: 'POST', headers: t.auth('approve') })).status, 204);
      assert.equal((await fetch(`${t.url}/api/v1/approvals/gone/approve`, { method: 'POST', headers: t.auth('admin') })).status, 404);
      assert.equal((await fetch(`${t.url}/api/v1/approvals/a-2/approve`, { method: 'POST', headers: t.auth('read') })).status, 403);
      assert.deepEqual(
        entries.map((e) => [e.actor, e.action, e.target, e.details?.status, e.atMs]),
        [
          [t.keyIds.approve, 'approval.approve', 'a-1', 204, t.clock.now()],
          [t.keyIds.admin, 'approval.approve', 'gone', 404, t.clock.now()],
        ],
      );
      assert.ok(!JSON.stringify(entries).includes(secretOf(t.tokens.approve)), 'no secret in the audit log');
    } finally {
      await t.close();
    }
  });
});

describe('key store failures', () => {
  it('a failing key store answers 503 with Retry-After, logged without the token', async () => {
    const logs = captureLogs();
    const store = new MemoryApiKeyStore();
    const clock = new ManualClock();
    const { token } = await store.create({ name: 'k', tenant: 't1', scopes: ['read'] }, clock.now());
    const failing = { ...store, create: store.create.bind(store), list: store.list.bind(store), revoke: store.revoke.bind(store), verify: async () => Promise.reject(new Error('SQLITE_BUSY: database is locked')) };
    const g = createGateway({ config: { listen: { host: '127.0.0.1', port: 0 } }, keys: failing, logger: logs.logger, registry: new Registry(), clock });
    g.route({ method: 'GET', path: '/api/v1/x', scope: 'read', summary: 'x', responses: ok, handler: () => ({ status: 200, body: { ok: true } }) });
    await g.start();
    try {
      const res = await fetch(`http://127.0.0.1:${g.address!.port}/api/v1/x`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.equal((await json(res)).error, 'unavailable');
      const all = logs.lines.join('\n');
      assert.match(all, /SQLITE_BUSY/);
      assert.ok(!all.includes(secretOf(token)));
    } finally {
      await g.shutdown();
    }
  });
});

describe('lifecycle and definitions', () => {
  const settings = () => ({ keys: new MemoryApiKeyStore(), logger: captureLogs().logger, registry: new Registry(), clock: new ManualClock(), config: { listen: { host: '127.0.0.1', port: 0 } } });

  it('shutdown is idempotent and safe without start', async () => {
    const g = createGateway(settings());
    await g.shutdown();
    await g.shutdown();
    const h = createGateway(settings());
    await h.start();
    await Promise.all([h.shutdown(), h.shutdown()]);
    await assert.rejects(fetch(`http://127.0.0.1:${h.address!.port}/healthz`));
  });

  it('refuses routes after start, duplicates, reserved paths and bad config', async () => {
    const g = createGateway(settings());
    const def = { method: 'GET' as const, path: '/api/v1/x/{id}', scope: 'read' as const, summary: 'x', responses: { 200: { description: 'ok' } }, handler: () => ({ status: 200 }) };
    g.route(def);
    assert.throws(() => g.route({ ...def, path: '/api/v1/x/{name}' }), (e: unknown) => e instanceof RouteDefinitionError && e.code === 'DUPLICATE_ROUTE' && /collides with GET \/api\/v1\/x\/\{id\}/.test(e.message));
    assert.throws(() => g.route({ ...def, path: '/api/v1/y', operationId: 'getApiV1XById' }), (e: unknown) => e instanceof RouteDefinitionError && /operationId/.test(e.message));
    assert.throws(() => g.route({ ...def, path: '/api/v1/openapi.json', scope: 'public' }), (e: unknown) => e instanceof RouteDefinitionError && e.code === 'RESERVED_PATH');
    await g.start();
    try {
      assert.throws(() => g.route({ ...def, path: '/api/v1/z' }), (e: unknown) => e instanceof RouteDefinitionError && e.code === 'ROUTES_SEALED');
    } finally {
      await g.shutdown();
    }
    assert.throws(() => createGateway({ ...settings(), config: { limits: { bodyBytes: -5 } } }), (e: unknown) => e instanceof GatewayConfigError && e.path === 'gateway.limits.bodyBytes');
  });

  it('readiness fails while shutting down', async () => {
    const g = createGateway(settings());
    await g.start();
    const done = g.shutdown();
    const r = await g.readiness();
    assert.equal(r.ready, false);
    assert.deepEqual(r.checks.at(-1), { name: 'gateway', ok: false, reason: 'shutting down' });
    await done;
  });
});

// ---------------------------------------------------------------- helpers

/** Sends a request with node:http, streaming `chunks` of `chunkBytes`; stops writing once a response arrives. */
function rawHttp(
  base: string,
  path: string,
  headers: Record<string, string>,
  opts: { chunks: number; chunkBytes: number; stopOnResponse: boolean },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; sentBytes: number }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    let sentBytes = 0;
    let responded = false;
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST', headers, agent: false }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), sentBytes });
        req.destroy();
      });
    });
    req.on('error', (err) => {
      if (!responded) reject(err);
    });
    const chunk = Buffer.alloc(opts.chunkBytes, 0x61);
    void (async () => {
      for (let i = 0; i < opts.chunks && !(responded && opts.stopOnResponse) && !req.destroyed; i++) {
        const more = req.write(chunk);
        sentBytes += chunk.length;
        if (!more) await new Promise<void>((r) => (req.once('drain', r), req.once('close', r)));
        await new Promise((r) => setImmediate(r));
      }
      if (!responded && opts.chunks > 1 && !req.destroyed) req.end();
    })();
  });
}

/** Writes raw bytes on a TCP connection and returns everything the server sends until it closes. */
function rawSocket(base: string, text: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    s.on('data', (c) => {
      chunks.push(c);
      // A keep-alive answer does not close: stop once a full JSON body has arrived.
      const all = Buffer.concat(chunks).toString('utf8');
      const m = /content-length: (\d+)/i.exec(all);
      const headEnd = all.indexOf('\r\n\r\n');
      if (m && headEnd >= 0 && Buffer.byteLength(all.slice(headEnd + 4)) >= Number(m[1])) s.destroy();
    });
    s.on('error', () => s.destroy());
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error('no answer within 5 s'));
    });
    s.write(text);
  });
}
