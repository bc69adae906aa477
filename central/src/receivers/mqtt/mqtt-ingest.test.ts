// The MQTT ingest in embedded mode, end to end: real edge agent exporters (MqttExporter, the
// agent's store-and-forward buffer included) -> the embedded aedes broker -> FrameIngest ->
// FeatureSink -> SQLite. Raw mqtt.js clients play the agents that misbehave.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { encodeAlertBatch, encodeEnvelope, encodeHeartbeat, PayloadKind } from '../../../../shared-schemas/src/index.js';
import type { Alert } from '../../../../shared-schemas/src/index.js';
import { metricValue } from '../../../../edge-agent/src/testing/index.js';
import type { ConfigMessage } from '../../../../edge-agent/src/exporters/mqtt/index.js';
import { MqttIngest, MqttIngestError, mqttIngestConfigSchema, mqttIngestFactory } from './index.js';
import { Central, closed, Flaky, frameBytes, makeAgent, makeWindow, rawConnect, seqs, StoredFrames, subackCodes, until } from './testdata/harness.js';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('mqtt ingest: lifecycle', () => {
  it('create/shutdown, create/start/shutdown, idempotent, in every mode', async () => {
    for (const config of [{ mode: 'embedded', listen: '127.0.0.1:0' }, { mode: 'off' }, { mode: 'external', external: { url: 'mqtt://127.0.0.1:1', reconnect: { initial_interval: '50ms', max_interval: '100ms' } } }]) {
      const make = () => {
        const c = new Central({ config: config as never });
        return c;
      };
      const a = make();
      await a.ingest.shutdown();
      await a.ingest.shutdown();
      await a.stores.close();
      const b = make();
      await b.ingest.start();
      await b.ingest.start();
      await b.ingest.shutdown();
      await b.ingest.shutdown();
      await b.stores.close();
    }
    assert.equal(mqttIngestFactory.type, 'mqtt');
    assert.equal(mqttIngestFactory.configSchema, mqttIngestConfigSchema);
  });

  it('refuses to push config or revoke before start, names the problem', async () => {
    const c = new Central();
    await assert.rejects(c.ingest.pushConfig('acme', 'a-1', Buffer.from('{}')), (e: unknown) => e instanceof MqttIngestError && e.code === 'NOT_RUNNING' && e.retryable);
    assert.equal(c.ingest.revokeAgent('a-1'), false);
    await c.stop();
  });

  it('a taken port fails start with LISTEN', async () => {
    const a = new Central();
    const port = await a.start();
    const b = new Central({ config: { listen: `127.0.0.1:${port}` } });
    await assert.rejects(b.ingest.start(), (e: unknown) => e instanceof MqttIngestError && e.code === 'LISTEN' && /127\.0\.0\.1/.test(e.message));
    await b.stop();
    await a.stop();
  });
});

describe('mqtt ingest: embedded broker with real agents', () => {
  it('stores every frame of several agents exactly once; heartbeats mark agents seen', async () => {
    const c = new Central();
    const port = await c.start();
    const agents = await Promise.all(
      ['edge-a', 'edge-b'].map(async (id) => {
        const secret = await c.enroll(id);
        return { id, ...makeAgent({ port, agentId: id, username: id, password: secret }) };
      }),
    );
    for (const a of agents) await a.e.start();
    for (let i = 0; i < 20; i++) for (const a of agents) await a.e.consumeWindow(makeWindow(a.id, i));
    await until(() => agents.every((a) => c.stored.of(a.id).length === 20 && a.e.frames.buffer.size === 0), '20 frames of each agent stored and acknowledged');
    for (const a of agents) {
      assert.deepEqual(sorted(c.stored.of(a.id)), seqs(20), `${a.id}: each sequence stored once`);
      assert.deepEqual(sorted(await c.storedWindows(a.id)), seqs(20, 0), `${a.id}: one stored window per frame`);
      assert.equal(await metricValue(a.s, 'aiops_agent_exporter_frames_acked_total'), 20);
    }
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'ok' }), 40);
    assert.equal(await c.metric('aiops_central_feature_frames_duplicate_total'), 0);
    assert.equal(await c.metric('aiops_central_mqtt_auth_failures_total'), 0);
    assert.equal(c.ingest.connectedAgents, 2);
    await until(async () => (await c.stores.agents.list()).every((r) => r.lastSeenAtMs > 0), 'heartbeats recorded');
    assert.ok((await c.metric('aiops_central_mqtt_messages_total', { kind: 'heartbeat', result: 'ok' })) >= 2);
    for (const a of agents) await a.e.shutdown();
    await c.stop();
  });

  it('withholds the PUBACK while the store fails: the agent resends, every frame stored once', async () => {
    let flaky: Flaky | undefined;
    const c = new Central({ wrap: (sink) => (flaky = new Flaky(sink, 3)) });
    const port = await c.start();
    const secret = await c.enroll('edge-r');
    const { s, e } = makeAgent({ port, agentId: 'edge-r', username: 'edge-r', password: secret });
    await e.start();
    for (let i = 0; i < 10; i++) await e.consumeWindow(makeWindow('edge-r', i));
    await until(() => c.stored.of('edge-r').length === 10 && e.frames.buffer.size === 0, 'all 10 frames stored after the store recovered');
    assert.equal(flaky!.failures, 3);
    assert.deepEqual(sorted(c.stored.of('edge-r')), seqs(10));
    assert.ok((await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'retry' })) >= 1);
    assert.ok((await c.metric('aiops_central_mqtt_disconnects_total', { reason: 'retry' })) >= 1);
    // The agent saw lost connections (not acknowledgements) and resent from its buffer.
    assert.ok((await metricValue(s, 'aiops_agent_exporter_disconnects_total', { reason: 'closed' })) >= 1);
    assert.equal(await metricValue(s, 'aiops_agent_exporter_frames_acked_total'), 10);
    assert.equal(await metricValue(s, 'aiops_agent_exporter_dropped_frames_total'), 0);
    await e.shutdown();
    await c.stop();
  });

  it('refuses wrong password, unknown agent, client id mismatch, no credentials (CONNACK 5, counted, secret never logged); others keep sending', async () => {
    const c = new Central();
    const port = await c.start();
    const secret = await c.enroll('edge-ok');
    const ok = makeAgent({ port, agentId: 'edge-ok', username: 'edge-ok', password: secret });
    await ok.e.start();
    const wrongSecret = `aiops_a_${'W'.repeat(43)}`;

    const refused = async (opts: Parameters<typeof rawConnect>[1]) => (await rawConnect(port, opts)).refused;
    assert.equal(await refused({ clientId: 'edge-ok', username: 'edge-ok', password: wrongSecret }), 5);
    assert.equal(await refused({ clientId: 'ghost', username: 'ghost', password: secret }), 5);
    assert.equal(await refused({ clientId: 'not-edge-ok', username: 'edge-ok', password: secret }), 5);
    assert.equal(await refused({ clientId: 'edge-ok' }), 5);

    // The real exporter with a bad password: refused as permanent (retried at max interval), frames kept.
    const bad = makeAgent({ port, agentId: 'edge-ok-2', username: 'edge-ok-2', password: 'not-a-secret-xyz' });
    await bad.e.start();
    await bad.e.consumeWindow(makeWindow('edge-ok-2', 0));

    for (let i = 0; i < 10; i++) await ok.e.consumeWindow(makeWindow('edge-ok', i));
    await until(() => c.stored.of('edge-ok').length === 10, 'the good agent is unaffected');
    await until(async () => (await metricValue(bad.s, 'aiops_agent_exporter_connects_total', { result: 'failure' })) >= 1, 'the bad agent is refused');
    assert.equal(bad.e.frames.buffer.size, 1);
    assert.deepEqual(c.stored.of('edge-ok-2'), []);

    assert.equal(await c.metric('aiops_central_mqtt_auth_failures_total', { reason: 'bad_secret' }), 1);
    assert.ok((await c.metric('aiops_central_mqtt_auth_failures_total', { reason: 'unknown_agent' })) >= 2, 'ghost and edge-ok-2');
    assert.equal(await c.metric('aiops_central_mqtt_auth_failures_total', { reason: 'client_id_mismatch' }), 1);
    assert.equal(await c.metric('aiops_central_mqtt_auth_failures_total', { reason: 'no_credentials' }), 1);
    const all = c.logs.lines.join('\n');
    assert.ok(/MQTT connection refused/.test(all), 'refusals are logged');
    for (const s of [secret, wrongSecret, 'not-a-secret-xyz']) assert.ok(!all.includes(s), 'no secret in the logs');
    await bad.e.shutdown();
    await ok.e.shutdown();
    await c.stop();
  });

  it('revokeAgent drops the live connection at once; reconnects are refused; other agents unaffected', async () => {
    const c = new Central();
    const port = await c.start();
    const agents = await Promise.all(['edge-rv', 'edge-keep'].map(async (id) => ({ id, ...makeAgent({ port, agentId: id, username: id, password: await c.enroll(id) }) })));
    const [rv, keep] = agents as [(typeof agents)[0], (typeof agents)[0]];
    for (const a of agents) await a.e.start();
    for (let i = 0; i < 5; i++) for (const a of agents) await a.e.consumeWindow(makeWindow(a.id, i));
    await until(() => c.stored.of(rv.id).length === 5 && c.stored.of(keep.id).length === 5 && agents.every((a) => a.e.frames.buffer.size === 0), 'first frames stored and acknowledged');
    assert.equal(c.ingest.connectedAgents, 2);

    assert.equal(await c.stores.agents.revoke(rv.id, Date.now()), true);
    assert.equal(c.ingest.revokeAgent(rv.id), true);
    assert.equal(c.ingest.connectedAgents, 1, 'gone from the live connections synchronously');
    await until(async () => (await metricValue(rv.s, 'aiops_agent_exporter_disconnects_total', { reason: 'closed' })) >= 1, 'the revoked agent sees its connection closed');
    for (let i = 5; i < 8; i++) await rv.e.consumeWindow(makeWindow(rv.id, i));
    for (let i = 5; i < 10; i++) await keep.e.consumeWindow(makeWindow(keep.id, i));
    await until(async () => (await c.metric('aiops_central_mqtt_auth_failures_total', { reason: 'revoked' })) >= 1, 'the reconnect is refused as revoked');
    await until(async () => (await metricValue(rv.s, 'aiops_agent_exporter_connects_total', { result: 'failure' })) >= 1, 'the agent sees a permanent refusal');
    await until(() => c.stored.of(keep.id).length === 10, 'the other agent keeps sending');
    assert.deepEqual(sorted(c.stored.of(rv.id)), seqs(5), 'nothing stored from the revoked agent after revocation');
    assert.equal(rv.e.frames.buffer.size, 3);
    assert.equal(await c.metric('aiops_central_mqtt_disconnects_total', { reason: 'revoked' }), 1);
    assert.equal((await c.stores.audit.list({ action: 'agent.disconnect' })).length, 1);
    assert.equal(c.ingest.revokeAgent(rv.id), false, 'no live connection any more');
    for (const a of agents) await a.e.shutdown();
    await c.stop();
  });

  it('topic ACL: another agent\'s topics, # and another agent\'s config are refused and counted; nothing stored', async () => {
    const c = new Central();
    const port = await c.start();
    const victimSecret = await c.enroll('edge-victim');
    const mSecret = await c.enroll('mallory');
    const otherTenant = await c.enroll('edge-other', 'globex');
    const victim = makeAgent({ port, agentId: 'edge-victim', username: 'edge-victim', password: victimSecret });
    await victim.e.start();
    const victimConfig: ConfigMessage[] = [];
    victim.e.onConfig((m) => victimConfig.push(m));

    const m = await rawConnect(port, { clientId: 'mallory', username: 'mallory', password: mSecret });
    assert.equal(m.refused, undefined);
    const granted = await subackCodes(m.client, ['#', 'aiops/v1/acme/agents/edge-victim/config', 'aiops/v1/+/agents/+/features', 'aiops/v1/acme/agents/mallory/config']);
    assert.deepEqual(granted, [128, 128, 128, 1]);
    assert.equal(await c.metric('aiops_central_mqtt_acl_denied_total', { action: 'subscribe' }), 3);
    assert.ok(m.client.connected, 'a refused subscription keeps the connection');

    // Publishing under another agent's id (a frame claiming to be the victim's): connection closed, no PUBACK.
    const refusedPublish = async (topic: string, payload: Uint8Array) => {
      const r = await rawConnect(port, { clientId: 'mallory', username: 'mallory', password: mSecret });
      let acked = false;
      r.client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => {
        if (!err) acked = true;
      });
      await closed(r.client);
      r.client.end(true);
      return acked;
    };
    m.client.end(true);
    assert.equal(await refusedPublish('aiops/v1/acme/agents/edge-victim/features', frameBytes({ agentId: 'edge-victim' })), false);
    assert.equal(await refusedPublish('aiops/v1/globex/agents/mallory/features', frameBytes({ agentId: 'mallory', tenant: 'globex' })), false);
    assert.equal(await refusedPublish('aiops/v1/acme/agents/mallory/config', Buffer.from('{"evil":true}')), false);
    assert.equal(await refusedPublish('aiops/v1/acme/agents/edge-victim/config', Buffer.from('{"evil":true}')), false);
    assert.equal(await c.metric('aiops_central_mqtt_acl_denied_total', { action: 'publish' }), 4);
    assert.equal(await c.metric('aiops_central_mqtt_disconnects_total', { reason: 'acl' }), 4);

    // An agent of another tenant cannot reach acme's topics either.
    const g = await rawConnect(port, { clientId: 'edge-other', username: 'edge-other', password: otherTenant });
    assert.deepEqual(await subackCodes(g.client, ['aiops/v1/acme/agents/edge-other/config', 'aiops/v1/globex/agents/edge-other/config']), [128, 1]);
    g.client.end(true);

    for (let i = 0; i < 5; i++) await victim.e.consumeWindow(makeWindow('edge-victim', i));
    await until(() => c.stored.of('edge-victim').length === 5, 'the victim is unaffected');
    assert.deepEqual(sorted(c.stored.of('edge-victim')), seqs(5), 'only the victim\'s own frames, each once');
    assert.deepEqual(c.stored.of('mallory'), []);
    assert.deepEqual(victimConfig, [], 'nothing mallory published reached the victim');
    const audit = await c.stores.audit.list({ action: 'mqtt.acl_denied' });
    assert.ok(audit.length >= 4 && audit.every((a) => a.actor === 'mallory' || a.actor === 'edge-other'));
    await victim.e.shutdown();
    await c.stop();
  });

  it('malformed frames are acknowledged, counted and dropped; the connection and other agents go on', async () => {
    const c = new Central();
    const port = await c.start();
    const good = makeAgent({ port, agentId: 'edge-good', username: 'edge-good', password: await c.enroll('edge-good') });
    await good.e.start();
    const bSecret = await c.enroll('edge-broken');
    const b = await rawConnect(port, { clientId: 'edge-broken', username: 'edge-broken', password: bSecret });
    const topic = 'aiops/v1/acme/agents/edge-broken/features';
    const valid = frameBytes({ agentId: 'edge-broken', sequence: 7 });
    for (let i = 0; i < 3; i++) await good.e.consumeWindow(makeWindow('edge-good', i));
    const publish = (t: string, p: Uint8Array) => b.client.publishAsync(t, Buffer.from(p), { qos: 1 });
    await publish(topic, Buffer.from('definitely not a frame'));
    await publish(topic, valid.subarray(0, Math.floor(valid.length / 2)));
    await publish(topic, frameBytes({ agentId: 'edge-good', sequence: 99 }));
    await publish(topic, frameBytes({ agentId: 'edge-broken', tenant: 'globex', sequence: 98 }));
    await publish('aiops/v1/acme/agents/edge-broken/heartbeat', Buffer.from('not a heartbeat'));
    assert.ok(b.client.connected, 'a rejected frame does not cost the connection');
    await publish(topic, valid);
    for (let i = 3; i < 6; i++) await good.e.consumeWindow(makeWindow('edge-good', i));
    await until(() => c.stored.of('edge-good').length === 6, 'the good agent is unaffected');
    assert.deepEqual(c.stored.of('edge-broken'), [7], 'only the valid frame');
    assert.ok(!c.stored.frames.some((f) => f.sequence === 99 || f.sequence === 98), 'the forged frames were routed nowhere');
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'rejected' }), 4);
    assert.equal(await c.metric('aiops_central_frames_refused_total', { reason: 'malformed' }), 2);
    assert.equal(await c.metric('aiops_central_frames_refused_total', { reason: 'wrong_agent' }), 1);
    assert.equal(await c.metric('aiops_central_frames_refused_total', { reason: 'wrong_tenant' }), 1);
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'heartbeat', result: 'malformed' }), 1);
    b.client.end(true);
    await good.e.shutdown();
    await c.stop();
  });

  it('a frame naming series the connection never defined asks for a resync: connection closed, no PUBACK; a new connection (new epoch) is accepted', async () => {
    const c = new Central();
    const port = await c.start();
    const secret = await c.enroll('edge-rsy');
    const r = await rawConnect(port, { clientId: 'edge-rsy', username: 'edge-rsy', password: secret });
    const topic = 'aiops/v1/acme/agents/edge-rsy/features';
    const orphan = frameBytes({ agentId: 'edge-rsy', sequence: 3, dictionaryScope: 'continue', dictionaryEpoch: 42, seriesDefs: [] });
    let acked = false;
    r.client.publish(topic, Buffer.from(orphan), { qos: 1 }, (err) => {
      if (!err) acked = true;
    });
    await closed(r.client);
    r.client.end(true);
    assert.equal(acked, false);
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'resync' }), 1);
    assert.equal(await c.metric('aiops_central_mqtt_disconnects_total', { reason: 'resync' }), 1);
    // What the agent does next: a new connection whose first frame defines its series.
    const r2 = await rawConnect(port, { clientId: 'edge-rsy', username: 'edge-rsy', password: secret });
    await r2.client.publishAsync(topic, Buffer.from(frameBytes({ agentId: 'edge-rsy', sequence: 3, dictionaryScope: 'reset', dictionaryEpoch: 43 })), { qos: 1 });
    assert.deepEqual(c.stored.of('edge-rsy'), [3]);
    r2.client.end(true);
    await c.stop();
  });

  it('oversized payloads close the sender\'s connection (counted); huge ones are cut before buffering', async () => {
    const c = new Central({ config: { max_payload: '64KiB' } });
    const port = await c.start();
    const good = makeAgent({ port, agentId: 'edge-fine', username: 'edge-fine', password: await c.enroll('edge-fine') });
    await good.e.start();
    const bSecret = await c.enroll('edge-big');
    const topic = 'aiops/v1/acme/agents/edge-big/features';
    const send = async (bytes: number) => {
      const r = await rawConnect(port, { clientId: 'edge-big', username: 'edge-big', password: bSecret });
      let acked = false;
      r.client.publish(topic, Buffer.alloc(bytes, 1), { qos: 1 }, (err) => {
        if (!err) acked = true;
      });
      await closed(r.client);
      r.client.end(true);
      return acked;
    };
    assert.equal(await send(64 * 1024 + 1), false);
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'oversized' }), 1);
    assert.equal(await send(8 * 1024 * 1024), false);
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'packet', result: 'oversized' }), 1, 'cut by the packet guard');
    assert.equal(await c.metric('aiops_central_mqtt_disconnects_total', { reason: 'oversized' }), 2);
    // Just below the limit is fine (and rejected as malformed, acknowledged).
    const r = await rawConnect(port, { clientId: 'edge-big', username: 'edge-big', password: bSecret });
    await r.client.publishAsync(topic, Buffer.alloc(64 * 1024, 1), { qos: 1 });
    r.client.end(true);
    for (let i = 0; i < 5; i++) await good.e.consumeWindow(makeWindow('edge-fine', i));
    await until(() => c.stored.of('edge-fine').length === 5, 'other agents unaffected');
    assert.deepEqual(c.stored.of('edge-big'), []);
    await good.e.shutdown();
    await c.stop();
  });

  it('bounds the messages of one connection in flight (max_in_flight_per_agent): beyond it the connection is closed, unacknowledged', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let entered = 0;
    const c = new Central({
      config: { max_in_flight_per_agent: 1 },
      wrap: (sink) => ({
        consumeFrame: async (f) => {
          entered++;
          await gate;
          return sink.consumeFrame(f);
        },
      }),
    });
    const port = await c.start();
    const secret = await c.enroll('edge-pipe');
    // Two publishes in one write: both reach the broker while the first is being stored.
    const sock = connect(port, '127.0.0.1');
    const incoming: Buffer[] = [];
    sock.on('data', (d) => incoming.push(d));
    const sockClosed = new Promise<void>((r) => sock.once('close', () => r()));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'edge-pipe', keepalive: 30, username: 'edge-pipe', password: Buffer.from(secret) }));
    await until(() => incoming.length > 0, 'CONNACK');
    assert.equal(incoming[0]![0], 0x20, 'CONNACK');
    assert.equal(incoming[0]![3], 0, 'accepted');
    const topic = 'aiops/v1/acme/agents/edge-pipe/features';
    const pub = (id: number, seq: number) => mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(frameBytes({ agentId: 'edge-pipe', sequence: seq }, seq)), qos: 1, messageId: id, retain: false, dup: false });
    sock.write(Buffer.concat([pub(1, 1), pub(2, 2)]));
    await sockClosed;
    assert.equal(entered, 1, 'only the first frame went downstream');
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'features', result: 'busy' }), 1);
    assert.equal(await c.metric('aiops_central_mqtt_disconnects_total', { reason: 'retry' }), 1);
    release();
    await until(() => c.stored.of('edge-pipe').length === 1, 'the frame in flight is still stored');
    assert.ok(!Buffer.concat(incoming.slice(1)).includes(0x40), 'no PUBACK reached the client');
    await c.stop();
  });

  it('pushes retained config to one agent: delivered on subscribe and live, to nobody else', async () => {
    const c = new Central();
    const port = await c.start();
    const a = makeAgent({ port, agentId: 'edge-cfg', username: 'edge-cfg', password: await c.enroll('edge-cfg') });
    const b = makeAgent({ port, agentId: 'edge-cfg-2', username: 'edge-cfg-2', password: await c.enroll('edge-cfg-2') });
    const gotA: ConfigMessage[] = [];
    const gotB: ConfigMessage[] = [];
    a.e.onConfig((m) => gotA.push(m));
    b.e.onConfig((m) => gotB.push(m));
    await c.ingest.pushConfig('acme', 'edge-cfg', Buffer.from('{"detection":{"enabled":true}}'));
    await a.e.start();
    await b.e.start();
    await until(() => gotA.length === 1, 'retained config delivered when the agent subscribes');
    assert.equal(gotA[0]!.payload.toString(), '{"detection":{"enabled":true}}');
    assert.equal(gotA[0]!.retained, true);
    assert.equal(gotA[0]!.topic, 'aiops/v1/acme/agents/edge-cfg/config');
    await c.ingest.pushConfig('acme', 'edge-cfg', new TextEncoder().encode('{"v":2}'));
    await until(() => gotA.length === 2, 'live config delivered');
    assert.equal(gotA[1]!.payload.toString(), '{"v":2}');
    await until(() => b.e.frames.sender.connected, 'b connected');
    assert.deepEqual(gotB, []);
    assert.equal(await c.metric('aiops_central_mqtt_config_pushes_total', { result: 'ok' }), 2);
    await assert.rejects(c.ingest.pushConfig('acme', 'edge-cfg/#', Buffer.from('x')), (e: unknown) => e instanceof MqttIngestError && e.code === 'INVALID_ARGUMENT' && /agentId/.test(e.message));
    await assert.rejects(c.ingest.pushConfig('ac/me', 'edge-cfg', Buffer.from('x')), (e: unknown) => e instanceof MqttIngestError && e.code === 'INVALID_ARGUMENT' && /tenant/.test(e.message));
    await assert.rejects(c.ingest.pushConfig('acme', 'edge-cfg', Buffer.alloc(5 * 1024 * 1024)), (e: unknown) => e instanceof MqttIngestError && e.code === 'INVALID_ARGUMENT' && /max_payload/.test(e.message));
    await a.e.shutdown();
    await b.e.shutdown();
    await c.stop();
  });

  it('alert batches go to the alert consumer once durable; other agents\' alerts are refused', async () => {
    const received: Alert[][] = [];
    const c = new Central({ alerts: { consumeAlerts: async (a) => void received.push([...a]) } });
    const port = await c.start();
    const secret = await c.enroll('edge-al');
    const r = await rawConnect(port, { clientId: 'edge-al', username: 'edge-al', password: secret });
    const alert: Alert = { status: 'firing', labels: { alertname: 'HighCpu', host: 'h1' }, annotations: {}, startsAtMs: Date.now(), endsAtMs: 0, generatorUrl: '', fingerprint: '', tenant: '', source: 'agent' };
    const batch = (agentId: string) => Buffer.from(encodeEnvelope(encodeAlertBatch({ agentId, tenant: 'acme', sequence: 1, alerts: [alert] }), { kind: PayloadKind.AlertBatch, codec: { codec: 'none' } }));
    await r.client.publishAsync('aiops/v1/acme/agents/edge-al/alerts', batch('edge-al'), { qos: 1 });
    await r.client.publishAsync('aiops/v1/acme/agents/edge-al/alerts', batch('someone-else'), { qos: 1 });
    const hb = encodeEnvelope(encodeHeartbeat({ agentId: 'edge-al', tenant: 'acme', timestampMs: Date.now(), state: 'ok', version: '1', hostname: 'h', uptimeMs: 1, activeSeries: 0, framesSent: 0, framesDropped: 0, bufferBytes: 0, hostLabels: {} }), { kind: PayloadKind.Heartbeat, codec: { codec: 'none' } });
    await r.client.publishAsync('aiops/v1/acme/agents/edge-al/heartbeat', Buffer.from(hb), { qos: 1 });
    await r.client.publishAsync('aiops/v1/acme/agents/edge-al/logs', Buffer.from('a log line'), { qos: 1 });
    assert.equal(received.length, 1);
    assert.equal(received[0]![0]!.tenant, 'acme', 'the tenant comes from the authenticated agent');
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'alerts', result: 'wrong_agent' }), 1);
    assert.equal(await c.metric('aiops_central_mqtt_messages_total', { kind: 'logs', result: 'unhandled' }), 1);
    assert.ok(((await c.stores.agents.list()).find((x) => x.agentId === 'edge-al')?.lastSeenAtMs ?? 0) > 0);
    r.client.end(true);
    await c.stop();
  });
});

describe('mqtt ingest: central restart', () => {
  it('central restarted (same SQLite file, same port) while the agent sends: every frame stored exactly once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'aiops-central-restart-')), 'central.sqlite');
    const stored = new StoredFrames();
    const c1 = new Central({ path, stored });
    const port = await c1.start();
    const secret = await c1.enroll('edge-rs');
    const { s, e } = makeAgent({ port, agentId: 'edge-rs', username: 'edge-rs', password: secret });
    await e.start();
    for (let i = 0; i < 10; i++) await e.consumeWindow(makeWindow('edge-rs', i));
    await until(() => stored.of('edge-rs').length >= 5, 'some frames stored before the restart');
    // Frames keep coming while central goes down and comes back.
    let produced = 10;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        await e.consumeWindow(makeWindow('edge-rs', produced++));
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await c1.stop();
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connected')) === 0, 'the agent noticed central is gone');
    await new Promise((r) => setTimeout(r, 200));
    const c2 = new Central({ path, stored, config: { listen: `127.0.0.1:${port}` } });
    await c2.start();
    await new Promise((r) => setTimeout(r, 200));
    producing = false;
    await producer;
    await until(() => new Set(stored.of('edge-rs')).size === produced && e.frames.buffer.size === 0, `all ${produced} frames stored after the restart`);
    assert.deepEqual(sorted(stored.of('edge-rs')), seqs(produced), 'every frame stored, none twice (readers see new frames only)');
    assert.deepEqual(sorted(await c2.storedWindows('edge-rs')), seqs(produced, 0));
    assert.ok((await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'success' })) >= 2);
    assert.equal(await metricValue(s, 'aiops_agent_exporter_dropped_frames_total'), 0);
    await e.shutdown();
    await c2.stop();
  });
});
