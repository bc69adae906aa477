// The real peer of this receiver: the official OpenTelemetry JS SDK (sdk-metrics 2.12) with
// its three OTLP metric exporters (0.223: HTTP/JSON, HTTP/protobuf, gRPC). Everything the SDK
// sends must arrive as exactly the expected samples.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OTLPMetricExporter as GrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { MetricsConsumer } from '../../component.js';
import type { MetricBatch, MetricSample } from '../../pdata.js';
import { metricValue, RecordingMetrics, testSettings } from '../../testing/index.js';
import { otlpReceiverFactory } from './index.js';
import type { OtlpReceiver } from './receiver.js';
import { httpRequest } from './test-client.js';

const RESOURCE = {
  'service.name': 'checkout',
  'service.namespace': 'shop',
  'service.instance.id': 'i-1',
  'host.name': 'h1',
  'deployment.environment': 'prod',
  'cloud.region': 'eu-west-1',
};
const RL = { service: 'checkout', service_namespace: 'shop', instance: 'i-1', host: 'h1', deployment_environment: 'prod' };

function provider(exporter: PushMetricExporter, intervalMs = 3_600_000): MeterProvider {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs, exportTimeoutMillis: Math.min(intervalMs, 30_000) });
  return new MeterProvider({ resource: resourceFromAttributes(RESOURCE), readers: [reader] });
}

/** The four instruments of the brief, with attributes. */
function record(mp: MeterProvider): void {
  const meter = mp.getMeter('aiops-test', '1.0.0');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
  requests.add(5, { route: '/a', code: 200 });
  requests.add(2, { route: '/b', code: 500 });
  const depth = meter.createUpDownCounter('queue.depth');
  depth.add(4, { queue: 'q1' });
  depth.add(-3, { queue: 'q1' });
  const latency = meter.createHistogram('rpc.latency', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100] } });
  for (const v of [5, 50, 500]) latency.record(v, { method: 'get' });
  meter.createObservableGauge('room.temperature', { unit: 'Cel' }).addCallback((o) => o.observe(21.5, { room: 'lab', sensors: ['a', 'b'], active: true }));
}

function expected(ts: number): MetricSample[] {
  const s = (name: string, labels: Record<string, string>, value: number, kind: 'gauge' | 'counter', unit?: string): MetricSample => ({
    name,
    labels: { ...RL, ...labels },
    ts,
    value,
    kind,
    ...(unit ? { unit } : {}),
  });
  return [
    s('http_server_requests', { route: '/a', code: '200' }, 5, 'counter', '{request}'),
    s('http_server_requests', { route: '/b', code: '500' }, 2, 'counter', '{request}'),
    s('queue_depth', { queue: 'q1' }, 1, 'gauge'),
    s('rpc_latency_bucket', { method: 'get', le: '10' }, 1, 'counter', 'ms'),
    s('rpc_latency_bucket', { method: 'get', le: '100' }, 2, 'counter', 'ms'),
    s('rpc_latency_bucket', { method: 'get', le: '+Inf' }, 3, 'counter', 'ms'),
    s('rpc_latency_sum', { method: 'get' }, 555, 'counter', 'ms'),
    s('rpc_latency_count', { method: 'get' }, 3, 'counter', 'ms'),
    s('room_temperature', { room: 'lab', sensors: '["a","b"]', active: 'true' }, 21.5, 'gauge', 'Cel'),
  ];
}

function sortKey(x: MetricSample): string {
  return `${x.name}|${JSON.stringify(Object.entries(x.labels).sort())}`;
}

function sorted(xs: MetricSample[]): MetricSample[] {
  return [...xs].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

describe('otlp receiver with the official OpenTelemetry JS SDK exporters', () => {
  const settings = testSettings('otlp/sdk');
  const rec = new RecordingMetrics();
  let r: OtlpReceiver;
  let httpUrl: string;
  let grpcUrl: string;
  before(async () => {
    const config = otlpReceiverFactory.configSchema.parse({
      http: { endpoint: '127.0.0.1:0' },
      grpc: { endpoint: '127.0.0.1:0' },
      resource_labels: ['deployment.environment'],
    });
    r = otlpReceiverFactory.create(settings, config, rec) as OtlpReceiver;
    await r.start();
    httpUrl = `http://127.0.0.1:${r.httpAddress!.port}/v1/metrics`;
    grpcUrl = `http://127.0.0.1:${r.grpcAddress!.port}`;
  });
  after(() => r.shutdown());

  const clients: Array<[string, () => PushMetricExporter, Record<string, string>]> = [
    ['HTTP/JSON', () => new JsonExporter({ url: httpUrl }), { transport: 'http', encoding: 'identity' }],
    ['HTTP/protobuf', () => new ProtoExporter({ url: httpUrl }), { transport: 'http', encoding: 'identity' }],
    ['HTTP/protobuf + gzip', () => new ProtoExporter({ url: httpUrl, compression: 'gzip' as never }), { transport: 'http', encoding: 'gzip' }],
    ['gRPC', () => new GrpcExporter({ url: grpcUrl }), { transport: 'grpc', encoding: 'grpc' }],
    ['gRPC + gzip', () => new GrpcExporter({ url: grpcUrl, compression: 'gzip' as never }), { transport: 'grpc', encoding: 'grpc' }],
  ];

  for (const [what, makeExporter, bytesLabels] of clients) {
    it(`receives exactly the expected samples from the ${what} exporter`, async () => {
      rec.batches.length = 0;
      const bytesBefore = await metricValue(settings, 'aiops_agent_otlp_received_bytes_total', bytesLabels);
      const t0 = Date.now();
      const mp = provider(makeExporter());
      record(mp);
      await mp.forceFlush();
      const t1 = Date.now();
      await mp.shutdown();
      const first = rec.batches[0];
      assert.ok(first, 'a batch arrived');
      assert.equal(first.source, 'otlp/sdk');
      const ts = first.samples[0]!.ts;
      assert.ok(ts >= t0 - 1 && ts <= t1 + 1, `sample time ${ts} within the export [${t0}, ${t1}]`);
      // Cumulative instruments share the collection time; the gauge too.
      assert.deepEqual(sorted(first.samples), sorted(expected(ts)));
      assert.ok((await metricValue(settings, 'aiops_agent_otlp_received_bytes_total', bytesLabels)) > bytesBefore, 'bytes counted under the expected transport/encoding');
    });
  }

  it('turns delta temporality into running totals (HTTP/protobuf exporter with DELTA preference)', async () => {
    rec.batches.length = 0;
    const mp = provider(new ProtoExporter({ url: httpUrl, temporalityPreference: AggregationTemporalityPreference.DELTA }));
    const meter = mp.getMeter('delta');
    const c = meter.createCounter('jobs.done');
    const h = meter.createHistogram('job.seconds', { advice: { explicitBucketBoundaries: [1] } });
    c.add(5);
    h.record(0.5);
    await mp.forceFlush();
    c.add(2);
    h.record(3);
    await mp.forceFlush();
    await mp.shutdown();
    const jobs = rec.samples.filter((x) => x.name === 'jobs_done');
    assert.deepEqual(jobs.map((x) => [x.kind, x.value]), [['counter', 5], ['counter', 7]]);
    const counts = rec.samples.filter((x) => x.name === 'job_seconds_count').map((x) => x.value);
    assert.deepEqual(counts, [1, 2]);
    const le1 = rec.samples.filter((x) => x.name === 'job_seconds_bucket' && x.labels.le === '1').map((x) => x.value);
    assert.deepEqual(le1, [1, 1]);
    assert.ok((await metricValue(settings, 'aiops_agent_otlp_delta_series')) >= 5);
  });

  it('receives periodic exports (PeriodicExportingMetricReader, gRPC) with increasing timestamps', async () => {
    rec.batches.length = 0;
    const mp = provider(new GrpcExporter({ url: grpcUrl }), 200);
    let n = 0;
    mp.getMeter('periodic').createObservableGauge('ticks').addCallback((o) => o.observe(++n));
    try {
      await rec.waitFor((x) => x.samples.filter((s) => s.name === 'ticks').length >= 3, 30_000);
    } finally {
      await mp.shutdown();
    }
    const ticks = rec.samples.filter((s) => s.name === 'ticks');
    for (let i = 1; i < ticks.length; i++) {
      assert.ok(ticks[i]!.ts >= ticks[i - 1]!.ts, 'timestamps do not go backwards');
      assert.ok(ticks[i]!.value > ticks[i - 1]!.value);
    }
  });
});

describe('otlp receiver backpressure seen by the SDK', () => {
  it('the HTTP exporter retries a 503 and its data arrives once the pipeline drains', async () => {
    const settings = testSettings('otlp/busy');
    const batches: MetricBatch[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((res) => (release = res));
    let held = 0;
    const slow: MetricsConsumer = {
      async consumeMetrics(b) {
        if (held++ === 0) await gate; // the first request blocks the only slot
        batches.push(b);
      },
    };
    const config = otlpReceiverFactory.configSchema.parse({ http: { endpoint: '127.0.0.1:0' }, grpc: null, max_in_flight_requests: 1 });
    const r = otlpReceiverFactory.create(settings, config, slow) as OtlpReceiver;
    await r.start();
    try {
      const url = `http://127.0.0.1:${r.httpAddress!.port}/v1/metrics`;
      const blocker = httpRequest(r.httpAddress!.port, {
        path: '/v1/metrics',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'b', gauge: { dataPoints: [{ timeUnixNano: '1767225600000000000', asDouble: 1 }] } }] }] }] }),
      });
      const until = Date.now() + 10_000;
      while (held === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 5));
      const mp = provider(new ProtoExporter({ url, timeoutMillis: 20_000 }));
      mp.getMeter('busy').createCounter('busy.count').add(3);
      const flushed = mp.forceFlush();
      while ((await metricValue(settings, 'aiops_agent_otlp_requests_total', { outcome: 'overloaded' })) === 0 && Date.now() < until + 10_000) {
        await new Promise((res) => setTimeout(res, 10));
      }
      assert.ok((await metricValue(settings, 'aiops_agent_otlp_requests_total', { outcome: 'overloaded' })) >= 1, 'the SDK was told 503');
      release();
      await flushed;
      await mp.shutdown();
      assert.equal((await blocker).status, 200);
      const busy = batches.flatMap((b) => b.samples).filter((x) => x.name === 'busy_count');
      assert.equal(busy.length >= 1, true, 'the retried export arrived');
      assert.equal(busy[0]!.value, 3);
    } finally {
      release();
      await r.shutdown();
    }
  });
});
