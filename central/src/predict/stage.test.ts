import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { until } from '../../../edge-agent/src/testing/index.js';
import { loadScenarioFile, runScenario, shippedScenariosDir } from '../../../simulators/scenario/index.js';
import type { ScenarioRunContext } from '../../../simulators/scenario/index.js';
import { startTestCentral } from '../service/testing/index.js';
import type { TestCentral } from '../service/testing/index.js';
import type { MetricSample } from '../storage/types.js';

/**
 * The shipped disk-fill scenario (sock-shop, node-2's filesystem fills from 07:00): its hosts'
 * disk series are written to a running central shifted so that "now" is 12 minutes after the
 * fill began - the disk part-way, far from full. Central's predictive stage must warn about
 * node-2, and only node-2, through the alert chain (stored, correlated into an incident).
 */
describe('predictive alerts in central (the disk-fill scenario)', () => {
  let c: TestCentral;
  let ctx: ScenarioRunContext;
  let dir: string;
  let fullInMs = 0;
  let reader = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiops-predict-scenario-'));
    const scenario = await loadScenarioFile(join(shippedScenariosDir(), 'ss-disk-fill.yaml'));
    await runScenario(scenario, join(dir, 'run'), { extraWriters: [{ name: 'capture', write: async (x) => ((ctx = x), []) }] });
    c = await startTestCentral({ predict: { interval: '1s', seasonal_period: 0 } }, 'aiops-predict-stage-');
    reader = (await c.key('reader', ['read'])).token;
    const fault = ctx.groundTruth.faults[0]!;
    const now = Date.now();
    const shift = now - (fault.onsetMs + 12 * 60_000);
    const m = ctx.metrics;
    const samples: MetricSample[] = [];
    for (const s of m.series) {
      if (s.metric !== 'disk') continue;
      for (let i = 0; i < m.length; i++) {
        const t = m.startMs + i * m.stepMs + shift;
        if (t > now || t < now - 60 * 60_000 || !Number.isFinite(s.values[i]!)) continue;
        samples.push({ labels: { __name__: 'sim_host_disk_ratio', host: s.entity }, tsMs: t, value: s.values[i]! });
      }
      if (s.entity === fault.rootEntity) {
        const full = Array.from(s.values).findIndex((v) => v >= 0.999);
        assert.ok(full > 0, 'the scenario fills the disk');
        fullInMs = m.startMs + full * m.stepMs + shift - now;
      }
    }
    await c.central.stores.metrics.writeSamples(samples);
  });
  after(async () => {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns before the disk is full, with when, and the alert becomes an incident', async () => {
    assert.ok(fullInMs > 10 * 60_000, `the disk fills ${Math.round(fullInMs / 60_000)} min from now`);
    type Row = { labels: Record<string, string>; annotations: Record<string, string>; status: string; incidentId?: string | null };
    let alerts: Row[] = [];
    await until(async () => {
      const r = await fetch(`${c.api}/api/v1/alerts?status=firing&limit=100`, { headers: { authorization: `Bearer ${reader}` } });
      alerts = ((await r.json()) as { alerts: Row[] }).alerts.filter((a) => a.labels['kind'] === 'predictive');
      return alerts.length > 0;
    }, 'a predictive alert', 30_000, 200);
    assert.deepEqual(alerts.map((a) => a.labels['host']), ['node-2'], 'only the filling host');
    const a = alerts[0]!;
    assert.equal(a.labels['alertname'], 'PredictedDiskFull');
    assert.match(a.annotations['summary']!, /^disk on host node-2 full in (\d+ h )?\d+ m ± /);
    const predicted = Date.parse(a.annotations['predicted_full_at']!) - Date.now();
    assert.ok(predicted > 0, 'predicted in the future');
    assert.ok(Math.abs(predicted - fullInMs) < 0.35 * fullInMs, `predicted ${Math.round(predicted / 60_000)} min, the disk fills in ${Math.round(fullInMs / 60_000)} min`);
    // It opens an incident, and root-cause analysis of that host-only incident names the filling disk.
    type Inc = { title: string; rootCauses: Array<{ service: string; metric: string }> };
    let inc: Inc | undefined;
    await until(async () => {
      const r = await fetch(`${c.api}/api/v1/incidents?status=open`, { headers: { authorization: `Bearer ${reader}` } });
      inc = ((await r.json()) as { incidents: Inc[] }).incidents.find((i) => /PredictedDiskFull/.test(i.title));
      return inc !== undefined && inc.rootCauses.length > 0;
    }, 'an incident opened by the predictive alert, with its root cause', 30_000, 200);
    assert.equal(inc!.rootCauses[0]!.service, 'node-2');
    assert.equal(inc!.rootCauses[0]!.metric, 'sim_host_disk_ratio');
  });
});
