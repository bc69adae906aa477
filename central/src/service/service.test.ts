// Central as one process (CentralService, roles "all"): the whole route set keeps its OpenAPI
// document true; a real agent exporter, enrolled over REST, sends feature frames over the
// embedded MQTT broker and a persistent Tier-1 flag becomes an alert readable through the API
// (and a single flag does not); revoking the agent over REST drops it at once; a restart keeps
// what was accepted; bad roles are refused with the reason.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FeatureFlags } from '../../../shared-schemas/src/index.js';
import { SelfMetrics, silentLogger, systemClock } from '../../../shared-schemas/src/runtime/index.js';
import type { FeatureWindow } from '../../../edge-agent/src/pdata.js';
import { resolveCentralConfig } from '../config/config.js';
import { TopologyExpiry } from '../topology/index.js';
import { checkOpenApiDrift } from '../gateway/testing/index.js';
import { makeAgent, until } from '../receivers/mqtt/testdata/harness.js';
import { aiopsMain } from '../cli/aiops.js';
import { CentralService } from './service.js';

const W = 10_000;
const T0 = Math.floor(Date.now() / W) * W - 30 * 60_000;

function window(i: number, flagged: (series: string) => boolean): FeatureWindow {
  return {
    windowStartMs: T0 + i * W,
    windowEndMs: T0 + (i + 1) * W,
    series: ['cart', 'checkout'].map((svc) => {
      const f = flagged(svc);
      const v = f ? 0.98 : 0.2;
      return {
        key: `svc_cpu{service="${svc}"}`,
        labels: { __name__: 'svc_cpu_ratio', service: svc, host: 'node-1' },
        row: { count: 10, min: v - 0.01, max: v + 0.01, mean: v, std: 0.01, last: v, p50: v, p95: v, tier1MaxScore: f ? 9 : 0.5, flags: f ? FeatureFlags.BAND_BREACH | FeatureFlags.ANOMALY : 0, bandLower: 0.1, bandUpper: 0.3 },
      };
    }),
  };
}

describe('CentralService (embedded mode)', () => {
  let dir: string;
  let central: CentralService;
  const tokens: Record<string, string> = {};
  let api = '';
  let mqttPort = 0;

  const start = async () => {
    const cfg = resolveCentralConfig({
      data_dir: join(dir, 'data'),
      log_level: 'silent',
      api: { listen: '127.0.0.1:0', rate_per_second: 1000, burst: 1000 },
      mqtt: { listen: '127.0.0.1:0' },
      grpc: { listen: '127.0.0.1:0' },
      detection: { x: 3, y: 5, learn: { enabled: false } },
    });
    central = new CentralService(cfg, { logger: silentLogger(), metrics: new SelfMetrics(), clock: systemClock });
    await central.start();
    api = central.endpoints().api!;
    mqttPort = Number(central.endpoints().mqtt!.split(':').pop());
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiops-central-'));
    await start();
    for (const scope of ['read', 'write', 'approve', 'admin'] as const) {
      tokens[scope] = (await central.stores.apiKeys.create({ name: scope, tenant: 'default', scopes: [scope] }, Date.now())).token;
    }
  });
  after(async () => {
    await central?.shutdown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, scope: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${tokens[scope]}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  };

  it('keeps the OpenAPI document true for every route central registers', async () => {
    const problems = await checkOpenApiDrift({ baseUrl: api, routes: central.gateway.routes(), tokens: { read: tokens.read!, write: tokens.write!, approve: tokens.approve! } });
    assert.deepEqual(problems, []);
    const paths = central.gateway.routes().map((r) => `${r.method} ${r.path}`);
    for (const p of ['POST /api/v1/metrics/write', 'POST /api/v1/logs/write', 'POST /api/v1/alerts/ingest', 'GET /api/v1/metrics/query', 'GET /api/v1/alerts', 'GET /api/v1/incidents', 'GET /api/v1/incidents/{id}', 'PUT /api/v1/config/detection', 'PUT /api/v1/config/topology', 'POST /api/v1/agents/enroll']) {
      assert.ok(paths.includes(p), `route ${p}`);
    }
  });

  it('turns a persistent Tier-1 flag from an enrolled agent into an alert with evidence; a single flag stays quiet', async () => {
    const tok = await call('POST', '/api/v1/agents/enrollment-tokens', 'admin', { ttl: '10m' });
    assert.equal(tok.status, 201);
    const enrolled = await fetch(`${api}/api/v1/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: tok.body.token, agent_id: 'web-1' }) });
    assert.equal(enrolled.status, 201);
    const { secret } = (await enrolled.json()) as { secret: string };

    const { s, e } = makeAgent({ port: mqttPort, agentId: 'web-1', tenant: 'default' });
    s.agent.secret = secret;
    const configs: string[] = [];
    e.onConfig((m) => void configs.push(m.payload.toString()));
    await e.start();
    try {
      // Per-agent config: stored, audited and pushed retained to the connected agent.
      const put = await call('PUT', '/api/v1/agents/web-1/config', 'admin', { log_level: 'debug', tier1: { threshold: 4 } });
      assert.deepEqual([put.status, put.body.version, put.body.pushed], [200, 1, true]);
      await until(() => configs.length > 0, 'the agent received its config');
      assert.deepEqual(JSON.parse(configs.at(-1)!), { log_level: 'debug', tier1: { threshold: 4 } });
      assert.equal((await call('GET', '/api/v1/agents/web-1/config', 'read')).body.config.log_level, 'debug');
      assert.equal((await call('PUT', '/api/v1/agents/nobody/config', 'admin', {})).status, 404);

      // cart: flagged in windows 20..29 (persistent); checkout: one isolated flag in window 10.
      for (let i = 0; i < 40; i++) await e.consumeWindow(window(i, (svc) => (svc === 'cart' ? i >= 20 && i < 30 : i === 10)));
      let alerts: any[] = [];
      await until(async () => {
        alerts = (await call('GET', '/api/v1/alerts', 'read')).body.alerts;
        return alerts.some((a: any) => a.labels.service === 'cart' && a.status === 'resolved');
      }, 'the cart alert fired and resolved', 30_000);
      const cart = alerts.filter((a: any) => a.labels.service === 'cart');
      assert.equal(cart.length, 1, 'one alert (deduplicated by fingerprint)');
      assert.equal(cart[0].labels.host, 'node-1');
      assert.equal(cart[0].startsAt, new Date(T0 + 20 * W).toISOString(), 'starts at the first flagged window');
      assert.ok(Object.keys(cart[0].annotations).some((k) => /band/i.test(k)), `evidence carries the band: ${JSON.stringify(cart[0].annotations)}`);
      assert.equal(alerts.filter((a: any) => a.labels.service === 'checkout').length, 0, 'an isolated flag is suppressed');
      const q = await call('GET', `/api/v1/metrics/features?selector=${encodeURIComponent('svc_cpu_ratio{service="cart"}')}&start=${T0}&end=${T0 + 40 * W}`, 'read');
      assert.equal(q.body.series[0].windows.length, 40, 'every frame stored once');
    } finally {
      await e.shutdown();
    }

    // Revocation over REST: at once, and the credential no longer works.
    assert.equal((await call('DELETE', '/api/v1/agents/web-1', 'admin')).status, 204);
    assert.equal(await central.stores.agents.verify('web-1', secret, Date.now()), undefined);
  });

  it('keeps accepted data across a restart on the same data folder', async () => {
    const w = await call('POST', '/api/v1/metrics/write', 'write', { series: [{ labels: { __name__: 'restart_probe', host: 'a' }, samples: [[T0, 42]] }] });
    assert.equal(w.status, 200);
    await central.shutdown();
    await start();
    const q = await call('GET', `/api/v1/metrics/query?selector=restart_probe&start=${T0}&end=${T0 + 1000}&resolution=raw`, 'read');
    assert.deepEqual(q.body.series[0].values, [42]);
    assert.equal((await call('GET', '/api/v1/alerts?label=service%3Dcart', 'read')).body.alerts.length, 1);
  });

  it('PUT /api/v1/config/topology loads the topology store; it answers after a restart; stale discoveries age out', async () => {
    const doc = { version: 1, name: 'shop', nodes: [{ id: 'service:frontend', kind: 'Service', name: 'frontend' }, { id: 'service:cart', kind: 'Service', name: 'cart' }, { id: 'cache:redis', kind: 'Cache', name: 'redis' }], edges: [{ from: 'service:frontend', to: 'service:cart', kind: 'CALLS' }, { from: 'service:cart', to: 'cache:redis', kind: 'CALLS' }] };
    assert.equal((await call('PUT', '/api/v1/config/topology', 'admin', doc)).status, 200);
    assert.deepEqual((await central.topology.blastRadius('default', 'cache:redis')).map((r) => r.id), ['service:cart', 'service:frontend']);
    // Discovery saw a caller an hour ago; it is gone after the expiry pass.
    await central.topology.observe('default', { nodes: [{ id: 'service:batch', kind: 'Service', name: 'batch' }], edges: [{ from: 'service:batch', to: 'cache:redis', kind: 'CALLS' }] }, Date.now() - 3_600_000);
    assert.equal((await central.topology.blastRadius('default', 'cache:redis')).length, 3);
    await central.shutdown();
    await start();
    assert.deepEqual((await central.topology.blastRadius('default', 'cache:redis', 1)).map((r) => r.id), ['service:batch', 'service:cart'], 'kept across the restart');
    const expiry = new TopologyExpiry({ id: 'topology/expiry', logger: silentLogger(), metrics: new SelfMetrics().forComponent('t'), clock: systemClock, dataDir: dir }, { store: central.topology, tenant: 'default', ttlMs: 600_000, intervalMs: 60_000 });
    assert.deepEqual(await expiry.runOnce(), { nodes: 1, edges: 1 });
    assert.deepEqual((await central.topology.blastRadius('default', 'cache:redis')).map((r) => r.id), ['service:cart', 'service:frontend'], 'declared ones stay');
    const bad = await call('PUT', '/api/v1/config/topology', 'admin', { ...doc, edges: [{ from: 'service:cart', to: 'ghost', kind: 'CALLS' }] });
    assert.equal(bad.status, 400);
    assert.equal((await central.topology.snapshot('default')).edges.filter((e) => e.origin === 'declared').length, 2, 'a refused document changes nothing');
    // The agent of the earlier test was discovered from its frames: its service runs on its host.
    assert.ok((await central.topology.snapshot('default')).edges.some((e) => e.kind === 'RUNS_ON' && e.origin === 'discovered'), 'discovery from ingested frames');
  });

  it('POST /graphql: read keys query the topology, mutations need admin and go the way of PUT /api/v1/config/topology', async () => {
    const gql = (scope: string | undefined, query: string, variables?: Record<string, unknown>) =>
      fetch(`${api}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(scope ? { authorization: `Bearer ${tokens[scope]}` } : {}) }, body: JSON.stringify({ query, ...(variables ? { variables } : {}) }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    assert.equal((await gql(undefined, '{ topologyNodes { id } }')).status, 401);
    const q = await gql('read', '{ blastRadius(id: "cache:redis") { depth node { id kind } } }');
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.deepEqual(q.body.data.blastRadius.map((r: any) => r.node.id), ['service:cart', 'service:frontend']);
    const doc = { version: 1, name: 'pair', nodes: [{ id: 'service:a', kind: 'Service', name: 'a' }, { id: 'service:b', kind: 'Service', name: 'b' }], edges: [{ from: 'service:a', to: 'service:b', kind: 'CALLS' }] };
    const m = 'mutation ($d: String!) { declareTopology(document: $d) { nodes edges } }';
    assert.equal((await gql('read', m, { d: JSON.stringify(doc) })).status, 403);
    const ok = await gql('admin', m, { d: JSON.stringify(doc) });
    assert.deepEqual(ok.body, { data: { declareTopology: { nodes: 2, edges: 1 } } });
    assert.equal((await call('GET', '/api/v1/config/topology', 'read')).body.document.name, 'pair', 'stored as the declared document');
    assert.ok((await central.stores.audit.list({ action: 'config.topology.put' })).some((a) => (a.details as { via?: string } | undefined)?.via === 'graphql'), 'audited');
    const bad = await gql('read', '{ nope }');
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors[0].message, /Cannot query field "nope"/);
  });

  it('aiops agents enroll|list|revoke work against the running central', async () => {
    const run = async (argv: string[]) => {
      let out = '';
      let err = '';
      const code = await aiopsMain(['--url', api, ...argv], { out: (x) => void (out += x), err: (x) => void (err += x), env: { AIOPS_API_KEY: tokens.admin! } });
      return { code, out, err };
    };
    const en = await run(['agents', 'enroll', '--ttl', '5m', '--json']);
    assert.equal(en.code, 0, en.err);
    const { token } = JSON.parse(en.out) as { token: string };
    const r = await fetch(`${api}/api/v1/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, agent_id: 'db-7' }) });
    assert.equal(r.status, 201);
    const again = await fetch(`${api}/api/v1/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, agent_id: 'db-8' }) });
    assert.equal(again.status, 401, 'an enrollment token works once');
    assert.match((await run(['agents', 'list'])).out, /db-7\s+default/);
    assert.equal((await run(['agents', 'revoke', 'db-7'])).code, 0);
    assert.match((await run(['agents', 'list'])).out, /db-7\s+default\s+\S+\s+\S+\s+20\d\d-/);
  });

  it('refuses roles this version cannot run, saying why', () => {
    assert.throws(() => CentralService.checkRoles(['correlate']), /travel on the bus/);
    assert.throws(() => CentralService.checkRoles(['ingest']), /need the Kafka bus/);
    assert.throws(() => CentralService.checkRoles(['detect', 'api'], 'in-process'), /bus\.kind: kafka/);
    assert.doesNotThrow(() => CentralService.checkRoles(['ingest', 'detect', 'api']));
    assert.doesNotThrow(() => CentralService.checkRoles(['ingest'], 'kafka'));
    assert.doesNotThrow(() => CentralService.checkRoles(['detect'], 'kafka'));
  });
});
