// ONNX Runtime as central runs it (decision 024): graphs written from TypeScript load and compute
// what they say; the execution provider is chosen from the configured list, skipping GPU
// providers whose libraries are not installed (with the reason) and reported in /metrics; bad
// graphs, refused models and wrong inputs fail with typed errors naming the problem.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { SelfMetrics, metricSum, silentLogger, systemClock } from '../../../../shared-schemas/src/runtime/index.js';
import { encodeOnnxModel, OnnxError, OnnxGraphError, OnnxRuntime, onnxConfigSchema } from './index.js';
import type { GraphSpec } from './index.js';

function settings() {
  const selfMetrics = new SelfMetrics();
  return { id: 'detect/onnx', logger: silentLogger(), metrics: selfMetrics.forComponent('detect/onnx'), clock: systemClock, dataDir: '.', selfMetrics };
}

// Whether this machine has ONNX Runtime's CUDA provider libraries (a GPU image installs them).
const bin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
const hasCuda = existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));

/** y = relu(x W + b) over [batch, k] -> [batch, m]. */
function dense(k: number, m: number, seed: number): { spec: GraphSpec; W: Float32Array; b: Float32Array } {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  const W = Float32Array.from({ length: k * m }, rnd);
  const b = Float32Array.from({ length: m }, rnd);
  return {
    W,
    b,
    spec: {
      name: 'dense',
      inputs: [{ name: 'x', dims: ['batch', k] }],
      outputs: [{ name: 'y', dims: ['batch', m] }],
      initializers: [
        { name: 'W', dims: [k, m], data: W },
        { name: 'b', dims: [m], data: b },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'] },
        { op: 'Add', inputs: ['h', 'b'], outputs: ['z'] },
        { op: 'Relu', inputs: ['z'], outputs: ['y'] },
      ],
      metadata: { 'aiops.version': '1' },
    },
  };
}

describe('ONNX Runtime (central)', () => {
  it('a graph written from TypeScript computes what it says, batched', async () => {
    const rt = await OnnxRuntime.open(settings(), onnxConfigSchema.parse({ execution_providers: ['cpu'], intra_op_threads: 1 }));
    const { spec, W, b } = dense(8, 4, 7);
    const session = await rt.session(encodeOnnxModel(spec));
    assert.deepEqual(session.inputNames, ['x']);
    assert.deepEqual(session.outputNames, ['y']);
    const batch = 64;
    const x = Float32Array.from({ length: batch * 8 }, (_, i) => Math.sin(i));
    const out = await OnnxRuntime.run(session, { x: OnnxRuntime.tensor(x, [batch, 8]) });
    const y = out['y']!;
    assert.deepEqual(y.dims, [batch, 4]);
    const got = y.data as Float32Array;
    for (let r = 0; r < batch; r++) {
      for (let j = 0; j < 4; j++) {
        let acc = b[j]!;
        for (let i = 0; i < 8; i++) acc += x[r * 8 + i]! * W[i * 4 + j]!;
        assert.ok(Math.abs(got[r * 4 + j]! - Math.max(0, acc)) < 1e-5, `row ${r} col ${j}`);
      }
    }
    await session.release();
  });

  it('chooses the first provider that loads, says why the others did not, and reports it in /metrics', async () => {
    const s = settings();
    const rt = await OnnxRuntime.open(s, onnxConfigSchema.parse({}));
    if (hasCuda) {
      assert.equal(rt.provider, 'cuda');
    } else {
      assert.equal(rt.provider, 'cpu', 'CUDA is not installed here: the default list falls back to cpu');
      assert.equal(rt.skipped.length, 1);
      assert.equal(rt.skipped[0]!.provider, 'cuda');
      assert.match(rt.skipped[0]!.reason, /cuda/i);
    }
    assert.equal(await metricSum(s.selfMetrics, 'aiops_central_onnx_execution_provider', { provider: rt.provider }), 1);
    assert.match(OnnxRuntime.version, /^\d+\.\d+\.\d+/);
  });

  it('refuses to start on GPU providers alone when none is installed (no silent CPU fallback)', { skip: hasCuda ? 'CUDA is installed here' : undefined }, async () => {
    await assert.rejects(OnnxRuntime.open(settings(), onnxConfigSchema.parse({ execution_providers: ['tensorrt', 'cuda'] })), (e: unknown) => {
      return e instanceof OnnxError && e.code === 'NO_PROVIDER' && /tensorrt: .*; cuda: /.test(e.message) && /add cpu/.test(e.message);
    });
  });

  it('bad graphs, refused models and wrong inputs fail with typed errors naming the problem', async () => {
    const rt = await OnnxRuntime.open(settings(), onnxConfigSchema.parse({ execution_providers: ['cpu'] }));
    const { spec } = dense(4, 2, 1);
    assert.throws(() => encodeOnnxModel({ ...spec, nodes: [{ op: 'Relu', inputs: ['nope'], outputs: ['y'] }] }), (e: unknown) => e instanceof OnnxGraphError && /input "nope"/.test(e.message));
    assert.throws(() => encodeOnnxModel({ ...spec, outputs: [{ name: 'missing', dims: [1] }] }), /"missing" is produced by no node/);
    assert.throws(() => encodeOnnxModel({ ...spec, initializers: [{ name: 'W', dims: [4, 2], data: new Float32Array(3) }] }), /3 values for dims \[4, 2\]/);
    await assert.rejects(rt.session(new Uint8Array([1, 2, 3, 4, 5])), (e: unknown) => e instanceof OnnxError && e.code === 'INVALID_MODEL');
    const bytes = encodeOnnxModel(spec);
    await assert.rejects(rt.session(bytes.subarray(0, bytes.length >> 1)), (e: unknown) => e instanceof OnnxError && e.code === 'INVALID_MODEL');
    await assert.rejects(rt.session(encodeOnnxModel({ ...spec, nodes: [{ op: 'NoSuchOp', inputs: ['x'], outputs: ['y'] }] })), (e: unknown) => e instanceof OnnxError && /NoSuchOp/.test(e.message));
    const session = await rt.session(bytes);
    await assert.rejects(OnnxRuntime.run(session, { x: OnnxRuntime.tensor(new Float32Array(6), [2, 3]) }), (e: unknown) => e instanceof OnnxError && e.code === 'RUN_FAILED');
    await assert.rejects(OnnxRuntime.run(session, {}), (e: unknown) => e instanceof OnnxError && e.code === 'RUN_FAILED');
    await session.release();
  });

  it('validates its config whole, naming the path', () => {
    assert.equal(onnxConfigSchema.safeParse({ execution_providers: [] }).success, false);
    assert.equal(onnxConfigSchema.safeParse({ execution_providers: ['cpu', 'cpu'] }).success, false);
    assert.equal(onnxConfigSchema.safeParse({ execution_providers: ['rocm'] }).success, false);
    assert.equal(onnxConfigSchema.safeParse({ intra_op_threads: -1 }).success, false);
    assert.deepEqual(onnxConfigSchema.parse({}), { execution_providers: ['cuda', 'cpu'], intra_op_threads: 0 });
  });
});
