// Failures of scenario loading and running. A bad file or a bad scenario is permanent; an I/O
// failure while writing may go away once the cause is fixed (`retryable`).

import { SimulatorError } from '../model/index.js';

export type ScenarioErrorCode =
  /** The file is not valid YAML. */
  | 'BAD_YAML'
  /** The scenario does not validate (fields, durations, faults, targets). */
  | 'BAD_SCENARIO'
  /** The scenario file cannot be read. */
  | 'NOT_FOUND'
  /** The output folder holds files that are not a previous simulator run. */
  | 'OUT_DIR_NOT_EMPTY'
  /** Writing the outputs failed. */
  | 'IO';

export class ScenarioError extends SimulatorError<ScenarioErrorCode> {
  override readonly name = 'ScenarioError';
  constructor(code: ScenarioErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, retryable: code === 'IO' });
  }
}
