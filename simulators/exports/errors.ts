// Failures of the exporters. Bad options and name clashes are permanent; an I/O failure (disk
// full, permission) may go away once the cause is fixed, which `retryable` says.

import { SimulatorError } from '../model/index.js';

export type ExportErrorCode =
  /** An export option is out of range. */
  | 'BAD_OPTION'
  /** Two series would be written to the same file or column. */
  | 'NAME_COLLISION'
  /** A metrics CSV read back is malformed. */
  | 'BAD_CSV'
  /** Writing a file failed. */
  | 'IO';

export class ExportError extends SimulatorError<ExportErrorCode> {
  override readonly name = 'ExportError';
  constructor(code: ExportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, retryable: code === 'IO' });
  }
}
