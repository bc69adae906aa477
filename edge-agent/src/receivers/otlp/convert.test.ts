import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Long from 'long';
import { BadInputError } from '../../errors.js';
import type { MetricSample } from '../../pdata.js';
import { convertRequest, DeltaTotals, int64ToNumber, nanosToMs, resourceLabelMap, sanitizeLabelName, sanitizeMetricName } from './convert.js';
import type { ConvertOptions } from './convert.js';
import { decodeProtobufRequest } from './decode.js';
import { otlpTypes } from './otlp-proto.js';

const T_NS = '1767225600123456789';
const T_MS = 1767225600123;
const T2_NS = '1767225610123456789';
const T2_MS = 1767225610123;

const OPTS: ConvertOptions = {
  maxDataPoints: 1000,
  maxLabelsPerSeries: 16,
  maxLabelNameBytes: 64,
  maxLabelValueBytes: 128,
  resourceLabels: resourceLabelMap(['deployment.environment']),
};

const RESOURCE = {
  attributes: [
    { key: 'service.name', value: { stringValue: 'checkout' } },
    { key: 'service.namespace', value: { stringValue: 'shop' } },
    { key: 'service.instance.id', value: { stringValue: 'i-1' } },
    { key: 'host.name', value: { stringValue: 'h1' } },
    { key: 'deployment.environment', value: { stringValue: 'prod' } },
    { key: 'cloud.region', value: { stringValue: 'eu-west-1' } },
  ],
};
const RES_LABELS = { service: 'checkout', service_namespace: 'shop', instance: 'i-1', host: 'h1', deployment_environment: 'prod' };

function request(metrics: unknown[], resource: unknown = RESOURCE): Record<string, unknown> {
  return { resourceMetrics: [{ resource, scopeMetrics: [{ scope: { name: 'test', version: '1' }, metrics }] }] };
}

function point(value: Record<string, unknown>, attributes: unknown[] = [], time: unknown = T_NS): Record<string, unknown> {
  return { attributes, startTimeUnixNano: '1767225500000000000', timeUnixNano: time, ...value };
}

/** Converts the JSON form, and the same request through protobuf, and checks both agree. */
function both(req: Record<string, unknown>, opts = OPTS) {
  const fromJson = convertRequest(req, opts, new DeltaTotals(100));
  const t = otlpTypes().request;
  const bytes = t.encode(t.fromObject(req)).finish();
  const decoded = decodeProtobufRequest(bytes, { maxRequestBytes: 1 << 20, maxElements: 100_000, maxDataPoints: 1000 });
  const fromProto = convertRequest(decoded, opts, new DeltaTotals(100));
  assert.deepEqual(fromProto.samples, fromJson.samples, 'protobuf and JSON forms convert alike');
  assert.equal(fromProto.rejected, fromJson.rejected);
  return fromJson;
}

function s(name: string, labels: Record<string, string>, value: number, kind: 'gauge' | 'counter', unit?: string, ts = T_MS): MetricSample {
  const x: MetricSample = { name, labels, ts, value, kind };
  if (unit !== undefined) x.unit = unit;
  return x;
}

describe('otlp convert: numbers and names', () => {
  it('converts nanoseconds to milliseconds exactly, from strings, Longs and numbers', () => {
    assert.equal(nanosToMs(T_NS), T_MS);
    assert.equal(nanosToMs(Long.fromString(T_NS, true)), T_MS);
    assert.equal(nanosToMs(Long.fromString('18446744073709551615', true)), 18446744073709);
    assert.equal(nanosToMs('999999'), 0);
    assert.equal(nanosToMs(1_500_000), 1);
    assert.ok(Number.isNaN(nanosToMs('-5')));
    assert.ok(Number.isNaN(nanosToMs('12a')));
    assert.ok(Number.isNaN(nanosToMs({})));
    assert.equal(int64ToNumber(Long.fromNumber(-42)), -42);
    assert.equal(int64ToNumber('-42'), -42);
    assert.ok(Number.isNaN(int64ToNumber('4.2')));
  });

  it('sanitizes metric and label names like the Collector', () => {
    assert.equal(sanitizeMetricName('http.server.duration'), 'http_server_duration');
    assert.equal(sanitizeMetricName('1xx-rate/s'), '_1xx_rate_s');
    assert.equal(sanitizeMetricName('ns:metric'), 'ns:metric');
    assert.equal(sanitizeLabelName('http.route'), 'http_route');
    assert.equal(sanitizeLabelName('__name__'), 'key__name__');
    assert.equal(sanitizeLabelName('9lives'), 'key_9lives');
    assert.equal(sanitizeLabelName('a:b'), 'a_b');
  });
});

describe('otlp convert: metric types', () => {
  it('maps a gauge with every attribute value type, and the resource labels', () => {
    const r = both(
      request([
        {
          name: 'room.temperature',
          unit: 'Cel',
          gauge: {
            dataPoints: [
              point({ asDouble: 21.5 }, [
                { key: 'room', value: { stringValue: 'lab' } },
                { key: 'active', value: { boolValue: true } },
                { key: 'floor', value: { intValue: '-2' } },
                { key: 'ratio', value: { doubleValue: 0.25 } },
                { key: 'sensors', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '7' }, { boolValue: false }] } } },
                { key: 'meta', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
                { key: 'raw', value: { bytesValue: Buffer.from('hi').toString('base64') } },
                { key: 'empty', value: {} },
              ]),
              point({ asInt: '42' }, [{ key: 'room', value: { stringValue: 'hall' } }]),
            ],
          },
        },
      ]),
    );
    assert.deepEqual(r.samples, [
      s(
        'room_temperature',
        {
          ...RES_LABELS,
          room: 'lab',
          active: 'true',
          floor: '-2',
          ratio: '0.25',
          sensors: '["a",7,false]',
          meta: '{"k":"v"}',
          raw: 'aGk=',
          empty: '',
        },
        21.5,
        'gauge',
        'Cel',
      ),
      s('room_temperature', { ...RES_LABELS, room: 'hall' }, 42, 'gauge', 'Cel'),
    ]);
    assert.equal(r.points, 2);
    assert.equal(r.rejected, 0);
  });

  it('maps cumulative sums: monotonic -> counter, non-monotonic -> gauge', () => {
    const r = both(
      request([
        { name: 'http.requests', unit: '{request}', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [point({ asInt: '5' })] } },
        { name: 'queue.depth', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [point({ asDouble: -3 })] } },
      ]),
    );
    assert.deepEqual(r.samples, [s('http_requests', RES_LABELS, 5, 'counter', '{request}'), s('queue_depth', RES_LABELS, -3, 'gauge')]);
  });

  it('keeps a running total for delta sums, skips a retried point, and bounds the series kept', () => {
    const deltas = new DeltaTotals(2);
    const delta = (name: string, v: number, t: string, monotonic = true) =>
      request([{ name, sum: { aggregationTemporality: 1, isMonotonic: monotonic, dataPoints: [point({ asInt: String(v) }, [], t)] } }], null);
    const a1 = convertRequest(delta('a', 5, T_NS), OPTS, deltas);
    const a2 = convertRequest(delta('a', 2, T2_NS), OPTS, deltas);
    const retry = convertRequest(delta('a', 2, T2_NS), OPTS, deltas);
    assert.deepEqual(a1.samples, [s('a', {}, 5, 'counter')]);
    assert.deepEqual(a2.samples, [s('a', {}, 7, 'counter', undefined, T2_MS)]);
    assert.deepEqual(retry.samples, []);
    assert.equal(retry.duplicates, 1);
    assert.equal(retry.rejected, 0);
    const g = convertRequest(delta('g', -4, T_NS, false), OPTS, deltas);
    assert.deepEqual(g.samples, [s('g', {}, -4, 'gauge')]);
    assert.equal(deltas.size, 2);
    convertRequest(delta('c', 1, T_NS), OPTS, deltas); // evicts the least recently updated ("a")
    assert.equal(deltas.evictions, 1);
    assert.equal(deltas.size, 2);
    const a3 = convertRequest(delta('a', 1, '1767225620000000000'), OPTS, deltas);
    assert.deepEqual(a3.samples.map((x) => x.value), [1], 'an evicted series restarts from its next delta');
  });

  it('maps a cumulative histogram to cumulative _bucket{le}, _sum and _count counters', () => {
    const r = both(
      request([
        {
          name: 'rpc.latency',
          unit: 'ms',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [
              point({ count: '3', sum: 555, bucketCounts: ['1', '1', '1'], explicitBounds: [10, 100], min: 5, max: 500 }, [{ key: 'route', value: { stringValue: '/a' } }]),
              point({ count: '2', sum: 3 }, [{ key: 'route', value: { stringValue: '/b' } }]),
            ],
          },
        },
      ]),
    );
    const a = { ...RES_LABELS, route: '/a' };
    const b = { ...RES_LABELS, route: '/b' };
    assert.deepEqual(r.samples, [
      s('rpc_latency_bucket', { ...a, le: '10' }, 1, 'counter', 'ms'),
      s('rpc_latency_bucket', { ...a, le: '100' }, 2, 'counter', 'ms'),
      s('rpc_latency_bucket', { ...a, le: '+Inf' }, 3, 'counter', 'ms'),
      s('rpc_latency_sum', a, 555, 'counter', 'ms'),
      s('rpc_latency_count', a, 3, 'counter', 'ms'),
      s('rpc_latency_bucket', { ...b, le: '+Inf' }, 2, 'counter', 'ms'),
      s('rpc_latency_sum', b, 3, 'counter', 'ms'),
      s('rpc_latency_count', b, 2, 'counter', 'ms'),
    ]);
  });

  it('accumulates delta histograms per bucket', () => {
    const deltas = new DeltaTotals(100);
    const h = (counts: string[], count: string, sum: number, t: string) =>
      request([{ name: 'h', histogram: { aggregationTemporality: 1, dataPoints: [point({ count, sum, bucketCounts: counts, explicitBounds: [1] }, [], t)] } }], null);
    convertRequest(h(['1', '0'], '1', 0.5, T_NS), OPTS, deltas);
    const r = convertRequest(h(['1', '1'], '2', 4, T2_NS), OPTS, deltas);
    assert.deepEqual(
      r.samples.map((x) => [x.name, x.labels.le ?? '', x.value]),
      [
        ['h_bucket', '1', 2],
        ['h_bucket', '+Inf', 3],
        ['h_sum', '', 4.5],
        ['h_count', '', 3],
      ],
    );
  });

  it('maps exponential histograms to _count and _sum, and summaries to quantile gauges', () => {
    const r = both(
      request([
        {
          name: 'eh',
          exponentialHistogram: {
            aggregationTemporality: 2,
            dataPoints: [point({ count: '7', sum: 12.5, scale: 2, zeroCount: '1', positive: { offset: 1, bucketCounts: ['3', '3'] } })],
          },
        },
        {
          name: 'rpc.summary',
          summary: {
            dataPoints: [
              point({ count: '10', sum: 100, quantileValues: [{ quantile: 0.5, value: 8 }, { quantile: 0.99, value: 30 }] }),
            ],
          },
        },
      ]),
    );
    assert.deepEqual(r.samples, [
      s('eh_sum', RES_LABELS, 12.5, 'counter'),
      s('eh_count', RES_LABELS, 7, 'counter'),
      s('rpc_summary', { ...RES_LABELS, quantile: '0.5' }, 8, 'gauge'),
      s('rpc_summary', { ...RES_LABELS, quantile: '0.99' }, 30, 'gauge'),
      s('rpc_summary_sum', RES_LABELS, 100, 'counter'),
      s('rpc_summary_count', RES_LABELS, 10, 'counter'),
    ]);
  });

  it('skips points flagged "no recorded value" without rejecting them', () => {
    const r = both(request([{ name: 'g', gauge: { dataPoints: [point({ asDouble: 1, flags: 1 }), point({ asDouble: 2 })] } }]));
    assert.deepEqual(r.samples.map((x) => x.value), [2]);
    assert.equal(r.noValue, 1);
    assert.equal(r.rejected, 0);
  });

  it('passes NaN and infinities through (the normalizer decides)', () => {
    const r = convertRequest(request([{ name: 'g', gauge: { dataPoints: [point({ asDouble: 'NaN' }), point({ asDouble: '-Infinity' })] } }]), OPTS, new DeltaTotals(1));
    assert.ok(Number.isNaN(r.samples[0]?.value));
    assert.equal(r.samples[1]?.value, -Infinity);
  });
});

describe('otlp convert: labels', () => {
  it('lets point attributes override resource labels and joins keys that sanitize alike', () => {
    const r = both(
      request([
        {
          name: 'g',
          gauge: {
            dataPoints: [
              point({ asDouble: 1 }, [
                { key: 'service', value: { stringValue: 'override' } },
                { key: 'a.b', value: { stringValue: 'x' } },
                { key: 'a_b', value: { stringValue: 'y' } },
                { key: '__name__', value: { stringValue: 'sneaky' } },
              ]),
            ],
          },
        },
      ]),
    );
    assert.deepEqual(r.samples[0]?.labels, { ...RES_LABELS, service: 'override', a_b: 'x;y', key__name__: 'sneaky' });
  });

  it('rejects points over the label count, name and value limits, and keeps the others', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v' } }));
    const r = convertRequest(
      request(
        [
          {
            name: 'g',
            gauge: {
              dataPoints: [
                point({ asDouble: 1 }, many),
                point({ asDouble: 2 }, [{ key: 'big', value: { stringValue: 'x'.repeat(129) } }]),
                point({ asDouble: 3 }, [{ key: 'k'.repeat(65), value: { stringValue: 'v' } }]),
                point({ asDouble: 4 }, [{ key: 'arr', value: { arrayValue: { values: Array.from({ length: 100 }, () => ({ stringValue: 'abc' })) } } }]),
                point({ asDouble: 5 }, [{ key: 'utf8', value: { stringValue: 'é'.repeat(100) } }]),
                point({ asDouble: 6 }),
              ],
            },
          },
        ],
        null,
      ),
      OPTS,
      new DeltaTotals(1),
    );
    assert.deepEqual(r.samples.map((x) => x.value), [6]);
    assert.equal(r.rejected, 5);
    assert.equal(r.reasons.get('label_limit')?.count, 5);
  });

  it('rejects every point of a resource whose mapped attribute is too long', () => {
    const resource = { attributes: [{ key: 'service.name', value: { stringValue: 's'.repeat(1000) } }] };
    const r = convertRequest(request([{ name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }), point({ asDouble: 2 })] } }], resource), OPTS, new DeltaTotals(1));
    assert.equal(r.samples.length, 0);
    assert.equal(r.rejected, 2);
  });

  it('refuses attribute values nested deeper than 8 levels', () => {
    let v: Record<string, unknown> = { stringValue: 'leaf' };
    for (let i = 0; i < 12; i++) v = { arrayValue: { values: [v] } };
    const r = convertRequest(request([{ name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }, [{ key: 'deep', value: v }])] } }]), { ...OPTS, maxLabelValueBytes: 4096 }, new DeltaTotals(1));
    assert.equal(r.rejected, 1);
    assert.match(r.reasons.get('invalid')?.message ?? '', /nested deeper/);
  });
});

describe('otlp convert: malformed input', () => {
  it('refuses a malformed request skeleton with a 400 BadInputError', () => {
    for (const bad of [null, [], 'x', 5, { resourceMetrics: 5 }, { resourceMetrics: [5] }, { resourceMetrics: [{ scopeMetrics: {} }] }, { resourceMetrics: [{ scopeMetrics: [{ metrics: 'x' }] }] }, { resourceMetrics: [{ scopeMetrics: [{ metrics: [null] }] }] }]) {
      assert.throws(
        () => convertRequest(bad, OPTS, new DeltaTotals(1)),
        (err: unknown) => err instanceof BadInputError && err.status === 400,
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(convertRequest({}, OPTS, new DeltaTotals(1)).samples, []);
  });

  it('rejects points with wrong types and counts them, without throwing', () => {
    const cases: Array<[string, unknown]> = [
      ['time not a number', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }, [], 'abc')] } }],
      ['time zero', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }, [], '0')] } }],
      ['time missing', { name: 'g', gauge: { dataPoints: [{ asDouble: 1 }] } }],
      ['asDouble a word', { name: 'g', gauge: { dataPoints: [point({ asDouble: 'abc' })] } }],
      ['asInt an object', { name: 'g', gauge: { dataPoints: [point({ asInt: {} })] } }],
      ['asInt a fraction', { name: 'g', gauge: { dataPoints: [point({ asInt: '1.5' })] } }],
      ['no value', { name: 'g', gauge: { dataPoints: [point({})] } }],
      ['attributes not a list', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }, 'x' as never)] } }],
      ['attribute without key', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }, [{ value: { stringValue: 'v' } }])] } }],
      ['attribute value a string', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }, [{ key: 'k', value: 'v' }])] } }],
      ['stringValue a number', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1 }, [{ key: 'k', value: { stringValue: 5 } }])] } }],
      ['flags a string', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1, flags: 'x' })] } }],
      ['point not an object', { name: 'g', gauge: { dataPoints: [7] } }],
      ['dataPoints an object', { name: 'g', gauge: { dataPoints: {} } }],
      ['gauge a string', { name: 'g', gauge: 'x' }],
      ['two data fields', { name: 'g', gauge: { dataPoints: [point({ asDouble: 1 })] }, sum: { dataPoints: [] } }],
      ['name a number', { name: 42, gauge: { dataPoints: [point({ asDouble: 1 })] } }],
      ['name empty', { name: '', gauge: { dataPoints: [point({ asDouble: 1 })] } }],
      ['unit a number', { name: 'g', unit: 1, gauge: { dataPoints: [point({ asDouble: 1 })] } }],
      ['temporality unspecified', { name: 's', sum: { aggregationTemporality: 0, isMonotonic: true, dataPoints: [point({ asInt: '1' })] } }],
      ['temporality a word', { name: 's', sum: { aggregationTemporality: 'sometimes', dataPoints: [point({ asInt: '1' })] } }],
      ['isMonotonic a string', { name: 's', sum: { aggregationTemporality: 2, isMonotonic: 'yes', dataPoints: [point({ asInt: '1' })] } }],
      ['bucket count mismatch', { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [point({ count: '2', bucketCounts: ['1', '1'], explicitBounds: [1, 2] })] } }],
      ['bounds not increasing', { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [point({ count: '2', bucketCounts: ['1', '1', '0'], explicitBounds: [2, 1] })] } }],
      ['negative bucket count', { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [point({ count: '2', bucketCounts: ['-1', '3'], explicitBounds: [1] })] } }],
      ['count a word', { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [point({ count: 'many' })] } }],
      ['quantile out of range', { name: 'q', summary: { dataPoints: [point({ count: '1', sum: 1, quantileValues: [{ quantile: 2, value: 1 }] })] } }],
      ['quantileValues a number', { name: 'q', summary: { dataPoints: [point({ count: '1', sum: 1, quantileValues: 3 })] } }],
    ];
    for (const [what, metric] of cases) {
      const r = convertRequest(request([metric]), OPTS, new DeltaTotals(10));
      assert.equal(r.samples.length, 0, what);
      assert.equal(r.rejected, 1, what);
      assert.ok(r.reasons.get('invalid'), what);
    }
  });

  it('refuses more than maxDataPoints points with a 413 BadInputError', () => {
    const dataPoints = Array.from({ length: 11 }, (_, i) => point({ asDouble: i }));
    assert.throws(
      () => convertRequest(request([{ name: 'g', gauge: { dataPoints } }]), { ...OPTS, maxDataPoints: 10 }, new DeltaTotals(1)),
      (err: unknown) => err instanceof BadInputError && err.status === 413,
    );
  });

  it('never throws anything but BadInputError, whatever a field holds (property)', () => {
    const anyJson = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(anyJson, anyJson, anyJson, fc.constantFrom('gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'), (a, b, c, kind) => {
        const variants: unknown[] = [
          request([{ name: 'm', [kind]: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T_NS, asDouble: a, attributes: b, count: c, bucketCounts: a, explicitBounds: b, quantileValues: c }] } }]),
          request([{ name: a, unit: b, [kind]: c }]),
          request([{ name: 'm', [kind]: { dataPoints: [a, b, c] } }], a),
          { resourceMetrics: [{ resource: a, scopeMetrics: [{ metrics: [b] }] }] },
          a,
        ];
        for (const v of variants) {
          try {
            convertRequest(v, OPTS, new DeltaTotals(10));
          } catch (err) {
            if (!(err instanceof BadInputError)) throw err;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
