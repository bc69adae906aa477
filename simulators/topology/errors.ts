// Every failure of the topology generator is a TopologyError. All are permanent (a bad spec or a
// bad document): retrying with the same input cannot help.

import { SimulatorError } from '../model/index.js';

export type TopologyErrorCode =
  /** The generator spec is invalid (unknown preset, sizes out of range, unknown keys). */
  | 'BAD_SPEC'
  /** The topology document failed shared-schemas validation. */
  | 'INVALID_DOCUMENT'
  /** The call graph (or the queue flow / dependency graph) has a cycle. */
  | 'CYCLE'
  /** A node named by a caller does not exist or is ambiguous. */
  | 'UNKNOWN_NODE';

export class TopologyError extends SimulatorError<TopologyErrorCode> {
  override readonly name = 'TopologyError';
}
