// Public surface of the training jobs (issue #7, Deliver 4).
export { loadTrainingSeries, train } from './train.js';
export type { TrainOptions, TrainSummary } from './train.js';
