// Public surface of ONNX Runtime for central's model-based detectors (Tier-2 and Tier-3, issue
// #7; decision 024): provider choice and reporting, sessions, and ONNX graphs written from
// TypeScript.
export { EXECUTION_PROVIDERS, onnxConfigSchema } from './config.js';
export type { ExecutionProvider, OnnxConfig, OnnxConfigInput } from './config.js';
export { DEFAULT_OPSET, encodeOnnxModel, OnnxGraphError } from './graph.js';
export type { AttributeValue, Dim, GraphNode, GraphSpec, OnnxGraphErrorCode } from './graph.js';
export { OnnxError, OnnxRuntime } from './runtime.js';
export type { OnnxErrorCode } from './runtime.js';
