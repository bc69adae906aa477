// A real Prometheus Alertmanager (deploy/dev/alertmanager.sh) posting its webhook v4 to
// central's POST /api/v1/alerts/ingest with a write-scoped API key (bearer credentials file):
// firing alerts are stored deduplicated under the key's tenant, resolved ones close them, and
// a webhook without a valid key is refused (Alertmanager retries it; nothing is stored).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { peerReady, startAlertmanager, stopAlertmanager } from '../../../../simulators/alerts/testdata/alertmanager-peer.js';
import type { AlertmanagerPeer, AlertmanagerSettings } from '../../../../simulators/alerts/testdata/alertmanager-peer.js';
import type { Alert } from '../../../../shared-schemas/src/index.js';
import { registerAlertRoutes } from '../../api/index.js';
import { startTestGateway } from '../../gateway/testing/index.js';
import type { TestGateway } from '../../gateway/testing/index.js';
import { openSqliteStores } from '../../storage/index.js';

// Not the simulators' port (19093): the two suites may run at once.
const PORT = 19097;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Alertmanager -> central alerts/ingest (real Alertmanager)', () => {
  const stores = openSqliteStores(':memory:', { now: Date.now });
  let t: TestGateway;
  let dir: string;
  let peer: AlertmanagerPeer = { port: PORT, url: '', failure: 'not started' };
  let settings: AlertmanagerSettings;

  before(async () => {
    t = await startTestGateway({
      keys: stores.apiKeys,
      register: (g) => registerAlertRoutes(g, { alerts: stores.alerts, ingest: { consumeAlerts: async (as: readonly Alert[]) => void (await Promise.all(as.map((a) => stores.alerts.upsert(a, Date.now())))) } }),
    });
    dir = await mkdtemp(join(tmpdir(), 'aiops-am-'));
    const cred = join(dir, 'token');
    await writeFile(cred, t.tokens.write, { mode: 0o600 });
    settings = { port: PORT, webhookUrl: `${t.url}/api/v1/alerts/ingest`, groupBy: ['alertname'], credentialsFile: cred };
    peer = startAlertmanager(settings);
  });
  after(async () => {
    stopAlertmanager(peer, settings);
    await t?.close();
    await stores.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const post = (alerts: unknown[]) => fetch(`${peer.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });

  it('stores firing alerts from the webhook under the key tenant, then resolves them', async (tc) => {
    if (!peerReady(tc, peer)) return;
    const start = new Date(Date.now() - 60_000).toISOString();
    const alerts = [
      { labels: { alertname: 'HighLatency', service: 'checkout', severity: 'page' }, annotations: { summary: 'p99 above 2s' }, startsAt: start },
      { labels: { alertname: 'HighLatency', service: 'cart', severity: 'page' }, annotations: { summary: 'p99 above 2s' }, startsAt: start },
    ];
    const r = await post(alerts);
    assert.equal(r.status, 200, await r.text());
    const firing = await waitFor('both alerts stored as firing', async () => {
      const l = await stores.alerts.list('t1', { status: 'firing' });
      return l.length === 2 ? l : undefined;
    });
    assert.deepEqual(firing.map((a) => a.labels.service).sort(), ['cart', 'checkout']);
    assert.ok(firing.every((a) => a.source.startsWith('api:') && a.fingerprint.length === 16), 'source names the key; Alertmanager fingerprints kept');
    assert.equal(firing[0]!.annotations.summary, 'p99 above 2s');

    const ended = new Date(Date.now() - 1000).toISOString();
    await post(alerts.map((a) => ({ ...a, endsAt: ended })));
    await waitFor('both alerts resolved', async () => {
      const l = await stores.alerts.list('t1', { status: 'resolved' });
      return l.length === 2 ? l : undefined;
    });
    assert.equal((await stores.alerts.list('t1', { status: 'firing' })).length, 0);
  });
});
