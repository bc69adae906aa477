// Virtual agents over MQTT against an in-process aedes broker on loopback, shaped like central's
// embedded one (edge-agent's TestBroker: ACL per agent id, central's consumer in-process).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AedesPublishPacket } from 'aedes';
import { decodeEnvelope, decodeHeartbeat, PayloadKind } from '../../shared-schemas/src/index.js';
import { TestBroker } from '../../edge-agent/src/exporters/mqtt/testdata/aedes-broker.js';
import { credentialsFromMap, runVirtualAgents } from './index.js';
import type { VirtualAgentsOptions, VirtualAgentsSummary } from './index.js';
import { FrameLog } from './testdata/frame-log.js';

const TENANT = 'test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startBroker(): Promise<{ tb: TestBroker; log: FrameLog; url: string }> {
  const tb = new TestBroker({ tenant: TENANT });
  const port = await tb.start();
  const log = new FrameLog();
  // Central keys an MQTT stream's dictionary by agent id (the topic level).
  await new Promise<void>((r) =>
    tb.broker.subscribe(
      `aiops/v1/${TENANT}/agents/+/features`,
      (packet: AedesPublishPacket, cb: () => void) => {
        const agent = packet.topic.split('/')[4]!;
        const f = log.record(packet.payload as Buffer, agent);
        if (f && f.frame.agentId !== agent) log.errors.push(`frame of ${f.frame.agentId} on the topic of ${agent}`);
        cb();
      },
      () => r(),
    ),
  );
  return { tb, log, url: `mqtt://127.0.0.1:${port}` };
}

function base(url: string, extra: Partial<VirtualAgentsOptions> = {}): VirtualAgentsOptions {
  return { target: url, tenant: TENANT, sequenceStart: 1, startTimeMs: 1_700_000_000_000, progressIntervalMs: 200, ...extra };
}

describe('virtual agents over MQTT', () => {
  let tb: TestBroker;
  let log: FrameLog;
  let url: string;
  let summary: VirtualAgentsSummary;
  const progress: number[] = [];

  before(async () => {
    ({ tb, log, url } = await startBroker());
    await tb.publishRetained(`aiops/v1/${TENANT}/agents/vagent-00002/config`, Buffer.from('{"detection":{}}'));
    // 4 agents x 50 series, 10 windows/s per agent for 1.5 s: 15 windows each.
    summary = await runVirtualAgents(base(url, { count: 4, series: 50, rate: 10, durationMs: 1500 }), { onProgress: (p) => progress.push(p.framesSent) });
  });
  after(async () => {
    await tb.stop();
  });

  it('connects one MQTT session per agent: client id = agent id, persistent, own topics only', () => {
    const ids = tb.connects.map((c) => c.clientId).sort();
    assert.deepEqual(ids, ['vagent-00000', 'vagent-00001', 'vagent-00002', 'vagent-00003']);
    assert.ok(tb.connects.every((c) => c.clean === false));
    assert.deepEqual(tb.deniedPublishes, []);
    assert.equal(summary.configMessages, 1, 'the retained config of vagent-00002 arrived on its subscription');
  });

  it('stops by itself after the duration, every frame acknowledged', () => {
    assert.equal(summary.windowsScheduled, 60);
    assert.equal(summary.framesSent, 60);
    assert.equal(summary.framesAcked, 60);
    assert.equal(summary.framesResent, 0);
    assert.equal(summary.errorCount, 0, JSON.stringify(summary.errorMessages));
    assert.equal(summary.drained, true);
    assert.ok(progress.length > 0, 'progress was reported');
  });

  it('sends frames that decode, reset then continue, defs once per connection', () => {
    assert.deepEqual(log.errors, []);
    assert.equal(tb.recorder.decodeErrors, 0);
    assert.equal(log.byAgent.size, 4);
    for (const [agent, frames] of log.byAgent) {
      assert.equal(frames.length, 15, agent);
      assert.equal(frames[0]!.scope, 'reset');
      assert.equal(frames[0]!.defs, 50, 'the first frame defines every series');
      for (const f of frames.slice(1)) {
        assert.equal(f.scope, 'continue');
        assert.equal(f.defs, 0, 'defs only once per connection');
        assert.equal(f.epoch, frames[0]!.epoch);
      }
      for (const f of frames) {
        assert.equal(f.rows, 50);
        assert.equal(f.labels?.length, 50);
        assert.ok(f.labels!.every((l) => l.host === agent));
        assert.equal(f.frame.tenant, TENANT);
      }
    }
  });

  it('numbers frames per agent from the sequence start, windows back to back', () => {
    for (const frames of log.byAgent.values()) {
      assert.deepEqual(
        frames.map((f) => f.sequence),
        Array.from({ length: 15 }, (_, i) => i + 1),
      );
      frames.forEach((f, i) => {
        assert.equal(f.windowStartMs, 1_700_000_000_000 + i * 10_000);
        assert.equal(f.windowEndMs, f.windowStartMs + 10_000);
      });
    }
  });

  it('reports figures consistent with what the broker received', () => {
    assert.equal(log.total, summary.framesSent + summary.framesResent);
    assert.equal(summary.seriesWindowsSent, log.total * 50);
    assert.equal(summary.seriesWindowsAcked, summary.framesAcked * 50);
    let bytes = 0;
    for (const frames of log.byAgent.values()) for (const f of frames) bytes += f.bytes;
    assert.equal(summary.bytesSent, bytes);
    assert.equal(summary.resetFrames, 4);
    assert.equal(summary.ackLatencyMs.count, 60);
    assert.equal(summary.steadyAckLatencyMs.count, 56);
    const l = summary.ackLatencyMs;
    assert.ok(l.p50 > 0 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max);
    assert.equal(summary.perSecond.reduce((a, p) => a + p.sentSeriesWindows, 0), summary.seriesWindowsSent);
    assert.equal(summary.perSecond.reduce((a, p) => a + p.ackedSeriesWindows, 0), summary.seriesWindowsAcked);
    // Heartbeats: one on connect and a 'stopping' one per agent.
    assert.equal(tb.heartbeats.length, summary.heartbeatsSent);
    const states = tb.heartbeats.map((b) => decodeHeartbeat(decodeEnvelope(b, { expectedKind: PayloadKind.Heartbeat }).payload).state);
    assert.equal(states.filter((s) => s === 'stopping').length, 4);
  });

  it('starts a new dictionary epoch every --dictionary-reset-interval, as the real exporter', async () => {
    const s = await runVirtualAgents(base(url, { count: 1, series: 10, rate: 10, durationMs: 2500, dictionaryResetMs: 500, agentIdPrefix: 'epoch' }));
    const frames = log.byAgent.get('epoch-00000')!;
    const resets = frames.filter((f) => f.scope === 'reset');
    assert.ok(resets.length >= 3, `reset frames ${resets.length}`);
    assert.equal(s.resetFrames, resets.length);
    for (let i = 1; i < resets.length; i++) assert.ok(resets[i]!.epoch > resets[i - 1]!.epoch);
    assert.deepEqual(log.errors, []);
    assert.equal(s.framesAcked, 25);
  });

  it('stops after --windows windows per agent', async () => {
    const s = await runVirtualAgents(base(url, { count: 2, series: 10, rate: 20, durationMs: 60_000, windows: 3, agentIdPrefix: 'w', sequenceStart: 100 }));
    assert.equal(s.windowsScheduled, 6);
    assert.equal(s.framesAcked, 6);
    assert.deepEqual(log.unique('w-00000'), [100, 101, 102]);
  });
});

describe('virtual agents over MQTT: per-agent credentials', () => {
  it('each agent connects with its own secret (username = agent id), as central\'s embedded broker requires', async () => {
    const users = { 'cred-00000': 'secret-zero', 'cred-00001': 'secret-one', 'cred-00002': 'secret-two' };
    const tb = new TestBroker({ tenant: TENANT, users });
    const port = await tb.start();
    try {
      const s = await runVirtualAgents(
        base(`mqtt://127.0.0.1:${port}`, { count: 3, series: 5, rate: 10, durationMs: 500, agentIdPrefix: 'cred', credentials: credentialsFromMap(users) }),
      );
      assert.equal(tb.authFailures, 0);
      assert.deepEqual(tb.connects.map((c) => [c.clientId, c.username]).sort(), Object.keys(users).map((id) => [id, id]));
      assert.equal(s.agentsConnected, 3);
      assert.equal(s.framesAcked, s.framesSent);
      assert.equal(s.errorCount, 0, JSON.stringify(s.errorMessages));
    } finally {
      await tb.stop();
    }
  });

  it('a wrong secret is refused by the broker and reported, not hidden', async () => {
    const tb = new TestBroker({ tenant: TENANT, users: { 'bad-00000': 'right' } });
    const port = await tb.start();
    try {
      await assert.rejects(
        runVirtualAgents(base(`mqtt://127.0.0.1:${port}`, { count: 1, durationMs: 500, agentIdPrefix: 'bad', credentials: credentialsFromMap({ 'bad-00000': 'wrong' }), retryMaxMs: 100, retryInitialMs: 50 })),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'CONNECT_FAILED');
          assert.match(err.message, /CONNACK 4|bad username or password/i);
          return true;
        },
      );
      assert.ok(tb.authFailures >= 1);
    } finally {
      await tb.stop();
    }
  });
});

describe('virtual agents over MQTT: broker outage', () => {
  it('reconnects, resends what was not acknowledged with a new dictionary epoch, loses nothing', async () => {
    const { tb, log, url } = await startBroker();
    try {
      const run = runVirtualAgents(
        base(url, { count: 3, series: 20, rate: 20, durationMs: 2000, retryInitialMs: 50, retryMaxMs: 200, drainTimeoutMs: 10_000, agentIdPrefix: 'out' }),
      );
      await sleep(700);
      await tb.unlisten();
      await sleep(300);
      await tb.listen();
      const s = await run;
      assert.deepEqual(log.errors, [], 'every frame resolves against the per-agent dictionary');
      assert.ok(s.errors.disconnects >= 3, `disconnects ${s.errors.disconnects}`);
      assert.equal(s.drained, true);
      assert.equal(s.framesAcked, s.framesSent, 'every frame acknowledged in the end');
      assert.equal(s.framesDropped, 0);
      for (const [agent, frames] of log.byAgent) {
        const uniq = log.unique(agent);
        assert.deepEqual(uniq, Array.from({ length: 40 }, (_, i) => i + 1), `${agent}: no gaps after deduplication`);
        assert.ok(frames.filter((f) => f.scope === 'reset').length >= 2, `${agent}: a reset frame after the reconnect`);
        assert.equal(frames.filter((f) => f.defs > 0).length, frames.filter((f) => f.scope === 'reset').length, 'defs only in reset frames');
      }
    } finally {
      await tb.stop();
    }
  });

  it('ends the send phase early when aborted, still with a summary', async () => {
    const { tb, url } = await startBroker();
    try {
      const ac = new AbortController();
      const run = runVirtualAgents(base(url, { count: 2, series: 10, rate: 10, durationMs: 60_000, agentIdPrefix: 'ab' }), { signal: ac.signal });
      await sleep(500);
      ac.abort();
      const s = await run;
      assert.ok(s.windowsScheduled < 1200, `stopped before the 60 s worth of windows (${s.windowsScheduled})`);
      assert.ok(s.framesSent > 0);
      assert.equal(s.framesAcked, s.framesSent);
      assert.equal(s.drained, true);
    } finally {
      await tb.stop();
    }
  });

  it('fails clearly when nothing listens', async () => {
    const { tb, url } = await startBroker();
    await tb.stop();
    await assert.rejects(runVirtualAgents(base(url, { count: 2, durationMs: 1000, retryInitialMs: 50, retryMaxMs: 100 })), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'VirtualAgentsError');
      assert.equal(err.code, 'CONNECT_FAILED');
      assert.match(err.message, /^no virtual agent could connect to mqtt:\/\/127\.0\.0\.1:\d+: cannot connect/);
      return true;
    });
  });
});
