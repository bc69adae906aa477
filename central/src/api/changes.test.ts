// The changes routes over a real gateway and the SQLite store: record (201), a resend (200), a
// conflict (409), scopes and audit, listing filters, the hook that re-ranks incidents, and bad
// input - malformed, truncated, oversized and hostile bodies refused with the field named,
// counted by the gateway, nothing stored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkOpenApiDrift, startTestGateway } from '../gateway/testing/index.js';
import type { TestGateway } from '../gateway/testing/index.js';
import { openSqliteStores } from '../storage/index.js';
import type { SqliteStores } from '../storage/index.js';
import { MAX_CHANGE_CLOCK_SKEW_MS, registerChangeRoutes } from './index.js';

describe('changes API', () => {
  let t: TestGateway;
  let stores: SqliteStores;
  const recorded: Array<[string, string]> = [];

  before(async () => {
    stores = openSqliteStores(':memory:', { now: Date.now });
    t = await startTestGateway({
      keys: stores.apiKeys,
      audit: stores.audit,
      config: { rateLimit: { ratePerSecond: 1000, burst: 1000 }, limits: { bodyBytes: 16 * 1024 } },
      register: (g) => registerChangeRoutes(g, { changes: stores.changes, recorded: (tenant, entity) => void recorded.push([tenant, entity]) }),
    });
  });
  after(async () => {
    await t?.close();
    await stores?.close();
  });

  const call = async (method: string, path: string, scope: 'read' | 'write' | undefined, body?: unknown) => {
    const raw = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
    const res = await fetch(`${t.url}${path}`, { method, headers: { ...(scope ? t.auth(scope) : {}), ...(raw !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(raw !== undefined ? { body: raw } : {}) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, any>) };
  };
  const count = async (): Promise<number> => (await stores.changes.list('t1', { limit: 10_000 })).length;

  it('keeps the OpenAPI document true', async () => {
    assert.deepEqual(await checkOpenApiDrift({ baseUrl: t.url, routes: t.gateway.routes(), tokens: t.tokens }), []);
  });

  it('records a change (201), a resend once (200), other content under the same id is a conflict (409)', async () => {
    const now = t.clock.now();
    const body = { id: 'gh-run-1812', service: 'cart', version: '1.4.2', description: 'pool size 50 -> 5', at: new Date(now - 120_000).toISOString() };
    const a = await call('POST', '/api/v1/changes', 'write', body);
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.deepEqual(a.body, { id: 'gh-run-1812', service: 'cart', kind: 'deploy', at: new Date(now - 120_000).toISOString(), description: 'pool size 50 -> 5', version: '1.4.2', source: 'write-key', recordedAt: new Date(now).toISOString() });
    assert.deepEqual(recorded, [['t1', 'cart']]);
    const again = await call('POST', '/api/v1/changes', 'write', body);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, a.body);
    assert.equal(recorded.length, 1, 'a resend re-ranks nothing');
    const conflict = await call('POST', '/api/v1/changes', 'write', { ...body, version: '1.4.3' });
    assert.equal(conflict.status, 409);
    assert.match(conflict.body?.message, /gh-run-1812.*other content/);
    const host = await call('POST', '/api/v1/changes', 'write', { host: 'node-1', kind: 'config', description: 'vm.swappiness=1', source: 'ansible' });
    assert.equal(host.status, 201);
    assert.equal(host.body?.host, 'node-1');
    assert.equal(host.body?.at, new Date(now).toISOString(), 'default: now');
    const audit = await stores.audit.list({ limit: 100 });
    assert.ok(audit.some((e) => e.action === 'change.record' && e.target === 'cart'));
  });

  it('lists latest first, filtered by service or host and time; read scope to list, write to record', async () => {
    const now = t.clock.now();
    const l = await call('GET', '/api/v1/changes', 'read');
    assert.equal(l.status, 200);
    assert.deepEqual(l.body?.changes.map((c: any) => c.service ?? c.host), ['node-1', 'cart']);
    assert.deepEqual((await call('GET', '/api/v1/changes?service=cart', 'read')).body?.changes.map((c: any) => c.id), ['gh-run-1812']);
    assert.deepEqual((await call('GET', '/api/v1/changes?host=cart', 'read')).body?.changes, [], 'cart is a service, not a host');
    assert.deepEqual((await call('GET', `/api/v1/changes?from=${now - 60_000}`, 'read')).body?.changes.map((c: any) => c.host), ['node-1']);
    assert.deepEqual((await call('GET', `/api/v1/changes?to=${now - 60_000}&limit=5`, 'read')).body?.changes.map((c: any) => c.service), ['cart']);
    assert.equal((await call('POST', '/api/v1/changes', 'read', { service: 'x' })).status, 403);
    assert.equal((await call('POST', '/api/v1/changes', undefined, { service: 'x' })).status, 401);
    assert.equal((await call('GET', '/api/v1/changes', undefined)).status, 401);
    assert.equal((await call('GET', '/api/v1/changes?service=a&host=b', 'read')).status, 400);
    assert.equal((await call('GET', `/api/v1/changes?from=${now}&to=${now - 1}`, 'read')).status, 400);
    assert.equal((await call('GET', '/api/v1/changes?from=yesterday', 'read')).status, 400);
    assert.equal((await call('GET', '/api/v1/changes?limit=0', 'read')).status, 400);
  });

  it('refuses malformed, truncated, oversized and hostile bodies with the field named; nothing stored', async () => {
    const before = await count();
    const future = new Date(t.clock.now() + MAX_CHANGE_CLOCK_SKEW_MS + 60_000).toISOString();
    const bad: Array<[unknown, number, RegExp]> = [
      ['{"service": "cart", ', 400, /JSON|json/], // truncated
      ['not json at all', 400, /JSON|json/],
      [[{ service: 'cart' }], 400, /object|body/],
      [{}, 400, /exactly one of service or host/],
      [{ service: 'cart', host: 'node-1' }, 400, /exactly one of service or host/],
      [{ service: '' }, 400, /body\.service/],
      [{ service: 'x'.repeat(257) }, 400, /body\.service/],
      [{ service: 'cart', kind: 'DROP TABLE' }, 400, /body\.kind/],
      [{ service: 'cart', at: 'last tuesday' }, 400, /body\.at/],
      [{ service: 'cart', at: future }, 400, /in the future/],
      [{ service: 'cart', id: '../../etc/passwd' }, 400, /body\.id/],
      [{ service: 'cart', unknown: 1 }, 400, /unknown|unrecognized/i],
      ['{"service": "cart", "__proto__": {"admin": true}}', 400, /__proto__|unrecognized|unknown/i],
      [{ service: 'cart\u0000evil' }, 400, /control characters/],
      [{ service: 'cart', description: 'x'.repeat(2049) }, 400, /body\.description/],
      [{ service: 'cart', description: 'x'.repeat(20_000) }, 413, /./],
      [{ service: 42 }, 400, /body\.service/],
    ];
    for (const [body, status, re] of bad) {
      const r = await call('POST', '/api/v1/changes', 'write', body);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} -> ${JSON.stringify(r.body)}`);
      assert.match(JSON.stringify(r.body), re, JSON.stringify(body).slice(0, 80));
    }
    assert.equal(await count(), before, 'nothing stored');
    const metrics = await t.registry.getSingleMetricAsString('aiops_gateway_requests_total');
    assert.match(metrics, /route="\/api\/v1\/changes",method="POST",status="400"\} (\d+)/);
    assert.equal(Number(/route="\/api\/v1\/changes",method="POST",status="400"\} (\d+)/.exec(metrics)![1]), bad.filter(([, s]) => s === 400).length, 'each refusal counted');
    // Still serving what was accepted.
    assert.equal((await call('GET', '/api/v1/changes?service=cart', 'read')).body?.changes.length, 1);
  });
});
