// The `tsdb:` config section: defaults, strictness, errors naming the path, secrets never echoed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SelfMetrics, silentLogger, systemClock } from '../../../shared-schemas/src/runtime/index.js';
import { authHeaders, TsdbConfigError, validateTsdbConfig } from './config.js';
import { PrometheusQueryAdapter, RemoteWriteExporter, tsdbFactory } from './index.js';

function issues(raw: unknown): string[] {
  try {
    validateTsdbConfig(raw);
  } catch (err) {
    assert.ok(err instanceof TsdbConfigError);
    assert.equal(err.code, 'INVALID_CONFIG');
    assert.equal(err.retryable, false);
    return err.issues.map((i) => `${i.path} ${i.message}`);
  }
  assert.fail('expected TsdbConfigError');
}

describe('tsdb config', () => {
  it('is off by default and fills every default of a present block', () => {
    assert.deepEqual(validateTsdbConfig(undefined), {});
    const c = validateTsdbConfig({ remote_write: { url: 'http://127.0.0.1:8428/api/v1/write' }, query: { url: 'http://127.0.0.1:9090' } });
    assert.deepEqual(c.remote_write, {
      url: 'http://127.0.0.1:8428/api/v1/write',
      batch: { max_samples: 5000, max_delay: 1000 },
      queue: { capacity: 500_000 },
      retry: { initial: 100, max_backoff: 5000, max_retry_after: 60_000 },
      timeout: 30_000,
      shutdown_grace: 5000,
    });
    assert.deepEqual(c.query, {
      url: 'http://127.0.0.1:9090',
      timeout: 30_000,
      max_series: 10_000,
      max_points: 2_000_000,
      range_window: 'auto',
      auto: { raw_within: 2 * 86_400_000, one_minute_within: 30 * 86_400_000 },
    });
    const d = validateTsdbConfig({ remote_write: { url: 'https://tsdb.example/api/v1/write', batch: { max_samples: 2000, max_delay: '250ms' }, retry: { initial: '1s', max_backoff: '30s' }, timeout: '10s' } });
    assert.deepEqual([d.remote_write?.batch.max_delay, d.remote_write?.retry.initial, d.remote_write?.retry.max_backoff, d.remote_write?.timeout], [250, 1000, 30_000, 10_000]);
  });

  it('names the path and the bad value', () => {
    assert.deepEqual(issues({ remote_write: { url: 'ftp://x' } }), ['tsdb.remote_write.url must be an http:// or https:// URL (got "ftp://x")']);
    assert.deepEqual(issues({ remote_write: { url: 'http://x', batch: { max_samples: 0 } } }).length, 1);
    assert.match(issues({ remote_write: { url: 'http://x', batch: { max_samples: 0 } } })[0]!, /^tsdb\.remote_write\.batch\.max_samples .*\(got 0\)/);
    assert.match(issues({ remote_write: { url: 'http://x', retry: { initial: '10s', max_backoff: '1s' } } })[0]!, /^tsdb\.remote_write\.retry\.initial must be <= max_backoff/);
    assert.match(issues({ remote_write: { url: 'http://x', timeout: '0s' } })[0]!, /^tsdb\.remote_write\.timeout must be >= 1 ms/);
    assert.match(issues({ query: { url: 'http://x', range_window: 'open' } })[0]!, /^tsdb\.query\.range_window/);
    assert.match(issues({ query: { url: 'http://x', auto: { raw_within: '2d', one_minute_within: '1d' } } })[0]!, /one_minute_within must be >= raw_within/);
    assert.deepEqual(issues({ remote_write: { url: 'http://x', batch_size: 1 } }), ['tsdb.remote_write has unknown key(s) "batch_size"']);
    assert.deepEqual(issues({ prometheus: {} }), ['tsdb has unknown key(s) "prometheus"']);
    assert.match(issues({ remote_write: {} })[0]!, /^tsdb\.remote_write\.url/);
  });

  it('refuses credentials in URLs, bearer and basic together, protocol headers and header injection', () => {
    assert.deepEqual(issues({ query: { url: 'http://user:pw@tsdb:9090' } }), ['tsdb.query.url must not contain credentials: use basic_auth or bearer_token']);
    assert.match(issues({ remote_write: { url: 'http://x', bearer_token: 't', basic_auth: { username: 'u', password: 'p' } } })[0]!, /mutually exclusive/);
    assert.match(issues({ remote_write: { url: 'http://x', headers: { 'Content-Encoding': 'gzip' } } })[0]!, /^tsdb\.remote_write\.headers\.Content-Encoding is set by the protocol/);
    assert.match(issues({ remote_write: { url: 'http://x', headers: { Authorization: 'Bearer a' }, bearer_token: 'b' } })[0]!, /cannot be combined/);
    assert.match(issues({ remote_write: { url: 'http://x', headers: { 'bad name': 'v' } } })[0]!, /valid HTTP header name/);
  });

  it('never echoes a secret in an error', () => {
    const all = [
      ...issues({ remote_write: { url: 'http://x', bearer_token: 'tok-SECRET\n' } }),
      ...issues({ remote_write: { url: 'http://x', basic_auth: { username: 'u', password: 'pw-SECRET\r\n' } } }),
      ...issues({ query: { url: 'http://x', headers: { 'X-Api-Key': 'hdr-SECRET\n' } } }),
      ...issues({ query: { url: 'http://x', basic_auth: { username: 'u', password: 42 } } }),
    ];
    assert.equal(all.length, 4);
    for (const line of all) assert.doesNotMatch(line, /SECRET|42/, line);
  });

  it('builds the Authorization header from bearer_token or basic_auth', () => {
    assert.deepEqual(authHeaders({ bearer_token: 'abc', headers: { 'X-Scope-OrgID': 't' } }), { 'X-Scope-OrgID': 't', authorization: 'Bearer abc' });
    assert.deepEqual(authHeaders({ basic_auth: { username: 'ü', password: 'p:w' } }), { authorization: `Basic ${Buffer.from('ü:p:w').toString('base64')}` });
    assert.deepEqual(authHeaders({}), {});
  });

  it('the factory builds only the configured parts, with their own settings ids', async () => {
    const ids: string[] = [];
    const root = new SelfMetrics();
    const settings = (id: string) => {
      ids.push(id);
      return { id, logger: silentLogger(), metrics: root.forComponent(id), clock: systemClock };
    };
    const none = tsdbFactory.create(settings, tsdbFactory.validate({}));
    assert.deepEqual(none, { exporter: undefined, reader: undefined });
    const both = tsdbFactory.create(settings, tsdbFactory.validate({ remote_write: { url: 'http://127.0.0.1:1/api/v1/write' }, query: { url: 'http://127.0.0.1:1' } }));
    assert.ok(both.exporter instanceof RemoteWriteExporter);
    assert.ok(both.reader instanceof PrometheusQueryAdapter);
    assert.deepEqual(ids, ['tsdb/remote_write', 'tsdb/query']);
    await both.exporter.shutdown();
    await both.reader.close();
  });
});
