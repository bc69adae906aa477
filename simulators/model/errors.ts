// The one error shape of the simulators: a stable `code` per folder, and `retryable` saying
// whether the same call can succeed later (only I/O failures can). Each folder subclasses it
// with its own name and code union.
export class SimulatorError<C extends string = string> extends Error {
  readonly retryable: boolean;
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options?.retryable ?? false;
  }
}
