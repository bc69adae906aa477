// grpc exporter against a test-side AgentIngest server (grpc-js + shared-schemas decoders):
// plaintext, TLS, mTLS, wrong CA, and a server that misbehaves.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { status as grpcStatus } from '@grpc/grpc-js';
import { metricValue, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { TestSettings } from '../../testing/index.js';
import { makeTestPki } from '../internal/testdata/certs.js';
import type { TestPki } from '../internal/testdata/certs.js';
import { makeWindow } from '../internal/testdata/windows.js';
import { grpcExporterConfigSchema, grpcExporterFactory, GrpcExporter } from './index.js';
import type { GrpcExporterConfig } from './index.js';
import { TestIngestServer } from './testdata/ingest-server.js';

function cfg(over: Record<string, unknown>): GrpcExporterConfig {
  return grpcExporterConfigSchema.parse({ retry: { initial_interval: '100ms', max_interval: '500ms' }, connect_timeout: '3s', ...over });
}

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function feed(e: GrpcExporter, from: number, n: number, series = 4): Promise<void> {
  for (let i = from; i < from + n; i++) await e.consumeWindow(makeWindow(i, series));
}

const seqs = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

describe('grpc exporter config', () => {
  it('applies defaults and converts durations and sizes', () => {
    const c = grpcExporterConfigSchema.parse({ endpoint: 'central.example:4317' });
    assert.equal(c.tls.insecure, false);
    assert.equal(c.keepalive.time, 30_000);
    assert.equal(c.max_in_flight, 64);
    assert.equal(c.replay_rate, 20);
    assert.equal(c.buffer.max_bytes, 64 * 1024 * 1024);
    assert.equal(c.buffer.flush_interval, 1000);
    assert.equal(c.retry.max_interval, 30_000);
    assert.equal(c.compression, 'brotli');
    const d = grpcExporterConfigSchema.parse({ endpoint: '[::1]:4317', max_frame_bytes: '256KiB', buffer: { max_bytes: '8MiB' } });
    assert.equal(d.max_frame_bytes, 256 * 1024);
    assert.equal(d.buffer.max_bytes, 8 * 1024 * 1024);
  });

  it('names the path of every bad value', () => {
    const r = grpcExporterConfigSchema.safeParse({
      endpoint: 'http://central',
      tls: { cert_file: '/x.crt', bogus: 1 },
      max_rows_per_frame: 200_000,
      max_series: 1000,
      max_frame_bytes: '64MiB',
      retry: { initial_interval: '10s', max_interval: '1s' },
    });
    assert.equal(r.success, false);
    const paths = r.error!.issues.map((i) => i.path.join('.')).sort();
    for (const p of ['endpoint', 'max_frame_bytes', 'retry.initial_interval', 'tls']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    const pair = grpcExporterConfigSchema.safeParse({ endpoint: 'c:1', tls: { cert_file: '/x.crt' } });
    assert.ok(pair.error!.issues.some((i) => i.message === 'cert_file and key_file must be set together' && i.path.join('.') === 'tls.key_file'));
    const rows = grpcExporterConfigSchema.safeParse({ endpoint: 'c:1', max_rows_per_frame: 2000, max_series: 1000 });
    assert.ok(rows.error!.issues.some((i) => i.path.join('.') === 'max_rows_per_frame'));
  });

  it('refuses to start when a TLS file cannot be read, naming the key', async () => {
    const e = grpcExporterFactory.create(testSettings('grpc'), cfg({ endpoint: '127.0.0.1:1', tls: { ca_file: '/nonexistent/ca.pem' } }));
    await assert.rejects(e.start(), /tls\.ca_file: cannot read \/nonexistent\/ca\.pem: ENOENT/);
    await e.shutdown();
  });

  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => grpcExporterFactory.create(testSettings('grpc'), cfg({ endpoint: '127.0.0.1:1', tls: { insecure: true } })));
  });
});

describe('grpc exporter against a test AgentIngest server', () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });

  async function pair(serverOpts: ConstructorParameters<typeof TestIngestServer>[0], exporterCfg: Record<string, unknown>, settings?: TestSettings) {
    const server = new TestIngestServer(serverOpts);
    const port = await server.start();
    const s = settings ?? testSettings('grpc');
    const exporter = new GrpcExporter(s, cfg({ endpoint: `127.0.0.1:${port}`, ...exporterCfg }));
    await exporter.start();
    return { server, exporter, settings: s, port };
  }

  it('plaintext: frames arrive in order, acknowledged, with heartbeats', async () => {
    const { server, exporter, settings } = await pair({}, { tls: { insecure: true } });
    await feed(exporter, 0, 30, 20);
    await until(() => server.recorder.unique.length === 30, '30 frames');
    assert.deepEqual(server.recorder.unique, seqs(30));
    assert.equal(server.recorder.duplicates, 0);
    await until(() => exporter.frames.buffer.size === 0, 'buffer drained');
    await until(() => server.heartbeats.length >= 1, 'heartbeat on connect');
    assert.equal(server.heartbeats[0]!.agentId, 'test-agent');
    assert.equal(server.streams, 1);
    // Labels crossed the stream once: later frames carry no defs.
    assert.equal(server.recorder.frames.get(1)!.frame.seriesDefs.length, 20);
    assert.equal(server.recorder.frames.get(30)!.frame.seriesDefs.length, 0);
    await exporter.shutdown();
    assert.equal(server.heartbeats.at(-1)!.state, 'stopping');
    assert.equal(await metricValue(settings, 'aiops_agent_exporter_frames_acked_total'), 30);
    await server.stop();
  });

  it('TLS: verifies the server against ca_file', async () => {
    const { server, exporter } = await pair({ tls: { cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey) } }, { tls: { ca_file: pki.caFile, server_name: 'localhost' } });
    await feed(exporter, 0, 5);
    await until(() => server.recorder.unique.length === 5, '5 frames over TLS');
    await exporter.shutdown();
    await server.stop();
  });

  it('mTLS: authenticates with a client certificate; without one the connection fails cleanly', async () => {
    const tls = { cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey), ca: pki.read(pki.caFile), requireClientCert: true };
    const { server, exporter } = await pair({ tls }, { tls: { ca_file: pki.caFile, cert_file: pki.clientCert, key_file: pki.clientKey, server_name: 'localhost' } });
    await feed(exporter, 0, 5);
    await until(() => server.recorder.unique.length === 5, '5 frames over mTLS');
    await exporter.shutdown();

    const s = testSettings('grpc');
    const anon = new GrpcExporter(s, cfg({ endpoint: `127.0.0.1:${server.port}`, tls: { ca_file: pki.caFile, server_name: 'localhost' } }));
    await anon.start();
    await feed(anon, 100, 3);
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'retryable' })) >= 2, 'refused handshakes counted');
    assert.equal(server.recorder.unique.length, 5, 'nothing accepted without a client certificate');
    assert.equal(anon.frames.buffer.size, 3, 'frames wait in the buffer');
    await anon.shutdown();
    await server.stop();
  });

  it('wrong CA: refuses the server, counts, keeps the frames, and shuts down cleanly', async () => {
    const logs: string[] = [];
    const s = testSettings('grpc');
    const { pino } = await import('pino');
    s.logger = pino({ level: 'warn' }, { write: (l: string) => void logs.push(l) });
    const { server, exporter } = await pair({ tls: { cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey) } }, { tls: { ca_file: pki.otherCaFile, server_name: 'localhost' } }, s);
    await feed(exporter, 0, 3);
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'retryable' })) >= 2, 'failed handshakes counted');
    assert.equal(server.recorder.unique.length, 0);
    assert.equal(exporter.frames.buffer.size, 3);
    assert.ok(logs.some((l) => /certificate/i.test(l) && l.includes('cannot connect')), logs.join('\n'));
    assert.equal(logs.filter((l) => l.includes('cannot connect')).length, 1, 'the same reason is logged once');
    await exporter.shutdown();
    await server.stop();
  });

  it('survives garbage acks, acks for unknown sequences and a server closing mid-stream', async () => {
    const s = testSettings('grpc');
    const server = new TestIngestServer();
    const port = await server.start();
    let closes = 0;
    server.reply = (env, n) => {
      if (n === 2) return { kind: 'raw', bytes: Buffer.from('\x08\x01\x10\x63garbage that is no Ack') };
      if (n === 3) return { kind: 'raw', bytes: Buffer.alloc(0) };
      if (n === 4) return { kind: 'ack-as', ack: { sequence: 987654, status: 'ok', message: '', retryAfterMs: 0 } };
      if (env.sequence === 8 && closes++ === 0) return { kind: 'close' };
      return { kind: 'ack' };
    };
    const exporter = new GrpcExporter(s, cfg({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true }, ack_timeout: '1s' }));
    await exporter.start();
    await feed(exporter, 0, 12);
    await until(() => server.recorder.unique.length === 12 && exporter.frames.buffer.size === 0, 'all 12 frames acknowledged', 30_000);
    assert.deepEqual(server.recorder.unique, seqs(12));
    assert.ok(server.recorder.inOrder);
    assert.ok((await metricValue(s, 'aiops_agent_exporter_acks_total', { status: 'malformed' })) >= 1);
    assert.ok((await metricValue(s, 'aiops_agent_exporter_acks_total', { status: 'unknown_sequence' })) >= 1);
    assert.ok(server.streams >= 2, 'reconnected after the stream was closed');
    await exporter.shutdown();
    await server.stop();
  });

  it('answers a resync_dictionary ack and a heartbeat resync hint with a fresh dictionary', async () => {
    const s = testSettings('grpc');
    const server = new TestIngestServer();
    const port = await server.start();
    let resynced = false;
    server.reply = (env) => {
      if (env.sequence === 3 && !resynced) {
        resynced = true;
        return { kind: 'ack-as', ack: { sequence: 3, status: 'resync_dictionary', message: 'lost my dictionary', retryAfterMs: 0 }, resetDictionary: true };
      }
      return { kind: 'ack' };
    };
    const exporter = new GrpcExporter(s, cfg({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true }, heartbeat_interval: '1s' }));
    await exporter.start();
    await feed(exporter, 0, 6);
    await until(() => server.recorder.unique.length === 6 && exporter.frames.buffer.size === 0, 'six frames');
    assert.deepEqual(server.recorder.unique, seqs(6));
    assert.equal(await metricValue(s, 'aiops_agent_exporter_disconnects_total', { reason: 'resync' }), 1);
    assert.equal(server.streams, 2);
    server.resyncHeartbeats = 1;
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_disconnects_total', { reason: 'resync' })) === 2, 'resync hint in a heartbeat reply', 10_000);
    await feed(exporter, 6, 2);
    await until(() => server.recorder.unique.length === 8, 'frames after the heartbeat resync');
    assert.equal(server.recorder.scopes.at(-2), 'reset', 'a new dictionary epoch after the hint');
    await exporter.shutdown();
    await server.stop();
  });

  it('authenticates every call with the agent id and its secret when it has one', async () => {
    const s = testSettings('grpc');
    const secret = `aiops_a_${'s'.repeat(43)}`;
    s.agent = { ...s.agent, secret };
    const { server, exporter } = await pair({}, { tls: { insecure: true }, heartbeat_interval: '1s' }, s);
    await feed(exporter, 0, 3);
    await until(() => server.recorder.unique.length === 3 && server.heartbeats.length >= 2, 'frames and heartbeats');
    for (const method of ['StreamFeatures', 'Heartbeat'] as const) {
      const calls = server.metadata.filter((m) => m.method === method);
      assert.ok(calls.length >= 1, method);
      for (const { md } of calls) {
        assert.deepEqual(md.get('x-aiops-agent-id'), ['test-agent'], method);
        assert.deepEqual(md.get('authorization'), [`Bearer ${secret}`], method);
      }
    }
    await exporter.shutdown();
    await server.stop();

    // Without a secret: no credential metadata at all (client certificate or nothing).
    const plain = await pair({}, { tls: { insecure: true } });
    await feed(plain.exporter, 0, 1);
    await until(() => plain.server.recorder.unique.length === 1, 'one frame');
    for (const { md } of plain.server.metadata) {
      assert.deepEqual(md.get('authorization'), []);
      assert.deepEqual(md.get('x-aiops-agent-id'), []);
    }
    await plain.exporter.shutdown();
    await plain.server.stop();
  });

  it('treats a refused credential as a permanent failure: logged as an error without the secret, frames kept', async () => {
    const logs: string[] = [];
    const s = testSettings('grpc');
    const secret = `aiops_a_${'t'.repeat(43)}`;
    s.agent = { ...s.agent, secret };
    const { pino } = await import('pino');
    s.logger = pino({ level: 'info' }, { write: (l: string) => void logs.push(l) });
    const server = new TestIngestServer();
    server.refuse = grpcStatus.UNAUTHENTICATED;
    const port = await server.start();
    const exporter = new GrpcExporter(s, cfg({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true } }));
    await exporter.start();
    await feed(exporter, 0, 4);
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'failure' })) >= 2, 'refusals counted as permanent failures');
    assert.equal(await metricValue(s, 'aiops_agent_exporter_connects_total', { result: 'success' }), 0);
    assert.equal(exporter.frames.buffer.size, 4, 'frames wait in the buffer');
    const refused = logs.filter((l) => l.includes('cannot connect'));
    assert.equal(refused.length, 1, 'the same reason is logged once');
    assert.match(refused[0]!, /"level":50/);
    assert.match(refused[0]!, /central refused this agent's credentials \(UNAUTHENTICATED/);
    for (const l of logs) assert.ok(!l.includes(secret), `secret in a log line: ${l}`);
    // Credentials fixed (e.g. re-enrolled): the next attempt at max_interval connects and drains.
    server.refuse = undefined;
    await until(() => exporter.frames.buffer.size === 0, 'drained once accepted');
    assert.deepEqual(server.recorder.unique, seqs(4));
    await exporter.shutdown();
    await server.stop();
  });

  it('replays the backlog after central restarts, in order, rate-limited', async () => {
    const s = testSettings('grpc');
    const server = new TestIngestServer();
    const port = await server.start();
    const exporter = new GrpcExporter(s, cfg({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true }, replay_rate: 50 }));
    await exporter.start();
    await feed(exporter, 0, 3);
    await until(() => server.recorder.unique.length === 3, 'first frames');
    await server.stop();
    await feed(exporter, 3, 40);
    await until(async () => (await metricValue(s, 'aiops_agent_exporter_connected')) === 0, 'disconnected');
    const again = new TestIngestServer({ recorder: server.recorder });
    await again.start(port);
    await until(() => again.recorder.unique.length === 43 && exporter.frames.buffer.size === 0, '43 frames after the restart');
    assert.deepEqual(again.recorder.unique, seqs(43));
    await exporter.shutdown();
    await again.stop();
  });
});
