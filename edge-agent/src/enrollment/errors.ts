// Errors of agent enrollment (CONVENTIONS 8): a stable `code`, the `cause`, whether a retry can
// help. Messages are for the operator (they say what to run) and never hold the token or the
// secret.
import { AgentError } from '../errors.js';

export type EnrollmentErrorCode =
  /** No credentials file and no token to enroll with. */
  | 'NO_TOKEN'
  /** Central answered 401: the token is unknown, used or expired (it does not say which). */
  | 'TOKEN_REFUSED'
  /** Central answered 409: an active agent already has this id (the token was not used). */
  | 'AGENT_EXISTS'
  /** Any other refusal by central (400, 404, redirect...). */
  | 'REJECTED'
  /** Central's answer was not an enrollment answer. */
  | 'BAD_RESPONSE'
  /** Central's certificate did not verify (agent.enrollment.ca_file). */
  | 'TLS'
  /** The credentials file is readable by others, owned by another user, or a symbolic link. */
  | 'INSECURE_FILE'
  /** The credentials file cannot be read or is not a credentials file. */
  | 'BAD_FILE'
  /** The credentials could not be stored. */
  | 'WRITE_FAILED'
  /** The credentials are for another agent id or tenant than the config names. */
  | 'IDENTITY_MISMATCH'
  /** retry.max_elapsed_time passed without an answer from central (retryable later). */
  | 'GAVE_UP'
  /** Stopped (signal) before central answered. */
  | 'ABORTED';

export class EnrollmentError extends AgentError {
  override name = 'EnrollmentError';
  declare readonly code: EnrollmentErrorCode;
  constructor(code: EnrollmentErrorCode, message: string, retryable = false, options?: { cause?: unknown }) {
    super(code, message, retryable, options);
  }
}
