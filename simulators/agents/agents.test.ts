// Unit tests of the virtual agents: options, the series model, the dictionary, the histogram.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, encodeFrame, SeriesDictionaryDecoder } from '../../shared-schemas/src/index.js';
import { AgentDictionary } from './dictionary.js';
import { agentIdOf, checkCredentials, credentialsFromMap, parseDurationMs, parseTarget, resolveFleetCredentials, resolveVirtualAgentsOptions, VirtualAgentsError } from './index.js';
import type { VirtualAgentsOptions } from './index.js';
import { LatencyHistogram } from './latency.js';
import { SERIES_FAMILIES, SeriesModel } from './series.js';
import { Timeline } from './timeline.js';

const NOW = 1_700_000_003_456;

function badOption(input: VirtualAgentsOptions, message: RegExp, option?: string): void {
  assert.throws(
    () => resolveVirtualAgentsOptions(input, NOW),
    (err: unknown) => {
      assert.ok(err instanceof VirtualAgentsError, `expected VirtualAgentsError, got ${String(err)}`);
      assert.equal(err.name, 'VirtualAgentsError');
      assert.equal(err.code, 'BAD_OPTION');
      assert.equal(err.retryable, false);
      assert.match(err.message, message);
      if (option) assert.equal(err.option, option);
      return true;
    },
  );
}

describe('virtual agents options', () => {
  const T = 'mqtt://127.0.0.1:1883';

  it('fills defaults: real-time rate, sequences from now, windows aligned and in the past', () => {
    const c = resolveVirtualAgentsOptions({ target: T }, NOW);
    assert.equal(c.count, 10);
    assert.equal(c.series, 100);
    assert.equal(c.windowMs, 10_000);
    assert.equal(c.rate, 0.1);
    assert.equal(c.durationMs, 60_000);
    assert.equal(c.sequenceStart, NOW);
    assert.equal(c.startTimeMs % c.windowMs, 0);
    assert.ok(c.startTimeMs + c.windowMs <= NOW, 'the first window has closed');
    assert.deepEqual(c.targetSpec, { protocol: 'mqtt', tls: false, host: '127.0.0.1', port: 1883, address: 'mqtt://127.0.0.1:1883', display: 'mqtt://127.0.0.1:1883' });
  });

  it('starts simulated time in the past when it runs faster than real time', () => {
    // 60 s at 10 windows/s of 10 s = 6,000 s of simulated time.
    const c = resolveVirtualAgentsOptions({ target: T, rate: 10, durationMs: 60_000 }, NOW);
    const lastWindowEnd = c.startTimeMs + 600 * c.windowMs;
    assert.ok(lastWindowEnd <= NOW + 60_000, 'the last window ends by the end of the run');
    assert.ok(lastWindowEnd >= NOW - 2 * c.windowMs);
  });

  it('names the option and the value in every error', () => {
    badOption({ target: T, count: 0 }, /^--count must be >= 1 \(got 0\)$/, '--count');
    badOption({ target: T, count: 10_001 }, /^--count must be <= 10000 \(got 10001\)$/);
    badOption({ target: T, count: 2.5 }, /^--count must be an integer \(got 2.5\)$/);
    badOption({ target: T, series: 0 }, /^--series must be >= 1/);
    badOption({ target: T, durationMs: -5000 }, /^--duration must be >= 1 \(got -5000\)$/, '--duration');
    badOption({ target: T, rate: 0 }, /^--rate must be > 0 \(got 0\)$/, '--rate');
    badOption({ target: T, rate: Number.NaN }, /^--rate must be a number \(got NaN\)$/);
    badOption({ target: T, brotliQuality: 12 }, /^--brotli-quality must be <= 11/);
    badOption({ target: T, codec: 'zstd' as never }, /^--codec must be one of none, snappy, gzip, deflate, brotli/);
    badOption({ target: T, tenant: 'a/b' }, /^--tenant must be 1-128 characters/);
    badOption({ target: T, password: 'x' }, /^--password needs --username$/);
    badOption({ target: 'grpc://h:1', username: 'u' }, /^--username applies to mqtt/);
    badOption({ target: T, caFile: '/ca.pem' }, /^--ca-file needs a TLS target/);
    badOption({ target: T, credentials: () => undefined, username: 'u' }, /^--credentials-file cannot be combined with --username\/--password/, '--credentials-file');
    badOption({ target: 'grpc://h:1', credentials: () => undefined }, /^--credentials-file applies to mqtt/);
    badOption({ target: T, credentials: { a: 'b' } as never }, /^--credentials-file must be a function \(agentId\) => \{username, password\} \(got object\)$/);
    badOption({ target: T, retryInitialMs: 5000, retryMaxMs: 1000 }, /^--retry-initial must be <= --retry-max/);
    badOption({ target: T, bogus: 1 } as never, /^bogus is not a known option/);
    badOption({} as never, /^--target is required/);
  });

  it('parses targets and refuses unknown schemes, credentials and missing gRPC ports', () => {
    assert.equal(parseTarget('mqtt://broker').port, 1883);
    assert.equal(parseTarget('mqtts://broker').port, 8883);
    assert.deepEqual(
      { ...parseTarget('grpcs://[::1]:4317') },
      { protocol: 'grpc', tls: true, host: '[::1]', port: 4317, address: '[::1]:4317', display: 'grpcs://[::1]:4317' },
    );
    badOption({ target: 'http://127.0.0.1:80' }, /^--target has an unknown scheme "http:" \(known: mqtt, mqtts, grpc, grpcs\)/, '--target');
    badOption({ target: 'localhost:1883' }, /^--target must be a URL/);
    badOption({ target: 'grpc://127.0.0.1' }, /^--target needs a port for grpc:\/\//);
    badOption({ target: 'mqtt://u:p@h:1883' }, /^--target must not contain credentials/);
    badOption({ target: 'mqtt://h:70000' }, /^--target has a port outside 1..65535/);
    badOption({ target: 'mqtt://h:1883/path?x' }, /^--target must be scheme:\/\/host:port/);
  });

  it('parses durations', () => {
    assert.equal(parseDurationMs('60', '--duration'), 60_000);
    assert.equal(parseDurationMs('1.5s', '--duration'), 1500);
    assert.equal(parseDurationMs('250ms', '--duration'), 250);
    assert.equal(parseDurationMs('2m', '--duration'), 120_000);
    assert.equal(parseDurationMs('-5', '--duration'), -5000);
    assert.throws(() => parseDurationMs('soon', '--duration'), /--duration must be a duration like 60, 60s, 500ms or 5m \(got "soon"\)/);
  });
});

describe('series model', () => {
  const model = new SeriesModel({ seriesPerAgent: 300, seed: 7, samplesPerWindow: 10 });
  const copy = (a: number, w: number) => model.rows(a, w).map((r) => ({ ...r }));

  it('is a pure function of (seed, agent, series, window)', () => {
    assert.deepEqual(copy(3, 42), copy(3, 42));
    assert.deepEqual(new SeriesModel({ seriesPerAgent: 300, seed: 7, samplesPerWindow: 10 }).rows(3, 42).map((r) => ({ ...r })), copy(3, 42));
    assert.notDeepEqual(copy(3, 42), copy(3, 43), 'values change from window to window');
    assert.notDeepEqual(copy(3, 42), copy(4, 42), 'agents differ');
    assert.notDeepEqual(new SeriesModel({ seriesPerAgent: 300, seed: 8, samplesPerWindow: 10 }).rows(3, 42).map((r) => ({ ...r })), copy(3, 42));
  });

  it('gives consistent rows in the families ranges', () => {
    for (let w = 0; w < 50; w++) {
      const rows = model.rows(1, w);
      rows.forEach((r, i) => {
        const fam = SERIES_FAMILIES[i % SERIES_FAMILIES.length]!;
        assert.equal(r.seriesId, i + 1);
        assert.equal(r.count, 10);
        assert.ok(r.min <= r.last && r.last <= r.max, `min <= last <= max (${r.min} ${r.last} ${r.max})`);
        assert.ok(r.min <= r.p50 && r.p50 <= r.max && r.p95 <= r.max, 'percentiles within [min, max]');
        assert.ok(r.min >= 0 && r.std >= 0 && r.bandLower <= r.bandUpper);
        if (fam.ratio) assert.ok(r.max <= 1);
        const s = 10 ** fam.decimals;
        assert.equal(Math.round(r.min * s) / s, r.min, 'min has the family decimals');
      });
    }
  });

  it('labels every series uniquely, with the host and __name__', () => {
    const keys = new Set<string>();
    for (let id = 1; id <= 300; id++) {
      const l = model.labels('vagent-00001', id);
      assert.equal(l.host, 'vagent-00001');
      assert.equal(l.__name__, SERIES_FAMILIES[(id - 1) % SERIES_FAMILIES.length]!.name);
      keys.add(JSON.stringify(l));
    }
    assert.equal(keys.size, 300);
  });

  it('builds frames that round-trip through shared-schemas', () => {
    const dict = new AgentDictionary(300, (id) => model.labels('a', id), () => 5);
    const rows = model.rows(0, 9);
    const bytes = encodeFrame({ agentId: 'a', tenant: 't', sequence: 1, windowStartMs: 90_000, windowEndMs: 100_000, ...dict.takeUpdate(), rows });
    const f = decodeFrame(bytes);
    const labels = new SeriesDictionaryDecoder().apply(f);
    assert.equal(f.rows.length, 300);
    assert.equal(labels[0]!.host, 'a');
    rows.forEach((r, i) => {
      assert.equal(f.rows[i]!.min, r.min, 'float64 columns bit-exact');
      assert.equal(f.rows[i]!.mean, Math.fround(r.mean), 'float32 columns');
    });
  });
});

describe('agent dictionary', () => {
  it("sends every def in one 'reset' frame per epoch, then 'continue' frames with none", () => {
    const d = new AgentDictionary(3, (id) => ({ s: String(id) }), () => 1000);
    const a = d.takeUpdate();
    assert.equal(a.dictionaryScope, 'reset');
    assert.deepEqual(a.seriesDefs, [
      { id: 1, labels: { s: '1' } },
      { id: 2, labels: { s: '2' } },
      { id: 3, labels: { s: '3' } },
    ]);
    const b = d.takeUpdate();
    assert.deepEqual(b, { dictionaryScope: 'continue', dictionaryEpoch: a.dictionaryEpoch, seriesDefs: [] });
    d.reset();
    const c = d.takeUpdate();
    assert.equal(c.dictionaryScope, 'reset');
    assert.equal(c.seriesDefs.length, 3);
    assert.ok(c.dictionaryEpoch > a.dictionaryEpoch, 'epochs strictly increase even when the clock does not');
  });
});

describe('latency histogram', () => {
  it('gives percentiles within 1% and the exact maximum', () => {
    const h = new LatencyHistogram();
    assert.deepEqual(h.summary(), { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 });
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 .. 100 ms
    const s = h.summary();
    assert.equal(s.count, 1000);
    assert.equal(s.max, 100);
    for (const [got, want] of [
      [s.p50, 50],
      [s.p95, 95],
      [s.p99, 99],
    ] as const) {
      assert.ok(got >= want * 0.99 && got <= want * 1.01, `${got} within 1% of ${want}`);
    }
    assert.ok(Math.abs(s.mean - 50.05) < 1e-9);
  });
});

describe('timeline', () => {
  it('counts events into the second they happened in, nothing before the start', () => {
    const t = new Timeline();
    t.sent(5); // before start(): ignored
    t.start(1000);
    for (const at of [1000, 1999, 2000, 4500]) t.sent(at);
    for (const at of [1500, 2500, 2600]) t.acked(at);
    t.acked(999); // before the start: ignored
    assert.deepEqual(t.samples(10), [
      { second: 0, sentSeriesWindows: 20, ackedSeriesWindows: 10 },
      { second: 1, sentSeriesWindows: 10, ackedSeriesWindows: 20 },
      { second: 2, sentSeriesWindows: 0, ackedSeriesWindows: 0 },
      { second: 3, sentSeriesWindows: 10, ackedSeriesWindows: 0 },
    ]);
  });
});

describe('virtual agents per-agent credentials', () => {
  const refused = (fn: () => unknown, message: RegExp): void => {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof VirtualAgentsError, String(err));
      assert.equal(err.code, 'BAD_OPTION');
      assert.equal(err.option, '--credentials-file');
      assert.match(err.message, message);
      return true;
    });
  };

  it('names agents as the fleet does', () => {
    assert.equal(agentIdOf('vagent', 0), 'vagent-00000');
    assert.equal(agentIdOf('x', 123_456), 'x-123456');
  });

  it('maps a secret to username = agent id, or takes {username, password}', () => {
    const src = credentialsFromMap({ 'vagent-00000': 's0', 'vagent-00001': { username: 'u1', password: 'p1' }, 'vagent-00002': { username: 'u2' } });
    assert.deepEqual(src('vagent-00000'), { username: 'vagent-00000', password: 's0' });
    assert.deepEqual(src('vagent-00001'), { username: 'u1', password: 'p1' });
    assert.deepEqual(src('vagent-00002'), { username: 'u2' });
    assert.equal(src('vagent-00003'), undefined);
    const m = resolveFleetCredentials(src, ['vagent-00000', 'vagent-00001']);
    assert.equal(m.size, 2);
    assert.equal(m.get('vagent-00001')?.password, 'p1');
  });

  it('refuses malformed maps and entries, naming the agent', () => {
    refused(() => credentialsFromMap([]), /^--credentials-file must hold a JSON object/);
    refused(() => credentialsFromMap({ a: '' }), /^--credentials-file must map "a" to a non-empty secret/);
    refused(() => credentialsFromMap({ a: 5 }), /^--credentials-file must map "a" to a secret or \{"username", "password"\} \(got number\)$/);
    refused(() => credentialsFromMap({ a: { user: 'x' } }), /^--credentials-file entry "a" has an unknown field "user"/);
    refused(() => credentialsFromMap({ a: { username: 'x', password: 3 } }), /^--credentials-file entry "a" has a "password" that is not a string/);
    assert.equal(typeof checkCredentials('a', { username: '' }), 'string');
  });

  it('refuses a fleet with an agent that has no credentials, before connecting', () => {
    const src = credentialsFromMap({ 'vagent-00000': 's0' });
    refused(() => resolveFleetCredentials(src, ['vagent-00000', 'vagent-00001']), /^--credentials-file has no credentials for agent "vagent-00001"/);
    refused(() => resolveFleetCredentials(() => { throw new Error('vault down'); }, ['a']), /could not give credentials for agent "a": vault down/);
    refused(() => resolveFleetCredentials(() => 'x' as never, ['a']), /must give \{username, password\} for "a" \(got string\)/);
  });
});
