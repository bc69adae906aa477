// The agent routes over real HTTP: a real gateway on 127.0.0.1:0, the SQLite stores on
// ':memory:', real API keys (one per scope, created in the SQLite key store), a manual clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { openSqliteStores } from '../storage/index.js';
import type { AgentStore, AuditEntry, AuditLog, SqliteStores } from '../storage/index.js';
import { checkOpenApiDrift, startTestGateway } from '../gateway/testing/index.js';
import type { TestGateway } from '../gateway/testing/index.js';
import { AGENT_ID_PATTERN, registerAgentRoutes } from './agents.js';
import type { AgentRoutesDeps } from './agents.js';

/** The audit log as the routes hand it entries, before the SQLite log's own redaction. */
class RecordingAudit implements AuditLog {
  readonly entries: AuditEntry[] = [];
  constructor(private readonly inner: AuditLog) {}
  async append(e: AuditEntry): Promise<void> {
    this.entries.push(structuredClone(e));
    await this.inner.append(e);
  }
  list(filter: Parameters<AuditLog['list']>[0]) {
    return this.inner.list(filter);
  }
}

interface Fixture {
  t: TestGateway;
  stores: SqliteStores;
  audit: RecordingAudit;
  revoked: string[];
  registry: Registry;
  /** Every token and secret the test saw: none may appear in logs or audit entries. */
  secrets: string[];
  close(): Promise<void>;
}

async function start(over: Partial<AgentRoutesDeps> = {}, wrap: (a: AgentStore) => AgentStore = (a) => a): Promise<Fixture> {
  let t: TestGateway | undefined;
  const now = () => t?.clock.now() ?? 1_700_000_000_000;
  const stores = openSqliteStores(':memory:', { now });
  const audit = new RecordingAudit(stores.audit);
  const revoked: string[] = [];
  const registry = new Registry();
  t = await startTestGateway({
    keys: stores.apiKeys,
    audit,
    config: { rateLimit: { ratePerSecond: 1000, burst: 1000 } },
    register: (g) =>
      registerAgentRoutes(g, {
        agents: wrap(stores.agents),
        clock: { now },
        defaultTenant: 'acme',
        onRevoke: (id) => void revoked.push(id),
        registry,
        ...over,
      }),
  });
  const fixture: Fixture = {
    t,
    stores,
    audit,
    revoked,
    registry,
    secrets: Object.values(t.tokens),
    close: async () => {
      await t!.close();
      await stores.close();
    },
  };
  return fixture;
}

async function call(f: Fixture, method: string, path: string, opts: { scope?: 'read' | 'write' | 'approve' | 'admin'; body?: unknown } = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = opts.scope ? f.t.auth(opts.scope) : {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${f.t.url}${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function newToken(f: Fixture, body: Record<string, unknown> = {}): Promise<string> {
  const r = await call(f, 'POST', '/api/v1/agents/enrollment-tokens', { scope: 'admin', body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  f.secrets.push(r.body.token as string);
  return r.body.token as string;
}

async function enroll(f: Fixture, token: string, agentId: string) {
  const r = await call(f, 'POST', '/api/v1/agents/enroll', { body: { token, agent_id: agentId } });
  if (typeof r.body.secret === 'string') f.secrets.push(r.body.secret);
  return r;
}

function withoutRequestId(b: Record<string, unknown>): Record<string, unknown> {
  const { requestId: _, ...rest } = b;
  return rest;
}

async function metric(registry: Registry, result: string): Promise<number> {
  const m = registry.getSingleMetric('aiops_agent_enrollments_total');
  const v = (await m!.get()).values.find((x) => x.labels.result === result);
  return v?.value ?? 0;
}

describe('agent routes', () => {
  let f: Fixture;
  before(async () => {
    f = await start();
  });
  after(() => f.close());

  it('enrolls an agent: admin token -> public enroll -> a secret the store verifies -> listed', async () => {
    const created = await call(f, 'POST', '/api/v1/agents/enrollment-tokens', { scope: 'admin', body: { ttl: '2h' } });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    assert.match(created.body.token as string, /^aiops_e_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.tenant, 'acme', 'the default tenant');
    assert.equal(created.body.expires_at, new Date(f.t.clock.now() + 2 * 3_600_000).toISOString());
    f.secrets.push(created.body.token as string);

    const r = await enroll(f, created.body.token as string, 'web-1');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.body.agent_id, 'web-1');
    assert.equal(r.body.tenant, 'acme');
    assert.match(r.body.secret as string, /^aiops_a_[A-Za-z0-9_-]{43}$/);
    const rec = await f.stores.agents.verify('web-1', r.body.secret as string, f.t.clock.now());
    assert.equal(rec?.tenant, 'acme');
    assert.equal(await f.stores.agents.verify('web-1', `aiops_a_${'x'.repeat(43)}`, f.t.clock.now()), undefined, 'another secret does not verify');

    const list = await call(f, 'GET', '/api/v1/agents', { scope: 'admin' });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.agents, [{ agent_id: 'web-1', tenant: 'acme', enrolled_at: new Date(f.t.clock.now()).toISOString(), revoked_at: null, last_seen_at: null }]);
    assert.ok(!JSON.stringify(list.body).includes(r.body.secret as string), 'the list holds no secret');
  });

  it('a token is for one tenant when asked; the list filters by tenant', async () => {
    const token = await newToken(f, { tenant: 'shop', ttl: '15m' });
    const r = await enroll(f, token, 'shop-db-1');
    assert.equal(r.status, 201);
    assert.equal(r.body.tenant, 'shop');
    const list = await call(f, 'GET', '/api/v1/agents?tenant=shop', { scope: 'admin' });
    assert.deepEqual((list.body.agents as Array<{ agent_id: string }>).map((a) => a.agent_id), ['shop-db-1']);
  });

  it('a used token is refused with the same 401 as an unknown one (no oracle), and nothing is enrolled', async () => {
    const token = await newToken(f);
    assert.equal((await enroll(f, token, 'reuse-1')).status, 201);
    const again = await enroll(f, token, 'reuse-2');
    assert.equal(again.status, 401);
    assert.equal(again.body.error, 'invalid_enrollment_token');
    assert.match(again.body.message as string, /unknown, already used or expired.*aiops agents enroll/);
    const unknown = await enroll(f, `aiops_e_${'0'.repeat(16)}_${'A'.repeat(43)}`, 'reuse-2');
    const garbage = await enroll(f, 'not-a-token', 'reuse-2');
    assert.deepEqual(withoutRequestId(unknown.body), withoutRequestId(again.body));
    assert.deepEqual(withoutRequestId(garbage.body), withoutRequestId(again.body));
    assert.equal(unknown.status, 401);
    assert.equal((await f.stores.agents.list()).filter((a) => a.agentId === 'reuse-2').length, 0, 'reuse-2 not enrolled');
  });

  it('an expired token is refused (clock moved past its expiry); the same wait inside the ttl is fine', async () => {
    const early = await newToken(f, { ttl: '1m' });
    const late = await newToken(f, { ttl: '1m' });
    f.t.clock.advance(59_999);
    assert.equal((await enroll(f, early, 'exp-1')).status, 201);
    f.t.clock.advance(1);
    const r = await enroll(f, late, 'exp-2');
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_enrollment_token');
  });

  it('refuses bad agent ids with 400 naming body.agent_id, without using the token', async () => {
    const token = await newToken(f);
    for (const bad of ['', '-lead', '.hidden', 'a/b', 'a b', 'a:b', 'a+b', 'é', 'x'.repeat(129), 42, null]) {
      const r = await call(f, 'POST', '/api/v1/agents/enroll', { body: { token, agent_id: bad } });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.field, 'body.agent_id', JSON.stringify(bad));
    }
    assert.equal((await call(f, 'POST', '/api/v1/agents/enroll', { body: { token } })).body.field, 'body.agent_id');
    assert.equal((await call(f, 'POST', '/api/v1/agents/enroll', { body: { token, agent_id: 'ok-1', extra: 1 } })).status, 400);
    const ok = await enroll(f, token, 'x'.repeat(128));
    assert.equal(ok.status, 201, 'the token was not used by the refused requests; 128 characters is the limit');
  });

  it('refuses bad ttl and tenant values with 400 naming the field', async () => {
    for (const [body, field] of [
      [{ ttl: '0s' }, 'body.ttl'],
      [{ ttl: '59s' }, 'body.ttl'],
      [{ ttl: '31d' }, 'body.ttl'],
      [{ ttl: 'soon' }, 'body.ttl'],
      [{ ttl: 3600 }, 'body.ttl'],
      [{ tenant: 'a/b' }, 'body.tenant'],
      [{ tenant: '' }, 'body.tenant'],
      [{ scopes: ['admin'] }, 'body.scopes'],
    ] as const) {
      const r = await call(f, 'POST', '/api/v1/agents/enrollment-tokens', { scope: 'admin', body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.field, field, JSON.stringify(body));
    }
    const max = await call(f, 'POST', '/api/v1/agents/enrollment-tokens', { scope: 'admin', body: { ttl: '30d' } });
    assert.equal(max.status, 201);
    f.secrets.push(max.body.token as string);
    const empty = await call(f, 'POST', '/api/v1/agents/enrollment-tokens', { scope: 'admin' });
    assert.equal(empty.status, 400, 'a JSON body is required (it may be {})');
  });

  it('401 without a key and 403 for read, write and approve keys on the admin routes; enroll is public', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/agents/enrollment-tokens'],
      ['GET', '/api/v1/agents'],
      ['DELETE', '/api/v1/agents/web-1'],
    ] as const) {
      const body = method === 'POST' ? {} : undefined;
      assert.equal((await call(f, method, path, { body })).status, 401, `${method} ${path} without a key`);
      for (const scope of ['read', 'write', 'approve'] as const) {
        const r = await call(f, method, path, { scope, body });
        assert.equal(r.status, 403, `${method} ${path} with ${scope}`);
        assert.equal(r.body.requiredScope, 'admin');
      }
    }
    assert.ok((await f.stores.agents.list()).some((a) => a.agentId === 'web-1' && a.revokedAtMs === 0), 'the refused DELETEs did nothing');
  });

  it('has no OpenAPI drift', async () => {
    const problems = await checkOpenApiDrift({ baseUrl: f.t.url, routes: f.t.gateway.routes(), tokens: f.t.tokens });
    assert.deepEqual(problems, []);
    const doc = f.t.gateway.openapi();
    assert.equal(doc.paths['/api/v1/agents/enroll']!.post!['x-required-scope'], 'public');
    assert.ok(doc.paths['/api/v1/agents/enroll']!.post!.responses['409'] !== undefined, '409 documented');
  });

  it('an active agent id answers 409 without using the token; after revoke the id enrolls again with a new secret', async () => {
    const first = await newToken(f);
    const a = await enroll(f, first, 'db-1');
    assert.equal(a.status, 201);
    const second = await newToken(f);
    const clash = await enroll(f, second, 'db-1');
    assert.equal(clash.status, 409);
    assert.equal(clash.body.error, 'agent_exists');
    assert.match(clash.body.message as string, /token was not used.*aiops agents revoke db-1/);
    assert.ok(await f.stores.agents.verify('db-1', a.body.secret as string, f.t.clock.now()), 'the first agent keeps its identity');

    assert.equal((await call(f, 'DELETE', '/api/v1/agents/db-1', { scope: 'admin' })).status, 204);
    const b = await enroll(f, second, 'db-1');
    assert.equal(b.status, 201, 'the token refused with 409 is still good');
    assert.notEqual(b.body.secret, a.body.secret);
    assert.equal(await f.stores.agents.verify('db-1', a.body.secret as string, f.t.clock.now()), undefined);
    assert.notEqual(await f.stores.agents.verify('db-1', b.body.secret as string, f.t.clock.now()), undefined, 'the new secret verifies');
  });

  it('revoke: 204, onRevoke called, the secret stops verifying at once, listed as revoked; idempotent; 404 unknown', async () => {
    const token = await newToken(f);
    const r = await enroll(f, token, 'edge-9');
    const secret = r.body.secret as string;
    assert.notEqual(await f.stores.agents.verify('edge-9', secret, f.t.clock.now()), undefined, 'the secret verifies before the revocation');
    f.t.clock.advance(1000);
    const del = await call(f, 'DELETE', '/api/v1/agents/edge-9', { scope: 'admin' });
    assert.equal(del.status, 204);
    assert.deepEqual(f.revoked.slice(-1), ['edge-9']);
    assert.equal(await f.stores.agents.verify('edge-9', secret, f.t.clock.now()), undefined);
    const listed = ((await call(f, 'GET', '/api/v1/agents', { scope: 'admin' })).body.agents as Array<Record<string, unknown>>).find((a) => a.agent_id === 'edge-9');
    assert.equal(listed?.revoked_at, new Date(f.t.clock.now()).toISOString());
    assert.equal((await call(f, 'DELETE', '/api/v1/agents/edge-9', { scope: 'admin' })).status, 204);
    const unknown = await call(f, 'DELETE', '/api/v1/agents/nobody', { scope: 'admin' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'not_found');
    assert.equal((await call(f, 'DELETE', '/api/v1/agents/bad%20id', { scope: 'admin' })).status, 400);
    assert.equal(f.revoked.filter((x) => x === 'nobody').length, 0, 'onRevoke only for agents that exist');
  });

  it('audits token creation, enrollments (refused ones too) and revocations; no token or secret in logs or audit entries', async () => {
    const actions = new Set(f.audit.entries.map((e) => e.action));
    for (const a of ['agent.enrollment_token.create', 'agent.enroll', 'agent.revoke']) assert.ok(actions.has(a), a);
    const enrolls = f.audit.entries.filter((e) => e.action === 'agent.enroll');
    assert.ok(enrolls.some((e) => e.details?.status === 401) && enrolls.some((e) => e.details?.status === 409) && enrolls.some((e) => e.details?.status === 201), 'refused and accepted enrollments are audited');
    assert.deepEqual([...new Set(enrolls.map((e) => e.actor))], ['anonymous']);
    assert.ok(enrolls.some((e) => /^web-1 \(token e_[0-9a-f]{16}\)$/.test(e.target)), 'the target names the agent and the token id');
    const created = f.audit.entries.find((e) => e.action === 'agent.enrollment_token.create')!;
    assert.equal(created.actor, f.t.keyIds.admin);
    assert.equal(created.target, 'tenant/acme');
    const stored = await f.stores.audit.list({ limit: 1000 });
    assert.equal(stored.length, f.audit.entries.length);

    assert.ok(f.secrets.length >= 20, `secrets collected: ${f.secrets.length}`);
    const logs = f.t.logs.lines.join('\n');
    const audit = JSON.stringify(f.audit.entries) + JSON.stringify(stored);
    assert.match(logs, /agent enrolled/, 'the logs are captured');
    for (const s of f.secrets) {
      const secretPart = s.slice(-43);
      assert.ok(!logs.includes(secretPart), `a secret reached the logs: ${s.slice(0, 10)}...`);
      assert.ok(!audit.includes(secretPart), `a secret reached the audit log: ${s.slice(0, 10)}...`);
    }
  });

  it('counts enrollments by result', async () => {
    // web-1, shop-db-1, reuse-1, exp-1, x*128, db-1 twice, edge-9; reuse x3 + expired; db-1 clash.
    assert.equal(await metric(f.registry, 'enrolled'), 8);
    assert.equal(await metric(f.registry, 'invalid_token'), 4);
    assert.equal(await metric(f.registry, 'conflict'), 1);
    assert.equal(await metric(f.registry, 'rate_limited'), 0);
  });
});

describe('agent routes: concurrent enrollments', () => {
  // An asynchronous store (a remote database): list() and get() yield to the event loop, so two requests
  // would both pass the "id not active" check unless the route serialises check and enroll.
  const slow = (a: AgentStore): AgentStore => ({
    createEnrollmentToken: (i, n) => a.createEnrollmentToken(i, n),
    enroll: async (t, id, n) => {
      await new Promise((r) => setTimeout(r, 5));
      return a.enroll(t, id, n);
    },
    verify: (id, s, n) => a.verify(id, s, n),
    revoke: (id, n) => a.revoke(id, n),
    list: async () => {
      await new Promise((r) => setTimeout(r, 5));
      return a.list();
    },
    get: async (id) => {
      await new Promise((r) => setTimeout(r, 5));
      return a.get(id);
    },
    touch: (id, n) => a.touch(id, n),
  });
  let f: Fixture;
  before(async () => {
    f = await start({}, slow);
  });
  after(() => f.close());

  it('one id enrolled concurrently with two tokens: exactly one wins, the other token stays usable', async () => {
    const [t1, t2] = [await newToken(f), await newToken(f)];
    const results = await Promise.all([enroll(f, t1, 'race-1'), enroll(f, t2, 'race-1')]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
    const winner = results.find((r) => r.status === 201)!;
    assert.notEqual(await f.stores.agents.verify('race-1', winner.body.secret as string, f.t.clock.now()), undefined, 'the winner keeps its identity');
    const loser = results[0]!.status === 409 ? t1 : t2;
    assert.equal((await enroll(f, loser, 'race-2')).status, 201);
  });
});

describe('agent routes: refused enrollments are throttled', () => {
  let f: Fixture;
  before(async () => {
    f = await start({ enrollFailureLimit: { ratePerSecond: 1, burst: 3 } });
  });
  after(() => f.close());

  it('after the burst of refusals every enrollment answers 429 without touching the store, until the bucket refills', async () => {
    const good = await newToken(f);
    for (let i = 0; i < 3; i++) assert.equal((await enroll(f, `aiops_e_${'0'.repeat(16)}_${String(i).repeat(43)}`, 'x-1')).status, 401);
    const limited = await enroll(f, good, 'x-1');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal(limited.body.error, 'rate_limited');
    f.t.clock.advance(1000);
    const r = await enroll(f, good, 'x-1');
    assert.equal(r.status, 201, 'the valid token was not used while throttled');
    assert.equal(await metric(f.registry, 'rate_limited'), 1);
    assert.equal(await metric(f.registry, 'invalid_token'), 3);
  });
});

describe('agent id grammar', () => {
  it('is the edge agent config grammar (letters, digits, _ . -; 1-128; starting with a letter or digit)', () => {
    for (const ok of ['a', 'web-1', 'host.example.com', 'A_B', '9', 'x'.repeat(128)]) assert.ok(AGENT_ID_PATTERN.test(ok), ok);
    for (const bad of ['', '_a', '-a', '.a', 'a b', 'a/b', 'a:b', 'a#', 'a+', 'x'.repeat(129)]) assert.ok(!AGENT_ID_PATTERN.test(bad), bad);
  });
});
