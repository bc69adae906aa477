// The REST routes over a real gateway (HTTP on loopback) and the SQLite stores: what each
// route stores and answers, its refusals (400 naming the field, 401/403, 409, 413), and the
// OpenAPI document kept true for the whole set.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compress } from 'snappyjs';
import { z } from 'zod';
import { prompbTypes } from '../../../edge-agent/src/receivers/remotewrite/index.js';
import type { Alert } from '../../../shared-schemas/src/index.js';
import { checkOpenApiDrift, startTestGateway } from '../gateway/testing/index.js';
import type { TestGateway } from '../gateway/testing/index.js';
import { openSqliteStores } from '../storage/index.js';
import type { SqliteStores } from '../storage/index.js';
import { registerAlertRoutes, registerConfigRoutes, registerIncidentRoutes, registerLogRoutes, registerMetricRoutes } from './index.js';

const DetectionSchema = z.object({ x: z.number().int().min(1), y: z.number().int().min(1) }).strict().refine((d) => d.x <= d.y, { message: 'x must be <= y', path: ['x'] });

describe('central REST routes', () => {
  let t: TestGateway;
  let stores: SqliteStores;
  const applied: unknown[] = [];
  const T0 = Date.UTC(2026, 0, 1);

  before(async () => {
    stores = openSqliteStores(':memory:', { now: () => T0 });
    t = await startTestGateway({
      keys: stores.apiKeys,
      audit: stores.audit,
      config: { rateLimit: { ratePerSecond: 1000, burst: 1000 } },
      register: (g) => {
        registerAlertRoutes(g, { alerts: stores.alerts, ingest: { consumeAlerts: async (as: readonly Alert[]) => void (await Promise.all(as.map((a) => stores.alerts.upsert(a, T0)))) } });
        registerIncidentRoutes(g, { incidents: stores.incidents, alerts: stores.alerts });
        registerMetricRoutes(g, { metrics: stores.metrics, maxRemoteWriteBytes: 1024 * 1024, defaultTenant: 'default' });
        registerLogRoutes(g, { logs: stores.logs });
        registerConfigRoutes(g, { configs: stores.configs, detection: { validate: (b) => DetectionSchema.parse(b), apply: (_t, d) => void applied.push(d), defaults: () => ({ x: 3, y: 5 }) } });
      },
    });
  });
  after(async () => {
    await t?.close();
    await stores?.close();
  });

  const call = async (method: string, path: string, scope: 'read' | 'write' | 'admin' | undefined, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { ...(scope ? t.auth(scope) : {}), ...(body !== undefined && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: body instanceof Uint8Array ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as Record<string, any>) };
  };

  it('keeps the OpenAPI document true for every route', async () => {
    assert.deepEqual(await checkOpenApiDrift({ baseUrl: t.url, routes: t.gateway.routes(), tokens: t.tokens }), []);
  });

  it('ingests Alertmanager webhooks and generic alerts, deduplicated, listed with filters', async () => {
    const am = {
      version: '4',
      groupKey: '{}:{alertname="HighCPU"}',
      status: 'firing',
      receiver: 'aiops',
      groupLabels: { alertname: 'HighCPU' },
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://am',
      truncatedAlerts: 0,
      alerts: [{ status: 'firing', labels: { alertname: 'HighCPU', instance: 'h1' }, annotations: { summary: 'cpu' }, startsAt: '2026-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'abcdef0123456789' }],
    };
    const r1 = await call('POST', '/api/v1/alerts/ingest', 'write', am);
    assert.deepEqual([r1.status, r1.body?.format, r1.body?.accepted], [200, 'alertmanager-v4', 1]);
    await call('POST', '/api/v1/alerts/ingest', 'write', am);
    const g = await call('POST', '/api/v1/alerts/ingest', 'write', { alerts: [{ labels: { alertname: 'DiskFull', instance: 'h2' }, annotations: {} }] });
    assert.deepEqual([g.status, g.body?.format], [200, 'generic']);
    const list = await call('GET', '/api/v1/alerts?status=firing&label=instance%3Dh1', 'read');
    assert.equal(list.status, 200);
    assert.equal(list.body?.alerts.length, 1);
    assert.equal(list.body?.alerts[0].labels.alertname, 'HighCPU');
    assert.equal(list.body?.alerts[0].duplicates, 1, 'the second webhook is a duplicate of the first');
    // Tenant from the key (t1): another tenant sees nothing.
    assert.equal((await stores.alerts.list('other', {})).length, 0);
  });

  it('refuses bad alert bodies naming the field, and wrong keys with 401/403', async () => {
    const bad = await call('POST', '/api/v1/alerts/ingest', 'write', { alerts: [{ labels: { 'bad-name': 'x' } }] });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body?.field), /alerts\[0\]\.labels/);
    assert.equal((await call('POST', '/api/v1/alerts/ingest', undefined, { alerts: [] })).status, 401);
    assert.equal((await call('POST', '/api/v1/alerts/ingest', 'read', { alerts: [] })).status, 403);
    assert.equal((await call('GET', '/api/v1/alerts?label=novalue', 'read')).status, 400);
    assert.equal((await call('GET', '/api/v1/alerts?limit=0', 'read')).status, 400);
  });

  it('writes JSON samples and remote-write bodies, each stored once, and answers range queries', async () => {
    const json = { series: [{ labels: { __name__: 'cpu_usage', host: 'h1' }, samples: [[T0, 1], [T0 + 10_000, 2], [T0 + 20_000, 'NaN']] }] };
    const w = await call('POST', '/api/v1/metrics/write', 'write', json);
    assert.equal(w.status, 200);
    assert.equal(w.body?.accepted + w.body?.rejected.length, 3);
    const again = await call('POST', '/api/v1/metrics/write', 'write', json);
    assert.equal(again.body?.duplicate, true);

    const { writeRequest } = prompbTypes();
    const pb = writeRequest.encode(writeRequest.fromObject({ timeseries: [{ labels: [{ name: '__name__', value: 'mem_used' }, { name: 'host', value: 'h2' }], samples: [{ value: 5, timestamp: T0 }, { value: 6, timestamp: T0 + 15_000 }] }] })).finish();
    const body = compress(pb);
    const rw = await call('POST', '/api/v1/metrics/write', 'write', body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' });
    assert.equal(rw.status, 204);
    assert.equal((await call('POST', '/api/v1/metrics/write', 'write', body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' })).status, 204);

    const q = await call('GET', `/api/v1/metrics/query?selector=${encodeURIComponent('mem_used{host="h2"}')}&start=${T0}&end=${T0 + 60_000}&resolution=raw`, 'read');
    assert.equal(q.status, 200);
    assert.deepEqual(q.body?.series.map((s: any) => [s.labels.host, s.values]), [['h2', [5, 6]]], 'the resent body was not stored twice');
    const cpu = await call('GET', `/api/v1/metrics/query?selector=cpu_usage&start=2026-01-01T00:00:00Z&end=2026-01-01T00:01:00Z&resolution=raw`, 'read');
    assert.deepEqual(cpu.body?.series[0].values.slice(0, 2), [1, 2]);
  });

  it('refuses malformed, truncated and oversized metric writes and bad queries', async () => {
    const garbage = await call('POST', '/api/v1/metrics/write', 'write', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' });
    assert.equal(garbage.status, 413, 'a declared length beyond the limit is refused before decompressing');
    const truncated = await call('POST', '/api/v1/metrics/write', 'write', compress(new Uint8Array([0x0a, 0x20, 0x0a])), { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' });
    assert.equal(truncated.status, 400);
    assert.match(truncated.body?.message, /malformed protobuf/);
    const big = await call('POST', '/api/v1/metrics/write', 'write', new Uint8Array(2 * 1024 * 1024), { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' });
    assert.equal(big.status, 413);
    const noName = await call('POST', '/api/v1/metrics/write', 'write', { series: [{ labels: { host: 'a' }, samples: [[1, 1]] }] });
    assert.equal(noName.status, 400);
    assert.match(String(noName.body?.field), /series\.0\.labels|series\[0\]\.labels/);
    const sel = await call('GET', `/api/v1/metrics/query?selector=${encodeURIComponent('up{job=')}&start=0&end=10`, 'read');
    assert.equal(sel.status, 400);
    assert.match(String(sel.body?.field), /selector/);
    assert.equal((await call('GET', `/api/v1/metrics/query?selector=up&start=10&end=5`, 'read')).status, 400);
    assert.equal((await call('GET', `/api/v1/metrics/query?selector=up&start=yesterday&end=5`, 'read')).status, 400);
  });

  it('writes and queries log lines', async () => {
    const w = await call('POST', '/api/v1/logs/write', 'write', { streams: [{ labels: { service: 'cart' }, entries: [{ ts: '2026-01-01T00:00:01Z', level: 'error', line: 'db timeout' }, { ts: T0 + 2000, line: 'ok' }] }] });
    assert.deepEqual([w.status, w.body?.accepted], [200, 2]);
    const q = await call('GET', `/api/v1/logs/query?start=${T0}&end=${T0 + 60_000}&label=service%3Dcart&level=error`, 'read');
    assert.deepEqual(q.body?.lines.map((l: any) => l.line), ['db timeout']);
    const bad = await call('POST', '/api/v1/logs/write', 'write', { streams: [{ labels: {}, entries: [{ ts: 'noon', line: 'x' }] }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body?.field, 'body.streams[0].entries[0].ts');
  });

  it('stores detection config versioned, applies it, refuses stale writes and bad documents', async () => {
    const g0 = await call('GET', '/api/v1/config/detection', 'read');
    assert.deepEqual([g0.body?.version, g0.body?.document], [0, { x: 3, y: 5 }]);
    const p1 = await call('PUT', '/api/v1/config/detection', 'admin', { x: 2, y: 4 }, { 'if-match': '"0"' });
    assert.deepEqual([p1.status, p1.body?.version, p1.headers.get('etag')], [200, 1, '"1"']);
    assert.deepEqual(applied.at(-1), { x: 2, y: 4 });
    const stale = await call('PUT', '/api/v1/config/detection', 'admin', { x: 1, y: 4 }, { 'if-match': '"0"' });
    assert.equal(stale.status, 409);
    const bad = await call('PUT', '/api/v1/config/detection', 'admin', { x: 9, y: 4 });
    assert.deepEqual([bad.status, bad.body?.field], [400, 'body.x']);
    assert.equal((await call('PUT', '/api/v1/config/detection', 'write', { x: 1, y: 1 })).status, 403, 'config needs admin');
    const audit = await stores.audit.list({ action: 'config.detection.put' });
    assert.ok(audit.length >= 1);
  });

  it('validates topology documents with the shared contract', async () => {
    const ok = await call('PUT', '/api/v1/config/topology', 'admin', { version: 1, name: 'shop', nodes: [{ id: 'service:cart', kind: 'Service', name: 'cart' }, { id: 'cache:redis', kind: 'Cache', name: 'redis' }], edges: [{ from: 'service:cart', to: 'cache:redis', kind: 'DEPENDS_ON' }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const bad = await call('PUT', '/api/v1/config/topology', 'admin', { version: 1, name: 'shop', nodes: [{ id: 'service:cart', kind: 'Service', name: 'cart' }], edges: [{ from: 'service:cart', to: 'service:nowhere', kind: 'CALLS' }] });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body?.field), /edges/);
  });

  it('lists incidents and answers one with its alerts; 404 for an unknown id', async () => {
    const fp = (await stores.alerts.list('t1', { limit: 1 }))[0]!.fingerprint;
    await stores.incidents.put({ id: 'inc-1', tenant: 't1', title: 'CPU on h1', status: 'open', severity: 'critical', openedAtMs: T0, updatedAtMs: T0, resolvedAtMs: 0, representativeFingerprint: fp, alertFingerprints: [fp], services: ['cart'], commonLabels: {}, rootCauses: [] });
    const l = await call('GET', '/api/v1/incidents?status=open', 'read');
    assert.deepEqual(l.body?.incidents.map((i: any) => i.id), ['inc-1']);
    const one = await call('GET', '/api/v1/incidents/inc-1', 'read');
    assert.equal(one.body?.alerts.length, 1);
    assert.equal((await call('GET', '/api/v1/incidents/nope', 'read')).status, 404);
  });
});
