// The real peer of this receiver: Prometheus 2.42 (Debian package), started by
// deploy/dev/prometheus.sh on loopback, scraping itself every second and remote-writing to the
// receiver on a fixed test port. Without the peer the test fails under CI=true and is skipped
// (loudly) elsewhere.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { metricValue, RecordingMetrics, testSettings } from '../../testing/index.js';
import { remoteWriteReceiverFactory } from './index.js';
import type { RemoteWriteReceiver } from './receiver.js';

const PROMETHEUS_PORT = Number(process.env.PROMETHEUS_PORT ?? 19090);
const RECEIVER_PORT = Number(process.env.AIOPS_TEST_REMOTEWRITE_PORT ?? 19201);
const SCRIPT = fileURLToPath(new URL('../../../../deploy/dev/prometheus.sh', import.meta.url));
const ENV = {
  ...process.env,
  PROMETHEUS_PORT: String(PROMETHEUS_PORT),
  PROMETHEUS_REMOTE_WRITE_URL: `http://127.0.0.1:${RECEIVER_PORT}/api/v1/write`,
};

function script(action: 'start' | 'stop'): { ok: boolean; why: string } {
  const res = spawnSync('bash', [SCRIPT, action], { env: ENV, stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 });
  if (res.error) return { ok: false, why: `deploy/dev/prometheus.sh ${action}: ${res.error.message}` };
  return res.status === 0 ? { ok: true, why: '' } : { ok: false, why: `deploy/dev/prometheus.sh ${action} exited with ${res.status}` };
}

describe('remote-write receiver with a real Prometheus 2.42', () => {
  const settings = testSettings('remotewrite/prometheus');
  const rec = new RecordingMetrics();
  let receiver: RemoteWriteReceiver;
  let peer: { ok: boolean; why: string } = { ok: false, why: 'not started' };

  before(async () => {
    const config = remoteWriteReceiverFactory.configSchema.parse({ endpoint: `127.0.0.1:${RECEIVER_PORT}` });
    receiver = remoteWriteReceiverFactory.create(settings, config, rec) as RemoteWriteReceiver;
    await receiver.start();
    peer = script('start');
  });

  after(async () => {
    if (peer.ok) script('stop');
    await receiver?.shutdown();
  });

  it('receives up and prometheus_* series with their labels, kinds and increasing timestamps', async (t) => {
    if (!peer.ok) {
      if (process.env.CI === 'true') assert.fail(`real Prometheus unavailable under CI: ${peer.why}`);
      process.stderr.write(`\n!!! SKIPPED: real Prometheus unavailable (${peer.why}); the remote-write peer test did not run !!!\n\n`);
      t.skip(peer.why);
      return;
    }
    const ups = () => rec.samples.filter((s) => s.name === 'up');
    const distinctTs = () => new Set(ups().map((s) => s.ts)).size;
    // Metadata travels in its own requests every 2 s (metadata_config.send_interval).
    await rec.waitFor(() => distinctTs() >= 3, 90_000);
    const until = Date.now() + 30_000;
    while ((await metricValue(settings, 'aiops_agent_remotewrite_metadata_families')) === 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = rec.samples.length;
    await rec.waitFor((r) => r.samples.length > before + 50, 30_000); // samples converted with metadata known

    const up = ups();
    for (const s of up) {
      assert.deepEqual(s.labels, { instance: `127.0.0.1:${PROMETHEUS_PORT}`, job: 'prometheus' });
      assert.equal(s.value, 1);
      assert.equal(s.kind, 'gauge');
    }
    const times = [...new Set(up.map((s) => s.ts))];
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `up timestamps increase: ${times.join(', ')}`);
    const now = Date.now();
    assert.ok(times.every((x) => x > now - 3_600_000 && x <= now + 60_000), 'timestamps are epoch milliseconds');

    const prom = rec.samples.filter((s) => s.name.startsWith('prometheus_'));
    assert.ok(prom.length > 50, `${prom.length} prometheus_* samples`);
    const httpRequests = rec.samples.filter((s) => s.name === 'prometheus_http_requests_total');
    assert.ok(httpRequests.length > 0);
    for (const s of httpRequests) {
      assert.equal(s.kind, 'counter');
      assert.equal(typeof s.labels.handler, 'string');
      assert.equal(s.labels.job, 'prometheus');
    }
    const recent = rec.samples.slice(before);
    const quantile = recent.find((s) => s.name === 'go_gc_duration_seconds' && s.labels.quantile !== undefined);
    const gcSum = recent.find((s) => s.name === 'go_gc_duration_seconds_sum');
    const heads = recent.find((s) => s.name === 'prometheus_tsdb_head_series');
    assert.equal(quantile?.kind, 'gauge', 'summary quantiles are gauges');
    assert.equal(gcSum?.kind, 'counter', 'summary _sum is a counter');
    assert.equal(heads?.kind, 'gauge');
    assert.ok((await metricValue(settings, 'aiops_agent_remotewrite_metadata_families')) > 100, 'metadata from Prometheus is known');
    assert.ok((await metricValue(settings, 'aiops_agent_remotewrite_requests_total', { outcome: 'success' })) >= 3);
    for (const bad of ['bad_request', 'too_large', 'unsupported_media_type', 'partial']) {
      assert.equal(await metricValue(settings, 'aiops_agent_remotewrite_requests_total', { outcome: bad }), 0, `no ${bad} answers to a real Prometheus`);
    }
    assert.equal(rec.batches[0]?.source, 'remotewrite/prometheus');
  });
});
