// Every failure of the alert-storm simulator is an AlertStormError. All are permanent (bad
// options, bad rules, inconsistent input): retrying with the same input cannot help.

export type AlertStormErrorCode =
  /** The `alerts:` options object is invalid. */
  | 'BAD_OPTIONS'
  /** The rule file is not valid YAML or not a valid rule file (shape, names, durations). */
  | 'BAD_RULES'
  /** A rule's `expr` does not parse. */
  | 'BAD_EXPR'
  /** A label or annotation template does not parse. */
  | 'BAD_TEMPLATE'
  /** An input exceeds a limit (expression length, nesting depth, rule count, file size). */
  | 'TOO_LARGE'
  /** The metrics, ground truth and topology disagree (e.g. a series of an unknown node). */
  | 'BAD_INPUT';

/** A place inside an expression or template: 0-based offset, 1-based line and column. */
export interface SourcePosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export class AlertStormError extends Error {
  override readonly name = 'AlertStormError';
  readonly code: AlertStormErrorCode;
  /** Where: an options path (`alerts.noise.level`) or a rule path (`groups[0].rules[2].expr`). */
  readonly path: string | undefined;
  /** Position inside the expression or template named by `path`, when known. */
  readonly position: SourcePosition | undefined;
  readonly retryable = false;

  constructor(code: AlertStormErrorCode, message: string, details: { path?: string; position?: SourcePosition; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.path = details.path;
    this.position = details.position;
  }
}

export function isAlertStormError(err: unknown): err is AlertStormError {
  return err instanceof AlertStormError;
}

/** Line and column (1-based) of `offset` in `text`. */
export function positionOf(text: string, offset: number): SourcePosition {
  let line = 1;
  let col = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return { offset, line, column: col };
}

/** The offending line of `text` with a caret under `offset` (long lines cut around it). */
export function caretSnippet(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let lineEnd = text.indexOf('\n', offset);
  if (lineEnd < 0) lineEnd = text.length;
  const col = offset - lineStart;
  const from = Math.max(lineStart, lineStart + col - 60);
  const to = Math.min(lineEnd, from + 120);
  const prefix = from > lineStart ? '...' : '';
  const suffix = to < lineEnd ? '...' : '';
  return `  ${prefix}${text.slice(from, to)}${suffix}\n  ${' '.repeat(prefix.length + offset - from)}^`;
}
