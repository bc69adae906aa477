// mqtt exporter against an in-process aedes broker (central's embedded broker in the default
// deployment): authentication, ACL on topics, persistent session, TLS with a client
// certificate, retained config, broker loss and return.
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { before, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { decodeEnvelope, decodeHeartbeat, PayloadKind } from '../../../../shared-schemas/src/index.js';
import { metricValue, runLifecycleContract, testSettings, until as sharedUntil } from '../../testing/index.js';
import { makeTestPki } from '../internal/testdata/certs.js';
import type { TestPki } from '../internal/testdata/certs.js';
import { makeWindow } from '../internal/testdata/windows.js';
import { mqttExporterConfigSchema, mqttExporterFactory, MqttExporter, mqttTopics } from './index.js';
import type { ConfigMessage, MqttExporterConfig } from './index.js';
import { TestBroker } from './testdata/aedes-broker.js';

const USERS = { 'agent-1': 'agent-secret-value' };

function cfg(over: Record<string, unknown>): MqttExporterConfig {
  return mqttExporterConfigSchema.parse({ retry: { initial_interval: '100ms', max_interval: '500ms' }, connect_timeout: '3s', ...over });
}

const until = (pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> => sharedUntil(pred, what, timeoutMs);

const seqs = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

describe('mqtt exporter config', () => {
  it('applies defaults', () => {
    const c = mqttExporterConfigSchema.parse({ url: 'mqtt://127.0.0.1:1883' });
    assert.equal(c.protocol_version, 4);
    assert.equal(c.topic_prefix, 'aiops/v1');
    assert.equal(c.keepalive, 30_000);
    assert.equal(c.wire_dictionary, 'stream');
    assert.equal(c.buffer.flush_interval, 1000);
    assert.equal(c.tls.insecure_skip_verify, false);
  });

  it('refuses credentials in the URL, other schemes, TLS options on mqtt://, a password without a user', () => {
    const bad = (v: Record<string, unknown>, path: string, msg: RegExp) => {
      const r = mqttExporterConfigSchema.safeParse(v);
      assert.equal(r.success, false, JSON.stringify(v));
      assert.ok(r.error!.issues.some((i) => i.path.join('.') === path && msg.test(i.message)), `${path}: ${JSON.stringify(r.error!.issues)}`);
    };
    bad({ url: 'mqtt://user:pw@broker:1883' }, 'url', /credentials/);
    bad({ url: 'http://broker' }, 'url', /mqtt:\/\//);
    bad({ url: 'mqtt://broker:1883', tls: { ca_file: '/ca.pem' } }, 'tls', /mqtts/);
    bad({ url: 'mqtt://broker:1883', password: 'x' }, 'username', /password needs username/);
    bad({ url: 'mqtt://broker:1883', topic_prefix: 'a/#' }, 'topic_prefix', /wildcards/);
    bad({ url: 'mqtts://broker:8883', tls: { key_file: '/k' } }, 'tls.cert_file', /together/);
  });

  it('builds the topics of ARCHITECTURE section 6', () => {
    assert.deepEqual(mqttTopics('aiops/v1', 'acme', 'web-1'), {
      features: 'aiops/v1/acme/agents/web-1/features',
      heartbeat: 'aiops/v1/acme/agents/web-1/heartbeat',
      config: 'aiops/v1/acme/agents/web-1/config',
    });
  });

  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => mqttExporterFactory.create(testSettings('mqtt'), cfg({ url: 'mqtt://127.0.0.1:1' })));
  });
});

describe('mqtt exporter against aedes', () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });

  it('publishes frames (QoS 1, own topics only) and heartbeats over a persistent session', async () => {
    const broker = new TestBroker({ users: USERS });
    const port = await broker.start();
    const s = testSettings('mqtt');
    const e = new MqttExporter(s, cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: USERS['agent-1'] }));
    await e.start();
    for (let i = 0; i < 25; i++) await e.consumeWindow(makeWindow(i, 12));
    await until(() => broker.recorder.unique.length === 25 && e.frames.buffer.size === 0, '25 frames acknowledged');
    assert.deepEqual(broker.recorder.unique, seqs(25));
    assert.equal(broker.recorder.duplicates, 0);
    assert.deepEqual(broker.deniedPublishes, []);
    assert.deepEqual(broker.connects[0], { clientId: 'test-agent', clean: false, username: 'agent-1' });
    const hb = decodeHeartbeat(decodeEnvelope(broker.heartbeats[0]!, { expectedKind: PayloadKind.Heartbeat }).payload);
    assert.equal(hb.agentId, 'test-agent');
    assert.equal(hb.state, 'ok');
    // Labels cross the connection once: the first frame defines them, later ones do not.
    assert.equal(broker.recorder.frames.get(1)!.frame.seriesDefs.length, 12);
    assert.equal(broker.recorder.frames.get(25)!.frame.seriesDefs.length, 0);
    await e.shutdown();
    assert.equal(await metricValue(s, 'aiops_agent_exporter_frames_acked_total'), 25);
    await broker.stop();
  });

  it('the broker ACL really refuses another agent\'s topic (so the test above can fail)', async () => {
    const broker = new TestBroker({ users: USERS });
    const port = await broker.start();
    const s = testSettings('mqtt');
    s.agent.tenant = 'other-tenant';
    const e = new MqttExporter(s, cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: USERS['agent-1'], max_frame_attempts: 2 }));
    await e.start();
    await e.consumeWindow(makeWindow(0));
    await until(() => broker.deniedPublishes.length >= 1, 'publish outside aiops/v1/test/agents/test-agent/ refused');
    assert.equal(broker.recorder.unique.length, 0);
    assert.ok((await metricValue(s, 'aiops_agent_exporter_config_messages_total', { result: 'subscribe_refused' })) >= 1);
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_dropped_frames_total', { reason: 'attempts_exhausted' })) === 1, 'the refused frame is given up after max_frame_attempts');
    assert.equal(e.frames.buffer.size, 0);
    await e.shutdown();
    await broker.stop();
  });

  it('wrong password: refused, counted, retried at the maximum interval, never logged', async () => {
    const broker = new TestBroker({ users: USERS });
    const port = await broker.start();
    const lines: string[] = [];
    const s = testSettings('mqtt');
    s.logger = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
    const e = new MqttExporter(s, cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: 'wrong-password-xyz' }));
    await e.start();
    await e.consumeWindow(makeWindow(0));
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'failure' })) >= 2, 'refusals counted');
    assert.equal(broker.recorder.unique.length, 0);
    assert.equal(e.frames.buffer.size, 1);
    await e.shutdown();
    const all = lines.join('\n');
    assert.ok(/cannot connect/.test(all) && /CONNACK 4|[Bb]ad username or password/.test(all), all);
    assert.ok(!all.includes('wrong-password-xyz'), 'the password never reaches the logs');
    await broker.stop();
  });

  it('mqtts with a client certificate (mTLS); a wrong CA fails cleanly', async () => {
    const broker = new TestBroker({ tls: { cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey), ca: pki.read(pki.caFile), requestCert: true } });
    const port = await broker.start();
    const e = new MqttExporter(testSettings('mqtt'), cfg({ url: `mqtts://127.0.0.1:${port}`, tls: { ca_file: pki.caFile, cert_file: pki.clientCert, key_file: pki.clientKey, server_name: 'localhost' } }));
    await e.start();
    for (let i = 0; i < 5; i++) await e.consumeWindow(makeWindow(i));
    await until(() => broker.recorder.unique.length === 5, '5 frames over mTLS');
    await e.shutdown();

    const s = testSettings('mqtt');
    const wrong = new MqttExporter(s, cfg({ url: `mqtts://127.0.0.1:${port}`, tls: { ca_file: pki.otherCaFile, cert_file: pki.clientCert, key_file: pki.clientKey, server_name: 'localhost' } }));
    await wrong.start();
    await wrong.consumeWindow(makeWindow(10));
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'retryable' })) >= 2, 'TLS failures counted');
    assert.equal(broker.recorder.unique.length, 5);
    await wrong.shutdown();
    await broker.stop();
  });

  it('receives the retained config, and drops an oversized one (counted)', async () => {
    const broker = new TestBroker({ users: USERS });
    const port = await broker.start();
    const topic = 'aiops/v1/test/agents/test-agent/config';
    await broker.publishRetained(topic, Buffer.from('{"detection":{"enabled":true}}'));
    const s = testSettings('mqtt');
    const e = new MqttExporter(s, cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: USERS['agent-1'], max_config_bytes: '1KiB' }));
    const got: ConfigMessage[] = [];
    e.onConfig((m) => got.push(m));
    e.onConfig(() => {
      throw new Error('a broken listener does not stop the others');
    });
    await e.start();
    await until(() => got.length === 1, 'retained config delivered');
    assert.equal(got[0]!.payload.toString(), '{"detection":{"enabled":true}}');
    assert.equal(got[0]!.retained, true);
    await broker.publishRetained(topic, Buffer.alloc(4096, 0x7b));
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_config_messages_total', { result: 'too_large' })) === 1, 'oversized config counted');
    assert.equal(got.length, 1);
    assert.equal(await metricValue(s, 'aiops_agent_exporter_config_messages_total', { result: 'listener_error' }), 1);
    await e.shutdown();
    await broker.stop();
  });

  it('a retained config in the same TCP segment as the SUBACK is not lost (a coalescing proxy in front of aedes)', async (t) => {
    // mqtt.js runs the subscribe callback after the packets that share the SUBACK's segment;
    // the exporter once attached its config listener there, and mqtt.js acknowledged the
    // retained config to nobody (seen through Mosquitto under load). The proxy delivers the
    // broker's bytes in 100 ms batches so the SUBACK and the retained PUBLISH arrive together.
    const broker = new TestBroker({ users: USERS });
    const brokerPort = await broker.start();
    const topic = 'aiops/v1/test/agents/test-agent/config';
    await broker.publishRetained(topic, Buffer.from('{"v":1}'));
    const sockets = new Set<Socket>();
    const proxy = createServer((down) => {
      const up = connect(brokerPort, '127.0.0.1');
      sockets.add(down).add(up);
      let pending: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      up.on('data', (b: Buffer) => {
        pending.push(b);
        timer ??= setTimeout(() => {
          timer = undefined;
          const chunk = Buffer.concat(pending);
          pending = [];
          if (!down.destroyed) down.write(chunk);
        }, 100);
      });
      down.pipe(up);
      const close = () => {
        clearTimeout(timer);
        up.destroy();
        down.destroy();
      };
      up.on('close', close).on('error', close);
      down.on('close', close).on('error', close);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as AddressInfo).port;
    const s = testSettings('mqtt');
    const e = new MqttExporter(s, cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: USERS['agent-1'] }));
    t.after(async () => {
      await e.shutdown();
      for (const x of sockets) x.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
      await broker.stop();
    });
    const got: ConfigMessage[] = [];
    e.onConfig((m) => got.push(m));
    await e.start();
    await e.consumeWindow(makeWindow(1));
    await until(() => broker.recorder.unique.length === 1, 'a frame through the proxy (connected and subscribed)');
    await until(() => got.length === 1, 'retained config delivered with the SUBACK');
    assert.equal(got[0]!.payload.toString(), '{"v":1}');
    assert.equal(await metricValue(s, 'aiops_agent_exporter_config_messages_total', { result: 'accepted' }), 1);
  });

  it('broker gone and back: resends what was not acknowledged, in order, new dictionary epoch', async () => {
    const broker = new TestBroker({ users: USERS });
    const port = await broker.start();
    const s = testSettings('mqtt');
    const e = new MqttExporter(s, cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: USERS['agent-1'] }));
    await e.start();
    for (let i = 0; i < 5; i++) await e.consumeWindow(makeWindow(i));
    await until(() => broker.recorder.unique.length === 5, 'first frames');
    await broker.unlisten();
    for (let i = 5; i < 15; i++) await e.consumeWindow(makeWindow(i));
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connected')) === 0, 'disconnected');
    assert.ok(e.frames.buffer.size >= 10);
    await broker.listen(port);
    await until(() => broker.recorder.unique.length === 15 && e.frames.buffer.size === 0, 'all 15 after the broker returned');
    assert.deepEqual(broker.recorder.unique, seqs(15));
    assert.equal(broker.recorder.scopes[5], 'reset');
    assert.ok(broker.connects.length >= 2 && broker.connects.every((c) => !c.clean));
    await e.shutdown();
    await broker.stop();
  });

  it('standalone wire frames and periodic dictionary resets (no reconnect) both decode at central', async () => {
    const broker = new TestBroker({ users: USERS });
    const port = await broker.start();
    const a = new MqttExporter(testSettings('mqtt'), cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: USERS['agent-1'], wire_dictionary: 'standalone' }));
    await a.start();
    for (let i = 0; i < 3; i++) await a.consumeWindow(makeWindow(i));
    await until(() => broker.recorder.unique.length === 3, 'standalone frames');
    assert.deepEqual(broker.recorder.scopes, ['standalone', 'standalone', 'standalone']);
    await a.shutdown();
    const b = new MqttExporter(testSettings('mqtt'), cfg({ url: `mqtt://127.0.0.1:${port}`, username: 'agent-1', password: USERS['agent-1'], dictionary_reset_interval: '200ms' }));
    await b.start();
    await until(async () => b.frames.sender.connected, 'connected');
    const connectsBefore = broker.connects.length;
    for (let i = 0; i < 8; i++) {
      await b.consumeWindow(makeWindow(i));
      await new Promise((r) => setTimeout(r, 100));
    }
    await until(() => broker.recorder.scopes.length === 11, 'eight more frames');
    const scopes = broker.recorder.scopes.slice(3);
    assert.ok(scopes.filter((x) => x === 'reset').length >= 2, `new epochs on one connection: ${scopes.join(',')}`);
    assert.equal(broker.connects.length, connectsBefore, 'no reconnect needed for a dictionary reset');
    await b.shutdown();
    await broker.stop();
  });
});

describe('mqtt exporter: enrolled agent credentials', () => {
  const SECRET = `aiops_a_${'S'.repeat(43)}`;

  /** aedes whose authenticate hook records what each client presented and accepts only `accept`. */
  async function recordingBroker(accept: { username: string; password: string }) {
    const seen: Array<{ clientId: string; username: string | undefined; password: string | undefined }> = [];
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        seen.push({ clientId: client.id, username, password: password?.toString() });
        if (username === accept.username && password?.toString() === accept.password) return done(null, true);
        return done(Object.assign(new Error('bad username or password'), { returnCode: 4 as const }), null);
      },
    });
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      broker.handle(sock);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    return {
      seen,
      url: `mqtt://127.0.0.1:${port}`,
      stop: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => server.close(() => r()));
        await new Promise<void>((r) => broker.close(() => r()));
      },
    };
  }

  it('presents username = agent id and password = secret when the config names no username', async () => {
    const b = await recordingBroker({ username: 'test-agent', password: SECRET });
    const s = testSettings('mqtt');
    s.agent.secret = SECRET;
    const e = new MqttExporter(s, cfg({ url: b.url }));
    await e.start();
    await e.consumeWindow(makeWindow(0));
    await until(() => e.frames.buffer.size === 0, 'the frame acknowledged by a broker that checked the credentials');
    assert.deepEqual(b.seen[0], { clientId: 'test-agent', username: 'test-agent', password: SECRET });
    await e.shutdown();
    await b.stop();
  });

  it('a configured username (and password) wins over the enrolled secret', async () => {
    const b = await recordingBroker({ username: 'svc', password: 'svc-pass' });
    const s = testSettings('mqtt');
    s.agent.secret = SECRET;
    const e = new MqttExporter(s, cfg({ url: b.url, username: 'svc', password: 'svc-pass' }));
    await e.start();
    await e.consumeWindow(makeWindow(0));
    await until(() => e.frames.buffer.size === 0, 'acknowledged');
    assert.deepEqual(b.seen[0], { clientId: 'test-agent', username: 'svc', password: 'svc-pass' });
    await e.shutdown();
    await b.stop();
  });

  it('without a secret nor a username, no credentials are sent (and such a broker refuses)', async () => {
    const b = await recordingBroker({ username: 'test-agent', password: SECRET });
    const s = testSettings('mqtt');
    const e = new MqttExporter(s, cfg({ url: b.url }));
    await e.start();
    await e.consumeWindow(makeWindow(0));
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'failure' })) >= 1, 'refused');
    assert.deepEqual(b.seen[0], { clientId: 'test-agent', username: undefined, password: undefined });
    assert.equal(e.frames.buffer.size, 1);
    await e.shutdown();
    await b.stop();
  });
});
