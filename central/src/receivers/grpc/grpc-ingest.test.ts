// Central's gRPC agent ingest against the REAL agent exporter (edge-agent GrpcExporter) and a
// raw gRPC client, through FrameIngest and FeatureSink into SQLite: delivery exactly once,
// authentication (secret, client certificate, refusals, revocation), hostile input, flow
// control, alerts, heartbeats, shutdown and a central restart while an agent sends.
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Ack, AckOrMalformed, Heartbeat } from '../../../../shared-schemas/src/index.js';
import { makeTestPki } from '../../../../edge-agent/src/exporters/internal/testdata/certs.js';
import type { TestPki } from '../../../../edge-agent/src/exporters/internal/testdata/certs.js';
import type { FrameConsumer } from '../../component.js';
import {
  alertBatch,
  checkExactlyOnce,
  cleanup,
  enroll,
  envelope,
  Gate,
  RawAgent,
  rawFrame,
  RecordingAlerts,
  recordingLogger,
  startAgent,
  startCentral,
  storedWindows,
  T0,
  TENANT,
  until,
} from './testdata/rig.js';
import type { Agent, Central } from './testdata/rig.js';

/** Every test is bounded: a hang fails it instead of the run. */
const T = { timeout: 90_000 };

const acksOf = (received: AckOrMalformed[]): Ack[] => received.filter((a): a is Ack => !('malformed' in a));

function heartbeat(agentId: string, tenant = TENANT): Heartbeat {
  return { agentId, tenant, timestampMs: Date.now(), state: 'ok', version: 't', hostname: 'h', uptimeMs: 1, activeSeries: 0, framesSent: 0, framesDropped: 0, bufferBytes: 0, hostLabels: {} };
}

async function stopAll(agents: Agent[], central?: Central): Promise<void> {
  for (const a of agents) await a.exporter.shutdown();
  if (central) await central.stop();
}

afterEach(cleanup);

describe('grpc ingest: the real agent exporter end to end', () => {
  it('stores every frame exactly once, with heartbeats and no dictionary resync', T, async () => {
    const central = await startCentral();
    const secret = await enroll(central.stores, 'agent-a');
    const agent = await startAgent(central.port, { agentId: 'agent-a', secret }, { heartbeat_interval: '1s' });
    await agent.feed(0, 30, 8);
    await until(() => agent.buffered === 0, 'the agent buffer drains');
    assert.equal(await checkExactlyOnce(central.stores, 30, 8, 'agent-a'), undefined);
    assert.equal(await central.metric('aiops_central_feature_frames_stored_total'), 30);
    assert.equal(await central.metric('aiops_central_frames_accepted_total', { transport: 'grpc' }), 30);
    assert.equal(await central.metric('aiops_central_grpc_acks_total', { method: 'StreamFeatures', status: 'ok' }), 30);
    assert.equal(await agent.metric('aiops_agent_exporter_frames_acked_total'), 30);
    assert.equal(await central.metric('aiops_central_grpc_streams_open', { method: 'StreamFeatures' }), 1);
    // Heartbeats are authenticated and recorded; they never ask for a resync of a live stream.
    await until(async () => (await central.metric('aiops_central_grpc_heartbeats_total', { result: 'ok' })) >= 2, 'heartbeats answered');
    const rec = (await central.stores.agents.list()).find((r) => r.agentId === 'agent-a')!;
    assert.ok(rec.lastSeenAtMs > 0, 'touch on heartbeat');
    assert.equal(await agent.metric('aiops_agent_exporter_disconnects_total', { reason: 'resync' }), 0);
    assert.equal(await agent.metric('aiops_agent_exporter_heartbeats_total', { result: 'failure' }), 0);
    assert.equal(await central.metric('aiops_central_grpc_auth_failures_total'), 0);
    await stopAll([agent], central);
  });

  it('refuses a wrong secret, an unknown agent and a missing credential, counted, while another agent keeps sending', T, async () => {
    const lines: string[] = [];
    const central = await startCentral({ logger: await recordingLogger(lines, 'warn') });
    const secretA = await enroll(central.stores, 'agent-a');
    const secretB = await enroll(central.stores, 'agent-b');
    const agentLines: string[] = [];
    const forged = `aiops_a_${'A'.repeat(43)}`;
    const wrong = await startAgent(central.port, { agentId: 'agent-a', secret: forged }, {}, await recordingLogger(agentLines, 'warn'));
    const unknown = await startAgent(central.port, { agentId: 'agent-x', secret: secretA });
    const anonymous = await startAgent(central.port, { agentId: 'agent-y' });
    const good = await startAgent(central.port, { agentId: 'agent-b', secret: secretB });
    for (const a of [wrong, unknown, anonymous, good]) await a.feed(0, 5, 3);
    await until(async () => (await central.metric('aiops_central_grpc_auth_failures_total', { reason: 'invalid' })) >= 2, 'two invalid credentials counted');
    await until(async () => (await central.metric('aiops_central_grpc_auth_failures_total', { reason: 'missing' })) >= 1, 'a missing credential counted');
    await until(() => good.buffered === 0, 'the good agent drains');
    await good.feed(5, 5, 3);
    await until(() => good.buffered === 0, 'the good agent keeps sending');
    assert.equal(await checkExactlyOnce(central.stores, 10, 3, 'agent-b'), undefined);
    // Refused agents: a permanent connect failure, frames kept in their buffers, nothing stored.
    for (const a of [wrong, unknown, anonymous]) {
      await until(async () => (await a.metric('aiops_agent_exporter_connects_total', { result: 'failure' })) >= 1, `${a.settings.agent.agentId} sees a permanent failure`);
      assert.equal(a.buffered, 5);
      assert.equal(await a.metric('aiops_agent_exporter_connects_total', { result: 'success' }), 0);
    }
    for (const h of ['agent-a', 'agent-x', 'agent-y']) assert.equal((await storedWindows(central.stores, 'node_cpu_usage_ratio', [{ name: 'host', value: h }])).size, 0, h);
    // Logged clearly on both sides, never with a secret.
    assert.ok(agentLines.some((l) => l.includes('cannot connect') && l.includes("central refused this agent's credentials") && l.includes('UNAUTHENTICATED')), agentLines.join('\n'));
    assert.ok(lines.some((l) => l.includes('authentication failed') && l.includes('"reason":"invalid"') && l.includes('agent-x')), lines.join('\n'));
    for (const l of [...lines, ...agentLines]) {
      assert.ok(!l.includes(forged) && !l.includes(secretA) && !l.includes(secretB) && !/aiops_a_/.test(l), `a secret was logged: ${l}`);
    }
    await stopAll([wrong, unknown, anonymous, good], central);
  });

  it('revokeAgent cuts the live stream at once; new calls are refused; another agent keeps sending', T, async () => {
    const central = await startCentral();
    const secretA = await enroll(central.stores, 'agent-a');
    const secretB = await enroll(central.stores, 'agent-b');
    const a = await startAgent(central.port, { agentId: 'agent-a', secret: secretA });
    const b = await startAgent(central.port, { agentId: 'agent-b', secret: secretB });
    await a.feed(0, 5, 2);
    await b.feed(0, 5, 2);
    await until(() => a.buffered === 0 && b.buffered === 0, 'both drain');
    assert.equal(await central.metric('aiops_central_grpc_streams_open', { method: 'StreamFeatures' }), 2);

    // A raw stream of agent-a too, to see the status it gets.
    const raw = new RawAgent(central.port, { agentId: 'agent-a', secret: secretA });
    const rawStream = raw.features();
    await rawStream.accepted();

    assert.equal(await central.stores.agents.revoke('agent-a', Date.now()), true);
    assert.equal(central.server.revokeAgent('agent-a'), 2);
    const st = await rawStream.status();
    assert.equal(st.code, grpc.status.UNAUTHENTICATED);
    assert.match(st.details, /revoked/);
    await until(async () => (await a.metric('aiops_agent_exporter_connected')) === 0, 'the agent lost its stream');
    assert.equal(await central.metric('aiops_central_grpc_streams_ended_total', { reason: 'revoked' }), 2);
    await until(async () => (await central.metric('aiops_central_grpc_streams_open', { method: 'StreamFeatures' })) === 1, 'only agent-b stays connected');

    await a.feed(5, 3, 2);
    await until(async () => (await a.metric('aiops_agent_exporter_connects_total', { result: 'failure' })) >= 1, 'reconnect refused (permanent)');
    assert.ok((await central.metric('aiops_central_grpc_auth_failures_total', { reason: 'invalid' })) >= 1);
    assert.equal(a.buffered, 3, 'frames after the revocation wait in the buffer');
    const hb = await raw.heartbeat(heartbeat('agent-a'));
    assert.equal(hb.error?.code, grpc.status.UNAUTHENTICATED);

    await b.feed(5, 5, 2);
    await until(() => b.buffered === 0, 'agent-b keeps sending');
    assert.equal(await checkExactlyOnce(central.stores, 10, 2, 'agent-b'), undefined);
    assert.equal(await checkExactlyOnce(central.stores, 5, 2, 'agent-a'), undefined);
    raw.close();
    await stopAll([a, b], central);
  });
});

describe('grpc ingest: hostile and broken input', () => {
  it('answers malformed, foreign and oversized messages with rejected, counted; the stream and other streams go on', T, async () => {
    const central = await startCentral({ grpc: { max_message: '64KiB' } });
    const secretX = await enroll(central.stores, 'agent-x');
    const secretB = await enroll(central.stores, 'agent-b');
    const b = await startAgent(central.port, { agentId: 'agent-b', secret: secretB });
    await b.feed(0, 3, 2);

    const raw = new RawAgent(central.port, { agentId: 'agent-x', secret: secretX });
    const s = raw.features();
    await s.accepted();
    s.write(envelope(1, rawFrame('agent-x', 1, 0)));
    await s.waitFor(1);
    s.write(Uint8Array.from([0x08, 0x02, 0x12, 0xff])); // sequence 2, then a truncated bytes field
    s.write(envelope(3, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]))); // a valid envelope around garbage
    s.write(envelope(4, rawFrame('agent-other', 4, 1))); // another agent's frame
    s.write(envelope(5, rawFrame('agent-x', 5, 2, 'a', 'other-tenant'))); // another tenant
    s.write(envelope(6, new Uint8Array(100 * 1024).fill(7))); // > max_message, < 2x
    s.write(envelope(7, rawFrame('agent-x', 8, 3))); // envelope and frame sequences differ
    s.write(envelope(9, rawFrame('agent-x', 9, 4)));
    await s.waitFor(8);
    const acks = acksOf(s.received);
    const by = new Map(acks.map((a) => [a.sequence, a]));
    assert.equal(by.get(1)?.status, 'ok');
    for (const seq of [2, 3, 4, 5, 6, 7]) assert.equal(by.get(seq)?.status, 'rejected', `sequence ${seq}: ${JSON.stringify(by.get(seq))}`);
    assert.match(by.get(6)!.message, /exceeds max_message 65536/);
    assert.match(by.get(4)!.message, /is not the authenticated agent "agent-x"/);
    assert.equal(by.get(9)?.status, 'ok', 'the stream goes on after refusals');
    assert.equal(await central.metric('aiops_central_grpc_messages_refused_total', { method: 'StreamFeatures', reason: 'malformed' }), 1);
    assert.equal(await central.metric('aiops_central_grpc_messages_refused_total', { method: 'StreamFeatures', reason: 'oversized' }), 1);
    for (const reason of ['malformed', 'wrong_agent', 'wrong_tenant', 'sequence_mismatch']) {
      assert.equal(await central.metric('aiops_central_frames_refused_total', { transport: 'grpc', reason }), 1, reason);
    }
    assert.equal(await central.metric('aiops_central_grpc_acks_total', { method: 'StreamFeatures', status: 'rejected' }), 6);

    // Far beyond max_message: the transport ends this stream; nothing accepted is lost.
    s.write(envelope(10, new Uint8Array(200 * 1024).fill(9)));
    const st = await s.status();
    assert.equal(st.code, grpc.status.RESOURCE_EXHAUSTED);
    const stored = await storedWindows(central.stores, 'raw_metric');
    assert.deepEqual([...stored.keys()].sort(), [`__name__=raw_metric,k=a@${T0}`, `__name__=raw_metric,k=a@${T0 + 40_000}`]);

    // The other agent was never disturbed.
    await b.feed(3, 3, 2);
    await until(() => b.buffered === 0, 'agent-b drains');
    assert.equal(await checkExactlyOnce(central.stores, 6, 2, 'agent-b'), undefined);
    assert.equal(await b.metric('aiops_agent_exporter_disconnects_total'), 0);
    raw.close();
    await stopAll([b], central);
  });

  it('refuses malformed credentials and heartbeats for another agent', T, async () => {
    const central = await startCentral();
    const secret = await enroll(central.stores, 'agent-a');
    const twice = new RawAgent(central.port, { agentId: 'agent-a', authorization: `Basic ${secret}` });
    const st = await twice.features().status();
    assert.equal(st.code, grpc.status.UNAUTHENTICATED);
    assert.match(st.details, /Bearer/);
    assert.equal(await central.metric('aiops_central_grpc_auth_failures_total', { reason: 'malformed' }), 1);
    const noId = new RawAgent(central.port, { secret });
    assert.equal((await noId.heartbeat(heartbeat('agent-a'))).error?.code, grpc.status.UNAUTHENTICATED);
    assert.equal(await central.metric('aiops_central_grpc_auth_failures_total', { reason: 'malformed' }), 2);

    const ok = new RawAgent(central.port, { agentId: 'agent-a', secret });
    const foreign = await ok.heartbeat(heartbeat('agent-b'));
    assert.equal(foreign.error?.code, grpc.status.PERMISSION_DENIED);
    const otherTenant = await ok.heartbeat(heartbeat('agent-a', 'elsewhere'));
    assert.equal(otherTenant.error?.code, grpc.status.PERMISSION_DENIED);
    const good = await ok.heartbeat(heartbeat('agent-a'));
    assert.equal(good.ack?.resyncDictionary, false);
    assert.ok(good.ack!.serverTimeMs > 0);
    assert.equal(await central.metric('aiops_central_grpc_messages_refused_total', { method: 'Heartbeat', reason: 'wrong_agent' }), 1);
    for (const c of [twice, noId, ok]) c.close();
    await central.stop();
  });
});

describe('grpc ingest: backpressure', () => {
  it('pauses a stream at max_in_flight_per_stream under a slow downstream: flow control, no retry, nothing lost', T, async () => {
    let gate: Gate | undefined;
    const central = await startCentral({ grpc: { max_in_flight_per_stream: 4 }, wrapSink: (sink) => (gate = new Gate(sink)) });
    const secret = await enroll(central.stores, 'agent-a');
    const agent = await startAgent(central.port, { agentId: 'agent-a', secret }, { max_in_flight: 32, ack_timeout: '60s' });
    await agent.feed(0, 40, 2);
    await until(() => gate!.inside === 4, 'four frames held downstream');
    await until(async () => (await central.metric('aiops_central_grpc_stream_pauses_total', { method: 'StreamFeatures' })) >= 1, 'the stream paused');
    await until(async () => (await agent.metric('aiops_agent_exporter_in_flight_frames')) === 32, 'the agent filled its window');
    assert.equal(gate!.maxInside, 4, 'never more than max_in_flight_per_stream frames downstream');
    gate!.release();
    await until(() => agent.buffered === 0, 'everything acknowledged after the release');
    assert.equal(await checkExactlyOnce(central.stores, 40, 2, 'agent-a'), undefined);
    assert.equal(gate!.maxInside, 4);
    assert.equal(await agent.metric('aiops_agent_exporter_acks_total', { status: 'retry' }), 0);
    assert.equal(await central.metric('aiops_central_frames_refused_total', { reason: 'busy' }), 0);
    assert.equal(await agent.metric('aiops_agent_exporter_disconnects_total'), 0);
    await stopAll([agent], central);
  });

  it('answers retry while downstream fails; the agent resends and every frame is stored once', T, async () => {
    let failures = 3;
    const central = await startCentral({
      retryAfterMs: 50,
      wrapSink: (sink): FrameConsumer => ({
        consumeFrame: async (f) => {
          if (failures > 0) {
            failures--;
            throw new Error('database is busy');
          }
          await sink.consumeFrame(f);
        },
      }),
    });
    const secret = await enroll(central.stores, 'agent-a');
    const agent = await startAgent(central.port, { agentId: 'agent-a', secret }, { max_frame_attempts: 100 });
    await agent.feed(0, 20, 2);
    await until(() => agent.buffered === 0, 'everything acknowledged');
    assert.ok((await agent.metric('aiops_agent_exporter_acks_total', { status: 'retry' })) >= 1, 'the agent was told to retry');
    assert.ok((await central.metric('aiops_central_frames_refused_total', { transport: 'grpc', reason: 'downstream' })) >= 1);
    assert.equal(await checkExactlyOnce(central.stores, 20, 2, 'agent-a'), undefined);
    assert.equal(await agent.metric('aiops_agent_exporter_dropped_frames_total'), 0);
    await stopAll([agent], central);
  });
});

describe('grpc ingest: mTLS', () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });

  it('authenticates an enrolled agent by its client certificate CN, refuses an unknown CN, and lets a secret decide when present', T, async () => {
    const central = await startCentral({ grpc: { tls: { cert_file: pki.serverCert, key_file: pki.serverKey, ca_file: pki.caFile, require_client_cert: true } } });
    const tls = { insecure: false, ca_file: pki.caFile, cert_file: pki.clientCert, key_file: pki.clientKey, server_name: 'localhost' };
    // The client certificate's CN is "test-agent": not enrolled yet.
    const byCert = await startAgent(central.port, { agentId: 'test-agent', host: 'cert-host' }, { tls });
    await byCert.feed(0, 4, 2);
    await until(async () => (await central.metric('aiops_central_grpc_auth_failures_total', { reason: 'unknown_certificate' })) >= 1, 'unknown CN refused');
    await until(async () => (await byCert.metric('aiops_agent_exporter_connects_total', { result: 'failure' })) >= 1, 'a permanent failure for the agent');
    assert.equal(byCert.buffered, 4);
    await enroll(central.stores, 'test-agent');
    await until(() => byCert.buffered === 0, 'accepted once enrolled', 30_000);
    assert.equal(await checkExactlyOnce(central.stores, 4, 2, 'cert-host'), undefined);

    // Same client certificate, but a secret: the secret names the agent.
    const secretB = await enroll(central.stores, 'agent-b');
    const bySecret = await startAgent(central.port, { agentId: 'agent-b', secret: secretB }, { tls });
    await bySecret.feed(0, 3, 2);
    await until(() => bySecret.buffered === 0, 'secret over mTLS');
    assert.equal(await checkExactlyOnce(central.stores, 3, 2, 'agent-b'), undefined);

    // A header naming another agent than the certificate, without a secret: refused.
    const mismatch = new RawAgent(central.port, { agentId: 'agent-b' }, grpc.credentials.createSsl(pki.read(pki.caFile), pki.read(pki.clientKey), pki.read(pki.clientCert)), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const st = await mismatch.features().status();
    assert.equal(st.code, grpc.status.UNAUTHENTICATED);
    assert.equal(await central.metric('aiops_central_grpc_auth_failures_total', { reason: 'certificate_mismatch' }), 1);

    // Without a client certificate the handshake itself fails.
    const anon = await startAgent(central.port, { agentId: 'agent-b', secret: secretB, host: 'anon' }, { tls: { ca_file: pki.caFile, server_name: 'localhost' } });
    await anon.feed(0, 2, 2);
    await until(async () => (await anon.metric('aiops_agent_exporter_connects_total', { result: 'retryable' })) >= 1, 'handshake refused');
    assert.equal(anon.buffered, 2);
    mismatch.close();
    await stopAll([byCert, bySecret, anon], central);
  });
});

describe('grpc ingest: alerts', () => {
  it('hands pushed alert batches to the alert consumer in order, one ack per batch', T, async () => {
    const alerts = new RecordingAlerts();
    const central = await startCentral({ alerts });
    const secret = await enroll(central.stores, 'agent-a');
    const raw = new RawAgent(central.port, { agentId: 'agent-a', secret });
    const s = raw.alerts();
    await s.accepted();
    const alert = (name: string) => ({ status: 'firing' as const, labels: { alertname: name }, annotations: {}, startsAtMs: T0, endsAtMs: 0, generatorUrl: '', fingerprint: '', tenant: '', source: 'agent' });
    s.write(alertBatch({ agentId: 'agent-a', tenant: '', sequence: 1, alerts: [alert('A'), alert('B')] }));
    s.write(alertBatch({ agentId: 'agent-b', tenant: '', sequence: 2, alerts: [alert('C')] }));
    s.write(Uint8Array.from([0x0a, 0x07, 0x61, 0x18, 0x03])); // agent_id truncated ... sequence unreadable
    await s.waitFor(3);
    alerts.failNext = 1;
    s.write(alertBatch({ agentId: 'agent-a', tenant: TENANT, sequence: 4, alerts: [alert('D')] }));
    s.write(alertBatch({ agentId: 'agent-a', tenant: TENANT, sequence: 5, alerts: [alert('E')] }));
    await s.waitFor(5);
    assert.deepEqual(
      s.received.map((a) => [a.sequence, a.status]),
      [
        [1, 'ok'],
        [2, 'rejected'],
        [0, 'rejected'],
        [4, 'retry'],
        [5, 'ok'],
      ],
    );
    assert.deepEqual(alerts.batches.map((b) => b.map((a) => `${a.labels['alertname']}/${a.tenant}`)), [['A/test', 'B/test'], ['E/test']]);
    assert.equal(await central.metric('aiops_central_grpc_alerts_accepted_total'), 3);
    assert.equal(await central.metric('aiops_central_grpc_messages_refused_total', { method: 'PushAlerts', reason: 'wrong_agent' }), 1);
    s.end();
    assert.equal((await s.status()).code, grpc.status.OK, 'a half-closed stream ends cleanly once answered');
    raw.close();
    await central.stop();
  });

  it('answers UNIMPLEMENTED without an alert consumer, and UNAUTHENTICATED before that', T, async () => {
    const central = await startCentral();
    const secret = await enroll(central.stores, 'agent-a');
    const ok = new RawAgent(central.port, { agentId: 'agent-a', secret });
    assert.equal((await ok.alerts().status()).code, grpc.status.UNIMPLEMENTED);
    const anon = new RawAgent(central.port, {});
    assert.equal((await anon.alerts().status()).code, grpc.status.UNAUTHENTICATED);
    ok.close();
    anon.close();
    await central.stop();
  });
});

describe('grpc ingest: shutdown and restart', () => {
  it('shutdown ends streams, waits for frames in flight, and forces after the grace period', T, async () => {
    let gate: Gate | undefined;
    const central = await startCentral({ grpc: { shutdown_grace: '300ms' }, wrapSink: (sink) => (gate = new Gate(sink)) });
    const secret = await enroll(central.stores, 'agent-a');
    const agent = await startAgent(central.port, { agentId: 'agent-a', secret });
    await agent.feed(0, 3, 2);
    await until(() => gate!.inside === 3, 'frames held downstream');
    // Downstream never finishes: shutdown still returns (forced after the grace period).
    await central.server.shutdown();
    await until(async () => (await agent.metric('aiops_agent_exporter_connected')) === 0, 'the agent lost its stream');
    assert.equal(await central.metric('aiops_central_grpc_streams_ended_total', { reason: 'shutdown' }), 1);
    assert.equal(agent.buffered, 3, 'unacknowledged frames stay with the agent');
    gate!.release();
    await until(() => gate!.inside === 0, 'held frames land');
    await agent.exporter.shutdown();
    await central.stores.close();
  });

  it('central restarts while the agent sends: the buffer replays and every frame is stored exactly once', T, async () => {
    let central = await startCentral();
    const port = central.port;
    const dbPath = central.dbPath;
    const secret = await enroll(central.stores, 'agent-a');
    const agent = await startAgent(central.port, { agentId: 'agent-a', secret }, { heartbeat_interval: '1s' });
    const total = 60;
    let produced = 0;
    let restarted!: () => void;
    const down = new Promise<void>((r) => (restarted = r));
    // The first half is produced while central runs (and while it stops); the second half
    // only once the first central is gone, so both runs must store some of the frames.
    const producer = (async () => {
      while (produced < total) {
        if (produced === total / 2) await down;
        await agent.feed(produced, 1, 3);
        produced++;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await until(async () => (await central.metric('aiops_central_feature_frames_stored_total')) >= 10, 'frames before the restart');
    await central.stop();
    const storedBefore = await central.metric('aiops_central_feature_frames_stored_total');
    restarted();
    central = await startCentral({ dbPath, grpc: { listen: `127.0.0.1:${port}` } });
    await producer;
    await until(() => agent.buffered === 0, 'the buffer replays after the restart', 60_000);
    assert.equal(await checkExactlyOnce(central.stores, total, 3, 'agent-a'), undefined);
    assert.ok(storedBefore >= 10 && storedBefore <= total / 2, `some frames stored before the restart (${storedBefore}), the rest after`);
    assert.ok((await agent.metric('aiops_agent_exporter_connects_total', { result: 'success' })) >= 2, 'the agent reconnected');
    assert.equal(await agent.metric('aiops_agent_exporter_disconnects_total', { reason: 'resync' }), 0);
    assert.equal(await agent.metric('aiops_agent_exporter_dropped_frames_total'), 0);
    assert.equal((await central.metric('aiops_central_feature_frames_stored_total')) + storedBefore, total, 'each frame stored by exactly one of the two runs');
    await stopAll([agent], central);
  });
});
