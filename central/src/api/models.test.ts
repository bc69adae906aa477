// The model registry end to end through the API (issue #7, Acceptance): a central process (role
// all) serving Tier-2/3; versions registered by the training job's code; promote, canary,
// rollback over REST with an admin key; the serving side hot-reloads each change (seen in
// GET /api/v1/models, in /metrics, and in the scores it computes); refusals name the problem.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../../../edge-agent/src/testing/index.js';
import { AGILE_DEFAULTS, agileGraph, agileReference } from '../detect/agile/index.js';
import type { AgileParams } from '../detect/agile/index.js';
import { fitMultivariate, multivariateGraph } from '../detect/multivariate/index.js';
import type { MultivariateBundle } from '../detect/multivariate/index.js';
import { encodeOnnxModel } from '../detect/onnx/index.js';
import type { CentralService } from '../service/service.js';
import { startTestCentral } from '../service/testing/index.js';
import type { TestCentral } from '../service/testing/index.js';

const W = AGILE_DEFAULTS.window;

describe('model registry through the API, with hot reload', () => {
  let tc: TestCentral | undefined;
  let central: CentralService;
  let api = '';
  const tokens: Record<string, string> = {};
  const versions: Array<{ version: number; params: AgileParams }> = [];

  before(async () => {
    tc = await startTestCentral({ api: { rate_per_second: 1000, burst: 1000 }, models: { reload_interval: '200ms', onnx: { execution_providers: ['cpu'] } } }, 'aiops-models-');
    ({ central, api } = tc);
    for (const scope of ['read', 'admin'] as const) tokens[scope] = (await tc.key(scope, [scope])).token;
    // Two trained-looking versions that score differently (another AR weight and k).
    for (const [ar0, k] of [
      [0.9, 3],
      [0.5, 8],
    ] as const) {
      const params: AgileParams = { ...AGILE_DEFAULTS, ar: [ar0, 0, 0, 0, 0, 0], k };
      const spec = agileGraph(params);
      const v = await central.models.register(
        'agile',
        encodeOnnxModel(spec),
        { inputs: spec.inputs.map((i) => ({ ...i, dims: [...i.dims] })), outputs: spec.outputs.map((i) => ({ ...i, dims: [...i.dims] })), params: { ...params }, training: { dataDigest: 'sha256:test', series: 1, rows: 1, seed: 1, options: {}, sources: [] }, metrics: {} },
        'test',
      );
      versions.push({ version: v.version, params });
    }
  });
  after(async () => {
    await tc?.stop();
  });

  const call = async (method: string, path: string, scope: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${tokens[scope]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
  };
  const served = async (stage = 'production') => ((await call('GET', '/api/v1/models', 'read')).body.serving.tiers.agile as Array<{ version: number; stage: string }>).find((m) => m.stage === stage)?.version;
  const row = (seed: number) => {
    const x = Float32Array.from({ length: W }, (_, j) => 50 + Math.sin(j / 3 + seed) * 2 + (j === W - 1 ? 9 : 0));
    return { x, xs: x, seasonal: Float32Array.of(0) };
  };
  /** Scores one row with the served production model; checks it against the version's own reference. */
  const scoredBy = async (): Promise<number> => {
    const m = central.modelServer!.model('agile')!;
    const r = row(1);
    const out = await m.batcher.submit(r);
    const ref = agileReference(m.params as AgileParams, r.x, r.xs, false);
    assert.ok(Math.abs(out['score']! - ref.score) < 1e-4, `served score ${out['score']} is version ${m.version}'s (${ref.score})`);
    return m.version;
  };

  it('serves the built-in model until a version is promoted; new versions wait in shadow', async () => {
    const list = await call('GET', '/api/v1/models', 'read');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.tiers.agile.versions.map((v: { version: number; stage: string }) => [v.version, v.stage]),
      [
        [1, 'shadow'],
        [2, 'shadow'],
      ],
    );
    assert.equal(list.body.tiers.agile.production, null);
    await until(async () => (await served('shadow')) !== undefined, 'shadow versions served');
    assert.equal(await served(), 0, 'the built-in model is production');
    assert.equal(list.body.serving.provider, 'cpu');
    assert.equal(await scoredBy(), 0);
  });

  it('promote to production: the serving side reloads it without a restart', async () => {
    const r = await call('POST', `/api/v1/models/agile/${versions[0]!.version}/promote`, 'admin', { to: 'production' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.to, 'production');
    await until(async () => (await served()) === 1, 'version 1 serving as production', 30_000);
    assert.equal(await scoredBy(), 1);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /aiops_central_model_serving\{[^}]*tier="agile"[^}]*stage="production"[^}]*version="1"\} 1/);
    assert.match(metrics, /aiops_central_onnx_execution_provider\{[^}]*provider="cpu"[^}]*\} 1/);
  });

  it('canary, then production: the replaced version is retired; rollback brings it back', async () => {
    assert.equal((await call('POST', '/api/v1/models/agile/2/promote', 'admin', { to: 'canary' })).status, 200);
    await until(async () => (await served('canary')) === 2, 'version 2 serving as canary');
    const p = await call('POST', '/api/v1/models/agile/2/promote', 'admin', { to: 'production' });
    assert.equal(p.status, 200);
    assert.equal(p.body.replaced, 1);
    await until(async () => (await served()) === 2, 'version 2 serving as production');
    assert.equal(await scoredBy(), 2);
    assert.equal((await call('GET', '/api/v1/models/agile/1', 'read')).body.stage, 'retired');

    const rb = await call('POST', '/api/v1/models/agile/rollback', 'admin');
    assert.equal(rb.status, 200, JSON.stringify(rb.body));
    assert.deepEqual([rb.body.version, rb.body.replaced], [1, 2]);
    await until(async () => (await served()) === 1, 'version 1 serving again after the rollback');
    assert.equal(await scoredBy(), 1);

    const history = (await call('GET', '/api/v1/models/agile/history', 'read')).body.history as Array<{ action: string; version: number; to: string; actor: string }>;
    assert.deepEqual(
      history.map((h) => `${h.action} ${h.version} ${h.to}`),
      ['register 1 shadow', 'register 2 shadow', 'promote 1 production', 'promote 2 canary', 'promote 2 production', 'rollback 1 production'],
    );
    assert.match(history[2]!.actor, /^key:/, 'who promoted is recorded');
    const audit = await central.stores.audit.list({ limit: 100 });
    assert.ok(audit.filter((a) => a.action === 'model.promote').length >= 3 && audit.some((a) => a.action === 'model.rollback'), 'promotions and the rollback are audited');
  });

  it('refuses what it cannot do, saying why', async () => {
    assert.equal((await call('POST', '/api/v1/models/agile/1/promote', 'read', { to: 'production' })).status, 403, 'a read key cannot promote');
    const badTier = await call('POST', '/api/v1/models/zzz/1/promote', 'admin', { to: 'production' });
    assert.equal(badTier.status, 400);
    assert.match(JSON.stringify(badTier.body), /agile, robust/);
    assert.equal((await call('POST', '/api/v1/models/agile/99/promote', 'admin', { to: 'production' })).status, 404);
    for (const bad of ['0', '-1', '1e3', 'abc', '9999999999', '%00']) assert.equal((await call('GET', `/api/v1/models/agile/${bad}`, 'read')).status, 400, `version ${bad}`);
    for (const bad of ['..', '1%2F..%2F..']) assert.ok([400, 404].includes((await call('GET', `/api/v1/models/agile/${bad}`, 'read')).status), `${bad} never reaches a file`);
    assert.equal((await call('POST', '/api/v1/models/agile/1/promote', 'admin', { to: 'shadow' })).status, 400);
    assert.equal((await call('POST', '/api/v1/models/agile/1/promote', 'admin', { to: 'production', extra: 1 })).status, 400);
    const back = await call('POST', '/api/v1/models/agile/1/promote', 'admin', { to: 'canary' });
    assert.equal(back.status, 409, 'production cannot go back to canary');
    assert.match(back.body.message, /forward only/);
    const none = await call('POST', '/api/v1/models/robust/rollback', 'admin');
    assert.equal(none.status, 409);
    assert.match(none.body.message, /no production model/);
    assert.equal(await served(), 1, 'nothing refused changed what serves');
  });

  it('multivariate: nothing serves until a bundle is promoted; promote, rollback and a broken version through the API', async () => {
    const mvServed = async () => ((await call('GET', '/api/v1/models', 'read')).body.serving.tiers.multivariate as Array<{ version: number; stage: string }>).find((m) => m.stage === 'production')?.version;
    assert.equal(await mvServed(), undefined, 'no built-in multivariate model');
    const meta = (bundle: unknown, spec: { inputs: ReadonlyArray<{ name: string; dims: ReadonlyArray<number | string> }>; outputs: ReadonlyArray<{ name: string; dims: ReadonlyArray<number | string> }> }) => ({ inputs: spec.inputs.map((i) => ({ ...i, dims: [...i.dims] })), outputs: spec.outputs.map((i) => ({ ...i, dims: [...i.dims] })), params: { ...(bundle as object) }, training: { dataDigest: 'sha256:test', series: 1, rows: 1, seed: 1, options: {}, sources: [] }, metrics: {} });
    const rows = Array.from({ length: 200 }, (_, i) => [i % 17, 2 * (i % 17) + (i % 3), (i * 7) % 11]);
    const bundles: MultivariateBundle[] = [1, 2].map((seed) => ({ services: [{ service: 'cart', params: fitMultivariate(['a', 'b', 'c'], rows, { seed, components: seed }).params }] }));
    const ids: number[] = [];
    for (const b of bundles) {
      const spec = multivariateGraph(b);
      ids.push((await central.models.register('multivariate', encodeOnnxModel(spec), meta(b, spec), 'test')).version);
    }
    for (const id of ids) assert.equal((await call('POST', `/api/v1/models/multivariate/${id}/promote`, 'admin', { to: 'production' })).status, 200);
    await until(async () => (await mvServed()) === ids[1], 'the second bundle serving');
    const m = central.modelServer!.model('multivariate')!;
    assert.equal(m.services?.get('cart'), 0);
    const out = await m.batcher.submit({ x: Float32Array.of(3, 6, 21), svc: Float32Array.of(0) });
    assert.ok(out['score']! > 0 && out['score']! < 1);
    assert.equal((await call('POST', '/api/v1/models/multivariate/rollback', 'admin')).status, 200);
    await until(async () => (await mvServed()) === ids[0], 'rolled back to the first bundle');
    // A version whose parameters are not a bundle: the reload fails, the served bundle stays.
    const spec = multivariateGraph(bundles[0]!);
    const bad = await central.models.register('multivariate', encodeOnnxModel(spec), meta({ services: [{ service: 'cart', params: { ...bundles[0]!.services[0]!.params, k: 0 } }] }, spec), 'test');
    assert.equal((await call('POST', `/api/v1/models/multivariate/${bad.version}/promote`, 'admin', { to: 'production' })).status, 200);
    await until(async () => /aiops_central_model_reload_failures_total(\{[^}]*\})? [1-9]/.test(await (await fetch(`${api}/metrics`)).text()), 'the broken version refused by the serving side');
    assert.equal(central.modelServer!.model('multivariate')?.version, ids[0], 'the last good bundle keeps serving');
    // The broken tier does not hold the others back: an agile promotion still takes effect.
    assert.equal(await served(), 1);
    const params: AgileParams = { ...AGILE_DEFAULTS, ar: [0.7, 0, 0, 0, 0, 0], k: 5 };
    const aspec = agileGraph(params);
    const v3 = await central.models.register('agile', encodeOnnxModel(aspec), meta(params, aspec), 'test');
    assert.equal((await call('POST', `/api/v1/models/agile/${v3.version}/promote`, 'admin', { to: 'production' })).status, 200);
    await until(async () => (await served()) === v3.version, 'a new agile version serving while the multivariate tier fails');
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /aiops_central_model_serving\{[^}]*tier="agile"[^}]*stage="production"[^}]*version="1"\} 0/, 'the replaced version is no longer reported as serving');
  });
});
