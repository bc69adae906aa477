// Errors of the HTTP gateway (CONVENTIONS 8): a class per kind with a stable `code`, the
// `cause`, and whether a retry can help.

import { CodedError } from '../../../shared-schemas/src/runtime/index.js';

/** Base class of every error the gateway throws at its callers (registration, config, start). */
export class GatewayError extends CodedError {
  override name = 'GatewayError';
}

/** The gateway configuration is invalid; `path` names the offending key (e.g. `gateway.limits.bodyBytes`). */
export class GatewayConfigError extends GatewayError {
  override name = 'GatewayConfigError';
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('INVALID_CONFIG', message, false, options);
  }
}

/**
 * A route definition was refused at registration (bad path, duplicate, params schema not
 * matching the path, registration after start). A programming error: never retryable.
 */
export class RouteDefinitionError extends GatewayError {
  override name = 'RouteDefinitionError';
  constructor(
    code: 'INVALID_ROUTE' | 'DUPLICATE_ROUTE' | 'RESERVED_PATH' | 'ROUTES_SEALED',
    /** `METHOD /path` of the refused route. */
    readonly route: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, false, options);
  }
}

/**
 * Thrown by a route handler to answer with a deliberate client-visible error, e.g.
 * `throw new ApiError(404, 'not_found', 'incident i-42 does not exist')`. The status, code and
 * message reach the client as `{ error: code, message, requestId }`; anything else a handler
 * throws answers 500 with no detail (the detail is logged with the request id).
 */
export class ApiError extends GatewayError {
  override name = 'ApiError';
  constructor(
    /** HTTP status, 400..599. */
    readonly status: number,
    code: string,
    message: string,
    options?: {
      cause?: unknown;
      /** For 400s: the field at fault, e.g. `body.alerts[0].labels`. */
      field?: string;
      /** Seconds the client should wait (429, 503); sent as Retry-After. */
      retryAfterSeconds?: number;
      /** Extra response headers (e.g. Location). */
      headers?: Record<string, string>;
    },
  ) {
    super(code, message, status === 429 || status === 503, options);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`ApiError status must be an integer in 400..599 (got ${status})`);
    }
    this.field = options?.field;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.headers = options?.headers;
  }
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Record<string, string> | undefined;
}
