// Public surface of Tier-2 Agile (issue #7, Deliver 2): the ONNX graph, its TypeScript
// reference and the training job's fit.
export { AGILE_DEFAULTS, AGILE_OUTPUTS, agileGraph, agileReference, agileWindow, checkAgileParams, checkNovelty, Z_CLIP } from './model.js';
export type { AgileParams, AgileRow } from './model.js';
export { fitAgile, seededRandom, solve } from './train.js';
export type { AgileTrainOptions, AgileTrainResult, TrainingSeries } from './train.js';
