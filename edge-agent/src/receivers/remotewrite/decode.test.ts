import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';
import { BadInputError } from '../../errors.js';
import { convertSeries, kindByName, MetadataCache } from './convert.js';
import { decodeWriteRequest, maxSnappyEncodedLength, snappyDecompressBounded, snappyDeclaredLength } from './decode.js';
import type { WriteLimits } from './decode.js';
import { MetricType, prompbTypes } from './prompb-proto.js';

const LIMITS: WriteLimits = {
  maxRequestBytes: 8 << 20,
  maxSeries: 20_000,
  maxSamples: 100_000,
  maxLabelsPerSeries: 8,
  maxLabelNameBytes: 32,
  maxLabelValueBytes: 64,
  maxMetadata: 10_000,
};

const testdata = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url));

function isBad(status: number) {
  return (err: unknown) => err instanceof BadInputError && err.status === status;
}

type Series = { labels: Record<string, string>; samples?: Array<[number, number]> };

function writeRequest(series: Series[], metadata: Array<{ type: number; metricFamilyName: string; unit?: string }> = []): Uint8Array {
  const t = prompbTypes().writeRequest;
  return t
    .encode(
      t.fromObject({
        timeseries: series.map((s) => ({
          labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
          samples: (s.samples ?? [[1, 1767225600000]]).map(([value, timestamp]) => ({ value, timestamp })),
        })),
        metadata,
      }),
    )
    .finish();
}

describe('remote-write decode: snappy', () => {
  it('reads the length header and refuses a length bomb before allocating', () => {
    assert.equal(snappyDeclaredLength(Uint8Array.from([0x05])), 5);
    assert.equal(snappyDeclaredLength(Uint8Array.from([0x80, 0x01])), 128);
    assert.equal(snappyDeclaredLength(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])), 0xffffffff);
    assert.equal(snappyDeclaredLength(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), -1);
    // 4 GiB - 1 declared in 6 bytes: refused by the header check, nothing is allocated.
    assert.throws(() => snappyDecompressBounded(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), 8 << 20), isBad(413));
    assert.throws(() => snappyDecompressBounded(Uint8Array.from([]), 100), isBad(400));
    assert.throws(() => snappyDecompressBounded(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]), 100), isBad(400));
  });

  it('refuses corrupt blocks, framed-format streams and truncated blocks with 400', () => {
    const good = compress(Buffer.from('abc'.repeat(1000)));
    assert.equal(Buffer.from(snappyDecompressBounded(good, 10_000)).toString(), 'abc'.repeat(1000));
    assert.throws(() => snappyDecompressBounded(Uint8Array.from([0x0a, 0xff, 0xff, 0xff]), 100), isBad(400));
    const framed = Buffer.concat([Buffer.from([0xff, 0x06, 0x00, 0x00]), Buffer.from('sNaPpY')]);
    assert.throws(() => snappyDecompressBounded(framed, 10_000), (err: unknown) => err instanceof BadInputError && err.status >= 400);
    assert.throws(() => snappyDecompressBounded(good.subarray(0, good.length - 5), 10_000), isBad(400));
  });

  it('bounds the body it will read by the worst-case snappy expansion of max_request_bytes', () => {
    assert.equal(maxSnappyEncodedLength(600), 32 + 600 + 100);
    const incompressible = Buffer.from(Array.from({ length: 60_000 }, (_, i) => (i * 7919) % 251));
    assert.ok(compress(incompressible).length <= maxSnappyEncodedLength(incompressible.length));
  });
});

describe('remote-write decode: bytes captured from Prometheus 2.42', () => {
  it('decodes a samples request and a metadata request, and converts them with metadata kinds', () => {
    const samplesRaw = snappyDecompressBounded(testdata('prometheus-2.42-samples.snappy'), LIMITS.maxRequestBytes);
    const metaRaw = snappyDecompressBounded(testdata('prometheus-2.42-metadata.snappy'), LIMITS.maxRequestBytes);
    assert.equal(samplesRaw.length, 52121);
    const limits = { ...LIMITS, maxLabelsPerSeries: 64, maxLabelNameBytes: 256, maxLabelValueBytes: 4096 };
    const d = decodeWriteRequest(samplesRaw, limits);
    assert.equal(d.series.length, 377);
    assert.equal(d.samples, 377);
    assert.equal(d.dropped.size, 0);
    const m = decodeWriteRequest(metaRaw, limits);
    assert.equal(m.series.length, 0);
    assert.equal(m.metadata.length, 194);
    const cache = new MetadataCache(1000);
    cache.update(m.metadata);
    assert.equal(cache.size, 194);
    const { samples, invalid } = convertSeries(d.series, cache);
    assert.equal(invalid.count, 0);
    assert.equal(samples.length, 377);
    for (const s of samples) {
      assert.equal(s.labels.job, 'prometheus');
      assert.equal(s.labels.instance, '127.0.0.1:19090');
      assert.equal(s.labels.__name__, undefined);
      assert.ok(s.ts > 1_700_000_000_000);
    }
    const byName = (n: string, extra: Record<string, string> = {}) => samples.find((s) => s.name === n && Object.entries(extra).every(([k, v]) => s.labels[k] === v));
    assert.equal(byName('go_gc_duration_seconds', { quantile: '0.5' })?.kind, 'gauge');
    assert.equal(byName('go_gc_duration_seconds_sum')?.kind, 'counter');
    assert.equal(byName('go_goroutines')?.kind, 'gauge');
    assert.equal(byName('prometheus_http_requests_total')?.kind, 'counter');
  });

  it('answers every truncation of a captured request with a 400 or a shorter valid request', () => {
    const raw = snappyDecompressBounded(testdata('prometheus-2.42-samples.snappy'), LIMITS.maxRequestBytes);
    const limits = { ...LIMITS, maxLabelsPerSeries: 64, maxLabelNameBytes: 256, maxLabelValueBytes: 4096 };
    let refused = 0;
    for (let cut = 1; cut < raw.length; cut += 97) {
      try {
        decodeWriteRequest(raw.subarray(0, cut), limits);
      } catch (err) {
        assert.ok(err instanceof BadInputError && err.status === 400, String(err));
        refused++;
      }
    }
    assert.ok(refused > 400, `${refused} truncations refused`);
  });
});

describe('remote-write decode: limits and hostile requests', () => {
  it('refuses a request of a million series with 413 at the series limit, without materialising it', () => {
    const w = protobuf.Writer.create();
    for (let i = 0; i < 1_000_000; i++) {
      w.uint32(0x0a).fork(); // timeseries
      w.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x12).string('m').ldelim(); // label
      w.uint32(0x12).fork().uint32(0x09).double(i).uint32(0x10).int64(1767225600000).ldelim(); // sample
      w.ldelim();
    }
    const bytes = w.finish();
    assert.ok(bytes.length > 30_000_000);
    assert.throws(() => decodeWriteRequest(bytes, { ...LIMITS, maxRequestBytes: 64 << 20 }), (err: unknown) => isBad(413)(err) && /max_series_per_request/.test((err as Error).message));
    assert.throws(() => decodeWriteRequest(bytes, { ...LIMITS, maxSeries: 2_000_000 }), (err: unknown) => isBad(413)(err) && /max_samples_per_request/.test((err as Error).message));
  });

  it('drops series over the label limits and keeps the rest', () => {
    const many: Record<string, string> = { __name__: 'm' };
    for (let i = 0; i < 10; i++) many[`l${i}`] = 'v';
    const d = decodeWriteRequest(
      writeRequest([
        { labels: many },
        { labels: { __name__: 'm', big: 'x'.repeat(65) } },
        { labels: { __name__: 'm', ['n'.repeat(33)]: 'v' } },
        { labels: { __name__: 'm', '': 'v' } },
        { labels: { __name__: 'ok', a: 'b' }, samples: [[1, 1], [2, 2]] },
      ]),
      LIMITS,
    );
    assert.equal(d.dropped.get('label_limit')?.count, 3);
    // An empty name is omitted on the wire (proto3 default): caught after decoding.
    const { samples, invalid } = convertSeries(d.series, new MetadataCache(1));
    assert.equal(invalid.count, 1);
    assert.equal(invalid.message, 'empty label name');
    assert.deepEqual(samples.map((x) => [x.name, x.labels]), [['ok', { a: 'b' }], ['ok', { a: 'b' }]]);
    // An explicitly encoded zero-length name is caught on the wire.
    const w = protobuf.Writer.create();
    w.uint32(0x0a).fork().uint32(0x0a).fork().uint32(0x0a).string('').uint32(0x12).string('v').ldelim().ldelim();
    assert.equal(decodeWriteRequest(w.finish(), LIMITS).dropped.get('invalid_labels')?.count, 1);
  });

  it('refuses a megabyte label value without decoding it', () => {
    const d = decodeWriteRequest(writeRequest([{ labels: { __name__: 'm', huge: 'x'.repeat(1 << 20) } }]), { ...LIMITS, maxLabelValueBytes: 4096 });
    assert.equal(d.series.length, 0);
    assert.match(d.dropped.get('label_limit')?.message ?? '', /1048576 bytes/);
  });

  it('counts exemplars and native histograms, and drops histogram-only series', () => {
    const w = protobuf.Writer.create();
    // series 1: a label, a sample, an exemplar (field 3); series 2: a label and a histogram (field 4) only
    w.uint32(0x0a).fork();
    w.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x12).string('a').ldelim();
    w.uint32(0x12).fork().uint32(0x09).double(1).uint32(0x10).int64(5).ldelim();
    w.uint32(0x1a).fork().uint32(0x11).double(0.5).ldelim();
    w.ldelim();
    w.uint32(0x0a).fork();
    w.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x12).string('h').ldelim();
    w.uint32(0x22).fork().uint32(0x19).double(3).ldelim();
    w.ldelim();
    const d = decodeWriteRequest(w.finish(), LIMITS);
    assert.equal(d.series.length, 1);
    assert.equal(d.exemplars, 1);
    assert.equal(d.histograms, 1);
    assert.equal(d.dropped.get('native_histogram_only')?.count, 1);
  });

  it('refuses wrong wire types and lengths past the end with 400', () => {
    assert.throws(() => decodeWriteRequest(Uint8Array.from([0x08, 0x01]), LIMITS), isBad(400)); // timeseries as a varint
    assert.throws(() => decodeWriteRequest(Uint8Array.from([0x0a, 0x05, 0x0a]), LIMITS), isBad(400));
    assert.throws(() => decodeWriteRequest(Uint8Array.from([0x00]), LIMITS), isBad(400));
  });

  it('never throws anything but BadInputError on random bytes, raw or snappy-compressed (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (bytes) => {
        for (const attempt of [() => decodeWriteRequest(bytes, LIMITS), () => decodeWriteRequest(snappyDecompressBounded(compress(bytes), LIMITS.maxRequestBytes), LIMITS), () => snappyDecompressBounded(bytes, 1 << 16)]) {
          try {
            attempt();
          } catch (err) {
            if (!(err instanceof BadInputError)) throw err;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but BadInputError on mutated captured requests (property)', () => {
    const raw = snappyDecompressBounded(testdata('prometheus-2.42-samples.snappy'), LIMITS.maxRequestBytes);
    const limits = { ...LIMITS, maxLabelsPerSeries: 64, maxLabelNameBytes: 256, maxLabelValueBytes: 4096 };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(raw.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = Uint8Array.from(raw);
        for (const [at, v] of edits) b[at] = v;
        try {
          const d = decodeWriteRequest(b, limits);
          convertSeries(d.series, new MetadataCache(10));
        } catch (err) {
          if (!(err instanceof BadInputError)) throw err;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('remote-write convert', () => {
  it('guesses kinds from names without metadata', () => {
    assert.equal(kindByName('http_requests_total'), 'counter');
    assert.equal(kindByName('rpc_duration_seconds_count'), 'counter');
    assert.equal(kindByName('rpc_duration_seconds_sum'), 'counter');
    assert.equal(kindByName('rpc_duration_seconds_bucket'), 'counter');
    assert.equal(kindByName('up'), 'gauge');
    assert.equal(kindByName('node_memory_MemFree_bytes'), 'gauge');
  });

  it('lets metadata override the name heuristic, with units, and bounds the families kept', () => {
    const cache = new MetadataCache(3);
    cache.update([
      { type: MetricType.GAUGE, metricFamilyName: 'queue_items_count', unit: '' },
      { type: MetricType.COUNTER, metricFamilyName: 'cpu_seconds', unit: 'seconds' },
      { type: MetricType.HISTOGRAM, metricFamilyName: 'rpc_latency', unit: '' },
    ]);
    assert.deepEqual(cache.resolve('queue_items_count'), { kind: 'gauge' });
    assert.deepEqual(cache.resolve('cpu_seconds'), { kind: 'counter', unit: 'seconds' });
    assert.deepEqual(cache.resolve('cpu_seconds_total'), { kind: 'counter', unit: 'seconds' });
    assert.deepEqual(cache.resolve('cpu_seconds_created'), { kind: 'gauge', unit: 'seconds' });
    assert.deepEqual(cache.resolve('rpc_latency_bucket'), { kind: 'counter' });
    assert.deepEqual(cache.resolve('rpc_latency_count'), { kind: 'counter' });
    cache.update([{ type: MetricType.SUMMARY, metricFamilyName: 'gc_seconds', unit: '' }]); // evicts queue_items_count
    assert.equal(cache.size, 3);
    assert.deepEqual(cache.resolve('queue_items_count'), { kind: 'counter' }, 'evicted: back to the heuristic');
    assert.deepEqual(cache.resolve('gc_seconds'), { kind: 'gauge' });
    assert.deepEqual(cache.resolve('gc_seconds_sum'), { kind: 'counter' });
  });

  it('refuses series without __name__ or with duplicate labels, and shares labels within a series', () => {
    const d = decodeWriteRequest(
      writeRequest([
        { labels: { job: 'x' } },
        { labels: { __name__: 'up', job: 'a' }, samples: [[1, 1000], [0, 2000], [NaN, 3000]] },
      ]),
      LIMITS,
    );
    const dup = { labels: [{ name: '__name__', value: 'm' }, { name: 'a', value: '1' }, { name: 'a', value: '2' }], samples: [{ value: 1, timestamp: 1 }] };
    const { samples, invalid } = convertSeries([...d.series, dup], new MetadataCache(10));
    assert.equal(invalid.count, 2);
    assert.equal(invalid.samples, 2);
    assert.deepEqual(samples.map((s) => [s.name, s.ts, s.value]), [['up', 1000, 1], ['up', 2000, 0], ['up', 3000, NaN]]);
    assert.equal(samples[0]!.labels, samples[1]!.labels);
  });
});
