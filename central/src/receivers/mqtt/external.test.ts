// External mode against a real Mosquitto (deploy/dev/mosquitto.sh, private instance): the
// real agent exporter publishes to Mosquitto, central's persistent-session subscription stores
// every frame once, PUBACKs to Mosquitto only once stored, and the session keeps what arrives
// while central is down. Skipped loudly without Mosquitto, failed under CI=true.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { metricValue } from '../../../../edge-agent/src/testing/index.js';
import type { ConfigMessage } from '../../../../edge-agent/src/exporters/mqtt/index.js';
import { Central, Flaky, makeAgent, makeWindow, seqs, StoredFrames, until } from './testdata/harness.js';
import type { CentralOptions } from './testdata/harness.js';
import { startMosquitto } from './testdata/mosquitto.js';
import type { Mosquitto } from './testdata/mosquitto.js';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('mqtt ingest: external mode against Mosquitto', () => {
  let mq: Mosquitto | undefined;
  before(async () => {
    mq = await startMosquitto();
  });
  after(() => {
    if (mq?.ok) mq.script('stop');
  });
  const skip = (t: TestContext) => {
    if (!mq?.ok) t.skip(mq?.reason ?? 'mosquitto not started');
    return !mq?.ok;
  };

  const central = (clientId: string, opts: CentralOptions = {}) =>
    new Central({
      ...opts,
      config: {
        mode: 'external',
        external: { url: mq!.url, username: 'central', password: mq!.centralPassword, client_id: clientId, reconnect: { initial_interval: '100ms', max_interval: '500ms' } },
      },
    });
  const agent = (agentId: string, config: Record<string, unknown> = {}) => makeAgent({ port: mq!.port, agentId, username: 'agent-1', password: mq!.agentPassword, config });

  it('an agent publishes to Mosquitto; central\'s subscription stores every frame once and pushes retained config', async (t) => {
    if (skip(t)) return;
    const c = central(`central-${process.pid}-a`);
    await c.ingest.start();
    await until(() => c.ingest.externalConnected, 'central subscribed');
    const id = `ext-a-${process.pid}`;
    await c.ingest.pushConfig('acme', id, Buffer.from('{"v":1}'));
    const { s, e } = agent(id);
    const got: ConfigMessage[] = [];
    e.onConfig((m) => got.push(m));
    await e.start();
    for (let i = 0; i < 20; i++) await e.consumeWindow(makeWindow(id, i));
    await until(() => c.stored.of(id).length === 20 && e.frames.buffer.size === 0, '20 frames through Mosquitto');
    assert.deepEqual(sorted(c.stored.of(id)), seqs(20));
    assert.deepEqual(sorted(await c.storedWindows(id)), seqs(20, 0));
    await until(async () => (await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'ok' })) === 20, '20 counted ok');
    assert.equal(await metricValue(s, 'aiops_agent_exporter_frames_acked_total'), 20);
    await until(() => got.length === 1, 'retained config through Mosquitto');
    assert.equal(got[0]!.payload.toString(), '{"v":1}');
    await until(async () => (await c.metric('aiops_central_mqtt_messages_total', { kind: 'heartbeat', result: 'ok' })) >= 1, 'heartbeats arrive');
    await c.ingest.pushConfig('acme', id, Buffer.alloc(0));
    await e.shutdown();
    await c.stop();
  });

  it('central down while the agent publishes: Mosquitto keeps central\'s session; every (standalone) frame stored once after the restart', async (t) => {
    if (skip(t)) return;
    const clientId = `central-${process.pid}-b`;
    const path = join(mkdtempSync(join(tmpdir(), 'aiops-central-ext-')), 'central.sqlite');
    const stored = new StoredFrames();
    const id = `ext-b-${process.pid}`;
    const c1 = central(clientId, { path, stored });
    await c1.ingest.start();
    await until(() => c1.ingest.externalConnected, 'central subscribed');
    const { e } = agent(id, { wire_dictionary: 'standalone' });
    await e.start();
    for (let i = 0; i < 5; i++) await e.consumeWindow(makeWindow(id, i));
    await until(() => stored.of(id).length === 5, 'first frames');
    await c1.stop();
    // Mosquitto acknowledges these to the agent and queues them for central's session.
    for (let i = 5; i < 15; i++) await e.consumeWindow(makeWindow(id, i));
    await until(() => e.frames.buffer.size === 0, 'the broker took every frame while central was down');
    assert.equal(stored.of(id).length, 5);
    const c2 = central(clientId, { path, stored });
    await c2.ingest.start();
    await until(() => new Set(stored.of(id)).size === 15, 'the queued frames arrive after the restart');
    assert.deepEqual(sorted(stored.of(id)), seqs(15));
    assert.deepEqual(sorted(await c2.storedWindows(id)), seqs(15, 0));
    await e.shutdown();
    await c2.stop();
  });

  it('a failing store withholds central\'s PUBACK: Mosquitto redelivers, every frame stored once', async (t) => {
    if (skip(t)) return;
    let flaky: Flaky | undefined;
    const c = central(`central-${process.pid}-c`, { wrap: (sink) => (flaky = new Flaky(sink, 2)) });
    await c.ingest.start();
    await until(() => c.ingest.externalConnected, 'central subscribed');
    const id = `ext-c-${process.pid}`;
    const { e } = agent(id, { wire_dictionary: 'standalone' });
    await e.start();
    for (let i = 0; i < 8; i++) await e.consumeWindow(makeWindow(id, i));
    await until(() => c.stored.of(id).length === 8, 'all 8 frames after redelivery');
    assert.equal(flaky!.failures, 2);
    assert.deepEqual(sorted(c.stored.of(id)), seqs(8));
    assert.ok((await c.metric('aiops_central_mqtt_disconnects_total', { reason: 'retry' })) >= 1);
    // The redelivered messages may be stored before the SUBACK of the new connection is counted.
    await until(async () => (await c.metric('aiops_central_mqtt_external_connects_total', { result: 'success' })) >= 2, 'central reconnected to get the redelivery');
    await e.shutdown();
    await c.stop();
  });

  it('messages of a revoked agent are dropped; other agents go on', async (t) => {
    if (skip(t)) return;
    const c = central(`central-${process.pid}-d`);
    await c.ingest.start();
    await until(() => c.ingest.externalConnected, 'central subscribed');
    const bad = `ext-d1-${process.pid}`;
    const good = `ext-d2-${process.pid}`;
    assert.equal(c.ingest.revokeAgent(bad), false, 'no connection central could close');
    const a = agent(bad);
    const b = agent(good);
    await a.e.start();
    await b.e.start();
    for (let i = 0; i < 3; i++) {
      await a.e.consumeWindow(makeWindow(bad, i));
      await b.e.consumeWindow(makeWindow(good, i));
    }
    await until(() => c.stored.of(good).length === 3, 'the good agent');
    await until(async () => (await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'revoked' })) === 3, 'the revoked agent\'s frames dropped');
    assert.deepEqual(c.stored.of(bad), []);
    await a.e.shutdown();
    await b.e.shutdown();
    await c.stop();
  });
});
