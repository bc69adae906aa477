// Credentials and scopes.
//
// Scope lattice (docs/decisions/016): the scopes are independent grants and `admin` implies
// every other one. `write` does NOT imply `read`: an ingest key (an Alertmanager webhook, a
// Prometheus remote-write sender) sits in other systems' config files, and when it leaks it
// must not read incidents. `approve` does not imply `read` or `write` either: a human approver's
// key is given `read` and `approve`. A key holds any set of scopes.
//
// A credential is taken from `Authorization: Bearer <token>` or from `X-API-Key: <token>`,
// never from the query string (URLs end up in proxy logs and browser history).
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiKeyScope } from '../storage/types.js';

export type RouteScope = ApiKeyScope | 'public';

/** True when a key holding `held` may call a route requiring `required`. */
export function scopeAllows(held: readonly ApiKeyScope[], required: ApiKeyScope): boolean {
  return held.includes('admin') || held.includes(required);
}

/** Why a request was refused before its handler ran; the label of the auth-failure metric. */
export type AuthFailureReason =
  /** No credential at all. */
  | 'missing'
  /** A credential that cannot be a token (wrong scheme, bad characters, too long, two different ones). */
  | 'malformed'
  /** The store does not know the token, or its key is expired or revoked (the store does not say which). */
  | 'invalid'
  /** A valid key without the route's scope (403). */
  | 'insufficient_scope'
  /** The key store failed (503, retryable). */
  | 'store_error';

export type ExtractedCredential =
  | { kind: 'none' }
  | { kind: 'malformed'; why: string }
  | { kind: 'token'; token: string; via: 'bearer' | 'x-api-key' };

// RFC 6750 b64token: what a bearer token may contain.
const TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER_RE = /^Bearer[ ]+([^ ]+)[ ]*$/i;

/**
 * Reads the credential of a request. Never returns (or puts in `why`) the header's content:
 * `why` is shown to the client and may be logged.
 */
export function extractCredential(headers: IncomingHttpHeaders, maxTokenLength: number): ExtractedCredential {
  const auth = headers.authorization;
  const xKey = headers['x-api-key'];
  let fromAuth: string | undefined;
  let fromKey: string | undefined;
  if (auth !== undefined && auth !== '') {
    if (auth.length > maxTokenLength + 16) return { kind: 'malformed', why: 'the Authorization header is too long' };
    const m = BEARER_RE.exec(auth);
    if (!m) return { kind: 'malformed', why: 'the Authorization header must be "Bearer <token>"' };
    fromAuth = m[1]!;
  }
  if (xKey !== undefined && xKey !== '') {
    // node joins repeated X-API-Key headers with ", ": two keys are refused by TOKEN_RE below.
    const v = Array.isArray(xKey) ? xKey.join(', ') : xKey;
    if (v.length > maxTokenLength) return { kind: 'malformed', why: 'the X-API-Key header is too long' };
    fromKey = v.trim();
  }
  if (fromAuth === undefined && fromKey === undefined) return { kind: 'none' };
  if (fromAuth !== undefined && fromKey !== undefined && fromAuth !== fromKey) {
    return { kind: 'malformed', why: 'Authorization and X-API-Key carry different credentials' };
  }
  const token = (fromAuth ?? fromKey)!;
  if (token.length > maxTokenLength) return { kind: 'malformed', why: 'the token is too long' };
  if (!TOKEN_RE.test(token)) return { kind: 'malformed', why: 'the token contains characters a token cannot hold' };
  return { kind: 'token', token, via: fromAuth !== undefined ? 'bearer' : 'x-api-key' };
}

/** RFC 6750 section 3 challenge for a 401 or 403. */
export function wwwAuthenticate(reason: AuthFailureReason, requiredScope?: ApiKeyScope): string {
  const realm = 'Bearer realm="aiops"';
  switch (reason) {
    case 'missing':
      return realm;
    case 'malformed':
      return `${realm}, error="invalid_request"`;
    case 'insufficient_scope':
      return `${realm}, error="insufficient_scope"${requiredScope ? `, scope="${requiredScope}"` : ''}`;
    default:
      return `${realm}, error="invalid_token"`;
  }
}
