// Unit tests of the gateway's pure parts: token buckets, credentials and scopes, config,
// route definitions, field paths, JSON parsing, the in-memory key store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { extractCredential, scopeAllows, wwwAuthenticate } from './auth.js';
import { parseGatewayConfig } from './config.js';
import { ApiError, GatewayConfigError, RouteDefinitionError } from './errors.js';
import { parseJsonBody } from './json.js';
import { TokenBucketLimiter } from './rate-limit.js';
import { compileRoute, deriveOperationId } from './routes.js';
import type { AnyRouteDefinition } from './types.js';
import { formatField, validate } from './validation.js';
import { MemoryApiKeyStore, secretOf } from './testing/memory-api-key-store.js';

describe('TokenBucketLimiter', () => {
  const make = (t: { now: number }, overrides = {}) => new TokenBucketLimiter({ defaults: { ratePerSecond: 2, burst: 3 }, overrides, maxBuckets: 3, now: () => t.now });

  it('allows the burst, then refuses with the wait until one token is back', () => {
    const t = { now: 0 };
    const l = make(t);
    assert.deepEqual([l.take('a'), l.take('a'), l.take('a')].map((r) => r.allowed), [true, true, true]);
    const r = l.take('a');
    assert.equal(r.allowed, false);
    assert.equal(r.allowed === false && r.retryAfterMs, 500); // 1 token at 2/s
    t.now = 499;
    assert.equal(l.take('a').allowed, false);
    t.now = 500;
    assert.equal(l.take('a').allowed, true);
    assert.equal(l.take('a').allowed, false);
  });

  it('refills at the rate up to the burst, never beyond', () => {
    const t = { now: 0 };
    const l = make(t);
    for (let i = 0; i < 3; i++) l.take('a');
    t.now = 60_000;
    let n = 0;
    while (l.take('a').allowed) n++;
    assert.equal(n, 3);
  });

  it('keeps keys apart and applies per-key overrides', () => {
    const t = { now: 0 };
    const l = make(t, { big: { ratePerSecond: 1, burst: 10 } });
    for (let i = 0; i < 3; i++) assert.ok(l.take('a').allowed);
    assert.equal(l.take('a').allowed, false);
    assert.ok(l.take('b').allowed);
    let n = 0;
    while (l.take('big').allowed) n++;
    assert.equal(n, 10);
    const r = l.take('big');
    assert.equal(r.allowed === false && r.retryAfterMs, 1000);
  });

  it('gains nothing when the clock steps back', () => {
    const t = { now: 10_000 };
    const l = make(t);
    for (let i = 0; i < 3; i++) l.take('a');
    t.now = 0;
    assert.equal(l.take('a').allowed, false);
    t.now = 10_499;
    assert.equal(l.take('a').allowed, false);
    t.now = 10_500;
    assert.equal(l.take('a').allowed, true);
  });

  it('exhausted() and waitMs() look without taking', () => {
    const t = { now: 0 };
    const l = make(t);
    assert.equal(l.exhausted('x'), false);
    assert.equal(l.size, 0, 'looking at an unknown key creates no bucket');
    for (let i = 0; i < 3; i++) l.take('x');
    assert.equal(l.exhausted('x'), true);
    assert.equal(l.waitMs('x'), 500);
    t.now = 250;
    assert.equal(l.waitMs('x'), 250);
  });

  it('stays within maxBuckets, dropping the least recently used bucket', () => {
    const t = { now: 0 };
    const l = make(t);
    for (const k of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) l.take(k);
    l.take('a'); // a is now the most recently used
    l.take('d');
    assert.equal(l.size, 3);
    assert.equal(l.evictions, 1);
    assert.equal(l.exhausted('a'), true, 'a was kept');
    assert.equal(l.exhausted('b'), false, 'b (least recently used) was dropped and comes back full');
  });
});

describe('credentials and scopes', () => {
  it('admin implies every scope; the others are independent', () => {
    const table: Array<[string[], string, boolean]> = [
      [['admin'], 'read', true],
      [['admin'], 'write', true],
      [['admin'], 'approve', true],
      [['admin'], 'admin', true],
      [['write'], 'read', false],
      [['approve'], 'read', false],
      [['approve'], 'write', false],
      [['read'], 'write', false],
      [['read', 'approve'], 'approve', true],
      [['read', 'write', 'approve'], 'admin', false],
    ];
    for (const [held, required, want] of table) assert.equal(scopeAllows(held as never, required as never), want, `${held} -> ${required}`);
  });

  it('takes a bearer token or X-API-Key, refuses what cannot be a token', () => {
    assert.deepEqual(extractCredential({}, 512), { kind: 'none' });
    assert.deepEqual(extractCredential({ authorization: 'Bearer k_1.abc' }, 512), { kind: 'token', token: 'k_1.abc', via: 'bearer' });
    assert.deepEqual(extractCredential({ authorization: 'bearer   k_1.abc ' }, 512), { kind: 'token', token: 'k_1.abc', via: 'bearer' });
    assert.deepEqual(extractCredential({ 'x-api-key': 'k_1.abc' }, 512), { kind: 'token', token: 'k_1.abc', via: 'x-api-key' });
    assert.deepEqual(extractCredential({ authorization: 'Bearer k_1.abc', 'x-api-key': 'k_1.abc' }, 512), { kind: 'token', token: 'k_1.abc', via: 'bearer' });
    for (const headers of [
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer a b' },
      { authorization: 'Bearer k_1.abc', 'x-api-key': 'k_2.def' },
      { 'x-api-key': 'k_1.abc, k_2.def' },
      { 'x-api-key': 'tok"en' },
      { authorization: `Bearer ${'a'.repeat(513)}` },
      { 'x-api-key': 'a'.repeat(513) },
    ]) {
      const c = extractCredential(headers, 512);
      assert.equal(c.kind, 'malformed', JSON.stringify(headers).slice(0, 80));
      assert.ok(c.kind === 'malformed' && !c.why.includes('dXNlcjpwYXNz') && !c.why.includes('k_1'), 'the reason never quotes the credential');
    }
  });

  it('answers RFC 6750 challenges', () => {
    assert.equal(wwwAuthenticate('missing'), 'Bearer realm="aiops"');
    assert.equal(wwwAuthenticate('invalid'), 'Bearer realm="aiops", error="invalid_token"');
    assert.equal(wwwAuthenticate('insufficient_scope', 'approve'), 'Bearer realm="aiops", error="insufficient_scope", scope="approve"');
  });
});

describe('config', () => {
  it('fills defaults', () => {
    const c = parseGatewayConfig({});
    assert.equal(c.limits.bodyBytes, 1024 * 1024);
    assert.equal(c.rateLimit.ratePerSecond, 50);
    assert.equal(c.rateLimit.burst, 100);
    assert.equal(c.listen.host, '127.0.0.1');
    assert.equal(c.metricsScope, undefined);
  });

  it('names the bad key and value', () => {
    assert.throws(() => parseGatewayConfig({ limits: { bodyBytes: 0 } }), (e: unknown) => e instanceof GatewayConfigError && e.path === 'gateway.limits.bodyBytes' && /got 0/.test(e.message));
    assert.throws(() => parseGatewayConfig({ rateLimit: { perKey: { k_1: { ratePerSecond: -1, burst: 1 } } } }), (e: unknown) => e instanceof GatewayConfigError && e.path === 'gateway.rateLimit.perKey.k_1.ratePerSecond');
    assert.throws(() => parseGatewayConfig({ metricsScope: 'root' }), (e: unknown) => e instanceof GatewayConfigError && e.path === 'gateway.metricsScope');
    assert.throws(() => parseGatewayConfig({ limit: {} }), (e: unknown) => e instanceof GatewayConfigError && e.code === 'INVALID_CONFIG');
  });
});

describe('route definitions', () => {
  const base: AnyRouteDefinition = { method: 'GET', path: '/api/v1/things/{id}', scope: 'read', summary: 's', responses: { 200: { description: 'ok' } }, handler: () => ({ status: 200 }) };
  const refused = (patch: Partial<AnyRouteDefinition>, re: RegExp) =>
    assert.throws(() => compileRoute({ ...base, ...patch }, 1024, false), (e: unknown) => e instanceof RouteDefinitionError && re.test(e.message), JSON.stringify(patch));

  it('compiles a path to the router syntax and a matcher', () => {
    const r = compileRoute(base, 1024, false);
    assert.equal(r.routerPath, '/api/v1/things/:id');
    assert.deepEqual(r.pathParams, ['id']);
    assert.ok(r.matcher.test('/api/v1/things/x-1'));
    assert.ok(!r.matcher.test('/api/v1/things/x/y'));
    assert.equal(r.operationId, 'getApiV1ThingsById');
    assert.equal(deriveOperationId('POST', '/api/v1/runbooks/{id}/execute'), 'postApiV1RunbooksByIdExecute');
  });

  it('refuses bad definitions with the reason', () => {
    refused({ path: 'api/v1/x' }, /must start with/);
    refused({ path: '/api/v1/x/:id' }, /segment ":id"/);
    refused({ path: '/healthcheck' }, /under \/api\//);
    refused({ path: '/api/v1/{a}/{a}' }, /appears twice/);
    refused({ params: z.object({ name: z.string() }) }, /keys \[name\] must be the path parameters \[id\]/);
    refused({ query: z.string() as never }, /query must be a z.object/);
    refused({ body: z.object({}) }, /GET routes take no body/);
    refused({ method: 'TRACE' as never }, /method must be/);
    refused({ scope: 'root' as never }, /scope must be/);
    refused({ summary: '' }, /summary is required/);
    refused({ responses: {} }, /at least one status/);
    refused({ method: 'POST', rawBody: { contentTypes: ['application/json'] }, body: z.object({}) }, /is JSON/);
    refused({ method: 'POST', rawBody: { contentTypes: [] } }, /at least one media type/);
    refused({ operationId: 'bad id' }, /operationId/);
  });
});

describe('field paths and JSON bodies', () => {
  it('formats paths a person can read', () => {
    assert.equal(formatField('body', ['alerts', 0, 'labels']), 'body.alerts[0].labels');
    assert.equal(formatField('body', ['labels', 'app.kubernetes.io/name']), 'body.labels["app.kubernetes.io/name"]');
    assert.equal(formatField('query', []), 'query');
  });

  it('reports unknown keys of strict objects as the field', () => {
    const v = validate(z.object({ a: z.string() }).strict(), 'body', { a: 'x', extra: 1 });
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.problems[0]!.field, 'body.extra');
  });

  it('refuses prototype poisoning and says where JSON is broken', () => {
    assert.deepEqual(parseJsonBody(Buffer.from('{"a":[{"b":1}]}')), { ok: true, value: { a: [{ b: 1 }] } });
    assert.deepEqual(parseJsonBody(Buffer.from('\uFEFF{"a":1}')), { ok: true, value: { a: 1 } });
    const p = parseJsonBody(Buffer.from('{"a":[{"__proto__":{"x":1}}]}'));
    assert.equal(!p.ok && p.field, 'body.a[0].__proto__');
    const c = parseJsonBody(Buffer.from('{"constructor":{"prototype":{"x":1}}}'));
    assert.equal(!c.ok && c.field, 'body.constructor.prototype');
    assert.deepEqual(parseJsonBody(Buffer.from('{"constructor":"fine"}')), { ok: true, value: { constructor: 'fine' } });
    const m = parseJsonBody(Buffer.from('{"a":'));
    assert.ok(!m.ok && m.field === 'body' && /^malformed JSON/.test(m.problem));
  });
});

describe('ApiError', () => {
  it('carries status, code and retryability', () => {
    const e = new ApiError(429, 'busy', 'later', { retryAfterSeconds: 3 });
    assert.equal(e.status, 429);
    assert.equal(e.code, 'busy');
    assert.equal(e.retryable, true);
    assert.equal(new ApiError(404, 'not_found', 'x').retryable, false);
    assert.throws(() => new ApiError(200, 'ok', 'x'), RangeError);
  });
});

describe('MemoryApiKeyStore (faithful to ApiKeyStore)', () => {
  it('returns the token once and keeps only a hash of its secret', async () => {
    const s = new MemoryApiKeyStore();
    const { record, token } = await s.create({ name: 'n', tenant: 't', scopes: ['read', 'read', 'write'] }, 1000);
    assert.match(record.id, /^k_[0-9a-f]{16}$/);
    assert.equal(token, `aiops_${record.id}_${secretOf(token)}`, 'the SQLite store\'s token format');
    assert.deepEqual(record.scopes, ['read', 'write']);
    const secret = secretOf(token);
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!s.dump().includes(secret), 'the plaintext secret is not stored');
    assert.ok(!JSON.stringify(await s.list()).includes(secret));
  });

  it('verifies active keys only: wrong secret, unknown id, expired and revoked are refused', async () => {
    const s = new MemoryApiKeyStore();
    const a = await s.create({ name: 'a', tenant: 't', scopes: ['read'], expiresAtMs: 5000 }, 1000);
    const b = await s.create({ name: 'b', tenant: 't', scopes: ['admin'] }, 1000);
    assert.equal((await s.verify(a.token, 4999))?.id, a.record.id);
    assert.equal((await s.verify(a.token, 4999))?.lastUsedAtMs, 4999);
    assert.equal(await s.verify(a.token, 5000), undefined, 'expired at expiresAtMs');
    assert.equal(await s.verify(`aiops_${a.record.id}_${'x'.repeat(43)}`, 2000), undefined);
    assert.equal(await s.verify(`aiops_k_0000000000000000_${secretOf(b.token)}`, 2000), undefined, 'a secret under another id');
    assert.equal(await s.verify(`aiops_${b.record.id}_${secretOf(a.token)}`, 2000), undefined, 'another key\'s secret');
    assert.equal(await s.verify('garbage', 2000), undefined);
    assert.equal(await s.revoke(b.record.id, 3000), true);
    assert.equal(await s.revoke(b.record.id, 3001), false);
    assert.equal(await s.revoke('k_nope', 3001), false);
    assert.equal(await s.verify(b.token, 3000), undefined);
    const listed = await s.list();
    assert.deepEqual(listed.map((r) => [r.name, r.revokedAtMs]).sort(), [['a', 0], ['b', 3000]]);
  });

  it('refuses invalid input', async () => {
    const s = new MemoryApiKeyStore();
    await assert.rejects(s.create({ name: '', tenant: 't', scopes: ['read'] }, 0), TypeError);
    await assert.rejects(s.create({ name: 'n', tenant: 't', scopes: [] }, 0), TypeError);
    await assert.rejects(s.create({ name: 'n', tenant: 't', scopes: ['root' as never] }, 0), TypeError);
  });
});
