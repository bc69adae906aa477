// Real peer: prometheus-node-exporter (Debian package) started on loopback by
// deploy/dev/node-exporter.sh, scraped by the receiver. Port: NODE_EXPORTER_PORT (default 19100).
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { MetricSample } from '../../pdata.js';
import { RecordingMetrics, metricValue, testSettings } from '../../testing/index.js';
import { prometheusReceiverFactory } from './index.js';
import { peerReady, startNodeExporter, stopNodeExporter } from './node-exporter-peer.js';
import type { NodeExporterPeer } from './node-exporter-peer.js';

const find = (xs: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  xs.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));

describe('prometheus receiver against a real node_exporter', () => {
  let peer: NodeExporterPeer;
  before(() => {
    peer = startNodeExporter('NODE_EXPORTER_PORT', 19100);
  });
  after(() => stopNodeExporter(peer));

  it('scrapes it: up=1, summary and counters typed, plausible sample counts, no errors', async (t) => {
    if (!peerReady(t, peer)) return;
    // node_exporter answers gzip when asked, so this scrape goes through the gunzip path
    const probe = await fetch(peer.url, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(probe.headers.get('content-encoding'), 'gzip');
    await probe.arrayBuffer();

    const settings = testSettings('prometheus/node');
    const sink = new RecordingMetrics();
    const instance = `127.0.0.1:${peer.port}`;
    const r = prometheusReceiverFactory.create(settings, prometheusReceiverFactory.configSchema.parse({ targets: [instance], job_name: 'node', interval: '10s', timeout: '5s' }), sink);
    await r.start();
    await sink.waitFor((s) => s.batches.length >= 1, 30_000);
    await r.shutdown();
    const xs = sink.batches[0]!.samples;
    assert.equal(find(xs, 'up')[0]?.value, 1, 'up');
    assert.ok(xs.every((x) => x.labels.job === 'node' && x.labels.instance === instance));
    const scraped = find(xs, 'scrape_samples_scraped')[0]!.value;
    assert.equal(scraped, xs.length - 3);
    assert.ok(scraped >= 200 && scraped <= 20_000, `implausible sample count ${scraped}`);
    const dur = find(xs, 'scrape_duration_seconds')[0]!.value;
    assert.ok(dur >= 0 && dur < 5, `duration ${dur}`);

    // the go_gc_duration_seconds summary: quantile gauges, _sum and _count counters
    const q = find(xs, 'go_gc_duration_seconds');
    assert.deepEqual(q.map((x) => x.labels.quantile), ['0', '0.25', '0.5', '0.75', '1']);
    assert.ok(q.every((x) => x.kind === 'gauge'));
    assert.equal(find(xs, 'go_gc_duration_seconds_sum')[0]?.kind, 'counter');
    assert.equal(find(xs, 'go_gc_duration_seconds_count')[0]?.kind, 'counter');
    // promhttp_metric_handler_requests_total{code}: a counter that counts our own scrapes
    const handled = find(xs, 'promhttp_metric_handler_requests_total');
    assert.deepEqual(handled.map((x) => x.labels.code).sort(), ['200', '500', '503']);
    assert.ok(handled.every((x) => x.kind === 'counter'));
    assert.ok(find(handled, 'promhttp_metric_handler_requests_total', { code: '200' })[0]!.value >= 1);
    // host series: one per CPU and mode, gauges for memory
    assert.equal(find(xs, 'node_cpu_seconds_total', { mode: 'idle' }).length, cpus().length);
    assert.ok(find(xs, 'node_cpu_seconds_total').every((x) => x.kind === 'counter'));
    assert.equal(find(xs, 'node_memory_MemTotal_bytes')[0]?.kind, 'gauge');
    // untyped families (node_exporter has some) come through as gauges
    assert.ok(xs.filter((x) => x.kind === 'gauge').length > 50);

    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_scrapes_total', { result: 'success' }), 1);
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_scrapes_total', { result: 'failure' }), 0);
    assert.equal(await metricValue(settings, 'aiops_agent_prometheus_samples_dropped_total'), 0);
    t.diagnostic(`${scraped} samples scraped in ${dur} s`);
  });

  it('scrapes it on every interval; counters never go back', async (t) => {
    if (!peerReady(t, peer)) return;
    const settings = testSettings('prometheus/node');
    const sink = new RecordingMetrics();
    const r = prometheusReceiverFactory.create(settings, prometheusReceiverFactory.configSchema.parse({ targets: [`127.0.0.1:${peer.port}`], interval: '1s', timeout: '900ms' }), sink);
    await r.start();
    // On a loaded machine a scrape may miss its deadline (up=0, counted): wait for 3 good ones.
    const good = () => sink.batches.filter((b) => find(b.samples, 'up')[0]?.value === 1);
    await sink.waitFor(() => good().length >= 3, 60_000);
    await r.shutdown();
    const [a, , c] = good();
    const failures = await metricValue(settings, 'aiops_agent_prometheus_scrapes_total', { result: 'failure' });
    const timeouts = await metricValue(settings, 'aiops_agent_prometheus_scrape_errors_total', { reason: 'timeout' });
    assert.equal(failures, timeouts, 'the only failures allowed are deadlines missed under load');
    t.diagnostic(`${sink.batches.length} scrapes, ${timeouts} over the deadline`);
    const handled = (b: { samples: MetricSample[] }) => find(b.samples, 'promhttp_metric_handler_requests_total', { code: '200' })[0]!.value;
    assert.ok(handled(c!) > handled(a!), 'node_exporter counted our scrapes');
    const before = new Map(a!.samples.filter((x) => x.kind === 'counter').map((x) => [JSON.stringify([x.name, Object.entries(x.labels).sort()]), x.value]));
    let compared = 0;
    for (const x of c!.samples) {
      const v = before.get(JSON.stringify([x.name, Object.entries(x.labels).sort()]));
      if (v === undefined || x.kind !== 'counter' || Number.isNaN(v)) continue;
      compared++;
      assert.ok(x.value >= v, `${x.name} went from ${v} to ${x.value}`);
    }
    assert.ok(compared >= 50, `only ${compared} counters compared`);
  });
});
