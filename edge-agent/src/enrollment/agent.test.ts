// The whole path: an agent config with `agent.enrollment` -> withCredentials (main.ts) enrolls
// with a real central -> the service built with the secret -> the mqtt exporter authenticates
// to a broker that checks agent id + secret against central's agent store -> `DELETE
// /api/v1/agents/{id}` drops the live connection at once and every reconnect is refused.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildRegistry } from '../components.js';
import { parseConfigText, resolveConfig } from '../config/config.js';
import type { FactoryRegistry } from '../config/config.js';
import { withCredentials } from '../main.js';
import { AgentService } from '../service/service.js';
import { fakeReceiverFactory } from '../testing/fake-components.js';
import { SelfMetrics, silentLogger, systemClock } from '../../../shared-schemas/src/runtime/index.js';
import { AgentBroker, startCentral } from './testdata/central.js';

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function registry(): FactoryRegistry {
  const base = buildRegistry();
  return { receivers: new Map([['fake', fakeReceiverFactory({ calls: [] }, new Map())]]), processors: base.processors, exporters: base.exporters };
}

describe('enrolled agent end to end', () => {
  it('enrolls, connects to MQTT as agent id + secret, and is cut off at once when revoked', async () => {
    let broker: AgentBroker | undefined;
    const central = await startCentral({ onRevoke: (id) => broker?.drop(id) });
    broker = new AgentBroker(central.stores, () => central.t.clock.now());
    await broker.start();
    const dir = mkdtempSync(join(tmpdir(), 'aiops-e2e-'));
    let service: AgentService | undefined;
    try {
      const token = await central.token({ tenant: 'shop' });
      const doc = parseConfigText(`
agent: { id: e2e-1, data_dir: ${JSON.stringify(join(dir, 'data'))}, enrollment: { url: "${central.url}", token: "\${env:AIOPS_ENROLLMENT_TOKEN:-}" } }
telemetry: { listen: null }
receivers: { fake: {} }
exporters: { mqtt: { url: "${broker.url}", retry: { initial_interval: 50ms, max_interval: 200ms }, connect_timeout: 2s } }
pipelines: { metrics: { receivers: [fake], exporters: [mqtt] } }
`);
      const resolved = resolveConfig(doc, registry(), { AIOPS_ENROLLMENT_TOKEN: token });
      assert.equal(resolved.agent.tenant, 'default', 'the config leaves the tenant unset');
      const { cfg, agentSecret } = await withCredentials(resolved, silentLogger());
      assert.equal(cfg.agent.tenant, 'shop', 'the enrolled tenant is taken');
      assert.match(agentSecret ?? '', /^aiops_a_/);

      const metrics = new SelfMetrics();
      service = new AgentService(cfg, { logger: silentLogger(), metrics, clock: systemClock, agentSecret: agentSecret! });
      await service.start();
      await until(() => broker!.authenticated.includes('e2e-1'), 'the exporter authenticated with the enrolled credentials');
      assert.deepEqual(broker.refused, []);

      assert.equal(await central.revoke('e2e-1'), 204);
      await until(() => broker!.refused.some((r) => r.clientId === 'e2e-1' && r.username === 'e2e-1'), 'the dropped agent reconnects and is refused');
      assert.equal(broker.authenticated.filter((id) => id === 'e2e-1').length, 1, 'never let in again');

      // A restart uses the stored credentials, without a token; they are revoked, so the broker
      // keeps refusing (enrollment itself does not call central again).
      const restarted = await withCredentials(resolveConfig(doc, registry(), {}), silentLogger());
      assert.equal(restarted.agentSecret, agentSecret);
      assert.equal(await central.stores.agents.verify('e2e-1', agentSecret!, central.t.clock.now()), undefined);
    } finally {
      await service?.shutdown();
      await broker.stop();
      await central.close();
    }
  });
});
