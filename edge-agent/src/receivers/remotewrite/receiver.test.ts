import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';
import type { MetricsConsumer } from '../../component.js';
import { AgentError } from '../../errors.js';
import type { MetricBatch } from '../../pdata.js';
import { metricValue, RecordingMetrics, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { TestSettings } from '../../testing/index.js';
import { httpRequest } from '../otlp/test-client.js';
import { remoteWriteReceiverFactory } from './index.js';
import { prompbTypes } from './prompb-proto.js';
import { RemoteWriteReceiver } from './receiver.js';

const HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const PATH = '/api/v1/write';
const captured = readFileSync(new URL('./testdata/prometheus-2.42-samples.snappy', import.meta.url));

function body(series: Array<{ labels: Record<string, string>; samples?: Array<[number, number]> }>): Uint8Array {
  const t = prompbTypes().writeRequest;
  const raw = t
    .encode(
      t.fromObject({
        timeseries: series.map((s) => ({
          labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
          samples: (s.samples ?? [[1, 1767225600000]]).map(([value, timestamp]) => ({ value, timestamp })),
        })),
      }),
    )
    .finish();
  return compress(raw);
}

function config(extra: Record<string, unknown> = {}) {
  return remoteWriteReceiverFactory.configSchema.parse({ endpoint: '127.0.0.1:0', ...extra });
}

async function started(settings: TestSettings, next: MetricsConsumer, extra: Record<string, unknown> = {}): Promise<RemoteWriteReceiver> {
  const r = remoteWriteReceiverFactory.create(settings, config(extra), next) as RemoteWriteReceiver;
  await r.start();
  return r;
}

describe('remote-write receiver: lifecycle and config', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => remoteWriteReceiverFactory.create(testSettings('remotewrite'), config(), new RecordingMetrics()));
  });

  it('uses loopback defaults and refuses unknown keys', () => {
    const c = remoteWriteReceiverFactory.configSchema.parse({});
    assert.equal(c.endpoint, '127.0.0.1:9201');
    assert.equal(c.max_request_bytes, 8 * 1024 * 1024);
    assert.equal(remoteWriteReceiverFactory.configSchema.safeParse({ url: 'x' }).success, false);
    assert.equal(remoteWriteReceiverFactory.configSchema.safeParse({ max_series_per_request: 0 }).success, false);
  });
});

describe('remote-write receiver: HTTP', () => {
  const settings = testSettings('remotewrite');
  const rec = new RecordingMetrics();
  let r: RemoteWriteReceiver;
  let port: number;
  before(async () => {
    r = await started(settings, rec, { max_request_bytes: 1024 * 1024, max_series_per_request: 1000, max_labels_per_series: 16 });
    port = r.address!.port;
  });
  after(() => r.shutdown());
  const outcome = (o: string) => metricValue(settings, 'aiops_agent_remotewrite_requests_total', { outcome: o });

  it('accepts bytes captured from Prometheus with 204', async () => {
    const a = await httpRequest(port, { path: PATH, headers: HEADERS, body: captured });
    assert.equal(a.status, 204);
    assert.equal(rec.samples.length, 377);
    assert.equal(rec.batches[0]?.source, 'remotewrite');
    assert.equal(await metricValue(settings, 'aiops_agent_remotewrite_accepted_samples_total'), 377);
    assert.equal(await outcome('success'), 1);
  });

  it('tolerates a missing version header and parameters on the content type', async () => {
    const a = await httpRequest(port, { path: PATH, headers: { 'content-type': 'application/x-protobuf; proto=prometheus.WriteRequest', 'content-encoding': 'snappy' }, body: body([{ labels: { __name__: 'v' } }]) });
    assert.equal(a.status, 204);
  });

  it('answers 415 for other encodings, content types and remote-write 2.0 messages; 405 and 404 otherwise', async () => {
    const b = body([{ labels: { __name__: 'x' } }]);
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'content-type': 'application/x-protobuf' }, /Content-Encoding/],
      [{ ...HEADERS, 'content-encoding': 'gzip' }, /Content-Encoding/],
      [{ ...HEADERS, 'content-type': 'application/json' }, /Content-Type/],
      [{ ...HEADERS, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' }, /remote-write 1.0/],
    ];
    for (const [headers, why] of cases) {
      const a = await httpRequest(port, { path: PATH, headers, body: b });
      assert.equal(a.status, 415, JSON.stringify(headers));
      assert.match(a.body.toString(), why);
    }
    const get = await httpRequest(port, { path: PATH, method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await httpRequest(port, { path: '/api/v1/push', headers: HEADERS, body: b })).status, 404);
    assert.equal(await outcome('unsupported_media_type'), 4);
  });

  it('answers 400 for bad snappy and truncated protobuf, with a reason', async () => {
    const bad = await httpRequest(port, { path: PATH, headers: HEADERS, body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x01, 0x02]) });
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /invalid snappy/);
    const raw = prompbTypes().writeRequest.encode(prompbTypes().writeRequest.fromObject({ timeseries: [{ labels: [{ name: '__name__', value: 'm' }], samples: [{ value: 1, timestamp: 1 }] }] })).finish();
    const truncated = await httpRequest(port, { path: PATH, headers: HEADERS, body: compress(raw.subarray(0, raw.length - 4)) });
    assert.equal(truncated.status, 400);
    assert.match(truncated.body.toString(), /malformed protobuf/);
    assert.ok((await outcome('bad_request')) >= 2);
  });

  it('answers 413 for a snappy length bomb, an oversized body and too many series', async () => {
    const bomb = await httpRequest(port, { path: PATH, headers: HEADERS, body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00]) });
    assert.equal(bomb.status, 413);
    assert.match(bomb.body.toString(), /declares 4294967295 bytes/);
    const huge = await httpRequest(port, { path: PATH, headers: HEADERS, body: Buffer.alloc(2 * 1024 * 1024) });
    assert.equal(huge.status, 413);
    const many = body(Array.from({ length: 1001 }, (_, i) => ({ labels: { __name__: 'm', i: String(i) } })));
    const tooMany = await httpRequest(port, { path: PATH, headers: HEADERS, body: many });
    assert.equal(tooMany.status, 413);
    assert.match(tooMany.body.toString(), /max_series_per_request/);
    assert.equal(await outcome('too_large'), 3);
  });

  it('refuses a request of a million series (13 MB of snappy) with 413 and stays up', async () => {
    const w = protobuf.Writer.create();
    for (let i = 0; i < 1_000_000; i++) {
      w.uint32(0x0a).fork();
      w.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x12).string('m').ldelim();
      w.uint32(0x12).fork().uint32(0x09).double(i).uint32(0x10).int64(1767225600000).ldelim();
      w.ldelim();
    }
    const a = await httpRequest(port, { path: PATH, headers: HEADERS, body: compress(w.finish()) });
    assert.equal(a.status, 413);
    assert.equal((await httpRequest(port, { path: PATH, headers: HEADERS, body: body([{ labels: { __name__: 'alive' } }]) })).status, 204);
  });

  it('accepts the good series of a request and answers 400 naming the dropped ones', async () => {
    const n0 = rec.samples.length;
    const labels17: Record<string, string> = { __name__: 'm' };
    for (let i = 0; i < 16; i++) labels17[`l${i}`] = 'v';
    const a = await httpRequest(port, {
      path: PATH,
      headers: HEADERS,
      body: body([
        { labels: { __name__: 'good', a: '1' } },
        { labels: labels17 },
        { labels: { __name__: 'm', big: 'x'.repeat(100_000) } },
        { labels: { job: 'no-name' } },
      ]),
    });
    assert.equal(a.status, 400);
    assert.match(a.body.toString(), /accepted 1 of 4 series; dropped 3: label_limit: 2 .*invalid_labels: 1/);
    assert.deepEqual(rec.samples.slice(n0).map((s) => s.name), ['good']);
    assert.equal(await metricValue(settings, 'aiops_agent_remotewrite_dropped_series_total', { reason: 'label_limit' }), 2);
    assert.equal(await metricValue(settings, 'aiops_agent_remotewrite_dropped_series_total', { reason: 'invalid_labels' }), 1);
    assert.equal(await outcome('partial'), 1);
  });

  it('answers random bodies (fast-check), raw and snappy-compressed, with 204/400/413 and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (bytes, wrap) => {
        const a = await httpRequest(port, { path: PATH, headers: HEADERS, body: wrap ? compress(bytes) : bytes });
        assert.ok([204, 400, 413].includes(a.status), `status ${a.status}`);
      }),
      { numRuns: 150 },
    );
    assert.equal((await httpRequest(port, { path: PATH, headers: HEADERS, body: captured })).status, 204);
  });
});

describe('remote-write receiver: backpressure and downstream errors', () => {
  it('answers 503 with Retry-After beyond max_in_flight_requests, then drains', async () => {
    const settings = testSettings('remotewrite');
    let release: () => void = () => {};
    const gate = new Promise<void>((res) => (release = res));
    const got: MetricBatch[] = [];
    let waiting = 0;
    const slow: MetricsConsumer = {
      async consumeMetrics(b) {
        waiting++;
        await gate;
        got.push(b);
      },
    };
    const r = await started(settings, slow, { max_in_flight_requests: 1 });
    try {
      const first = httpRequest(r.address!.port, { path: PATH, headers: HEADERS, body: captured });
      const until = Date.now() + 10_000;
      while (waiting === 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 5));
      const busy = await httpRequest(r.address!.port, { path: PATH, headers: HEADERS, body: captured });
      assert.equal(busy.status, 503);
      assert.equal(busy.headers['retry-after'], '1');
      release();
      assert.equal((await first).status, 204);
      assert.equal(got.length, 1);
      assert.equal(await metricValue(settings, 'aiops_agent_remotewrite_requests_total', { outcome: 'overloaded' }), 1);
    } finally {
      release();
      await r.shutdown();
    }
  });

  it('answers 503 when next fails and 400 when it refuses permanently, counting the samples', async () => {
    const settings = testSettings('remotewrite');
    const rec = new RecordingMetrics();
    const r = await started(settings, rec);
    try {
      rec.failWith = new Error('queue full');
      const a = await httpRequest(r.address!.port, { path: PATH, headers: HEADERS, body: captured });
      assert.equal(a.status, 503);
      assert.match(a.body.toString(), /queue full/);
      rec.failWith = new AgentError('NOPE', 'never', false);
      assert.equal((await httpRequest(r.address!.port, { path: PATH, headers: HEADERS, body: captured })).status, 400);
      assert.equal(await metricValue(settings, 'aiops_agent_remotewrite_dropped_samples_total', { reason: 'downstream' }), 754);
    } finally {
      await r.shutdown();
    }
  });
});
