// Failures of fault injection. All are permanent (the fault list does not fit the topology or
// the run): retrying with the same input cannot help.

import { SimulatorError } from '../model/index.js';

export type FaultErrorCode =
  /** A fault's fields are missing or out of range, or two faults share an id. */
  | 'BAD_FAULT'
  /** The target names no node of the topology (or names several). */
  | 'UNKNOWN_TARGET'
  /** The target's kind cannot carry this fault type (e.g. disk_fill on a service). */
  | 'BAD_TARGET'
  /** The fault starts outside the simulated run. */
  | 'OUT_OF_RANGE';

export class FaultError extends SimulatorError<FaultErrorCode> {
  override readonly name = 'FaultError';
}
