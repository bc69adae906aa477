// Test helper: an ONNX Runtime on the CPU provider with silent settings, for the model tests.
import { SelfMetrics, silentLogger, systemClock } from '../../../../shared-schemas/src/runtime/index.js';
import { encodeOnnxModel, OnnxRuntime, onnxConfigSchema } from '../onnx/index.js';
import type { GraphSpec } from '../onnx/index.js';

let rt: Promise<OnnxRuntime> | undefined;

export function cpuRuntime(): Promise<OnnxRuntime> {
  const self = new SelfMetrics();
  rt ??= OnnxRuntime.open({ id: 'test/onnx', logger: silentLogger(), metrics: self.forComponent('test'), clock: systemClock, dataDir: '.' }, onnxConfigSchema.parse({ execution_providers: ['cpu'] }));
  return rt;
}

/** Runs a graph once on named float32 inputs; returns the outputs' data. */
export async function runGraph(spec: GraphSpec, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> {
  const session = await (await cpuRuntime()).session(encodeOnnxModel(spec));
  try {
    const t: Record<string, ReturnType<typeof OnnxRuntime.tensor>> = {};
    for (const [k, v] of Object.entries(feeds)) t[k] = OnnxRuntime.tensor(v.data, v.dims);
    const out = await OnnxRuntime.run(session, t);
    const res: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) res[k] = v.data as Float32Array;
    return res;
  } finally {
    await session.release();
  }
}
