import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import type { MetricsConsumer } from '../../component.js';
import { AgentError } from '../../errors.js';
import type { MetricBatch } from '../../pdata.js';
import { metricValue, RecordingMetrics, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { TestSettings } from '../../testing/index.js';
import { otlpReceiverFactory } from './index.js';
import { EXPORT_PATH, otlpTypes } from './otlp-proto.js';
import { OtlpReceiver } from './receiver.js';
import { httpRequest } from './test-client.js';
import type { HttpAnswer } from './test-client.js';

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

function gaugeRequest(n = 2, name = 'g'): Record<string, unknown> {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name,
                gauge: { dataPoints: Array.from({ length: n }, (_, i) => ({ timeUnixNano: '1767225600000000000', asDouble: i, attributes: [{ key: 'i', value: { intValue: String(i) } }] })) },
              },
            ],
          },
        ],
      },
    ],
  };
}

function protoBody(obj: Record<string, unknown>): Uint8Array {
  const t = otlpTypes().request;
  return t.encode(t.fromObject(obj)).finish();
}

function decodeResponse(a: HttpAnswer): { rejected: number; message: string } {
  const r = otlpTypes().response.toObject(otlpTypes().response.decode(a.body), { longs: Number }) as { partialSuccess?: { rejectedDataPoints?: number; errorMessage?: string } };
  return { rejected: r.partialSuccess?.rejectedDataPoints ?? 0, message: r.partialSuccess?.errorMessage ?? '' };
}

function decodeStatus(a: HttpAnswer): { code: number; message: string } {
  return otlpTypes().status.toObject(otlpTypes().status.decode(a.body)) as { code: number; message: string };
}

function config(extra: Record<string, unknown> = {}) {
  return otlpReceiverFactory.configSchema.parse({ http: { endpoint: '127.0.0.1:0' }, grpc: { endpoint: '127.0.0.1:0' }, ...extra });
}

async function started(settings: TestSettings, next: MetricsConsumer, extra: Record<string, unknown> = {}): Promise<OtlpReceiver> {
  const r = otlpReceiverFactory.create(settings, config(extra), next) as OtlpReceiver;
  await r.start();
  return r;
}

function grpcExport(port: number, body: Uint8Array, options: grpc.ChannelOptions = {}): Promise<{ code: number; details: string; response?: Buffer }> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, ...options });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(body),
      (err: grpc.ServiceError | null, response?: Buffer) => {
        client.close();
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: grpc.status.OK, details: '', ...(response ? { response } : {}) });
      },
    );
  });
}

class GatedConsumer implements MetricsConsumer {
  readonly batches: MetricBatch[] = [];
  private release: (() => void) | undefined;
  private gate: Promise<void> = new Promise((r) => (this.release = r));
  waiting = 0;
  async consumeMetrics(batch: MetricBatch): Promise<void> {
    this.waiting++;
    await this.gate;
    this.waiting--;
    this.batches.push(batch);
  }
  open(): void {
    this.release?.();
  }
}

describe('otlp receiver: lifecycle', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => otlpReceiverFactory.create(testSettings('otlp'), config(), new RecordingMetrics()));
  });

  it('starts with both endpoints disabled, and fails cleanly on a port in use', async () => {
    const none = otlpReceiverFactory.create(testSettings('otlp'), otlpReceiverFactory.configSchema.parse({ http: null, grpc: null }), new RecordingMetrics());
    await none.start();
    await none.shutdown();
    const a = await started(testSettings('otlp/a'), new RecordingMetrics());
    const b = otlpReceiverFactory.create(testSettings('otlp/b'), config({ http: { endpoint: `127.0.0.1:${a.httpAddress!.port}` } }), new RecordingMetrics());
    await assert.rejects(b.start(), /EADDRINUSE/);
    await b.shutdown();
    await a.shutdown();
  });

  it('uses loopback defaults', () => {
    const c = otlpReceiverFactory.configSchema.parse({});
    assert.equal(c.http?.endpoint, '127.0.0.1:4318');
    assert.equal(c.grpc?.endpoint, '127.0.0.1:4317');
    assert.equal(c.max_request_bytes, 16 * 1024 * 1024);
    assert.equal(otlpReceiverFactory.configSchema.safeParse({ unknown_key: 1 }).success, false);
    assert.equal(otlpReceiverFactory.configSchema.safeParse({ http: { endpoint: 'nope' } }).success, false);
  });
});

describe('otlp receiver: HTTP', () => {
  const settings = testSettings('otlp');
  const rec = new RecordingMetrics();
  let r: OtlpReceiver;
  let port: number;
  before(async () => {
    r = await started(settings, rec, { max_request_bytes: 256 * 1024, max_elements: 20_000, max_labels_per_series: 8 });
    port = r.httpAddress!.port;
  });
  after(() => r.shutdown());

  const outcome = (o: string) => metricValue(settings, 'aiops_agent_otlp_requests_total', { transport: 'http', outcome: o });

  it('accepts protobuf and JSON, answering in the request encoding', async () => {
    const before_ = rec.samples.length;
    const a = await httpRequest(port, { path: '/v1/metrics', headers: PROTO, body: protoBody(gaugeRequest(2)) });
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/x-protobuf');
    assert.deepEqual(decodeResponse(a), { rejected: 0, message: '' });
    const j = await httpRequest(port, { path: '/v1/metrics', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(gaugeRequest(3)) });
    assert.equal(j.status, 200);
    assert.deepEqual(JSON.parse(j.body.toString()), {});
    assert.equal(rec.samples.length - before_, 5);
    assert.deepEqual(rec.samples.at(-1), { name: 'g', labels: { service: 'svc', i: '2' }, ts: 1767225600000, value: 2, kind: 'gauge' });
    assert.equal(rec.batches.at(-1)?.source, 'otlp');
  });

  it('accepts gzip bodies and refuses a gzip bomb with 413', async () => {
    const ok = await httpRequest(port, { path: '/v1/metrics', headers: { ...PROTO, 'content-encoding': 'gzip' }, body: zlib.gzipSync(protoBody(gaugeRequest(2))) });
    assert.equal(ok.status, 200);
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }); // 64 MiB -> ~64 KB, bound 256 KiB
    const tooBig = await httpRequest(port, { path: '/v1/metrics', headers: { ...PROTO, 'content-encoding': 'gzip' }, body: bomb });
    assert.equal(tooBig.status, 413);
    assert.match(decodeStatus(tooBig).message, /expands beyond max_request_bytes/);
    assert.equal(decodeStatus(tooBig).code, 8);
    const corrupt = await httpRequest(port, { path: '/v1/metrics', headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: 'not gzip' });
    assert.equal(corrupt.status, 400);
    assert.match(JSON.parse(corrupt.body.toString()).message, /invalid gzip/);
    assert.ok((await metricValue(settings, 'aiops_agent_otlp_received_bytes_total', { encoding: 'gzip' })) > 0);
  });

  it('answers 404, 405 and 415 for other paths, methods, content types and encodings', async () => {
    const n404 = await outcome('not_found');
    assert.equal((await httpRequest(port, { path: '/v1/traces', headers: PROTO, body: 'x' })).status, 404);
    const get = await httpRequest(port, { path: '/v1/metrics', method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const text = await httpRequest(port, { path: '/v1/metrics', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(text.status, 415);
    assert.match(text.body.toString(), /unsupported content type/);
    assert.equal((await httpRequest(port, { path: '/v1/metrics', body: 'x' })).status, 415);
    const br = await httpRequest(port, { path: '/v1/metrics', headers: { ...PROTO, 'content-encoding': 'br' }, body: 'x' });
    assert.equal(br.status, 415);
    assert.match(decodeStatus(br).message, /unsupported content encoding/);
    assert.equal((await outcome('not_found')) - n404, 1);
    assert.ok((await outcome('method_not_allowed')) >= 1);
    assert.ok((await outcome('unsupported_media_type')) >= 3);
  });

  it('refuses oversized bodies with 413, declared or streamed', async () => {
    const big = Buffer.alloc(300 * 1024, 0x0a);
    const declared = await httpRequest(port, { path: '/v1/metrics', headers: PROTO, body: big });
    assert.equal(declared.status, 413);
    const streamed = await httpRequest(port, { path: '/v1/metrics', headers: JSON_CT, body: big, chunked: true });
    assert.ok(streamed.status === 413 || streamed.status === 0, `status ${streamed.status} ${streamed.error ?? ''}`);
    assert.ok((await outcome('too_large')) >= 2);
  });

  it('answers truncated protobuf with 400 and a reason, and counts it', async () => {
    const body = protoBody(gaugeRequest(3));
    const bad0 = await outcome('bad_request');
    const a = await httpRequest(port, { path: '/v1/metrics', headers: PROTO, body: body.subarray(0, body.length - 3) });
    assert.equal(a.status, 400);
    assert.equal(decodeStatus(a).code, 3);
    assert.match(decodeStatus(a).message, /malformed protobuf/);
    assert.equal((await outcome('bad_request')) - bad0, 1);
  });

  it('answers JSON with wrong types: 400 for a broken skeleton, partial success for bad points', async () => {
    for (const body of ['null', '[]', '"x"', '{"resourceMetrics":5}', '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[7]}]}]}', '{"resourceMetrics": [', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]']) {
      const a = await httpRequest(port, { path: '/v1/metrics', headers: JSON_CT, body });
      assert.equal(a.status, 400, body);
      assert.equal(typeof JSON.parse(a.body.toString()).message, 'string');
    }
    const req = gaugeRequest(3);
    const pts = (req as any).resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints;
    pts[0].asDouble = 'abc';
    pts[1].timeUnixNano = {};
    const a = await httpRequest(port, { path: '/v1/metrics', headers: JSON_CT, body: JSON.stringify(req) });
    assert.equal(a.status, 200);
    const ps = JSON.parse(a.body.toString()).partialSuccess;
    assert.equal(ps.rejectedDataPoints, '2');
    assert.match(ps.errorMessage, /rejected 2 of 3 data points; invalid: 2/);
    assert.ok((await metricValue(settings, 'aiops_agent_otlp_dropped_points_total', { reason: 'invalid' })) >= 2);
  });

  it('rejects points over the label limits in a partial success (protobuf)', async () => {
    const req = gaugeRequest(2);
    const pts = (req as any).resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints;
    pts[0].attributes = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v' } }));
    pts[1].attributes = [{ key: 'huge', value: { stringValue: 'x'.repeat(100_000) } }];
    const a = await httpRequest(port, { path: '/v1/metrics', headers: PROTO, body: protoBody(req) });
    assert.equal(a.status, 200);
    const r = decodeResponse(a);
    assert.equal(r.rejected, 2);
    assert.match(r.message, /label_limit: 2/);
  });

  it('refuses a request over max_elements with 413 before decoding it', async () => {
    const a = await httpRequest(port, { path: '/v1/metrics', headers: PROTO, body: protoBody(gaugeRequest(8000)) });
    assert.equal(a.status, 413);
    assert.match(decodeStatus(a).message, /max_elements/);
  });

  it('answers random bodies (fast-check) with 200/400/413 and stays up', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (bytes, json) => {
        const a = await httpRequest(port, { path: '/v1/metrics', headers: json ? JSON_CT : PROTO, body: bytes });
        seen.add(a.status);
        assert.ok([200, 400, 413].includes(a.status), `status ${a.status}`);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 5 }), async (v) => {
        const body = JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: [v] } }, v] }] }] });
        const a = await httpRequest(port, { path: '/v1/metrics', headers: JSON_CT, body });
        assert.ok([200, 400].includes(a.status), `status ${a.status}`);
      }),
      { numRuns: 100 },
    );
    assert.ok(seen.has(400));
    const ok = await httpRequest(port, { path: '/v1/metrics', headers: PROTO, body: protoBody(gaugeRequest(1)) });
    assert.equal(ok.status, 200, 'still answering valid requests');
  });
});

describe('otlp receiver: backpressure and downstream errors', () => {
  it('answers 503 / UNAVAILABLE beyond max_in_flight_requests while next is slow, then drains', async () => {
    const settings = testSettings('otlp');
    const gated = new GatedConsumer();
    const r = await started(settings, gated, { max_in_flight_requests: 2 });
    try {
      const body = protoBody(gaugeRequest(1));
      const p1 = httpRequest(r.httpAddress!.port, { path: '/v1/metrics', headers: PROTO, body });
      const p2 = grpcExport(r.grpcAddress!.port, body);
      const until = Date.now() + 10_000;
      while (gated.waiting < 2 && Date.now() < until) await new Promise((res) => setTimeout(res, 5));
      assert.equal(gated.waiting, 2);
      const busy = await httpRequest(r.httpAddress!.port, { path: '/v1/metrics', headers: PROTO, body });
      assert.equal(busy.status, 503);
      assert.equal(busy.headers['retry-after'], '1');
      assert.equal(decodeStatus(busy).code, 14);
      const busyGrpc = await grpcExport(r.grpcAddress!.port, body);
      assert.equal(busyGrpc.code, grpc.status.UNAVAILABLE);
      gated.open();
      assert.equal((await p1).status, 200);
      assert.equal((await p2).code, grpc.status.OK);
      assert.equal(gated.batches.length, 2);
      assert.equal(await metricValue(settings, 'aiops_agent_otlp_requests_total', { outcome: 'overloaded' }), 2);
      assert.equal(await metricValue(settings, 'aiops_agent_otlp_in_flight_requests'), 0);
    } finally {
      gated.open();
      await r.shutdown();
    }
  });

  it('answers 503 when next fails (retryable) and 400 when next refuses permanently', async () => {
    const settings = testSettings('otlp');
    const rec = new RecordingMetrics();
    const r = await started(settings, rec);
    try {
      const body = protoBody(gaugeRequest(2));
      rec.failWith = new Error('buffer full');
      const a = await httpRequest(r.httpAddress!.port, { path: '/v1/metrics', headers: PROTO, body });
      assert.equal(a.status, 503);
      assert.match(decodeStatus(a).message, /buffer full/);
      assert.equal((await grpcExport(r.grpcAddress!.port, body)).code, grpc.status.UNAVAILABLE);
      rec.failWith = new AgentError('BAD', 'refused for good', false);
      assert.equal((await httpRequest(r.httpAddress!.port, { path: '/v1/metrics', headers: PROTO, body })).status, 400);
      assert.equal(await metricValue(settings, 'aiops_agent_otlp_requests_total', { outcome: 'downstream_error' }), 2);
      assert.equal(await metricValue(settings, 'aiops_agent_otlp_dropped_points_total', { reason: 'downstream' }), 6);
    } finally {
      await r.shutdown();
    }
  });
});

describe('otlp receiver: gRPC', () => {
  const settings = testSettings('otlp');
  const rec = new RecordingMetrics();
  let r: OtlpReceiver;
  let port: number;
  before(async () => {
    r = await started(settings, rec, { max_request_bytes: 256 * 1024 });
    port = r.grpcAddress!.port;
  });
  after(() => r.shutdown());

  it('accepts a request and answers with a partial success when points are refused', async () => {
    const ok = await grpcExport(port, protoBody(gaugeRequest(2)));
    assert.equal(ok.code, grpc.status.OK);
    assert.equal(ok.response?.length, 0);
    const req = gaugeRequest(2);
    (req as any).resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].timeUnixNano = '0';
    const partial = await grpcExport(port, protoBody(req));
    assert.equal(partial.code, grpc.status.OK);
    const resp = otlpTypes().response.toObject(otlpTypes().response.decode(partial.response!), { longs: Number }) as any;
    assert.equal(resp.partialSuccess.rejectedDataPoints, 1);
    assert.equal(rec.samples.length, 3);
  });

  it('answers INVALID_ARGUMENT for garbage and RESOURCE_EXHAUSTED for oversized or bomb messages, counting both', async () => {
    const bad = await grpcExport(port, Buffer.from([0x0a, 0xff, 0xff, 0x01]));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /malformed protobuf/);
    const big = await grpcExport(port, Buffer.alloc(300 * 1024));
    assert.equal(big.code, grpc.status.RESOURCE_EXHAUSTED);
    // Client-side gzip: 8 MiB of zeros travels as ~8 KB and must be refused after decompression.
    const bomb = await grpcExport(port, Buffer.alloc(8 * 1024 * 1024), { 'grpc.default_compression_algorithm': 2 });
    assert.equal(bomb.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(await metricValue(settings, 'aiops_agent_otlp_requests_total', { transport: 'grpc', outcome: 'too_large' }), 2);
    assert.equal(await metricValue(settings, 'aiops_agent_otlp_requests_total', { transport: 'grpc', outcome: 'bad_request' }), 1);
  });

  it('answers random messages (fast-check) with OK or INVALID_ARGUMENT and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1024 }), async (bytes) => {
        const a = await grpcExport(port, bytes);
        assert.ok([grpc.status.OK, grpc.status.INVALID_ARGUMENT].includes(a.code), `code ${a.code} ${a.details}`);
      }),
      { numRuns: 100 },
    );
    assert.equal((await grpcExport(port, protoBody(gaugeRequest(1)))).code, grpc.status.OK);
  });
});
