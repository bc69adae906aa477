// Public surface of the simulators' shared model: seeded randomness and the data types every
// simulator exchanges (series, faults, ground truth).
export { SimulatorError } from './errors.js';
export { Rng, hashSeed } from './rng.js';
export { FAULT_TYPES, HIDDEN_FAULT_LABEL, HOST_METRICS, METRIC_UNITS, SERVICE_METRICS } from './types.js';
export type {
  AffectedEntity,
  FaultSpec,
  FaultType,
  GroundTruth,
  GroundTruthFault,
  HostMetric,
  ServiceMetric,
  SimMetrics,
  SimSeries,
  TopologyDocument,
} from './types.js';
