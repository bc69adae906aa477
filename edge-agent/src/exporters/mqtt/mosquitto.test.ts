// mqtt exporter against a real Mosquitto (Debian package) started by deploy/dev/mosquitto.sh:
// password file, ACL by client id, persistent sessions; and the outage test (the
// broker down for a minute). Skipped with a loud message when the script fails, failed under CI=true.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { metricValue, testSettings } from '../../testing/index.js';
import { OUTAGE_MS, runOutage } from '../internal/testdata/outage.js';
import { devScript, startPeer } from '../internal/testdata/real-peer.js';
import type { Peer } from '../internal/testdata/real-peer.js';
import { makeWindow } from '../internal/testdata/windows.js';
import { mqttExporterConfigSchema, MqttExporter } from './index.js';
import type { ConfigMessage } from './index.js';
import { MqttCentral } from './testdata/mqtt-central.js';

const PORT = Number(process.env['MOSQUITTO_PORT'] ?? 11883);
const URL_ = `mqtt://127.0.0.1:${PORT}`;
const AGENT_PASSWORD = process.env['MOSQUITTO_AGENT_PASSWORD'] ?? 'agent-secret';
const CENTRAL_PASSWORD = process.env['MOSQUITTO_CENTRAL_PASSWORD'] ?? 'central-secret';

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function exporterFor(agentId: string, over: Record<string, unknown> = {}) {
  const s = testSettings('mqtt');
  s.agent.agentId = agentId;
  const e = new MqttExporter(
    s,
    mqttExporterConfigSchema.parse({ url: URL_, username: 'agent-1', password: AGENT_PASSWORD, retry: { initial_interval: '200ms', max_interval: '2s' }, ...over }),
  );
  return { s, e };
}

describe('mqtt exporter against Mosquitto', () => {
  let peer: Peer = { ok: false, reason: 'not started' };
  before(() => {
    peer = startPeer('mosquitto');
  });
  after(() => {
    if (peer.ok) devScript('mosquitto', 'stop');
  });
  const skip = (t: TestContext) => {
    if (!peer.ok) t.skip(peer.reason);
    return !peer.ok;
  };

  it('delivers frames in order to a persistent-session subscriber; the ACL lets the agent publish under its own id', async (t) => {
    if (skip(t)) return;
    const central = new MqttCentral();
    await central.connect(URL_, 'central', CENTRAL_PASSWORD, `central-${process.pid}-a`);
    const { s, e } = exporterFor(`agent-a-${process.pid}`);
    await e.start();
    for (let i = 0; i < 30; i++) await e.consumeWindow(makeWindow(i, 25));
    await until(() => central.recorder.unique.length === 30 && e.frames.buffer.size === 0, '30 frames through Mosquitto');
    assert.deepEqual(central.recorder.unique, Array.from({ length: 30 }, (_, i) => i + 1));
    assert.equal(central.recorder.decodeErrors, 0);
    assert.equal(await metricValue(s, 'aiops_agent_exporter_frames_acked_total'), 30);
    await e.shutdown();
    await central.close();
  });

  it('receives the retained config central pushed before the agent connected', async (t) => {
    if (skip(t)) return;
    const agentId = `agent-c-${process.pid}`;
    const central = new MqttCentral();
    await central.connect(URL_, 'central', CENTRAL_PASSWORD, `central-${process.pid}-c`);
    await central.publishRetained(`aiops/v1/test/agents/${agentId}/config`, Buffer.from('{"v":1}'));
    const { e } = exporterFor(agentId);
    const got: ConfigMessage[] = [];
    e.onConfig((m) => got.push(m));
    await e.start();
    await until(() => got.length === 1, 'retained config');
    assert.equal(got[0]!.payload.toString(), '{"v":1}');
    await central.publishRetained(`aiops/v1/test/agents/${agentId}/config`, Buffer.alloc(0));
    await e.shutdown();
    await central.close();
  });

  it('wrong password: refused by Mosquitto, counted, no crash, frames kept', async (t) => {
    if (skip(t)) return;
    const { s, e } = exporterFor(`agent-p-${process.pid}`, { password: 'not-the-password' });
    await e.start();
    await e.consumeWindow(makeWindow(0));
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'failure' })) >= 1, 'refusal counted');
    assert.equal(e.frames.buffer.size, 1);
    await e.shutdown();
  });

  it('Mosquitto down for a minute: every frame produced meanwhile arrives, in order, once after dedup', { timeout: OUTAGE_MS + 240_000 }, async (t) => {
    if (skip(t)) return;
    const central = new MqttCentral();
    await central.connect(URL_, 'central', CENTRAL_PASSWORD, `central-${process.pid}-outage`);
    const { s, e } = exporterFor(`agent-o-${process.pid}`, { retry: { initial_interval: '500ms', max_interval: '5s' } });
    await e.start();
    const r = await runOutage({
      exporter: e,
      buffer: e.frames.buffer,
      recorder: () => central.recorder,
      stopCentral: async () => {
        assert.ok(devScript('mosquitto', 'stop'), 'mosquitto stops');
      },
      startCentral: async () => {
        assert.ok(devScript('mosquitto', 'start'), 'mosquitto starts again');
      },
      log: (m) => process.stderr.write(`[mqtt outage] ${m}\n`),
    });
    process.stderr.write(`[mqtt outage] ${r.produced} frames delivered, ${r.duplicates} duplicates removed by sequence\n`);
    assert.ok((await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'retryable' })) >= 2);
    await e.shutdown();
    await central.close();
  });
});
