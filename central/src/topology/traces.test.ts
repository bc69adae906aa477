// Topology discovery from traces: the discovery logic on the embedded store (children before
// parents, call rates, declared nodes reused, bad names skipped), and POST /v1/traces on a
// running central fed by the real OpenTelemetry SDK's OTLP/HTTP protobuf exporter, plus JSON
// and malformed, truncated and hostile bodies.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ManualClock, testSettings } from '../detect/dynamic-xy/testdata/helpers.js';
import type { CentralService } from '../service/service.js';
import { startTestCentral } from '../service/testing/index.js';
import type { TestCentral } from '../service/testing/index.js';
import { openSqliteStores } from '../storage/index.js';
import { EmbeddedTopologyStore, TraceDiscovery } from './index.js';

const T0 = Date.UTC(2026, 2, 4, 8);

describe('TraceDiscovery', () => {
  it('turns spans whose parent is in another service into CALLS edges with their rate', async () => {
    const clock = new ManualClock(T0);
    const stores = openSqliteStores(':memory:', { now: () => clock.now() });
    const store = new EmbeddedTopologyStore(stores.db);
    await store.start();
    await store.putDeclared('acme', { version: 1, name: 'x', nodes: [{ id: 'db:orders', kind: 'Database', name: 'orders' }], edges: [] }, T0);
    const s = testSettings('topology/traces', clock);
    const d = new TraceDiscovery({ store, logger: s.logger, metrics: s.metrics, clock });
    // a child arrives before its parent (the parent ends last); calls inside one service and
    // spans without a usable service are not edges
    d.consumeSpans('acme', [
      { service: 'checkout', spanId: 'b1', parentSpanId: 'a1' },
      { service: 'checkout', spanId: 'b2', parentSpanId: 'b1' },
      { service: 'orders', spanId: 'c1', parentSpanId: 'b1' },
      { service: '', spanId: 'z1', parentSpanId: 'b1' },
      { service: 'bad name!', spanId: 'z2', parentSpanId: 'b1' },
    ]);
    d.consumeSpans('acme', [{ service: 'frontend', spanId: 'a1', parentSpanId: '' }]);
    for (let i = 0; i < 58; i++) d.consumeSpans('acme', [{ service: 'frontend', spanId: `p${i}`, parentSpanId: '' }, { service: 'checkout', spanId: `q${i}`, parentSpanId: `p${i}` }]);
    clock.advance(60_000);
    await d.flush();
    const snap = await store.snapshot('acme');
    const calls = snap.edges.filter((e) => e.kind === 'CALLS').map((e) => [e.from, e.to, e.properties?.['call_rate'], e.properties?.['protocol'], e.origin]);
    assert.deepEqual(calls.sort(), [
      ['service:checkout', 'db:orders', 0.017, 'otlp', 'discovered'],
      ['service:frontend', 'service:checkout', 0.983, 'otlp', 'discovered'],
    ]);
    await d.shutdown();
    await store.shutdown();
    await stores.close();
  });
});

describe('POST /api/v1/otlp/v1/traces (a running central, the OpenTelemetry SDK as client)', () => {
  let tc: TestCentral;
  let central: CentralService;
  let api = '';
  let token = '';
  before(async () => {
    tc = await startTestCentral({}, 'aiops-traces-');
    ({ central, api } = tc);
    token = (await tc.key('otel', ['write'])).token;
  });
  after(async () => {
    await tc?.stop();
  });

  it('learns frontend -> checkout from spans the SDK exports in protobuf', async () => {
    const provider = (service: string) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${api}/api/v1/otlp/v1/traces`, headers: { authorization: `Bearer ${token}` } }))],
      });
    const fe = provider('frontend');
    const co = provider('checkout');
    const parent = fe.getTracer('t').startSpan('GET /cart');
    const child = co.getTracer('t').startSpan('PlaceOrder', {}, trace.setSpan(ROOT_CONTEXT, parent));
    child.end();
    parent.end();
    await co.forceFlush();
    await fe.forceFlush();
    await central.traces!.flush();
    const snap = await central.topology.snapshot('default');
    assert.deepEqual(
      snap.edges.filter((e) => e.kind === 'CALLS').map((e) => [e.from, e.to, e.properties?.['protocol']]),
      [['service:frontend', 'service:checkout', 'otlp']],
    );
    await fe.shutdown();
    await co.shutdown();
  });

  it('takes OTLP/JSON and refuses malformed, truncated and hostile bodies', async () => {
    const post = (body: string | Uint8Array, type: string) => fetch(`${api}/api/v1/otlp/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    const json = {
      resourceSpans: [
        { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }] }, scopeSpans: [{ spans: [{ spanId: 'aaaaaaaaaaaaaaaa', parentSpanId: '' }] }] },
        { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'redis' } }] }, scopeSpans: [{ spans: [{ spanId: 'bbbbbbbbbbbbbbbb', parentSpanId: 'AAAAAAAAAAAAAAAA' }] }] },
      ],
    };
    assert.equal((await post(JSON.stringify(json), 'application/json')).status, 200);
    await central.traces!.flush();
    assert.ok((await central.topology.snapshot('default')).edges.some((e) => e.from === 'service:cart' && e.to === 'service:redis'));
    const bad: Array<[string | Uint8Array, string, RegExp]> = [
      ['{"resourceSpans": [', 'application/json', /JSON|invalid/i],
      [JSON.stringify({ resourceSpans: 'x' }), 'application/json', /resourceSpans must be an array/],
      [JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ spanId: 'zz<script>' }] }] }] }), 'application/json', /spanId must be a hex string/],
      [JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{}] }] }] }), 'application/json', /spanId is required/],
      [new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'application/x-protobuf', /not an OTLP ExportTraceServiceRequest/],
    ];
    for (const [body, type, re] of bad) {
      const r = await post(body, type);
      assert.equal(r.status, 400, String(body).slice(0, 60));
      assert.match(await r.text(), re);
    }
    const anon = await fetch(`${api}/api/v1/otlp/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anon.status, 401);
  });
});
