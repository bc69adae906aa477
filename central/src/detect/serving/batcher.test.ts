// The serving batcher: rows gathered into one ONNX run up to max_batch, a lone row waits no more
// than the latency budget, a full queue refuses at once, drain finishes what was queued.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricSum, SelfMetrics } from '../../../../shared-schemas/src/runtime/index.js';
import { encodeOnnxModel } from '../onnx/index.js';
import { cpuRuntime } from '../testing/onnx.js';
import { Batcher, BatcherError } from './index.js';

async function doubler(o: { maxBatch: number; maxQueue: number; latencyBudgetMs: number }) {
  const rt = await cpuRuntime();
  const session = await rt.session(
    encodeOnnxModel({
      name: 'double',
      inputs: [{ name: 'x', dims: ['batch', 2] }],
      outputs: [{ name: 'score', dims: ['batch'] }],
      initializers: [{ name: 'w', dims: [2], data: Float32Array.of(2, 0) }],
      nodes: [{ op: 'Mul', inputs: ['x', 'w'], outputs: ['m'] }, { op: 'ReduceSum', inputs: ['m'], outputs: ['score'], attributes: { axes: { ints: [1] }, keepdims: { int: 0 } } }],
      opset: 12,
    }),
  );
  const self = new SelfMetrics();
  const b = new Batcher({ session, inputs: [{ name: 'x', shape: [2] }], outputs: ['score'], ...o, metrics: self.forComponent('serving'), labels: { tier: 'test', version: '1' } });
  return { b, self, session };
}

describe('serving batcher', () => {
  it('gathers concurrent rows into batches of at most max_batch, each row getting its own output', async () => {
    const { b, self } = await doubler({ maxBatch: 16, maxQueue: 1000, latencyBudgetMs: 5 });
    const outs = await Promise.all(Array.from({ length: 40 }, (_, i) => b.submit({ x: [i, 99] })));
    assert.deepEqual(outs.map((o) => o['score']), Array.from({ length: 40 }, (_, i) => 2 * i));
    assert.equal(await metricSum(self, 'aiops_central_model_rows_total'), 40);
    const hist = await self.registry.getSingleMetric('aiops_central_model_batch_rows')!.get();
    const runs = hist.values.filter((v) => (v as { metricName?: string }).metricName === 'aiops_central_model_batch_rows_count').reduce((a, v) => a + v.value, 0);
    assert.ok(runs >= 3 && runs <= 5, `40 rows in ${runs} runs of at most 16`);
  });

  it('a lone row runs when its latency budget is spent', async () => {
    const { b } = await doubler({ maxBatch: 1024, maxQueue: 1000, latencyBudgetMs: 30 });
    assert.deepEqual(await b.submit({ x: [21, 0] }), { score: 42 });
  });

  it('flush runs what is queued without waiting out the budget, batch after batch', async () => {
    const { b } = await doubler({ maxBatch: 4, maxQueue: 100, latencyBudgetMs: 60_000 });
    const rows = Array.from({ length: 10 }, (_, i) => b.submit({ x: [i, 0] }));
    b.flush();
    assert.deepEqual((await Promise.all(rows)).map((o) => o['score']), Array.from({ length: 10 }, (_, i) => 2 * i), 'all three batches ran (a 60 s budget would time the test out)');
  });

  it('refuses beyond max_queue at once and counts it; refuses rows of the wrong shape', async () => {
    const { b, self } = await doubler({ maxBatch: 100, maxQueue: 6, latencyBudgetMs: 300 });
    const first = Array.from({ length: 6 }, (_, i) => b.submit({ x: [i, 0] }));
    await assert.rejects(b.submit({ x: [1, 1] }), (e: unknown) => e instanceof BatcherError && e.code === 'QUEUE_FULL' && e.retryable);
    assert.equal(await metricSum(self, 'aiops_central_model_rows_refused_total'), 1);
    await assert.rejects(b.submit({ x: [1] }), (e: unknown) => e instanceof BatcherError && e.code === 'BAD_ROW' && /input x: 1 values, the model takes 2/.test(e.message));
    await assert.rejects(b.submit({}), /input x: no values/);
    assert.equal((await Promise.all(first)).length, 6);
  });

  it('drain finishes the queued rows and then refuses new ones', async () => {
    const { b } = await doubler({ maxBatch: 4, maxQueue: 100, latencyBudgetMs: 10_000 });
    const queued = Array.from({ length: 10 }, (_, i) => b.submit({ x: [i, 0] }));
    await b.drain();
    assert.deepEqual((await Promise.all(queued)).map((o) => o['score']), Array.from({ length: 10 }, (_, i) => 2 * i));
    await assert.rejects(b.submit({ x: [1, 0] }), (e: unknown) => e instanceof BatcherError && e.code === 'CLOSED');
  });
});
