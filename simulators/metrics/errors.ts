// Failures of the metric generator. All are permanent (bad options or an effect that names
// something outside the model): retrying with the same input cannot help.

import { SimulatorError } from '../model/index.js';

export type MetricsErrorCode =
  /** An option is missing, out of range or inconsistent (e.g. duration not a multiple of step). */
  | 'BAD_OPTION'
  /** The run would hold more samples than the generator accepts in memory. */
  | 'TOO_LARGE'
  /** A perturbation names a node, channel or step range outside the model. */
  | 'BAD_EFFECT';

export class MetricsError extends SimulatorError<MetricsErrorCode> {
  override readonly name = 'MetricsError';
}
