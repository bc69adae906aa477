// Public surface of Tier-3 Robust (issue #7, Deliver 3): the ONNX graph of the robust
// seasonal-trend decomposition, its TypeScript reference and the training job's calibration.
export { checkRobustParams, R_CLIP, ROBUST_DEFAULTS, ROBUST_OUTPUTS, robustGraph, robustReference } from './model.js';
export type { RobustParams, RobustRow } from './model.js';
export { fitRobust } from './train.js';
export type { RobustTrainOptions, RobustTrainResult } from './train.js';
