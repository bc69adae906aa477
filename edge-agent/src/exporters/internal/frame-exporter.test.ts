// The shared send path (window -> frames -> buffer -> ordered send loop) against an in-memory
// transport and a manual clock: deterministic, no network.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { decodeFrame } from '../../../../shared-schemas/src/index.js';
import { AgentError } from '../../errors.js';
import { ManualClock, metricValue, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { TestSettings } from '../../testing/index.js';
import { senderConfigShape } from './config.js';
import type { SenderConfig } from './config.js';
import { FrameExporter } from './frame-exporter.js';
import { FakeTransport } from './testdata/fake-transport.js';
import { makeWindow } from './testdata/windows.js';

const schema = z.object(senderConfigShape).strict();
const config = (over: Record<string, unknown> = {}): SenderConfig => schema.parse({ retry: { jitter: 0 }, ...over }) as SenderConfig;

async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

interface Rig {
  clock: ManualClock;
  settings: TestSettings;
  transport: FakeTransport;
  exporter: FrameExporter;
  /** Advances the manual clock in steps, letting promises run between them. */
  advance(ms: number, step?: number): Promise<void>;
  /** Shuts the exporter down while moving the manual clock (shutdown waits on it). */
  stop(): Promise<void>;
}

async function rig(over: Record<string, unknown> = {}, opts: { dataDir?: string; start?: boolean; transport?: FakeTransport } = {}): Promise<Rig> {
  const clock = new ManualClock();
  const settings = testSettings('grpc/test', { clock, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  const transport = opts.transport ?? new FakeTransport();
  let e = 0;
  const exporter = new FrameExporter(settings, { config: config(over), transport, random: () => 0.5, epochSource: () => ++e });
  if (opts.start !== false) await exporter.start();
  await settle();
  return {
    clock,
    settings,
    transport,
    exporter,
    async advance(ms, step = 100) {
      for (let t = 0; t < ms; t += step) {
        clock.advance(Math.min(step, ms - t));
        await settle(5);
      }
    },
    async stop() {
      let done = false;
      const p = exporter.shutdown().then(() => (done = true));
      while (!done) {
        clock.advance(250);
        await settle(5);
      }
      await p;
    },
  };
}

describe('FrameExporter (shared send path)', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => new FrameExporter(testSettings('grpc'), { config: config(), transport: new FakeTransport() }));
  });

  it('refuses windows before start and counts those arriving after shutdown', async () => {
    const r = await rig({}, { start: false });
    await assert.rejects(r.exporter.consumeWindow(makeWindow(0)), (e: unknown) => e instanceof AgentError && e.code === 'NOT_STARTED');
    await r.exporter.start();
    await r.exporter.shutdown();
    await r.exporter.consumeWindow(makeWindow(1));
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_dropped_frames_total', { reason: 'shutdown' }), 1);
  });

  it('delivers windows in order, each frame once, and empties the buffer as acks arrive', async () => {
    const r = await rig();
    for (let i = 0; i < 20; i++) await r.exporter.consumeWindow(makeWindow(i, 7));
    await settle();
    const rec = r.transport.recorder;
    assert.deepEqual(rec.unique, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.equal(rec.duplicates, 0);
    assert.equal(r.exporter.buffer.size, 0);
    // Labels and values survive the standalone -> stream re-encoding.
    const f5 = rec.frames.get(5)!;
    assert.equal(f5.frame.rows.length, 7);
    assert.deepEqual({ ...f5.labels[3] }, { __name__: 'node_cpu_usage_ratio', cpu: '3', host: 'h1' });
    assert.equal(f5.frame.rows[3]!.last, 3 + 4);
    assert.equal(f5.frame.windowStartMs, makeWindow(4).windowStartMs);
    // One dictionary epoch on one connection: a reset frame, then only continues without defs.
    assert.equal(rec.scopes[0], 'reset');
    assert.ok(rec.scopes.slice(1).every((s) => s === 'continue'));
    assert.equal(rec.frames.get(2)!.frame.seriesDefs.length, 0);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_frames_acked_total'), 20);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_frames_created_total'), 20);
    await r.stop();
  });

  it('writes every frame to the buffer before sending: nothing is lost while unreachable', async () => {
    const r = await rig();
    r.transport.current!.drop();
    r.transport.refuse = { kind: 'retryable', error: new Error('connect ECONNREFUSED 127.0.0.1:1') };
    for (let i = 0; i < 10; i++) await r.exporter.consumeWindow(makeWindow(i));
    await settle();
    assert.equal(r.exporter.buffer.size, 10);
    assert.equal(r.transport.recorder.unique.length, 0);
    r.transport.refuse = undefined;
    await r.advance(60_000, 500);
    assert.deepEqual(r.transport.recorder.unique, Array.from({ length: 10 }, (_, i) => i + 1));
    assert.equal(r.exporter.buffer.size, 0);
    await r.stop();
  });

  it('keeps at most max_in_flight frames unacknowledged', async () => {
    const r = await rig({ max_in_flight: 3 });
    r.transport.autoAck = false;
    for (let i = 0; i < 10; i++) await r.exporter.consumeWindow(makeWindow(i));
    await settle();
    const c = r.transport.current!;
    assert.deepEqual(c.sent, [1, 2, 3]);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_in_flight_frames'), 3);
    c.ack({ sequence: 2, status: 'ok' });
    await settle();
    assert.deepEqual(c.sent, [1, 2, 3, 4], 'acks may come out of order; the window slides by one');
    c.ack({ sequence: 99, status: 'ok' });
    c.ack({ sequence: 2, status: 'ok' });
    await settle();
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_acks_total', { status: 'unknown_sequence' }), 2);
    assert.deepEqual(c.sent, [1, 2, 3, 4]);
    assert.equal(r.exporter.buffer.size, 9);
    await r.stop();
  });

  it('resends everything unacknowledged, in order, on a new connection with a new dictionary', async () => {
    const r = await rig({ max_in_flight: 4 });
    r.transport.autoAck = false;
    for (let i = 0; i < 6; i++) await r.exporter.consumeWindow(makeWindow(i));
    await settle();
    const first = r.transport.current!;
    first.ack({ sequence: 1, status: 'ok' });
    first.ack({ sequence: 3, status: 'ok' });
    await settle();
    first.drop();
    r.transport.autoAck = true;
    await r.advance(2000);
    const second = r.transport.current!;
    assert.notEqual(second, first);
    assert.deepEqual(second.sent, [2, 4, 5, 6]);
    const rec = r.transport.recorder;
    assert.deepEqual(rec.unique, [1, 2, 3, 4, 5, 6]);
    assert.ok(rec.inOrder);
    assert.equal(rec.duplicates, 4, '2..5 were received before the drop and again after (deduplicated by sequence)');
    // The first frame on the new connection starts a new dictionary epoch.
    assert.equal(rec.scopes[6], 'reset');
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_disconnects_total', { reason: 'closed' }), 1);
    await r.stop();
  });

  it('backs off with jitter, capped, and resets the backoff after an acknowledgement', async () => {
    const r = await rig({ retry: { initial_interval: '1s', max_interval: '8s', multiplier: 2, jitter: 0.5 } });
    r.transport.current!.drop();
    r.transport.refuse = { kind: 'retryable', error: new Error('ECONNREFUSED') };
    const attemptsAt: number[] = [];
    const t0 = r.clock.now();
    let seen = r.transport.connectAttempts;
    for (let t = 0; t < 40_000; t += 100) {
      await r.advance(100, 100);
      if (r.transport.connectAttempts !== seen) {
        seen = r.transport.connectAttempts;
        attemptsAt.push(r.clock.now() - t0);
      }
    }
    // random() = 0.5 -> factor 1: delays 1, 2, 4, 8, 8, 8 ... seconds (the first follows the drop).
    const gaps = attemptsAt.map((t, i) => t - (i === 0 ? 0 : attemptsAt[i - 1]!));
    assert.deepEqual(gaps.slice(0, 6), [1000, 2000, 4000, 8000, 8000, 8000]);
    r.transport.refuse = undefined;
    await r.advance(8000);
    await r.exporter.consumeWindow(makeWindow(0));
    await settle();
    assert.equal(r.transport.recorder.unique.length, 1);
    const before = r.transport.connectAttempts;
    r.transport.current!.drop();
    await r.advance(1000);
    assert.equal(r.transport.connectAttempts, before + 1, 'after an ack the next delay is initial_interval again');
    await r.stop();
  });

  it('rate-limits the replay of a backlog after reconnect', async () => {
    const r = await rig({ replay_rate: 10 });
    r.transport.current!.drop();
    r.transport.refuse = { kind: 'retryable', error: new Error('down') };
    for (let i = 0; i < 50; i++) await r.exporter.consumeWindow(makeWindow(i, 2));
    r.transport.refuse = undefined;
    await r.advance(1000, 50);
    const rec = r.transport.recorder;
    const afterConnect = rec.unique.length;
    assert.ok(afterConnect >= 1 && afterConnect <= 2, `just reconnected: ${afterConnect}`);
    await r.advance(1000, 50);
    const oneSecondLater = rec.unique.length;
    assert.ok(oneSecondLater - afterConnect >= 9 && oneSecondLater - afterConnect <= 11, `10 frames/s: ${afterConnect} -> ${oneSecondLater}`);
    // New windows wait behind the backlog (order), then the backlog drains.
    await r.exporter.consumeWindow(makeWindow(50, 2));
    await r.advance(6000, 50);
    assert.deepEqual(rec.unique, Array.from({ length: 51 }, (_, i) => i + 1));
    await r.stop();
  });

  it('drops a rejected frame (counted, never resent) and reconnects on retry and resync acks', async () => {
    const r = await rig();
    const verdicts = new Map<number, string>([
      [2, 'rejected'],
      [4, 'retry'],
      [6, 'resync_dictionary'],
    ]);
    r.transport.ackOverride = (seq) => {
      const v = verdicts.get(seq);
      if (v === undefined) return undefined;
      verdicts.delete(seq);
      return { sequence: seq, status: v as 'rejected', message: `test ${v}`, retryAfterMs: v === 'retry' ? 3000 : 0 };
    };
    for (let i = 0; i < 8; i++) {
      await r.exporter.consumeWindow(makeWindow(i));
      await settle();
    }
    await r.advance(10_000);
    const rec = r.transport.recorder;
    const uniqueAcked = [1, 3, 4, 5, 6, 7, 8];
    for (const s of uniqueAcked) assert.ok(rec.frames.has(s), `frame ${s} delivered`);
    assert.equal(r.exporter.buffer.size, 0);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_dropped_frames_total', { reason: 'rejected' }), 1);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_disconnects_total', { reason: 'retry' }), 1);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_disconnects_total', { reason: 'resync' }), 1);
    assert.equal(r.transport.connections.length, 3);
    // Frame 2 was sent exactly once although it was "received" by the recorder: rejected is final.
    assert.equal(r.transport.connections.flatMap((c) => c.sent).filter((s) => s === 2).length, 1);
    await r.stop();
  });

  it('reconnects when acknowledgements stop coming (ack_timeout) and resends', async () => {
    const r = await rig({ ack_timeout: '5s' });
    r.transport.autoAck = false;
    await r.exporter.consumeWindow(makeWindow(0));
    await settle();
    r.transport.autoAck = true;
    await r.advance(8000);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_disconnects_total', { reason: 'ack_timeout' }), 1);
    assert.equal(r.exporter.buffer.size, 0);
    assert.deepEqual(r.transport.recorder.unique, [1]);
    await r.stop();
  });

  it('gives up a frame that breaks every connection (attempts_exhausted) so the rest flows', async () => {
    const r = await rig({ max_frame_attempts: 3, retry: { initial_interval: '100ms', max_interval: '100ms', jitter: 0 } });
    r.transport.onSend = (c, seq) => {
      if (seq === 2) c.drop(new Error('broker closed the connection: packet too large'));
    };
    for (let i = 0; i < 4; i++) await r.exporter.consumeWindow(makeWindow(i));
    await r.advance(3000);
    assert.deepEqual(r.transport.recorder.unique, [1, 3, 4]);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_dropped_frames_total', { reason: 'attempts_exhausted' }), 1);
    assert.equal(r.exporter.buffer.size, 0);
    await r.stop();
  });

  it('drops a corrupt stored frame (counted) and sends the others', async () => {
    const r = await rig();
    r.transport.current!.drop();
    r.transport.refuse = { kind: 'retryable', error: new Error('down') };
    await r.exporter.consumeWindow(makeWindow(0));
    // A frame that is not a valid standalone frame, as a damaged buffer row would be.
    r.exporter.buffer.put(r.exporter.buffer.maxSeq + 1, 0, new Uint8Array([0x41, 0x49, 0x4f, 0x46, 1, 4, 1, 0, 0, 0, 0, 9, 1, 2, 3, 4, 5]));
    await r.exporter.consumeWindow(makeWindow(2));
    r.transport.refuse = undefined;
    await r.advance(5000);
    assert.deepEqual(r.transport.recorder.unique, [1, 3], 'frame 2 (corrupt) dropped; the next window continues above it');
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_dropped_frames_total', { reason: 'corrupt' }), 1);
    assert.equal(r.exporter.buffer.size, 0);
    await r.stop();
  });

  it('sends heartbeats on connect, every interval and when stopping', async () => {
    const r = await rig({ heartbeat_interval: '10s' });
    await r.exporter.consumeWindow(makeWindow(0, 3));
    await r.advance(25_000, 1000);
    const c = r.transport.current!;
    await r.stop();
    const states = c.heartbeats.map((h) => h.state);
    assert.deepEqual(states, ['ok', 'ok', 'ok', 'stopping']);
    const last = c.heartbeats[3]!;
    assert.equal(last.agentId, 'test-agent');
    assert.equal(last.tenant, 'test');
    assert.equal(last.activeSeries, 3);
    assert.equal(last.framesSent, 1);
    assert.equal(last.bufferBytes, 0);
    assert.ok(last.uptimeMs >= 25_000 && last.uptimeMs <= 26_000, String(last.uptimeMs));
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_heartbeats_total', { result: 'success' }), 4);
  });

  it('waits for in-flight acknowledgements at shutdown, up to shutdown_timeout', async () => {
    const r = await rig({ shutdown_timeout: '3s' });
    r.transport.autoAck = false;
    await r.exporter.consumeWindow(makeWindow(0));
    await settle();
    let done = false;
    const stopping = r.exporter.shutdown().then(() => (done = true));
    await settle();
    assert.equal(done, false);
    r.transport.current!.ack({ sequence: 1, status: 'ok' });
    await settle();
    r.clock.advance(1000); // the 'stopping' heartbeat's bound
    await stopping;
    assert.equal(r.exporter.buffer.size, 0);

    const s = await rig({ shutdown_timeout: '3s' });
    s.transport.autoAck = false;
    await s.exporter.consumeWindow(makeWindow(0));
    await settle();
    await s.stop();
    const again = await rig({}, { dataDir: s.settings.agent.dataDir });
    await settle();
    assert.deepEqual(again.transport.recorder.unique, [1], 'the unacknowledged frame was persisted and resent after restart');
    await again.stop();
  });

  it('never reuses a sequence after a restart, even when the buffer file is lost', async () => {
    const a = await rig();
    for (let i = 0; i < 3; i++) await a.exporter.consumeWindow(makeWindow(i));
    await settle();
    await a.stop();
    const dir = a.settings.agent.dataDir;
    rmSync(join(dir, 'grpc_test.buffer.sqlite'));
    assert.ok(existsSync(join(dir, 'grpc_test.seq')));
    const b = await rig({}, { dataDir: dir });
    await b.exporter.consumeWindow(makeWindow(3));
    await settle();
    assert.deepEqual(b.transport.recorder.unique, [1001], 'the rest of the reserved block is skipped');
    await b.stop();
  });

  it('splits big windows by rows and by bytes; every frame decodes on its own from the buffer', async () => {
    const r = await rig({ max_rows_per_frame: 40, max_frame_bytes: '4KiB', compression: 'none' });
    r.transport.current!.drop();
    r.transport.refuse = { kind: 'retryable', error: new Error('down') };
    await r.exporter.consumeWindow(makeWindow(0, 100));
    await r.exporter.consumeWindow(makeWindow(1, 100, { labelBytes: 200 }));
    const stored = r.exporter.buffer.peek(100);
    let rows = 0;
    for (const f of stored) {
      assert.ok(f.bytes.length <= 4096, `frame ${f.seq} is ${f.bytes.length} bytes`);
      const frame = decodeFrame(f.bytes);
      assert.equal(frame.dictionaryScope, 'standalone');
      assert.ok(frame.rows.length <= 40);
      rows += frame.rows.length;
    }
    assert.equal(rows, 200);
    assert.deepEqual(stored.map((f) => f.seq), Array.from({ length: stored.length }, (_, i) => i + 1));
    assert.ok(stored.length > 6, `${stored.length} frames`);
    await r.stop();
  });

  it('drops hostile rows (counted) and sends the rest of the window', async () => {
    const r = await rig({ max_frame_bytes: '64KiB' });
    const w = makeWindow(0, 6);
    w.series[0]!.labels = { __name__: 'x', huge: 'v'.repeat(1 << 20) };
    w.series[1]!.row = { ...w.series[1]!.row, count: -1 };
    w.series[2]!.labels = { ...w.series[3]!.labels };
    (w.series[4]!.row as { mean: unknown }).mean = 'NaN';
    await r.exporter.consumeWindow(w);
    await settle();
    const rec = r.transport.recorder;
    assert.equal(rec.frames.get(1)!.frame.rows.length, 2);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_dropped_rows_total', { reason: 'invalid_labels' }), 1);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_dropped_rows_total', { reason: 'invalid_row' }), 2);
    assert.equal(await metricValue(r.settings, 'aiops_agent_exporter_dropped_rows_total', { reason: 'duplicate_series' }), 1);
    await r.stop();
  });
});
