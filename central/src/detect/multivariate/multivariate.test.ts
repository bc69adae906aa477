// Tier-3 multivariate: a window whose metrics are each ordinary but whose relation is broken
// scores high where the per-metric robust scores see nothing; the ONNX graph matches its
// reference; training is deterministic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../agile/index.js';
import { runGraph } from '../testing/onnx.js';
import { bundleWidth, checkMultivariateBundle, checkMultivariateParams, fitMultivariate, multivariateGraph, multivariateReference } from './index.js';

const METRICS = ['requests_per_s', 'cpu_ratio', 'latency_ms', 'errors_per_s'];

/** A service's windows: CPU and latency follow the load; errors are noise. */
function windows(n: number, seed: number): number[][] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const load = 100 + 80 * rnd();
    return [load, 0.002 * load + 0.02 * rnd(), 20 + 0.3 * load + 3 * rnd(), 2 * rnd()];
  });
}

describe('Tier-3 multivariate model', () => {
  const { params, metrics } = fitMultivariate(METRICS, windows(2000, 1), { seed: 7 });

  it('scores a broken relation high although each metric is in its usual range', () => {
    assert.ok(params.k >= 1 && params.k <= 3, `k ${params.k}`);
    assert.ok(metrics.explained[0]! > 0.6, 'one direction carries the load');
    const normal = multivariateReference(params, [150, 0.3, 65, 1]);
    // Latency of a high load while the load is low: every value seen before, not together.
    const broken = multivariateReference(params, [105, 0.21, 72, 1]);
    assert.ok(normal.score < 0.5, `normal ${normal.score}`);
    assert.ok(broken.score > 0.6, `broken ${broken.score}`);
    const worst = broken.contribution.indexOf(Math.max(...broken.contribution));
    assert.ok(['cpu_ratio', 'latency_ms', 'requests_per_s'].includes(METRICS[worst]!), `the evidence points at the related metrics (${METRICS[worst]})`);
    // Per metric, robust z of the broken window: all ordinary.
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(([105, 0.21, 72, 1][i]! - params.center[i]!) / params.scale[i]!) < 2.5, `${METRICS[i]} alone looks normal`);
  });

  it('one graph scores rows of several services (different widths and k) in one batch, as the reference does', async () => {
    const rnd = seededRandom(11);
    // A second service with 6 metrics, two of them following a third; a third with 2.
    const six = Array.from({ length: 1500 }, () => {
      const a = rnd() * 10;
      const b = rnd();
      return [a, 2 * a + 0.1 * rnd(), b, 5 - a + 0.1 * rnd(), 100 * rnd(), b * 3];
    });
    const two = Array.from({ length: 500 }, () => {
      const a = 1 + rnd();
      return [a, 10 * a + rnd()];
    });
    const bundle = {
      services: [
        { service: 'api', params },
        { service: 'db', params: fitMultivariate(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'], six, { seed: 1 }).params },
        { service: 'cache', params: fitMultivariate(['hits', 'bytes'], two, { seed: 1 }).params },
      ],
    };
    const width = bundleWidth(bundle).metrics;
    assert.equal(width, 6);
    const rows: Array<{ svc: number; x: number[] }> = [];
    for (let i = 0; i < 90; i++) {
      const svc = i % 3;
      const src = svc === 0 ? windows(1, 100 + i)[0]! : svc === 1 ? six[i]! : two[i]!;
      // Every fifth row breaks its service's relations.
      const x = i % 5 === 0 ? src.map((v, j) => (j % 2 === 0 ? v * 1.7 : v * 0.4)) : src;
      rows.push({ svc, x });
    }
    rows[7] = { svc: 0, x: [105, 0.21, 72, 1] };
    const x = new Float32Array(rows.length * width);
    rows.forEach((r, b) => x.set(r.x, b * width));
    const out = await runGraph(multivariateGraph(bundle), { x: { data: x, dims: [rows.length, width] }, svc: { data: Float32Array.from(rows.map((r) => r.svc)), dims: [rows.length, 1] } });
    let high = 0;
    rows.forEach((row, b) => {
      const ref = multivariateReference(bundle.services[row.svc]!.params, Float32Array.from(row.x));
      if (ref.score > 0.5) high++;
      assert.ok(Math.abs(out['score']![b]! - ref.score) < 1e-4, `row ${b} score ${out['score']![b]} vs ${ref.score}`);
      assert.ok(Math.abs(out['r']![b]! - ref.r) < 1e-3 * Math.max(1, ref.r), `row ${b} r`);
      assert.ok(Math.abs(out['share']![b]! - ref.share) < 1e-3, `row ${b} share`);
      // The top metric agrees unless two metrics carry (nearly) the same error.
      if (ref.share > 0.01 && ref.contribution.filter((c) => c > ref.contribution[ref.top]! * 0.999).length === 1) assert.equal(out['top']![b], ref.top, `row ${b} top`);
    });
    assert.ok(high >= 10, `the broken rows score high (${high})`);
  });

  it('refuses bundles it cannot score, naming the service', () => {
    assert.throws(() => multivariateGraph({ services: [] }), /1\.\.4096 services/);
    assert.throws(() => checkMultivariateBundle({ services: [{ service: 'a', params }, { service: 'a', params }] }), /service "a" appears twice/);
    assert.throws(() => checkMultivariateBundle({ services: [{ service: 'a', params: { ...params, kScore: -1 } }] }), /services\[0\] \(a\): multivariate scale and kScore must be > 0/);
    assert.throws(() => checkMultivariateParams({ ...params, metrics: ['a', 'a', 'b', 'c'] }), /distinct/);
  });

  it('training is deterministic and refuses too little data or bad parameters', () => {
    assert.deepEqual(fitMultivariate(METRICS, windows(2000, 1), { seed: 7 }), fitMultivariate(METRICS, windows(2000, 1), { seed: 7 }));
    assert.throws(() => fitMultivariate(METRICS, windows(10, 1)), /too little training data: 10 complete windows/);
    assert.throws(() => checkMultivariateParams({ ...params, k: 4 }), /k must be an integer 1..metrics-1/);
    assert.throws(() => checkMultivariateParams({ ...params, scale: [1, 0, 1, 1] }), /must be > 0/);
  });
});

describe('Tier-3 multivariate on simulator output', () => {
  it("trained on productcatalog's own history, it stays quiet on held-out normal windows and flags the CPU hog", async (t) => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadScenarioFile, runScenario, shippedScenariosDir } = await import('../../../../simulators/scenario/index.js');
    const dir = await mkdtemp(join(tmpdir(), 'aiops-mv-'));
    try {
      const read = async (name: string) => {
        await runScenario(await loadScenarioFile(join(shippedScenariosDir(), `${name}.yaml`)), join(dir, name));
        const [head, ...lines] = (await readFile(join(dir, name, 'metrics.csv'), 'utf8')).trim().split('\n');
        const cols = head!.split(',');
        const pick = cols.map((c, i) => [c, i] as const).filter(([c]) => c.startsWith('service:productcatalog:'));
        return { names: pick.map(([c]) => c.split(':')[2]!), rows: lines.map((l) => l.split(',').map(Number)).map((v) => ({ t: v[0]!, x: pick.map(([, i]) => v[i]!) })) };
      };
      const hog = await read('ob-cpu-hog');
      const truth = JSON.parse(await readFile(join(dir, 'ob-cpu-hog', 'ground-truth.json'), 'utf8')) as { faults: Array<{ onsetMs: number; endMs: number }> };
      const { onsetMs, endMs } = truth.faults[0]!;
      // Trained on the history up to 40 minutes before the fault; the 40 minutes after are held out.
      const heldFrom = onsetMs - 40 * 60_000;
      const { params } = fitMultivariate(hog.names, hog.rows.filter((r) => r.t < heldFrom).map((r) => r.x), { seed: 1 });
      const scores = hog.rows.map((r) => ({ t: r.t, s: multivariateReference(params, r.x).score }));
      const before = scores.filter((r) => r.t >= heldFrom && r.t < onsetMs);
      const during = scores.filter((r) => r.t >= onsetMs + 60_000 && r.t < endMs);
      const falseShare = before.filter((r) => r.s > 0.5).length / before.length;
      const hitShare = during.filter((r) => r.s > 0.5).length / during.length;
      t.diagnostic(`multivariate on ob-cpu-hog: ${(100 * falseShare).toFixed(1)}% of ${before.length} held-out normal windows and ${(100 * hitShare).toFixed(1)}% of ${during.length} fault windows score > 0.5 (k = ${params.k} of ${params.metrics.length})`);
      assert.ok(falseShare < 0.1, `held out, before the fault ${(100 * falseShare).toFixed(1)}% of windows score > 0.5`);
      assert.ok(hitShare > 0.8, `during the fault ${(100 * hitShare).toFixed(1)}% of windows score > 0.5`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
