// Errors of the agent: a class per kind, with a stable `code`, the `cause`, and whether a retry
// can help (CONVENTIONS 8).

import { CodedError } from '../../shared-schemas/src/runtime/index.js';

export class AgentError extends CodedError {
  override name = 'AgentError';
}

/** The configuration is invalid; `path` names the offending key (e.g. `receivers.prometheus/node.interval`). */
export class ConfigError extends AgentError {
  override name = 'ConfigError';
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('INVALID_CONFIG', message, false, options);
  }
}

/** Input from outside (a scrape body, an OTLP request, a log line) was refused. */
export class BadInputError extends AgentError {
  override name = 'BadInputError';
  constructor(
    code: string,
    message: string,
    /** HTTP status a receiver answers with (400 malformed, 413 too large, 415 wrong type). */
    readonly status = 400,
    options?: { cause?: unknown },
  ) {
    super(code, message, false, options);
  }
}

/** Outcome of a transport call: never thrown across a component boundary (CONVENTIONS 8). */
export type SendResult =
  | { kind: 'success' }
  | { kind: 'retryable'; error: Error; retryAfterMs?: number }
  | { kind: 'failure'; error: Error };
