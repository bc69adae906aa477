// The error shape of CONVENTIONS 8 for process code (agent, central): a stable `code`, the
// `cause`, and whether a retry can help. Each component subclasses it with its own name.
export class CodedError<C extends string = string> extends Error {
  override name = 'CodedError';
  constructor(
    readonly code: C,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
