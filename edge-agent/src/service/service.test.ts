import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { MetricsConsumer } from '../component.js';
import { buildRegistry } from '../components.js';
import { parseConfigText, resolveConfig } from '../config/config.js';
import type { FeatureWindow } from '../pdata.js';
import { fakeExporterFactory, fakeReceiverFactory } from '../testing/fake-components.js';
import { ManualClock } from '../testing/index.js';
import { silentLogger } from '../../../shared-schemas/src/runtime/index.js';
import { SelfMetrics } from '../../../shared-schemas/src/runtime/index.js';
import { StatusServer } from '../telemetry/status-server.js';
import { AgentService } from './service.js';

function setup(yaml: string) {
  const log = { calls: [] as string[] };
  const handles = new Map<string, MetricsConsumer>();
  const windows: FeatureWindow[] = [];
  const base = buildRegistry();
  const registry = {
    receivers: new Map([['fake', fakeReceiverFactory(log, handles)]]),
    processors: base.processors,
    exporters: new Map([['fakeout', fakeExporterFactory(log, windows)]]),
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'svc-'));
  const cfg = resolveConfig(parseConfigText(yaml), registry, { AIOPS_AGENT__AGENT__DATA_DIR: dataDir });
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const metrics = new SelfMetrics();
  const svc = new AgentService(cfg, { logger: silentLogger(), metrics, clock });
  return { log, handles, windows, svc, clock, metrics };
}

const yaml = `
receivers: { fake/a: {}, fake/b: {} }
processors: { normalize: {}, enrich: { host_labels: [] , kubernetes: false }, tier1: { implementation: reference } }
exporters: { fakeout/1: {}, fakeout/2: {} }
pipelines:
  metrics:
    receivers: [fake/a, fake/b]
    processors: [normalize, enrich, tier1]
    exporters: [fakeout/1, fakeout/2]
`;

describe('agent service', () => {
  it('starts downstream first and shuts down upstream first', async () => {
    const { log, svc } = setup(yaml);
    await svc.start();
    assert.deepEqual(log.calls, ['start fakeout/1', 'start fakeout/2', 'start fake/a', 'start fake/b']);
    assert.deepEqual(
      svc.describe().map((n) => n.id),
      ['fakeout/1', 'fakeout/2', 'features', 'tier1', 'enrich', 'normalize', 'fake/a', 'fake/b'],
    );
    assert.equal(svc.health().ok, true);
    log.calls.length = 0;
    await svc.shutdown();
    await svc.shutdown();
    assert.deepEqual(log.calls, ['shutdown fake/b', 'shutdown fake/a', 'shutdown fakeout/2', 'shutdown fakeout/1']);
    assert.equal(svc.health().ok, false);
  });

  it('moves samples from receivers through every processor into feature windows for every exporter', async () => {
    const { handles, windows, svc, clock } = setup(yaml);
    await svc.start();
    const t0 = clock.now();
    const next = handles.get('fake/a')!;
    for (let i = 0; i < 20; i++) {
      await next.consumeMetrics({ source: 'fake/a', samples: [{ name: 'cpu.util', labels: { core: '0' }, ts: t0 + i * 1000, value: i, kind: 'gauge', unit: '%' }] });
    }
    await svc.shutdown();
    assert.equal(windows.length, 4, 'two windows, each to two exporters');
    const s = windows[0]!.series[0]!;
    assert.deepEqual(s.labels, { __name__: 'cpu_util_ratio', core: '0' });
    assert.equal(s.row.count, 10);
    assert.equal(s.row.max, 0.09);
    assert.ok(Number.isFinite(s.row.tier1MaxScore), 'Tier-1 ran');
  });

  it('a component that fails to start stops the ones already started', async () => {
    const { log, svc } = setup(yaml.replace('fake/b: {}', 'fake/b: { fail_start: true }'));
    await assert.rejects(svc.start(), /receiver "fake\/b" failed to start: boom/);
    assert.ok(log.calls.includes('shutdown fakeout/1') && log.calls.includes('shutdown fake/a'));
  });

  it('serves /metrics and /healthz', async () => {
    const { svc, metrics } = setup(yaml);
    const status = new StatusServer({ listen: '127.0.0.1:0', metrics, health: () => svc.health() });
    await status.start();
    const base = `http://127.0.0.1:${status.address!.port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 503, 'not started yet');
    await svc.start();
    const h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, 'ok');
    const m = await (await fetch(`${base}/metrics`)).text();
    assert.match(m, /aiops_agent_component_up\{component="service",id="tier1",kind="processor"\} 1/);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
    await svc.shutdown();
    await status.shutdown();
    await status.shutdown();
  });
});
