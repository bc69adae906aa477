// The grpc: config section and the component's lifecycle (CONVENTIONS 7, 14).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { SelfMetrics, silentLogger, systemClock } from '../../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings } from '../../component.js';
import { FrameIngest } from '../../pipeline/index.js';
import { openSqliteStores } from '../../storage/index.js';
import { DEFAULT_MAX_MESSAGE, grpcIngestConfigSchema, grpcIngestFactory, GrpcIngest, GrpcIngestError, isLoopbackHost, parseListen } from './index.js';
import type { GrpcIngestConfigInput } from './index.js';

function issues(input: unknown): Array<{ path: string; message: string }> {
  const r = grpcIngestConfigSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be refused');
  return r.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

function settings(): CentralSettings {
  return { id: 'grpc', logger: silentLogger(), metrics: new SelfMetrics().forComponent('grpc'), clock: systemClock, dataDir: '/nonexistent' };
}

function make(input: GrpcIngestConfigInput) {
  const stores = openSqliteStores(':memory:', { now: () => Date.now() });
  const s = settings();
  const ingest = new FrameIngest({ next: { consumeFrame: async () => undefined }, logger: s.logger, metrics: s.metrics });
  const c = grpcIngestFactory.create(s, grpcIngestConfigSchema.parse(input), { agents: stores.agents, ingest });
  return { c, stores };
}

describe('grpc ingest config', () => {
  it('applies defaults: loopback listen, plaintext allowed there, limits matching the agents', () => {
    const c = grpcIngestConfigSchema.parse({});
    assert.equal(c.enabled, true);
    assert.equal(c.listen, '127.0.0.1:7443');
    assert.equal(c.tls, undefined);
    assert.equal(c.insecure, false);
    assert.equal(c.max_message, DEFAULT_MAX_MESSAGE);
    assert.equal(c.max_in_flight_per_stream, 64);
    assert.deepEqual(c.keepalive, { time: 60_000, timeout: 20_000, min_ping_interval: 10_000, permit_without_stream: true });
    assert.equal(c.shutdown_grace, 5000);
    const d = grpcIngestConfigSchema.parse({ listen: '[::1]:7443', max_message: '1MiB', keepalive: { min_ping_interval: '5s' } });
    assert.equal(d.max_message, 1024 * 1024);
    assert.equal(d.keepalive.min_ping_interval, 5000);
  });

  it('requires TLS off loopback unless insecure is explicit, and names every bad path', () => {
    const open = issues({ listen: '0.0.0.0:7443' });
    assert.deepEqual(open.map((i) => i.path), ['tls']);
    assert.match(open[0]!.message, /required when listen \(0\.0\.0\.0:7443\) is not a loopback address/);
    assert.equal(grpcIngestConfigSchema.parse({ listen: '0.0.0.0:7443', insecure: true }).insecure, true);
    assert.ok(grpcIngestConfigSchema.parse({ listen: '10.0.0.1:7443', tls: { cert_file: '/c.pem', key_file: '/k.pem' } }).tls);
    const both = issues({ listen: '10.0.0.1:7443', insecure: true, tls: { cert_file: '/c.pem', key_file: '/k.pem' } });
    assert.deepEqual(both.map((i) => i.path), ['insecure']);
    const bad = issues({ listen: 'central', tls: { cert_file: '/c.pem', require_client_cert: true, bogus: 1 }, max_message: '1GiB', max_in_flight_per_stream: 0, keepalive: { time: '0s' }, extra: true });
    const paths = bad.map((i) => i.path).sort();
    for (const p of ['listen', 'tls', 'max_message', 'max_in_flight_per_stream', 'keepalive.time', '']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    const mtls = issues({ tls: { cert_file: '/c.pem', key_file: '/k.pem', require_client_cert: true } });
    assert.deepEqual(mtls.map((i) => i.path), ['tls.ca_file']);
    assert.deepEqual(issues({ listen: '127.0.0.1:99999' }).map((i) => i.path), ['listen']);
  });

  it('tells loopback addresses apart', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'central.example', '127.0.0.256', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
    assert.deepEqual(parseListen('[::1]:7443'), { host: '::1', port: 7443 });
    assert.equal(parseListen('::1:7443'), undefined);
  });
});

describe('grpc ingest lifecycle', () => {
  it('passes the lifecycle contract (shutdown without start, start/shutdown, idempotent)', async () => {
    const a = make({ listen: '127.0.0.1:0' });
    await a.c.shutdown();
    await a.c.shutdown();
    const b = make({ listen: '127.0.0.1:0' });
    await b.c.start();
    await b.c.start();
    assert.ok(b.c.port > 0);
    await Promise.all([b.c.shutdown(), b.c.shutdown()]);
    await b.c.shutdown();
    await assert.rejects(b.c.start(), (e: Error) => e instanceof GrpcIngestError && e.code === 'SHUT_DOWN' && /start\(\) after shutdown\(\)/.test(e.message));
    await a.stores.close();
    await b.stores.close();
  });

  it('starts nothing when disabled', async () => {
    const { c, stores } = make({ enabled: false, listen: '127.0.0.1:0' });
    await c.start();
    assert.equal(c.port, 0);
    await c.shutdown();
    await stores.close();
  });

  it('refuses to start on unreadable TLS files or a busy port, naming the key', async () => {
    const tls = make({ listen: '127.0.0.1:0', tls: { cert_file: '/nonexistent/server.crt', key_file: '/nonexistent/server.key' } });
    await assert.rejects(tls.c.start(), (e: Error) => e instanceof GrpcIngestError && e.code === 'TLS_FILES' && e.message === 'grpc.tls.cert_file: cannot read /nonexistent/server.crt: ENOENT');
    await tls.c.shutdown();
    await tls.stores.close();

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const busy = make({ listen: `127.0.0.1:${port}` });
    await assert.rejects(busy.c.start(), (e: Error) => e instanceof GrpcIngestError && e.code === 'LISTEN' && e.message.startsWith(`grpc.listen: cannot listen on 127.0.0.1:${port}`) && (e as GrpcIngestError).retryable);
    await busy.c.shutdown();
    await busy.stores.close();
    await new Promise<void>((r) => blocker.close(() => r()));
  });

  it('is built by its factory', () => {
    assert.equal(grpcIngestFactory.type, 'grpc');
    assert.equal(grpcIngestFactory.configSchema, grpcIngestConfigSchema);
    const { c, stores } = make({});
    assert.ok(c instanceof GrpcIngest);
    void stores.close();
  });
});
