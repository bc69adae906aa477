/**
 * Every failure of the evaluation scorers (detection, correlation, RCA, remediation) is an
 * `EvalScoringError`. They are all input errors: retrying with the same input cannot help, so
 * `retryable` is always false. `field` is the path of the bad value inside the input, written
 * the way the message writes it (`events[2].endMs`, `options.earlyToleranceMs`).
 */
export type EvalErrorCode =
  /** A value has the wrong type, is not finite, is empty, or breaks an ordering rule. */
  | 'BAD_INPUT'
  /** A scorer option is invalid. */
  | 'BAD_OPTIONS'
  /** Two items that must be unique share an id (two faults "f1", two cases "c3"). */
  | 'DUPLICATE_ID'
  /** An item refers to a fault id that the input does not define. */
  | 'UNKNOWN_FAULT'
  /** An input file (CLI) cannot be read or is not the JSON document expected. */
  | 'BAD_FILE';

export interface EvalScoringErrorDetails {
  /** Path of the bad value inside the input. */
  readonly field?: string;
  /** The input file, for errors raised while reading one. */
  readonly file?: string;
  readonly cause?: unknown;
}

export class EvalScoringError extends Error {
  override readonly name = 'EvalScoringError';
  readonly code: EvalErrorCode;
  readonly field: string | undefined;
  readonly file: string | undefined;
  /** Input errors do not go away on their own. */
  readonly retryable = false;

  constructor(code: EvalErrorCode, message: string, details: EvalScoringErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.field = details.field;
    this.file = details.file;
  }
}

export function isEvalScoringError(err: unknown): err is EvalScoringError {
  return err instanceof EvalScoringError;
}
