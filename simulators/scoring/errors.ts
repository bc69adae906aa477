/**
 * Every failure of the NAB scorer is a `NabScoringError`. All of them are permanent (bad or
 * missing input on disk, bad configuration): retrying without changing the input cannot help,
 * so `retryable` is always false.
 */
export type NabErrorCode =
  /** A detector's result file for a corpus data file does not exist. */
  | 'MISSING_RESULT_FILE'
  /** The corpus data directory, a data file named in the labels, or the labels file is missing. */
  | 'MISSING_DATA_FILE'
  /** A data file has no entry in the labels (windows) file. */
  | 'MISSING_LABELS'
  /** A CSV file is malformed: bad header, wrong field count, non-numeric or out-of-range value. */
  | 'BAD_CSV'
  /** The labels (windows) file is malformed or its timestamps do not match the data. */
  | 'BAD_LABELS'
  /** The profiles file is malformed. */
  | 'BAD_PROFILES'
  /** A result file's rows (count or timestamps) disagree with the data file. */
  | 'ROW_MISMATCH'
  /** In-memory detector results are missing a file or hold a score outside [0, 1]. */
  | 'BAD_RESULTS'
  /** The scorer options are invalid. */
  | 'BAD_CONFIG';

export interface NabScoringErrorDetails {
  /** The file the problem was found in, when there is one. */
  readonly file?: string;
  /** 1-based line number in `file` (the header is line 1). */
  readonly line?: number;
  /** The CSV column or JSON path at fault. */
  readonly field?: string;
  readonly cause?: unknown;
}

export class NabScoringError extends Error {
  override readonly name = 'NabScoringError';
  readonly code: NabErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly field: string | undefined;
  /** Input errors do not go away on their own. */
  readonly retryable = false;

  constructor(code: NabErrorCode, message: string, details: NabScoringErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.field = details.field;
  }
}

export function isNabScoringError(err: unknown): err is NabScoringError {
  return err instanceof NabScoringError;
}
