// The chain in the live detect path: a Tier-1 flag on a normal window is not confirmed (no
// alert), a real anomaly is (an alert carrying the stages' evidence), a series warming up keeps
// Tier-1's word, and the chain follows a hot-reloaded model.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FeatureFlags } from '../../../../shared-schemas/src/index.js';
import type { Alert } from '../../../../shared-schemas/src/index.js';
import { SelfMetrics, silentLogger, systemClock, metricSum } from '../../../../shared-schemas/src/runtime/index.js';
import type { IngestedFrame } from '../../component.js';
import { seededRandom } from '../agile/index.js';
import { DynamicXyDetector, validateDetectionConfig } from '../dynamic-xy/index.js';
import { fitMultivariate, multivariateGraph } from '../multivariate/index.js';
import { encodeOnnxModel } from '../onnx/index.js';
import { FilesystemArtifactStore, ModelRegistry } from '../registry/index.js';
import { ModelServer, modelsConfigSchema } from '../serving/index.js';
import { ChainConfirmer } from './index.js';

const STEP = 10_000;
const T0 = Math.floor(Date.now() / STEP) * STEP - 1000 * STEP;
const P = 48;

describe('chain confirmer in front of the X-Y detector', () => {
  let dir: string;
  let server: ModelServer;
  let self: SelfMetrics;
  let registry: ModelRegistry;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiops-chain-'));
    self = new SelfMetrics();
    registry = new ModelRegistry(new FilesystemArtifactStore(join(dir, 'models')));
    server = new ModelServer({ id: 'detect/models', logger: silentLogger(), metrics: self.forComponent('detect/models'), clock: systemClock, dataDir: dir }, modelsConfigSchema.parse({ onnx: { execution_providers: ['cpu'] }, batching: { latency_budget: 1 } }), registry);
    await server.start();
  });
  after(async () => {
    await server.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  async function rig() {
    const alerts: Alert[] = [];
    const metrics = new SelfMetrics();
    const detector = new DynamicXyDetector({ id: 'detect/dynamic-xy', logger: silentLogger(), metrics: metrics.forComponent('detect/dynamic-xy'), clock: systemClock, dataDir: dir }, validateDetectionConfig({ x: 1, y: 1, learn: { enabled: false } }), { consumeAlerts: async (a) => void alerts.push(...a) });
    await detector.start();
    const chain = new ChainConfirmer({ server, next: detector, logger: silentLogger(), metrics: metrics.forComponent('detect/chain') });
    const rnd = seededRandom(5);
    const value = (w: number) => 50 + 10 * Math.sin((2 * Math.PI * w) / P) + rnd();
    const send = async (w: number, v: number, flagged: boolean, score: number) => {
      const f: IngestedFrame = {
        tenant: 'default',
        agentId: 'a',
        sequence: w + 1,
        windowStartMs: T0 + w * STEP,
        windowEndMs: T0 + (w + 1) * STEP,
        rows: [{ labels: { __name__: 'latency_ms', service: 'cart' }, row: { count: 10, min: v, max: v, mean: v, std: 0.5, last: v, p50: v, p95: v, tier1MaxScore: score, flags: flagged ? FeatureFlags.ANOMALY : 0, bandLower: 0, bandUpper: 0 } }],
      };
      await chain.consumeFrame(f);
    };
    return { alerts, detector, chain, metrics, value, send };
  }

  it('a flag during warm-up passes on; later, a flag on a normal window is not confirmed, a spike is (with its evidence, and for its episode)', async () => {
    const r = await rig();
    await r.send(0, r.value(0), true, 0.9);
    assert.equal(r.alerts.length, 1, 'warming up: Tier-1 alone, its flag fires (x=1, y=1)');
    assert.equal(r.alerts[0]!.annotations['chain_score'], undefined);
    assert.equal(r.alerts[0]!.annotations['chain_state'], 'warming up: 1 of 96 windows', 'the warming-up state is visible on the alert');
    for (let w = 1; w < 700; w++) await r.send(w, r.value(w), false, 0.05);
    await r.detector.consumeFrame({ tenant: 'default', agentId: 'a', sequence: 10_000, windowStartMs: T0 + 700 * STEP, windowEndMs: T0 + 701 * STEP, rows: [] });
    const before = r.alerts.length;
    // A Tier-1 flag on an ordinary value (a noisy edge detector): not confirmed.
    await r.send(700, r.value(700), true, 0.3);
    assert.equal(r.alerts.length, before, 'no alert from an unconfirmed flag');
    assert.equal(await metricSum(r.metrics, 'aiops_central_chain_unconfirmed_flags_total'), 1);
    await r.send(701, r.value(701), false, 0.05);
    // A real spike: 40 above the season, Tier-1 sure of it.
    await r.send(702, r.value(702) + 40, true, 0.95);
    const fired = r.alerts.slice(before).filter((a) => a.status === 'firing');
    assert.equal(fired.length, 1, 'the spike fires');
    const ann = fired[0]!.annotations;
    assert.ok(Number(ann['chain_score']) >= 0.224, `chain score ${ann['chain_score']}`);
    assert.equal(ann['chain_route'], 'both');
    assert.equal(ann['chain_period'], String(P));
    assert.match(String(ann['chain_route_reason']), new RegExp(`seasonal: period ${P} steps`), 'the route says why');
    assert.ok(Number(ann['tier2_score']) > 0.5 && Number(ann['tier3_score']) > 0.5, `tier2 ${ann['tier2_score']}, tier3 ${ann['tier3_score']}`);
    assert.equal(ann['tier2_model'], 'agile v0');
    assert.ok(r.chain.tracked === 1);
    // The confirmed episode goes on: the next windows keep their flags though the chain's
    // novelty no longer scores them high (the jump is in the series' record now).
    for (let w = 703; w < 708; w++) await r.send(w, r.value(w) + 40, true, 0.6);
    assert.equal(await metricSum(r.metrics, 'aiops_central_chain_unconfirmed_flags_total'), 1, 'flags within the confirmed episode are kept');
    // Long after the episode, a flag on an ordinary value is judged afresh.
    for (let w = 708; w < 760; w++) await r.send(w, r.value(w), false, 0.05);
    await r.send(760, r.value(760), true, 0.3);
    assert.equal(await metricSum(r.metrics, 'aiops_central_chain_unconfirmed_flags_total'), 2);
    assert.ok((await metricSum(r.metrics, 'aiops_central_chain_rows_total', { decision: 'validated' })) >= 1);
    await r.detector.shutdown();
  });

  it('forget drops the series (its partition moved) in the chain and the detector', async () => {
    const r = await rig();
    for (let w = 0; w < 5; w++) await r.send(w, r.value(w), false, 0);
    assert.equal(r.chain.tracked, 1);
    assert.equal(r.chain.forget((t, l) => t === 'default' && l['service'] === 'cart'), 1);
    assert.equal(r.chain.tracked, 0);
    await r.detector.shutdown();
  });

  it('a promoted multivariate bundle flags a service window whose metrics left their relation, on the metric carrying the error; ordinary windows pass', async () => {
    const r = await rig();
    assert.equal(server.model('multivariate'), undefined, 'no multivariate model until one is trained and promoted');
    // checkout: CPU and latency follow the load. Two instances (hosts) share the model.
    const names = ['sim_service_cpu_cores', 'sim_service_latency_p95_seconds', 'sim_service_requests_per_second'];
    const rnd = seededRandom(9);
    const normal = (): number[] => {
      const load = 100 + 80 * rnd();
      return [0.002 * load + 0.02 * rnd(), 0.02 + 0.0003 * load + 0.003 * rnd(), load];
    };
    const train = Array.from({ length: 2000 }, normal);
    const { params } = fitMultivariate(names, train, { seed: 1 });
    const bundle = { services: [{ service: 'checkout', params }] };
    const spec = multivariateGraph(bundle);
    const v = await registry.register('multivariate', encodeOnnxModel(spec), { inputs: spec.inputs.map((i) => ({ name: i.name, dims: [...i.dims] })), outputs: spec.outputs.map((o) => ({ name: o.name, dims: [...o.dims] })), params: { ...bundle }, training: { dataDigest: 'sha256:test', series: 1, rows: 2000, seed: 1, options: {}, sources: [] }, metrics: {} }, 'test');
    await registry.promote('multivariate', v.version, 'production', 'test');
    await server.reload();
    assert.equal(server.model('multivariate')?.version, v.version, 'hot reload picked the bundle up');
    const frame = (w: number, hosts: Array<{ host: string; x: number[] }>): IngestedFrame => ({
      tenant: 'default',
      agentId: 'mv',
      sequence: 100_000 + w,
      windowStartMs: T0 + w * STEP,
      windowEndMs: T0 + (w + 1) * STEP,
      rows: hosts.flatMap(({ host, x }) => x.map((v, k) => ({ labels: { __name__: names[k]!, service: 'checkout', host }, row: { count: 10, min: v, max: v, mean: v, std: 0, last: v, p50: v, p95: v, tier1MaxScore: 0, flags: 0, bandLower: 0, bandUpper: 0 } }))),
    });
    for (let w = 0; w < 200; w++) await r.chain.consumeFrame(frame(w, [{ host: 'h1', x: normal() }, { host: 'h2', x: normal() }]));
    assert.equal(await metricSum(r.metrics, 'aiops_central_multivariate_windows_total', { outcome: 'normal' }) + (await metricSum(r.metrics, 'aiops_central_multivariate_windows_total', { outcome: 'anomaly' })), 400);
    const normalAnomalies = await metricSum(r.metrics, 'aiops_central_multivariate_windows_total', { outcome: 'anomaly' });
    // k_score is the training windows' 99th percentile: about 1% of ordinary windows score above 0.5.
    assert.ok(normalAnomalies <= 12, `ordinary windows: ${normalAnomalies} of 400 flagged`);
    assert.equal(r.alerts.filter((a) => a.annotations['tier3_multivariate_score'] !== undefined && a.status === 'firing').length, normalAnomalies);
    const before = r.alerts.length;
    // h2 at a light load with the CPU of a heavy one: each value seen before, never together.
    await r.chain.consumeFrame(frame(200, [{ host: 'h1', x: normal() }, { host: 'h2', x: [0.002 * 175, 0.02 + 0.0003 * 105, 105] }]));
    const fired = r.alerts.slice(before).filter((a) => a.status === 'firing');
    assert.equal(fired.length, 1, 'one alert: the broken window of h2');
    const a = fired[0]!;
    assert.equal(a.labels['host'], 'h2');
    assert.equal(a.labels['metric'], 'sim_service_cpu_cores');
    assert.equal(a.annotations['tier3_multivariate_metric'], 'sim_service_cpu_cores');
    assert.equal(a.annotations['tier3_multivariate_service'], 'checkout');
    assert.equal(a.annotations['tier3_multivariate_model'], `multivariate v${v.version}`);
    assert.ok(Number(a.annotations['tier3_multivariate_score']) >= 0.5);
    // A window missing one of the model's metrics is not scored (counted).
    const partial = frame(201, [{ host: 'h1', x: normal() }]);
    await r.chain.consumeFrame({ ...partial, rows: partial.rows.slice(1) });
    assert.equal(await metricSum(r.metrics, 'aiops_central_multivariate_windows_total', { outcome: 'incomplete' }), 1);
    await r.detector.shutdown();
  });
});
