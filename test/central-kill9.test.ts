// Central as an operator runs it (aiops-central, its own process, SQLite in its data folder):
// everything it answered 2xx for survives `kill -9` mid-stream, and a restart on the same
// folder serves it (WAL + synchronous writes before the answer).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStores } from '../central/src/storage/index.js';
import { centralDatabasePath } from '../central/src/service/paths.js';
import { freePort } from '../edge-agent/src/testing/index.js';

const root = new URL('..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('aiops-central under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'central-kill9-'));
  let child: ChildProcess | undefined;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function startCentral(port: number): Promise<ChildProcess> {
    const env = {
      ...process.env,
      AIOPS_CENTRAL__DATA_DIR: join(dir, 'data'),
      AIOPS_CENTRAL__LOG_LEVEL: 'warn',
      AIOPS_CENTRAL__API__LISTEN: `127.0.0.1:${port}`,
      AIOPS_CENTRAL__API__RATE_PER_SECOND: '10000',
      AIOPS_CENTRAL__API__BURST: '10000',
      AIOPS_CENTRAL__MQTT__LISTEN: `127.0.0.1:${await freePort()}`,
      AIOPS_CENTRAL__GRPC__LISTEN: `127.0.0.1:${await freePort()}`,
    };
    const c = spawn(process.execPath, ['--import', 'tsx', join(root, 'central/src/cli/central-cli.ts')], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
    const until = Date.now() + 60_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`central exited with ${c.exitCode} before it was ready`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return c;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error('central not ready within 60 s');
      await sleep(200);
    }
  }

  it('keeps every acknowledged write after SIGKILL during a stream of writes', async () => {
    // The first admin key comes from the database, as `aiops keys create` does it.
    const stores = openSqliteStores(centralDatabasePath(join(dir, 'data')), { now: Date.now });
    const { token } = await stores.apiKeys.create({ name: 'test', tenant: 'default', scopes: ['admin'] }, Date.now());
    await stores.close();
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    child = await startCentral(port);

    const T0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
    const acked: number[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await fetch(`${api}/api/v1/metrics/write`, { method: 'POST', headers: auth, body: JSON.stringify({ series: [{ labels: { __name__: 'kill9_probe', host: 'a' }, samples: [[T0 + i * 100, i]] }] }) });
          if (r.status === 200) acked.push(i);
        } catch {
          return; // central is gone
        }
      }
    })();
    const alert = await fetch(`${api}/api/v1/alerts/ingest`, { method: 'POST', headers: auth, body: JSON.stringify({ alerts: [{ labels: { alertname: 'Kill9Probe', service: 'cart' } }] }) });
    assert.equal(alert.status, 200);
    while (acked.length < 200) await sleep(10);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    stop = true;
    await writer;
    const n = acked.length;

    child = await startCentral(port);
    const q = await fetch(`${api}/api/v1/metrics/query?selector=kill9_probe&start=${T0}&end=${T0 + 10_000_000}&resolution=raw`, { headers: auth });
    const body = (await q.json()) as { series: Array<{ values: number[] }> };
    const stored = new Set(body.series[0]?.values ?? []);
    const lost = acked.filter((i) => !stored.has(i));
    assert.deepEqual(lost, [], `${lost.length} of ${n} acknowledged writes lost after kill -9`);
    const alerts = (await (await fetch(`${api}/api/v1/alerts?label=alertname%3DKill9Probe`, { headers: auth })).json()) as { alerts: unknown[] };
    assert.equal(alerts.alerts.length, 1);
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  });
});
