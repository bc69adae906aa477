// Public surface of fault injection: every FaultType as effects on the metric engine, and its
// exact ground truth measured against a fault-free run of the same seed.
export { FAULT_CATALOG } from './catalog.js';
export type { FaultDefinition, PropagatedQuantity, ResolvedFault } from './catalog.js';
export { CONFIG_CHANGE_VARIANTS, faultInputSchema, injectOptionsSchema, validateFaults, validateInjectOptions } from './config.js';
export type { ConfigChangeVariant, FaultInput, InjectOptions, InjectOptionsInput, ValidFault } from './config.js';
export { FaultError } from './errors.js';
export type { FaultErrorCode } from './errors.js';
export { DIFF_TOLERANCE, changeFloor, diffSeries, measureGroundTruth, samplesDiffer } from './ground-truth.js';
export type { SeriesDiff } from './ground-truth.js';
export { injectFaults, resolveFaults } from './inject.js';
export type { FaultRun } from './inject.js';
