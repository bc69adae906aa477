// Virtual agents over gRPC (AgentIngest.StreamFeatures) against edge-agent's TestIngestServer:
// it decodes every frame with a SeriesDictionaryDecoder per stream and acknowledges by
// sequence; its reply hook injects 'retry', 'resync_dictionary' and 'rejected' acks.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FeatureFrameEnvelope } from '../../shared-schemas/src/index.js';
import { TestIngestServer } from '../../edge-agent/src/exporters/grpc/testdata/ingest-server.js';
import type { Reply } from '../../edge-agent/src/exporters/grpc/testdata/ingest-server.js';
import { runVirtualAgents } from './index.js';
import type { VirtualAgentsOptions } from './index.js';
import { FrameLog } from './testdata/frame-log.js';

interface Arrival {
  agent: string;
  sequence: number;
  scope: string;
  defs: number;
  /** Stream number at the server (a new one per connection). */
  stream: number;
}

describe('virtual agents over gRPC', () => {
  let server: TestIngestServer;
  let log: FrameLog;
  let arrivals: Arrival[];
  /** Optional non-default reply for envelope n (0-based, across all streams). */
  let inject: (env: FeatureFrameEnvelope, n: number) => Reply | undefined;
  let url: string;

  beforeEach(async () => {
    server = new TestIngestServer();
    log = new FrameLog();
    arrivals = [];
    inject = () => undefined;
    server.reply = (env, n) => {
      const f = log.record(env.frame);
      if (f) arrivals.push({ agent: f.frame.agentId, sequence: f.sequence, scope: f.scope, defs: f.defs, stream: server.streams });
      return inject(env, n) ?? { kind: 'ack' };
    };
    url = `grpc://127.0.0.1:${await server.start()}`;
  });
  afterEach(async () => {
    await server.stop();
  });

  const opts = (extra: Partial<VirtualAgentsOptions> = {}): VirtualAgentsOptions => ({
    target: url,
    count: 3,
    series: 40,
    rate: 10,
    durationMs: 1000,
    sequenceStart: 1,
    retryInitialMs: 50,
    retryMaxMs: 200,
    progressIntervalMs: 500,
    ...extra,
  });

  it('streams frames on one stream per agent, all acknowledged, dictionary correct per stream', async () => {
    const s = await runVirtualAgents(opts());
    assert.equal(server.streams, 3);
    assert.equal(server.recorder.decodeErrors, 0, 'every frame resolved against its stream dictionary');
    assert.deepEqual(log.errors, []);
    assert.equal(s.framesSent, 30);
    assert.equal(s.framesAcked, 30);
    assert.equal(s.errorCount, 0, JSON.stringify(s.errorMessages));
    assert.equal(log.total, 30);
    assert.equal(s.bytesSent, [...log.byAgent.values()].flat().reduce((a, f) => a + f.bytes, 0));
    for (const [agent, frames] of log.byAgent) {
      assert.deepEqual(
        frames.map((f) => f.sequence),
        Array.from({ length: 10 }, (_, i) => i + 1),
        agent,
      );
      assert.deepEqual(
        frames.map((f) => f.scope),
        ['reset', ...Array(9).fill('continue')],
      );
      assert.deepEqual(
        frames.map((f) => f.defs),
        [40, ...Array(9).fill(0)],
      );
    }
    assert.ok(server.heartbeats.some((h) => h.state === 'stopping'));
    assert.equal(server.heartbeats.length, s.heartbeatsSent);
  });

  it("on Ack 'retry' reconnects after the delay and resends the unacknowledged frames in order", async () => {
    inject = (env, n) => (n === 4 ? { kind: 'ack-as', ack: { sequence: env.sequence, status: 'retry', message: 'busy', retryAfterMs: 100 } } : undefined);
    const s = await runVirtualAgents(opts({ maxInFlight: 4 }));
    assert.equal(s.errors.acksRetry, 1);
    assert.ok(s.framesResent >= 1);
    assert.equal(s.framesAcked, 30, 'nothing lost');
    assert.equal(s.framesDropped, 0);
    assert.equal(server.streams, 4, 'one more stream for the agent told to retry');
    assert.equal(server.recorder.decodeErrors, 0);
    const retried = arrivals[4]!;
    const again = arrivals.filter((a) => a.agent === retried.agent && a.sequence === retried.sequence);
    assert.equal(again.length, 2, 'the frame was sent again');
    assert.equal(again[1]!.scope, 'reset', 'first frame of the new stream, with every def');
    assert.equal(again[1]!.defs, 40);
    for (const agent of log.byAgent.keys()) assert.deepEqual(log.unique(agent), Array.from({ length: 10 }, (_, i) => i + 1));
    assert.match(s.errorMessages.map((m) => m.message).join('\n'), /ack retry: busy/);
  });

  it("on Ack 'resync_dictionary' reconnects at once with a new epoch", async () => {
    inject = (env, n) => (n === 5 ? { kind: 'ack-as', ack: { sequence: env.sequence, status: 'resync_dictionary', message: 'lost it', retryAfterMs: 0 }, resetDictionary: true } : undefined);
    const s = await runVirtualAgents(opts());
    assert.equal(s.errors.acksResync, 1);
    assert.equal(s.framesAcked, 30);
    assert.equal(server.recorder.decodeErrors, 0);
    const agent = arrivals[5]!.agent;
    const frames = log.byAgent.get(agent)!;
    const resets = frames.filter((f) => f.scope === 'reset');
    assert.equal(resets.length, 2);
    assert.ok(resets[1]!.epoch > resets[0]!.epoch, 'a new epoch');
  });

  it("on Ack 'rejected' drops the frame, counts it, and starts a new epoch on the same stream", async () => {
    inject = (env, n) => (n === 3 ? { kind: 'ack-as', ack: { sequence: env.sequence, status: 'rejected', message: 'bad frame', retryAfterMs: 0 } } : undefined);
    const s = await runVirtualAgents(opts({ count: 1, maxInFlight: 1 }));
    assert.equal(s.errors.acksRejected, 1);
    assert.equal(s.framesDropped, 1);
    assert.equal(s.framesAcked, 9);
    assert.equal(server.streams, 1, 'no reconnect');
    assert.deepEqual(
      arrivals.map((a) => a.scope),
      ['reset', 'continue', 'continue', 'continue', 'reset', 'continue', 'continue', 'continue', 'continue', 'continue'],
    );
  });

  it('answers a heartbeat asking for a resync with a new dictionary epoch', async () => {
    server.resyncHeartbeats = 1;
    const s = await runVirtualAgents(opts({ count: 1 }));
    assert.equal(s.errors.heartbeatResyncs, 1);
    assert.equal(s.framesAcked, 10);
    assert.ok(server.streams >= 2);
    assert.equal(server.recorder.decodeErrors, 0);
  });

  it('stays bounded when nothing is acknowledged: ack timeouts, resends, drops counted', async () => {
    inject = () => ({ kind: 'none' });
    const s = await runVirtualAgents(
      // Windows every 250 ms, one in flight: the first frame times out at the 1 s tick, is resent
      // on a new stream, times out again at 2 s and is given up; the backlog overflows meanwhile.
      opts({ count: 1, rate: 4, durationMs: 2500, maxInFlight: 1, maxBacklog: 6, ackTimeoutMs: 300, maxFrameAttempts: 2, drainTimeoutMs: 300 }),
    );
    assert.equal(s.windowsScheduled, 10);
    assert.equal(s.framesAcked, 0);
    assert.ok(s.errors.ackTimeouts >= 1, `ack timeouts ${s.errors.ackTimeouts}`);
    assert.ok(s.framesResent >= 1, `the unacknowledged frame was resent on a new stream: ${JSON.stringify({ ...s, perSecond: undefined })}`);
    assert.ok(s.errors.backlogDrops > 0, 'the backlog is bounded');
    assert.ok(s.errors.attemptsExhausted >= 1, 'a frame never acknowledged is given up');
    assert.equal(s.framesDropped, s.errors.backlogDrops + s.errors.attemptsExhausted);
    assert.equal(s.drained, false);
    assert.ok(s.errorCount > 0);
    assert.equal(s.ackLatencyMs.count, 0);
  });

  it('decodes to the same rows for the same seed', async () => {
    await runVirtualAgents(opts({ count: 1, durationMs: 300, seed: 42 }));
    const first = log.byAgent.get('vagent-00000')!.map((f) => f.frame.rows);
    const again = new FrameLog();
    server.reply = (env) => {
      again.record(env.frame);
      return { kind: 'ack' };
    };
    await runVirtualAgents(opts({ count: 1, durationMs: 300, seed: 42 }));
    assert.deepEqual(again.byAgent.get('vagent-00000')!.map((f) => f.frame.rows), first);
  });
});
