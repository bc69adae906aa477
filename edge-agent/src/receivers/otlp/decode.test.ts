import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { BadInputError } from '../../errors.js';
import { convertRequest, DeltaTotals, resourceLabelMap } from './convert.js';
import { decodeJsonRequest, decodeProtobufRequest, gunzipBounded, scanJson } from './decode.js';
import type { DecodeLimits } from './decode.js';
import { otlpTypes } from './otlp-proto.js';

const LIMITS: DecodeLimits = { maxRequestBytes: 1 << 20, maxElements: 10_000, maxDataPoints: 1000 };

function encode(obj: Record<string, unknown>): Uint8Array {
  const t = otlpTypes().request;
  return t.encode(t.fromObject(obj)).finish();
}

function gauge(n: number, attrs = 1): Record<string, unknown> {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'g',
                gauge: {
                  dataPoints: Array.from({ length: n }, (_, i) => ({
                    timeUnixNano: '1767225600000000000',
                    asDouble: i,
                    attributes: Array.from({ length: attrs }, (_, j) => ({ key: `k${j}`, value: { stringValue: `v${i}` } })),
                  })),
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

function isBad(status: number) {
  return (err: unknown) => err instanceof BadInputError && err.status === status;
}

describe('otlp decode: gzip', () => {
  it('inflates a gzip body within the bound', async () => {
    const body = Buffer.from('hello '.repeat(1000));
    assert.deepEqual(await gunzipBounded(zlib.gzipSync(body), 10_000), body);
  });

  it('refuses a gzip bomb (1 GiB of zeros in ~1 MB) with 413 at the bound', async () => {
    const member = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member)); // multi-member: 64 x 16 MiB
    assert.ok(bomb.length < 2 * 1024 * 1024, `bomb is ${bomb.length} bytes`);
    await assert.rejects(gunzipBounded(bomb, 16 * 1024 * 1024), isBad(413));
  });

  it('refuses corrupt and truncated gzip with 400', async () => {
    const good = zlib.gzipSync(Buffer.from('x'.repeat(5000)));
    await assert.rejects(gunzipBounded(Buffer.from('not gzip at all'), 1000), isBad(400));
    await assert.rejects(gunzipBounded(good.subarray(0, good.length - 10), 10_000), isBad(400));
    await assert.rejects(gunzipBounded(Buffer.alloc(0), 10_000), isBad(400));
  });
});

describe('otlp decode: protobuf', () => {
  it('decodes a valid request', () => {
    const msg = decodeProtobufRequest(encode(gauge(3)), LIMITS) as { resourceMetrics: unknown[] };
    assert.equal(msg.resourceMetrics.length, 1);
  });

  it('answers every truncation of a valid request with a 400 or a shorter valid message', () => {
    const bytes = encode(gauge(5, 3));
    let refused = 0;
    for (let cut = 0; cut < bytes.length; cut++) {
      try {
        decodeProtobufRequest(bytes.subarray(0, cut), LIMITS);
      } catch (err) {
        assert.ok(err instanceof BadInputError && err.status === 400, String(err));
        refused++;
      }
    }
    assert.ok(refused > bytes.length * 0.9, `${refused} of ${bytes.length} truncations refused`);
    assert.throws(() => decodeProtobufRequest(bytes.subarray(0, bytes.length - 1), LIMITS), isBad(400));
  });

  it('refuses more data points than max_data_points, and more elements than max_elements, before decoding', () => {
    assert.throws(() => decodeProtobufRequest(encode(gauge(1001)), LIMITS), (err: unknown) => isBad(413)(err) && /max_data_points/.test((err as Error).message));
    assert.throws(() => decodeProtobufRequest(encode(gauge(100, 60)), LIMITS), (err: unknown) => isBad(413)(err) && /max_elements/.test((err as Error).message));
    // Hostile: a packed bucket_counts of 2 MB (250k fixed64 values) in one histogram point.
    const w = otlpTypes().request;
    const big = w.encode(
      w.fromObject({
        resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ bucketCounts: Array.from({ length: 250_000 }, () => '1') }] } }] }] }],
      }),
    ).finish();
    assert.throws(() => decodeProtobufRequest(big, { ...LIMITS, maxRequestBytes: 4 << 20 }), isBad(413));
  });

  it('refuses nesting deeper than 32 levels (nested attribute arrays)', () => {
    let v: Record<string, unknown> = { stringValue: 'x' };
    for (let i = 0; i < 40; i++) v = { arrayValue: { values: [v] } };
    const req = gauge(1);
    (((req.resourceMetrics as any)[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0]) as any).attributes = [{ key: 'deep', value: v }];
    assert.throws(() => decodeProtobufRequest(encode(req), LIMITS), (err: unknown) => isBad(400)(err) && /deeper/.test((err as Error).message));
  });

  it('refuses a message field sent with the wrong wire type, field number 0 and bodies over max_request_bytes', () => {
    assert.throws(() => decodeProtobufRequest(Uint8Array.from([0x08, 0x01]), LIMITS), isBad(400)); // resource_metrics as varint
    assert.throws(() => decodeProtobufRequest(Uint8Array.from([0x00, 0x01]), LIMITS), isBad(400));
    assert.throws(() => decodeProtobufRequest(new Uint8Array(LIMITS.maxRequestBytes + 1), LIMITS), isBad(413));
  });

  it('never throws anything but BadInputError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeProtobufRequest(bytes, LIMITS);
        } catch (err) {
          if (!(err instanceof BadInputError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but BadInputError on mutated valid requests (property)', () => {
    const valid = encode(gauge(4, 2));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const b = Uint8Array.from(valid);
        for (const [at, v] of edits) b[at] = v;
        try {
          decodeProtobufRequest(b, LIMITS);
        } catch (err) {
          if (!(err instanceof BadInputError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('otlp decode: JSON', () => {
  it('counts values outside strings only', () => {
    scanJson(Buffer.from(JSON.stringify({ a: '{{{[[[,,,\\"]]]' })), 2);
    assert.throws(() => scanJson(Buffer.from('[1,2,3,4]'), 3), isBad(413));
    assert.throws(() => scanJson(Buffer.from('['.repeat(40) + ']'.repeat(40)), 1000), isBad(400));
  });

  it('refuses a flat array of a million values before parsing it', () => {
    const body = Buffer.from(`{"resourceMetrics":[${'0,'.repeat(1_000_000)}0]}`);
    assert.throws(() => decodeJsonRequest(body, { ...LIMITS, maxRequestBytes: 4 << 20 }), isBad(413));
  });

  it('refuses invalid UTF-8, invalid JSON and oversized bodies', () => {
    assert.throws(() => decodeJsonRequest(Uint8Array.from([0x7b, 0xff, 0x7d]), LIMITS), isBad(400));
    assert.throws(() => decodeJsonRequest(Buffer.from('{"resourceMetrics": ['), LIMITS), isBad(400));
    assert.throws(() => decodeJsonRequest(Buffer.alloc(LIMITS.maxRequestBytes + 1, 0x20), LIMITS), isBad(413));
    assert.deepEqual(decodeJsonRequest(Buffer.from('{}'), LIMITS), {});
  });
});

describe('otlp decode: bytes captured from the OpenTelemetry JS exporters 0.223', () => {
  it('decodes the protobuf and the JSON export of one collection to the same samples', () => {
    const read = (f: string) => readFileSync(new URL(`./testdata/${f}`, import.meta.url));
    const opts = { maxDataPoints: 1000, maxLabelsPerSeries: 64, maxLabelNameBytes: 256, maxLabelValueBytes: 4096, resourceLabels: resourceLabelMap(['deployment.environment']) };
    const fromProto = convertRequest(decodeProtobufRequest(read('sdk-0.223-export.binpb'), LIMITS), opts, new DeltaTotals(10));
    const fromJson = convertRequest(decodeJsonRequest(read('sdk-0.223-export.json'), LIMITS), opts, new DeltaTotals(10));
    assert.deepEqual(fromProto.samples, fromJson.samples);
    assert.equal(fromProto.samples.length, 9);
    assert.equal(fromProto.rejected, 0);
    const rl = { service: 'checkout', service_namespace: 'shop', instance: 'i-1', host: 'h1', deployment_environment: 'prod' };
    assert.deepEqual(fromProto.samples[0], { name: 'http_server_requests', labels: { ...rl, route: '/a', code: '200' }, ts: 1795668137658, value: 5, kind: 'counter', unit: '{request}' });
    assert.deepEqual(
      fromProto.samples.filter((s) => s.name === 'rpc_latency_bucket').map((s) => [s.labels.le, s.value]),
      [['10', 1], ['100', 2], ['+Inf', 3]],
    );
    assert.deepEqual(fromProto.samples.at(-1)?.labels, { ...rl, room: 'lab', sensors: '["a","b"]', active: 'true' });
  });
});
