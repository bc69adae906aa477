// ONNX Runtime for central's model-based detectors (decision 024). One OnnxRuntime per process
// that runs Tier-2/3: `open` tries the configured execution providers in order (a GPU provider
// whose libraries are not installed throws instead of falling back, so each is tried on a probe
// model), keeps the first that loads, and reports it: a log line at start-up with the reasons
// of the ones skipped, and `aiops_central_onnx_execution_provider{provider} 1` in /metrics.
// Every session it creates then runs on that provider.
import { createRequire } from 'node:module';
import type { InferenceSession as Session, Tensor as OrtTensor } from 'onnxruntime-node';
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings } from '../../component.js';
import type { ExecutionProvider, OnnxConfig } from './config.js';
import { encodeOnnxModel } from './graph.js';

// onnxruntime-node is CommonJS with a native binding: loaded on first use, so processes that run
// no model (ingest, api) never map the library.
type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | undefined;
function ort(): Ort {
  if (ortModule === undefined) {
    const m = createRequire(import.meta.url)('onnxruntime-node') as Ort;
    // The native library logs a provider that fails to load as an error on stderr, bypassing
    // central's logger, before any session option applies; every failure also reaches the
    // caller as an exception, which is logged (and counted) here. Set before the first session.
    m.env.logLevel = 'fatal';
    ortModule = m;
  }
  return ortModule;
}

export type OnnxErrorCode = 'NO_PROVIDER' | 'INVALID_MODEL' | 'RUN_FAILED';
export class OnnxError extends CodedError<OnnxErrorCode> {
  override name = 'OnnxError';
}

/** ONNX Runtime's log severity (0 verbose .. 4 fatal): a provider that fails to load is logged as an error on stderr, so probes log fatal only. */
const PROBE_LOG_SEVERITY = 4;
const SESSION_LOG_SEVERITY = 3;

/** y = x + 1 over [n]: the smallest model that exercises a provider. */
let probe: Uint8Array | undefined;
function probeModel(): Uint8Array {
  probe ??= encodeOnnxModel({
    name: 'provider-probe',
    inputs: [{ name: 'x', dims: ['n'] }],
    outputs: [{ name: 'y', dims: ['n'] }],
    initializers: [{ name: 'one', dims: [1], data: new Float32Array([1]) }],
    nodes: [{ op: 'Add', inputs: ['x', 'one'], outputs: ['y'] }],
  });
  return probe;
}

export class OnnxRuntime {
  private constructor(
    /** The provider every session runs on. */
    readonly provider: ExecutionProvider,
    /** Providers tried before it, and why each did not load. */
    readonly skipped: ReadonlyArray<{ provider: ExecutionProvider; reason: string }>,
    private readonly cfg: OnnxConfig,
  ) {}

  /** ONNX Runtime's version (of the native library the binding loaded). */
  static get version(): string {
    return ort().env.versions.common ?? 'unknown';
  }

  static async open(settings: CentralSettings, cfg: OnnxConfig): Promise<OnnxRuntime> {
    const skipped: Array<{ provider: ExecutionProvider; reason: string }> = [];
    for (const provider of cfg.execution_providers) {
      try {
        const s = await ort().InferenceSession.create(probeModel(), { executionProviders: [provider], logSeverityLevel: PROBE_LOG_SEVERITY });
        await s.release();
        const rt = new OnnxRuntime(provider, skipped, cfg);
        settings.metrics.gauge('aiops_central_onnx_execution_provider', 'The ONNX Runtime execution provider this process runs its models on (1 for the chosen one).', ['provider']).set(1, { provider });
        settings.logger.info({ provider, skipped, onnxruntime: OnnxRuntime.version, threads: cfg.intra_op_threads || 'default' }, `ONNX Runtime: models run on ${provider}`);
        return rt;
      } catch (err) {
        skipped.push({ provider, reason: firstLine(err) });
      }
    }
    throw new OnnxError(
      'NO_PROVIDER',
      `no configured ONNX Runtime execution provider loads (${skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')}); add cpu to execution_providers, or install the GPU provider libraries (docs/decisions/024)`,
      false,
    );
  }

  /** A session for model bytes on the chosen provider; INVALID_MODEL when the runtime refuses them. */
  async session(model: Uint8Array): Promise<Session> {
    try {
      return await ort().InferenceSession.create(model, {
        executionProviders: [this.provider],
        logSeverityLevel: SESSION_LOG_SEVERITY,
        ...(this.cfg.intra_op_threads > 0 ? { intraOpNumThreads: this.cfg.intra_op_threads } : {}),
      });
    } catch (err) {
      throw new OnnxError('INVALID_MODEL', `ONNX Runtime refused the model: ${firstLine(err)}`, false, { cause: err });
    }
  }

  /** A float32 tensor. */
  static tensor(data: Float32Array, dims: readonly number[]): OrtTensor {
    return new (ort().Tensor)('float32', data, [...dims]);
  }

  /** Runs a session; RUN_FAILED names what the runtime said (wrong shape, missing input, ...). */
  static async run(session: Session, feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    try {
      return (await session.run(feeds)) as Record<string, OrtTensor>;
    } catch (err) {
      throw new OnnxError('RUN_FAILED', `ONNX Runtime run failed: ${firstLine(err)}`, false, { cause: err });
    }
  }
}

function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  const line = m.split('\n')[0] ?? m;
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
