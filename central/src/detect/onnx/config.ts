// Configuration of ONNX Runtime for central's model-based detectors (Tier-2 and Tier-3, issue
// #7): which execution providers to try, in order, and how many threads a session uses. A GPU
// provider that is not installed is skipped with its reason (decision 024); listing only GPU
// providers makes the start fail when none of them loads (a GPU node that silently runs on CPU
// would miss its latency budget unnoticed).
import { z } from 'zod';

export const EXECUTION_PROVIDERS = ['tensorrt', 'cuda', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export const onnxConfigSchema = z
  .object({
    /** Tried in order; the first that loads serves every session. */
    execution_providers: z
      .array(z.enum(EXECUTION_PROVIDERS))
      .min(1, 'name at least one provider (cpu is always installed)')
      .refine((l) => new Set(l).size === l.length, 'each provider at most once')
      .default(['cuda', 'cpu']),
    /** Threads of one operator (0 = ONNX Runtime's default: one per core). */
    intra_op_threads: z.number().int().min(0).max(1024).default(0),
  })
  .strict();

export type OnnxConfig = z.output<typeof onnxConfigSchema>;
export type OnnxConfigInput = z.input<typeof onnxConfigSchema>;
