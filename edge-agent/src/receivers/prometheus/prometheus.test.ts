import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import type { MetricSample } from '../../pdata.js';
import { ManualClock, RecordingMetrics, metricValue, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { TestSettings } from '../../testing/index.js';
import { scrapeTimeout } from './config.js';
import { prometheusReceiverFactory } from './index.js';
import type { PrometheusConfig } from './index.js';
import { PrometheusReceiver, attachTargetLabels } from './receiver.js';

const NODE_BODY = readFileSync(new URL('./testdata/node-exporter-1.5.0.txt', import.meta.url));
const NODE_SAMPLES = NODE_BODY.toString('utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: http.Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A loopback HTTP server; returns its host:port. */
async function serve(handler: Handler): Promise<{ hostPort: string; requests: http.IncomingMessage[]; server: http.Server }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

const text = (body: string | Buffer, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', ...headers });
  res.end(body);
};

function cfg(targets: string[], over: Record<string, unknown> = {}): PrometheusConfig {
  return prometheusReceiverFactory.configSchema.parse({ targets, interval: '10s', timeout: '2s', ...over });
}

function make(targets: string[], over: Record<string, unknown> = {}, settings: TestSettings = testSettings('prometheus/test')) {
  const sink = new RecordingMetrics();
  const r = new PrometheusReceiver(settings, cfg(targets, over), sink);
  return { r, sink, settings };
}

const find = (xs: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  xs.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
const upOf = (xs: MetricSample[], instance: string) => find(xs, 'up', { instance }).map((x) => x.value);

/** One failed scrape: up=0, scrape_samples_scraped=0, nothing else; the reason counted once. */
async function expectFailure(handler: Handler, reason: string, over: Record<string, unknown> = {}): Promise<void> {
  const { hostPort } = await serve(handler);
  const { r, sink, settings } = make([hostPort], over);
  await r.scrapeOnce();
  await r.shutdown();
  assert.equal(sink.batches.length, 1);
  const xs = sink.samples;
  assert.deepEqual(xs.map((x) => x.name), ['up', 'scrape_duration_seconds', 'scrape_samples_scraped'], reason);
  assert.equal(find(xs, 'up')[0]!.value, 0);
  assert.equal(find(xs, 'scrape_samples_scraped')[0]!.value, 0);
  assert.equal(await metricValue(settings, 'aiops_agent_prometheus_scrape_errors_total', { reason }), 1, `reason ${reason}`);
  assert.equal(await metricValue(settings, 'aiops_agent_prometheus_scrapes_total', { result: 'failure' }), 1);
  assert.equal(await metricValue(settings, 'aiops_agent_prometheus_target_up', { instance: hostPort }), 0);
}

describe('prometheus receiver config', () => {
  it('defaults', () => {
    const c = prometheusReceiverFactory.configSchema.parse({ targets: ['localhost:9100'] });
    assert.equal(c.metrics_path, '/metrics');
    assert.equal(c.scheme, 'http');
    assert.equal(c.interval, 10_000);
    assert.equal(scrapeTimeout(c), 5_000);
    assert.equal(c.max_body_bytes, 16 * 1024 * 1024);
    assert.equal(c.max_samples, 50_000);
    assert.equal(c.max_label_value_bytes, 4096);
    assert.equal(scrapeTimeout(prometheusReceiverFactory.configSchema.parse({ targets: ['a:1'], interval: '1s' })), 500);
  });

  it('refuses bad targets, a timeout not under the interval, two kinds of auth, bad label names', () => {
    const issues = (v: unknown) => {
      const r = prometheusReceiverFactory.configSchema.safeParse(v);
      assert.equal(r.success, false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues({ targets: ['ok:1', 'ftp://x:21/', 'http://u:p@h:1/m', ' ', 'h:1/path'] }), [
      'targets.1: must use http or https, not ftp',
      'targets.2: must not carry credentials: use basic_auth',
      'targets.3: must not be empty',
      'targets.4: is not host:port; give a URL to set a path',
    ]);
    assert.deepEqual(issues({ targets: ['a:1'], interval: '5s', timeout: '5s' }), ['timeout: must be shorter than interval (5000 ms)']);
    assert.deepEqual(issues({ targets: ['a:1'], basic_auth: { username: 'u', password: 'p' }, bearer_token: 't' }), ['bearer_token: cannot be set together with basic_auth']);
    assert.match(issues({ targets: ['a:1'], labels: { 'bad-name': 'x' } })[0]!, /^labels.bad-name: /);
    assert.match(issues({ targets: [] })[0]!, /at least one target/);
    // a mistyped secret is refused without being echoed; a numeric one is taken as text
    const shown = (v: unknown) => {
      const r = prometheusReceiverFactory.configSchema.safeParse(v, { reportInput: true });
      assert.equal(r.success, false);
      return JSON.stringify(r.error!.issues);
    };
    assert.match(shown({ targets: ['a:1'], bearer_token: ['tok-in-a-list'] }), /"message":"must be a non-empty string","path":\["bearer_token"\],"input":"\(hidden\)"/);
    assert.match(shown({ targets: ['http://u:pass-in-url@h:1/m'] }), /"input":"http:\/\/\(hidden\)@h:1\/m"/);
    assert.equal(prometheusReceiverFactory.configSchema.parse({ targets: ['a:1'], basic_auth: { username: 'u', password: 12345 } }).basic_auth?.password, '12345');
    assert.match(issues({ targets: ['a:1'], scrape_interval: '1s' })[0]!, /scrape_interval|nrecognized/);
  });

  it('resolves host:port, URLs with their own path, and IPv6', async () => {
    const { resolveTarget } = await import('./config.js');
    const r = (t: string) => {
      const x = resolveTarget(t, 'http', '/metrics');
      return typeof x === 'string' ? x : [x.url.href, x.instance];
    };
    assert.deepEqual(r('10.0.0.1:9100'), ['http://10.0.0.1:9100/metrics', '10.0.0.1:9100']);
    assert.deepEqual(r('https://h.example/federate?match[]=up'), ['https://h.example/federate?match[]=up', 'h.example:443']);
    assert.deepEqual(r('[::1]:9100'), ['http://[::1]:9100/metrics', '[::1]:9100']);
    assert.deepEqual(r('myhost'), ['http://myhost/metrics', 'myhost:80']);
  });
});

describe('prometheus receiver scrapes', () => {
  it('passes the lifecycle contract', async () => {
    const { hostPort } = await serve(text('a 1\n'));
    await runLifecycleContract(() => make([hostPort]).r);
  });

  it('a node_exporter body: every sample with job/instance, then up, scrape_duration_seconds, scrape_samples_scraped', async () => {
    const { hostPort, requests } = await serve(text(NODE_BODY));
    const { r, sink, settings } = make([hostPort], { job_name: 'node' });
    await r.scrapeOnce();
    await r.shutdown();
    const xs = sink.samples;
    assert.equal(sink.batches[0]!.source, 'prometheus/test');
    assert.equal(xs.length, NODE_SAMPLES + 3);
    assert.ok(xs.every((x) => x.labels.job === 'node' && x.labels.instance === hostPort));
    assert.deepEqual(xs.slice(-3).map((x) => [x.name, x.kind]), [
      ['up', 'gauge'],
      ['scrape_duration_seconds', 'gauge'],
      ['scrape_samples_scraped', 'gauge'],
    ]);
    assert.equal(find(xs, 'up')[0]!.value, 1);
    assert.equal(find(xs, 'scrape_samples_scraped')[0]!.value, NODE_SAMPLES);
    assert.ok(find(xs, 'scrape_duration_seconds')[0]!.value >= 0);
    assert.deepEqual(find(xs, 'go_gc_duration_seconds').map((x) => x.kind), ['gauge', 'gauge', 'gauge', 'gauge', 'gauge']);
    assert.equal(find(xs, 'go_gc_duration_seconds_count')[0]!.kind, 'counter');
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_samples_scraped_total'), NODE_SAMPLES);
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_target_up', { instance: hostPort }), 1);
    const req = requests[0]!;
    assert.equal(req.url, '/metrics');
    assert.match(String(req.headers.accept), /^text\/plain;version=0\.0\.4/);
    assert.equal(req.headers['accept-encoding'], 'gzip');
    assert.equal(req.headers['x-prometheus-scrape-timeout-seconds'], '2');
    assert.equal(req.headers.authorization, undefined);
  });

  it('gzip responses are inflated', async () => {
    const { hostPort } = await serve(text(gzipSync(NODE_BODY), { 'content-encoding': 'gzip' }));
    const { r, sink } = make([hostPort]);
    await r.scrapeOnce();
    assert.equal(find(sink.samples, 'scrape_samples_scraped')[0]!.value, NODE_SAMPLES);
  });

  it('static labels are added; scraped job/instance are kept as exported_*', async () => {
    const { hostPort } = await serve(text('a{job="app",instance="pod-1",exported_job="older"} 1\n'));
    const { r, sink } = make([hostPort], { labels: { env: 'prod' }, job_name: 'node' });
    await r.scrapeOnce();
    assert.deepEqual(find(sink.samples, 'a')[0]!.labels, {
      job: 'node',
      instance: hostPort,
      env: 'prod',
      exported_job: 'older',
      exported_exported_job: 'app',
      exported_instance: 'pod-1',
    });
    const l: Record<string, string> = { x: '1' };
    attachTargetLabels(l, { job: 'j' });
    assert.deepEqual(l, { x: '1', job: 'j' });
  });

  it('exposed timestamps are kept unless honor_timestamps is false; others get the scrape time', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { hostPort } = await serve(text('a 1 1700000000000\nb 2\n'));
    const s1 = make([hostPort], {}, testSettings('prometheus/test', { clock }));
    const p = s1.r.scrapeOnce();
    await p;
    assert.deepEqual(s1.sink.samples.slice(0, 2).map((x) => x.ts), [1700000000000, clock.now()]);
    const s2 = make([hostPort], { honor_timestamps: false }, testSettings('prometheus/test', { clock }));
    await s2.r.scrapeOnce();
    assert.deepEqual(s2.sink.samples.slice(0, 2).map((x) => x.ts), [clock.now(), clock.now()]);
  });

  it('the job label defaults to the component id', async () => {
    const { hostPort } = await serve(text('a 1\n'));
    const { r, sink } = make([hostPort], {}, testSettings('prometheus/node'));
    await r.scrapeOnce();
    assert.equal(sink.samples[0]!.labels.job, 'prometheus/node');
  });

  it('duplicate series: first kept, others dropped and counted, the scrape still succeeds', async () => {
    const { hostPort } = await serve(text('a{x="1"} 1\na{x="1"} 2\nb 3\n'));
    const { r, sink, settings } = make([hostPort]);
    await r.scrapeOnce();
    assert.deepEqual(find(sink.samples, 'a').map((x) => x.value), [1]);
    assert.equal(find(sink.samples, 'up')[0]!.value, 1);
    assert.equal(find(sink.samples, 'scrape_samples_scraped')[0]!.value, 2);
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_samples_dropped_total', { reason: 'duplicate_series' }), 1);
  });

  it('OpenMetrics answers are read with their own timestamp unit', async () => {
    const { hostPort } = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
      res.end('# TYPE c counter\nc_total 5 1700000000.5\n# EOF\n');
    });
    const { r, sink } = make([hostPort]);
    await r.scrapeOnce();
    assert.deepEqual(find(sink.samples, 'c_total').map((x) => [x.value, x.ts, x.kind]), [[5, 1700000000500, 'counter']]);
  });
});

describe('prometheus receiver: auth and secrets', () => {
  it('basic auth and bearer token are sent; neither ever reaches the logs', async () => {
    const lines: string[] = [];
    const dest = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const { hostPort, requests } = await serve((_q, res) => {
      res.writeHead(401);
      res.end('nope');
    });
    const settings = testSettings('prometheus/test');
    settings.logger = pino({ level: 'trace' }, dest);
    const a = make([hostPort], { basic_auth: { username: 'scraper', password: 's3cr3t-pa55' } }, settings);
    await a.r.scrapeOnce();
    await a.r.shutdown();
    const b = make([hostPort], { bearer_token: 'tok-very-secret' }, settings);
    await b.r.scrapeOnce();
    await b.r.shutdown();
    assert.equal(requests[0]!.headers.authorization, `Basic ${Buffer.from('scraper:s3cr3t-pa55').toString('base64')}`);
    assert.equal(requests[1]!.headers.authorization, 'Bearer tok-very-secret');
    assert.equal(upOf(a.sink.samples, hostPort)[0], 0);
    await new Promise((r) => setImmediate(r));
    const log = lines.join('');
    assert.match(log, /http_status/, 'the failure is logged');
    for (const secret of ['s3cr3t-pa55', 'tok-very-secret', Buffer.from('scraper:s3cr3t-pa55').toString('base64')]) assert.ok(!log.includes(secret), `log leaks ${secret}`);
  });
});

describe('prometheus receiver: bad targets and hostile bodies (up=0, counted by reason)', () => {
  it('connection refused', async () => {
    const { hostPort, server } = await serve(text('a 1\n'));
    server.close();
    await new Promise((r) => setTimeout(r, 20));
    const { r, sink, settings } = make([hostPort]);
    await r.scrapeOnce();
    assert.deepEqual(upOf(sink.samples, hostPort), [0]);
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_scrape_errors_total', { reason: 'connect' }), 1);
  });
  it('HTTP 500', () => expectFailure((_q, res) => res.writeHead(500).end('boom'), 'http_status'));
  it('a redirect is not followed', async () => {
    let followed = 0;
    const { hostPort: other } = await serve((_q, res) => {
      followed++;
      text('a 1\n')(_q, res);
    });
    await expectFailure((_q, res) => res.writeHead(302, { location: `http://${other}/metrics` }).end(), 'redirect');
    assert.equal(followed, 0);
  });
  it('protobuf content type', () => expectFailure(text('x', { 'content-type': 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily' }), 'unsupported_content_type'));
  it('HTML content type', () => expectFailure(text('<html>', { 'content-type': 'text/html' }), 'unsupported_content_type'));
  it('brotli content encoding', () => expectFailure(text('x', { 'content-encoding': 'br' }), 'unsupported_encoding'));
  it('body over max_body_bytes (Content-Length)', () => expectFailure(text('a 1\n'.repeat(1000), { 'content-length': '4000' }), 'body_too_large', { max_body_bytes: 2048 }));
  it('body over max_body_bytes (chunked, no length)', () =>
    expectFailure(
      (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 100; i++) res.write('a 1\n'.repeat(100));
        res.end();
      },
      'body_too_large',
      { max_body_bytes: 4096 },
    ));
  it('a gzip bomb stops at max_body_bytes after inflation', () => expectFailure(text(gzipSync(Buffer.alloc(64 << 20, 0x61)), { 'content-encoding': 'gzip' }), 'body_too_large', { max_body_bytes: 1 << 20 }));
  it('corrupt gzip', () => expectFailure(text(Buffer.from('this is not gzip at all'), { 'content-encoding': 'gzip' }), 'decompress'));
  it('invalid UTF-8', () => expectFailure(text(Buffer.from([0x61, 0x7b, 0x62, 0x3d, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x20, 0x31, 0x0a])), 'invalid_utf8'));
  it('garbage body', () => expectFailure(text('<!doctype html><h1>It works!</h1>\n'), 'parse_error'));
  it('one huge line', () => expectFailure(text(`metric{l="${'v'.repeat(4 << 20)}`), 'label_value_too_long'));
  it('a megabyte label value', () => expectFailure(text(`a{v="${'x'.repeat(1 << 20)}"} 1\n`), 'label_value_too_long'));
  it('one million series (under a raised body limit): refused at max_samples', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 1_000_000; i++) parts.push(`s${i} 1\n`);
    const body = parts.join('');
    await expectFailure(text(body), 'sample_limit', { max_body_bytes: 64 << 20 });
  });
  it('one million series with the default body limit: refused as too large before parsing', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 1_000_000; i++) parts.push(`series_with_a_long_name_${i}{job="x"} 1\n`);
    await expectFailure(text(parts.join('')), 'body_too_large');
  });
  it('too many labels', () => expectFailure(text(`a{${Array.from({ length: 70 }, (_, i) => `l${i}="v"`).join(',')}} 1\n`), 'label_limit'));
  it('the parse error names the line in the log', async () => {
    const lines: string[] = [];
    const dest = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const { hostPort } = await serve(text('a 1\nb 2\nc{ 3\n'));
    const settings = testSettings('prometheus/test');
    settings.logger = pino({ level: 'warn' }, dest);
    const { r } = make([hostPort], {}, settings);
    await r.scrapeOnce();
    await new Promise((res) => setImmediate(res));
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(entry.reason, `${hostPort}/parse_error`);
    assert.match(String(entry.err), /^line 3: invalid label name/);
  });
});

describe('prometheus receiver: timeouts, concurrency, scheduling', () => {
  it('an unresponsive target times out (up=0) while another target is scraped normally', async () => {
    const { hostPort: slow } = await serve(() => {
      /* never answers */
    });
    const { hostPort: trickle } = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a 1\n'); // headers and part of the body, then nothing
    });
    const { hostPort: fast } = await serve(text('a 1\n'));
    const { r, sink, settings } = make([slow, trickle, fast], { interval: '1s', timeout: '200ms' });
    await r.scrapeOnce();
    assert.deepEqual(upOf(sink.samples, slow), [0]);
    assert.deepEqual(upOf(sink.samples, trickle), [0]);
    assert.deepEqual(upOf(sink.samples, fast), [1]);
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_scrape_errors_total', { reason: 'timeout' }), 2);
    await r.shutdown();
  });

  it('with the real clock: a hung target never delays the fast one or the next interval', async () => {
    const { hostPort: slow } = await serve(() => {});
    const { hostPort: fast } = await serve(text('a 1\n'));
    const { r, sink } = make([slow, fast], { interval: '300ms', timeout: '150ms' });
    await r.start();
    await sink.waitFor((s) => upOf(s.samples, fast).length >= 3 && upOf(s.samples, slow).length >= 2);
    await r.shutdown();
    assert.ok(upOf(sink.samples, fast).every((v) => v === 1));
    assert.ok(upOf(sink.samples, slow).every((v) => v === 0));
  });

  it('a target still being scraped at the next tick is skipped and counted as overrun', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const { hostPort: slow } = await serve(() => {});
    const { hostPort: fast } = await serve(text('a 1\n'));
    const settings = testSettings('prometheus/test', { clock });
    const { r, sink } = make([slow, fast], { interval: '10s', timeout: '5s' }, settings);
    await r.start();
    await sink.waitFor((s) => upOf(s.samples, fast).length === 1);
    // the slow scrape's deadline is on the manual clock: it is still running at the next tick
    clock.advance(4_000);
    clock.advance(6_000);
    await sink.waitFor((s) => upOf(s.samples, fast).length === 2);
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_scrape_errors_total', { reason: 'overrun' }), 1);
    clock.advance(5_000); // the deadline passes
    await sink.waitFor((s) => upOf(s.samples, slow).length === 1);
    assert.deepEqual(upOf(sink.samples, slow), [0]);
    await r.shutdown();
    assert.equal(clock.pendingTimers, 0);
  });

  it('concurrency is capped at max_concurrent_scrapes', async () => {
    let now = 0;
    let peak = 0;
    const pending: Array<() => void> = [];
    const { hostPort } = await serve((_q, res) => {
      now++;
      peak = Math.max(peak, now);
      pending.push(() => {
        now--;
        text('a 1\n')(_q, res);
      });
    });
    const targets = Array.from({ length: 10 }, (_, i) => `http://${hostPort}/m${i}`);
    const { r, sink } = make(targets, { max_concurrent_scrapes: 2 });
    const done = r.scrapeOnce();
    // release answers one by one as they arrive
    let answered = 0;
    while (answered < 10) {
      const next = pending.shift();
      if (next) {
        next();
        answered++;
      } else await new Promise((res) => setTimeout(res, 5));
    }
    await done;
    assert.equal(peak, 2);
    assert.equal(find(sink.samples, 'up').length, 10);
    assert.ok(find(sink.samples, 'up').every((x) => x.value === 1));
  });

  it('shutdown aborts a hung scrape promptly and emits nothing after', { timeout: 20_000 }, async () => {
    const { hostPort } = await serve(() => {});
    const { r, sink } = make([hostPort], { interval: '1m', timeout: '50s' });
    await r.start();
    await new Promise((res) => setTimeout(res, 50));
    await r.shutdown();
    assert.equal(sink.batches.length, 0);
  });

  it('shutdown with scrapes still queued behind the concurrency cap settles them all', { timeout: 20_000 }, async () => {
    const { hostPort } = await serve(() => {});
    const { r, sink } = make([`http://${hostPort}/a`, `http://${hostPort}/b`, `http://${hostPort}/c`], { interval: '1m', timeout: '50s', max_concurrent_scrapes: 1 });
    await r.start();
    await new Promise((res) => setTimeout(res, 50));
    await r.shutdown();
    assert.equal(sink.batches.length, 0);
  });

  it('a failing consumer is counted, not thrown', async () => {
    const { hostPort } = await serve(text('a 1\n'));
    const { r, sink, settings } = make([hostPort]);
    sink.failWith = new Error('down');
    await r.scrapeOnce();
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_samples_dropped_total', { reason: 'consumer_error' }), 4);
  });
});
