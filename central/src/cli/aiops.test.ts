// `aiops`: keys on the local database, REST commands against a real gateway, and the errors a
// user sees (missing key, unreachable central, bad scope).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../../../shared-schemas/src/index.js';
import { registerAlertRoutes, registerChangeRoutes } from '../api/index.js';
import { startTestGateway } from '../gateway/testing/index.js';
import type { TestGateway } from '../gateway/testing/index.js';
import { openSqliteStores } from '../storage/index.js';
import { centralDatabasePath } from '../service/paths.js';
import { aiopsMain } from './aiops.js';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await aiopsMain(argv, { out: (s) => void (out += s), err: (s) => void (err += s), env });
  return { code, out, err };
}

describe('aiops keys (local database)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiops-cli-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('creates a key whose token verifies, lists it without the token, revokes it', async () => {
    const c = await run(['--data-dir', dir, 'keys', 'create', '--name', 'ops', '--scope', 'read,admin', '--json']);
    assert.equal(c.code, 0, c.err);
    const created = JSON.parse(c.out) as { id: string; token: string; scopes: string[] };
    assert.deepEqual(created.scopes, ['read', 'admin']);
    const stores = openSqliteStores(centralDatabasePath(dir), { now: Date.now });
    try {
      assert.equal((await stores.apiKeys.verify(created.token, Date.now()))?.id, created.id);
    } finally {
      await stores.close();
    }
    const l = await run(['--data-dir', dir, 'keys', 'list']);
    assert.equal(l.code, 0);
    assert.match(l.out, new RegExp(created.id));
    assert.ok(!l.out.includes(created.token), 'a listing never shows a token');
    assert.equal((await run(['--data-dir', dir, 'keys', 'revoke', created.id])).code, 0);
    const again = await run(['--data-dir', dir, 'keys', 'revoke', created.id]);
    assert.equal(again.code, 1);
    assert.match(again.err, /no active key/);
  });

  it('refuses an unknown scope and a bad duration with the option named', async () => {
    const s = await run(['--data-dir', dir, 'keys', 'create', '--name', 'x', '--scope', 'root']);
    assert.notEqual(s.code, 0);
    assert.match(s.err, /unknown scope "root"/);
    const d = await run(['--data-dir', dir, 'keys', 'create', '--name', 'x', '--scope', 'read', '--expires', 'soon']);
    assert.notEqual(d.code, 0);
    assert.match(d.err, /--expires/);
  });

  it('prints help for every command', async () => {
    const h = await run(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /keys/);
    assert.match(h.out, /alerts/);
    assert.equal((await run(['alerts', 'list', '--help'])).code, 0);
  });
});

describe('aiops REST commands', () => {
  let t: TestGateway;
  const stores = openSqliteStores(':memory:', { now: Date.now });
  before(async () => {
    t = await startTestGateway({ keys: stores.apiKeys, register: (g) => {
        registerAlertRoutes(g, { alerts: stores.alerts, ingest: { consumeAlerts: async (as: readonly Alert[]) => void (await Promise.all(as.map((a) => stores.alerts.upsert(a, Date.now())))) } });
        registerChangeRoutes(g, { changes: stores.changes });
      },
    });
    const firing: Alert = { status: 'firing', labels: { alertname: 'AnomalyDetected', service: 'cart', host: 'h1', severity: 'warning' }, annotations: { summary: 'cart cpu above its band' }, startsAtMs: Date.now(), endsAtMs: 0, generatorUrl: '', fingerprint: '', tenant: 't1', source: 'test' };
    await stores.alerts.upsert(firing, Date.now());
  });
  after(async () => {
    await t?.close();
    await stores.close();
  });

  it('lists alerts with a read key from the environment', async () => {
    const r = await run(['--url', t.url, 'alerts', 'list', '--status', 'firing'], { AIOPS_API_KEY: t.tokens.read });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /AnomalyDetected\s+cart\s+h1/);
  });

  it('records a deploy from a pipeline step and lists it; says what is missing', async () => {
    const env = { AIOPS_API_KEY: t.tokens.write };
    t.clock.set(Date.now()); // the gateway's clock stamps the change; --since counts from the CLI's
    const r = await run(['--url', t.url, 'changes', 'record', '--service', 'cart', '--version', '1.4.2', '--id', 'run-77', '--description', 'pool size 50 -> 5'], env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^recorded deploy of cart at \S+Z \(id run-77\)\n$/);
    assert.equal((await run(['--url', t.url, 'changes', 'record', '--service', 'cart', '--version', '1.4.2', '--id', 'run-77', '--description', 'pool size 50 -> 5'], env)).code, 0, 'a retried step is fine');
    const l = await run(['--url', t.url, 'changes', 'list', '--service', 'cart', '--since', '1h'], { AIOPS_API_KEY: t.tokens.read });
    assert.equal(l.code, 0, l.err);
    assert.match(l.out, /deploy\s+cart\s+1\.4\.2\s+write-key\s+pool size 50 -> 5/);
    const j = await run(['--url', t.url, '--json', 'changes', 'list'], { AIOPS_API_KEY: t.tokens.read });
    assert.equal(JSON.parse(j.out).changes.length, 1);
    const neither = await run(['--url', t.url, 'changes', 'record', '--version', '1'], env);
    assert.equal(neither.code, 2);
    assert.match(neither.err, /--service <name> or --host <name>/);
    const bad = await run(['--url', t.url, 'changes', 'record', '--service', 'cart', '--at', 'someday'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /400.*body\.at|at/);
    assert.notEqual((await run(['--url', t.url, 'changes', 'list', '--since', 'soon'], env)).code, 0);
  });

  it('says what to do without a key, with a bad key, and when central is unreachable', async () => {
    const none = await run(['--url', t.url, 'alerts', 'list']);
    assert.equal(none.code, 2);
    assert.match(none.err, /AIOPS_API_KEY/);
    const bad = await run(['--url', t.url, 'alerts', 'list'], { AIOPS_API_KEY: 'aiops_k_nope' });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /401/);
    const down = await run(['--url', 'http://127.0.0.1:9', 'alerts', 'list'], { AIOPS_API_KEY: t.tokens.read });
    assert.match(down.err, /cannot reach central/);
  });
});
