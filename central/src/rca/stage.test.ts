import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { mulberry32, silentLogger, SelfMetrics, systemClock } from '../../../shared-schemas/src/runtime/index.js';
import type { Incident, TopologyDocument } from '../../../shared-schemas/src/index.js';
import { until } from '../../../edge-agent/src/testing/index.js';
import { aiopsMain } from '../cli/aiops.js';
import { declareTopology } from '../correlate/testing/online.js';
import { startTestCentral } from '../service/testing/index.js';
import type { TestCentral } from '../service/testing/index.js';
import type { MetricSample, MetricStore, RangeQuery } from '../storage/types.js';
import { rcaConfig } from './config.js';
import { frameFromSeries, RcaStage } from './stage.js';

const TOPOLOGY = {
  version: 1,
  name: 'shop',
  nodes: [
    { id: 'svc:frontend', kind: 'Service', name: 'frontend' },
    { id: 'svc:checkout', kind: 'Service', name: 'checkout' },
    { id: 'svc:payment', kind: 'Service', name: 'payment' },
    { id: 'svc:ledger', kind: 'Service', name: 'ledger' },
    { id: 'host:node-1', kind: 'Host', name: 'node-1' },
  ],
  edges: [
    { kind: 'CALLS', from: 'svc:frontend', to: 'svc:checkout' },
    { kind: 'CALLS', from: 'svc:checkout', to: 'svc:payment' },
    { kind: 'CALLS', from: 'svc:payment', to: 'svc:ledger' },
    { kind: 'RUNS_ON', from: 'svc:frontend', to: 'host:node-1' },
    { kind: 'RUNS_ON', from: 'svc:checkout', to: 'host:node-1' },
    { kind: 'RUNS_ON', from: 'svc:payment', to: 'host:node-1' },
    { kind: 'RUNS_ON', from: 'svc:ledger', to: 'host:node-1' },
  ],
};

const STEP = 10_000;

/**
 * 30 minutes of 10-second samples up to `endMs`: latency and CPU of four services and the host's
 * CPU; from `faultMs` payment is 100 ms slower, checkout a step later, frontend two steps later.
 */
function samples(endMs: number, faultMs: number): MetricSample[] {
  const r = mulberry32(11);
  const out: MetricSample[] = [];
  const start = endMs - 30 * 60_000;
  const lag: Record<string, number> = { payment: 0, checkout: STEP, frontend: 2 * STEP };
  for (let t = start - (start % STEP); t < endMs; t += STEP) {
    for (const svc of ['frontend', 'checkout', 'payment', 'ledger']) {
      const slow = lag[svc] !== undefined && t >= faultMs + lag[svc]! ? 0.1 : 0;
      out.push({ labels: { __name__: 'latency_p95_seconds', service: svc, host: 'node-1' }, tsMs: t, value: 0.05 * (1 + 0.05 * (r() - 0.5)) + slow });
      out.push({ labels: { __name__: 'cpu_cores', service: svc, host: 'node-1' }, tsMs: t, value: 0.5 * (1 + 0.05 * (r() - 0.5)) });
    }
    out.push({ labels: { __name__: 'host_cpu_ratio', host: 'node-1' }, tsMs: t, value: 0.3 * (1 + 0.05 * (r() - 0.5)) });
  }
  return out;
}

describe('root-cause analysis in central', () => {
  let c: TestCentral;
  let admin: string;
  let reader: string;
  let writer: string;
  let incidentId = '';
  let faultMs = 0;

  before(async () => {
    c = await startTestCentral({}, 'aiops-rca-stage-');
    admin = (await c.key('admin', ['admin'])).token;
    reader = (await c.key('reader', ['read'])).token;
    writer = (await c.key('writer', ['read', 'write'])).token;
    await declareTopology(c.api, admin, TOPOLOGY);
    const now = Date.now();
    faultMs = now - 90_000;
    const all = samples(now, faultMs);
    for (let i = 0; i < all.length; i += 5000) await c.central.stores.metrics.writeSamples(all.slice(i, i + 5000));
  });
  after(() => c.stop());

  it('a new incident gets ranked root causes with evidence, stored on it and on its timeline', async () => {
    const startsAt = new Date(faultMs + 30_000).toISOString();
    const alerts = ['frontend', 'checkout', 'payment'].map((svc) => ({ labels: { alertname: 'HighLatency', service: svc, severity: 'warning' }, startsAt, status: 'firing' }));
    const res = await fetch(`${c.api}/api/v1/alerts/ingest`, { method: 'POST', headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' }, body: JSON.stringify({ alerts }) });
    assert.equal(res.status, 200, await res.text());
    type Detail = Incident & { timeline: Array<{ type: string; actor: string; text: string }> };
    await until(async () => {
      const list = (await (await fetch(`${c.api}/api/v1/incidents`, { headers: { authorization: `Bearer ${reader}` } })).json()) as { incidents: Array<{ id: string; rootCauses: unknown[] }> };
      const found = list.incidents.find((i) => i.rootCauses.length > 0);
      if (!found) return false;
      incidentId = found.id;
      return true;
    }, 'an incident with root causes', 60_000, 200);
    const inc = (await (await fetch(`${c.api}/api/v1/incidents/${incidentId}`, { headers: { authorization: `Bearer ${reader}` } })).json()) as Detail;
    const causes = (inc as unknown as { rootCauses: Array<{ service: string; metric: string; probability: number; rank: number; method: string; evidence: string[]; onsetAt: string | null }> }).rootCauses;
    assert.equal(causes[0]!.service, 'payment');
    assert.equal(causes[0]!.metric, 'latency_p95_seconds');
    assert.equal(causes[0]!.rank, 1);
    assert.ok(causes[0]!.probability > causes[1]!.probability);
    assert.ok(causes[0]!.onsetAt !== null && Math.abs(Date.parse(causes[0]!.onsetAt) - faultMs) <= STEP, `onset ${causes[0]!.onsetAt} vs fault ${new Date(faultMs).toISOString()}`);
    assert.match(causes[0]!.evidence.join('\n'), /payment latency_p95_seconds rose/);
    assert.match(causes[0]!.evidence.join('\n'), /explains .*checkout/);
    assert.ok(causes.length <= rcaConfig().max_causes);
    const rc = inc.timeline.filter((e) => e.type === 'root_cause');
    assert.equal(rc.length, 1);
    assert.equal(rc[0]!.actor, 'rca');
    assert.match(rc[0]!.text, /root cause: payment latency_p95_seconds \(p=0\.\d\d, bayesian\)/);
  });

  it('aiops incidents show prints the causes with their evidence; analyze ranks on demand (write scope)', async () => {
    let out = '';
    let err = '';
    const cli = (argv: string[], token: string) => aiopsMain(argv, { out: (s) => void (out += s), err: (s) => void (err += s), env: { AIOPS_URL: c.api, AIOPS_API_KEY: token } });
    assert.equal(await cli(['incidents', 'show', incidentId], reader), 0, err);
    assert.match(out, /root causes \(most likely first\):\n {2}1\. payment latency_p95_seconds {2}p=0\.\d\d {2}bayesian {2}onset /);
    assert.match(out, /- payment latency_p95_seconds rose/);
    out = '';
    assert.equal(await cli(['incidents', 'analyze', incidentId], writer), 0, err);
    assert.match(out, /series of \d+ entities analysed\n {2}1\. payment/);
    const denied = await fetch(`${c.api}/api/v1/incidents/${incidentId}/analyze`, { method: 'POST', headers: { authorization: `Bearer ${reader}` } });
    assert.equal(denied.status, 403);
    const missing = await fetch(`${c.api}/api/v1/incidents/inc-nope/analyze`, { method: 'POST', headers: { authorization: `Bearer ${writer}` } });
    assert.equal(missing.status, 404);
  });

  it('online, the store is never asked for data after detection + after (no peeking)', async () => {
    const queries: RangeQuery[] = [];
    const store = c.central.stores.metrics;
    const watched = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'query') return (q: RangeQuery) => (queries.push(q), target.query(q));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as MetricStore;
    const cfg = rcaConfig({ after: 60_000 });
    const stage = new RcaStage({ id: 'rca', logger: silentLogger(), metrics: new SelfMetrics().forComponent('rca'), clock: systemClock, dataDir: c.dir }, cfg, {
      metrics: watched,
      topology: c.central.topology,
      incidents: c.central.stores.incidents,
      sink: { attachRootCauses: async () => undefined },
    });
    const inc = (await c.central.stores.incidents.get('default', incidentId))!;
    const run = await stage.analyse(inc, inc.openedAtMs + 3_600_000);
    assert.ok(run && run.series > 0);
    assert.ok(queries.length > 0);
    for (const q of queries) assert.ok(q.endMs <= inc.openedAtMs + cfg.after, `query to ${new Date(q.endMs).toISOString()} is past detection + after`);
  });

  it('a deploy recorded through POST /api/v1/changes re-ranks the open incident: the changed service\'s probability rises, the evidence names the deploy', async () => {
    const auth = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
    type Cause = { service: string; probability: number; evidence: string[] };
    const before = (await (await fetch(`${c.api}/api/v1/incidents/${incidentId}`, { headers: auth(reader) })).json()) as { rootCauses: Cause[] };
    const p0 = before.rootCauses.find((x) => x.service === 'payment')!.probability;
    // Changes that must not count: another service's, and payment's of three hours ago.
    for (const body of [
      { service: 'ledger', version: '9.9.9', at: new Date(faultMs - 60_000).toISOString() },
      { service: 'payment', version: '0.0.1', at: new Date(faultMs - 3 * 3_600_000).toISOString() },
      { service: 'payment', version: '2.3.1', description: 'connection pool 50 -> 5', id: 'pipeline-4711', at: new Date(faultMs - 60_000).toISOString() },
    ]) {
      const res = await fetch(`${c.api}/api/v1/changes`, { method: 'POST', headers: auth(writer), body: JSON.stringify(body) });
      assert.equal(res.status, 201, await res.text());
    }
    // Without asking: the incident's analysis read payment, so recording its deploy re-ranks it.
    let after: { rootCauses: Cause[] } = before;
    await until(async () => {
      after = (await (await fetch(`${c.api}/api/v1/incidents/${incidentId}`, { headers: auth(reader) })).json()) as { rootCauses: Cause[] };
      return after.rootCauses[0]!.evidence.some((e) => e.includes('deploy'));
    }, 'the incident re-ranked with the deploy', 30_000, 200);
    const top = after.rootCauses[0]!;
    assert.equal(top.service, 'payment');
    assert.ok(top.probability > p0, `p ${top.probability} after the deploy vs ${p0} before`);
    const why = top.evidence.join('\n');
    assert.match(why, /prior: deploy at \S+ \(version 2\.3\.1; connection pool 50 -> 5; reported by writer\), 60 s before the onset/);
    assert.doesNotMatch(why, /0\.0\.1|9\.9\.9/);
    assert.ok(!after.rootCauses.some((x) => x.service === 'ledger' && x.evidence.join('\n').includes('deploy')), 'a change of a service that did not deviate is no evidence');
    // On demand: analysed again and answered with what was stored.
    const res = await fetch(`${c.api}/api/v1/incidents/${incidentId}/analyze`, { method: 'POST', headers: auth(writer), body: '{}' });
    assert.equal(res.status, 200);
    const again = (await res.json()) as { rootCauses: Cause[] };
    assert.equal(again.rootCauses[0]!.service, 'payment');
    assert.match(again.rootCauses[0]!.evidence.join('\n'), /prior: deploy at/);
  });

  it('a node declared observed (a load balancer without metrics of its own) is explained by the service behind it', async () => {
    // checkout calls payment through a load balancer whose client-side latency moves more than payment's own.
    const r = mulberry32(12);
    const lb: MetricSample[] = [];
    const now = Date.now();
    for (let t = now - 30 * 60_000 - ((now - 30 * 60_000) % STEP); t < now; t += STEP) {
      lb.push({ labels: { __name__: 'latency_p95_seconds', service: 'pay-lb' }, tsMs: t, value: 0.05 * (1 + 0.05 * (r() - 0.5)) + (t >= faultMs ? 0.3 : 0) });
    }
    await c.central.stores.metrics.writeSamples(lb);
    const doc = (observed: boolean) => ({
      ...TOPOLOGY,
      nodes: [...TOPOLOGY.nodes, { id: 'lb:pay-lb', kind: 'LoadBalancer', name: 'pay-lb', properties: { observed } }],
      edges: [...TOPOLOGY.edges, { kind: 'CALLS', from: 'svc:checkout', to: 'lb:pay-lb' }],
    });
    const stage = new RcaStage({ id: 'rca', logger: silentLogger(), metrics: new SelfMetrics().forComponent('rca'), clock: systemClock, dataDir: c.dir }, rcaConfig(), {
      metrics: c.central.stores.metrics,
      topology: c.central.topology,
      incidents: c.central.stores.incidents,
      sink: { attachRootCauses: async () => undefined },
    });
    const inc = (await c.central.stores.incidents.get('default', incidentId))!;
    const top = async (tenant: string, observed: boolean) => {
      await c.central.topology.putDeclared(tenant, doc(observed) as TopologyDocument, Date.now());
      return (await stage.analyse({ ...inc, tenant }, inc.openedAtMs + 3_600_000))!.causes;
    };
    const plain = await top('lb-plain', false);
    assert.equal(plain[0]!.service, 'pay-lb', 'an instrumented balancer with the larger deviation is ranked first');
    const causes = await top('lb-observed', true);
    assert.equal(causes[0]!.service, 'payment');
    assert.match(causes.find((x) => x.service === 'pay-lb')!.evidence.join('\n'), /explained in part by payment latency_p95_seconds/);
  });

  it('aligns replicas onto one grid and averages them', () => {
    const f = frameFromSeries(
      [
        { labels: { __name__: 'lat', service: 'a', host: 'h1' }, resolution: 'raw', timestamps: [0, 10_000, 20_000], values: [1, 2, 3] },
        { labels: { __name__: 'lat', service: 'a', host: 'h2' }, resolution: 'raw', timestamps: [0, 10_000, 20_000], values: [3, 4, 5] },
        { labels: { __name__: 'cpu', host: 'h1' }, resolution: 'raw', timestamps: [10_000], values: [7] },
        { labels: { service: 'no-name' }, resolution: 'raw', timestamps: [0], values: [1] },
      ],
      0,
      30_000,
    );
    assert.deepEqual(Array.from(f.timesMs), [0, 10_000, 20_000]);
    assert.deepEqual(f.series.map((s) => `${s.entity}/${s.metric}`), ['a/lat', 'h1/cpu']);
    assert.deepEqual(Array.from(f.series[0]!.values), [2, 3, 4]);
    assert.ok(Number.isNaN(f.series[1]!.values[0]!));
  });
});
