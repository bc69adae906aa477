// What the REST route modules share: store errors as HTTP answers, time parameters, schemas.
import { z } from 'zod';
import { parseTimestamp } from '../../../shared-schemas/src/index.js';
import { ApiError, ErrorBodySchema } from '../gateway/index.js';
import type { Principal, ResponseSpec } from '../gateway/index.js';
import { StorageError } from '../storage/index.js';

/** A StorageError becomes the answer a client can act on; anything else stays a 500. */
export function storageToApi(err: unknown, field?: string): never {
  if (err instanceof StorageError) {
    const opts = field === undefined ? {} : { field };
    switch (err.code) {
      case 'INVALID_ARGUMENT':
      case 'INVALID_QUERY':
        throw new ApiError(400, 'invalid_request', err.message, { ...opts, cause: err });
      case 'QUERY_LIMIT':
        throw new ApiError(422, 'query_too_large', `${err.message}: narrow the selector or the time range, or choose a coarser resolution`, { cause: err });
      case 'BATCH_TOO_LARGE':
        throw new ApiError(413, 'payload_too_large', err.message, { cause: err });
      case 'CONFLICT':
        throw new ApiError(409, 'conflict', err.message, { cause: err });
      case 'NOT_FOUND':
        throw new ApiError(404, 'not_found', err.message, { cause: err });
      case 'BUSY':
      case 'IO':
      case 'DISK_FULL':
        throw new ApiError(503, 'unavailable', `storage is temporarily unavailable (${err.code}); retry later`, { cause: err, retryAfterSeconds: 5 });
      default:
        break;
    }
  }
  throw err;
}

/** The tenant of the calling key (every non-public route has a principal). */
export function tenantOf(principal: Principal | undefined): string {
  if (principal === undefined) throw new ApiError(401, 'unauthorized', 'this route needs an API key');
  return principal.tenant;
}

/** RFC 3339, or integer milliseconds / seconds-with-fraction since the epoch (as Prometheus' API takes). */
export const timeParam = z.string().transform((v, ctx) => {
  if (/^\d{1,13}$/.test(v)) return Number(v) * (v.length <= 10 ? 1000 : 1);
  if (/^\d{1,10}\.\d{1,9}$/.test(v)) return Math.floor(Number(v) * 1000);
  try {
    return parseTimestamp(v, 'time');
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be RFC 3339 (2026-01-01T00:00:00Z) or epoch seconds/milliseconds' });
    return z.NEVER;
  }
});

/**
 * `label=name=value` query parameters (one or repeated) as a label record, split at the first
 * "="; `validName` narrows the names accepted (default: any non-empty one). A bad filter is a
 * 400 on query.label.
 */
export function labelFilters(param: string | string[] | undefined, validName?: RegExp): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const f of param === undefined ? [] : Array.isArray(param) ? param : [param]) {
    const i = f.indexOf('=');
    if (i < 1 || (validName !== undefined && !validName.test(f.slice(0, i)))) {
      throw new ApiError(400, 'invalid_request', `label filter ${JSON.stringify(f.slice(0, 64))} must be name=value`, { field: 'query.label' });
    }
    labels[f.slice(0, i)] = f.slice(i + 1);
  }
  return labels;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

export const LabelsSchema = z.record(z.string(), z.string());

const err = (description: string): ResponseSpec => ({ description, body: ErrorBodySchema });
export const ERR = {
  400: err('The request is invalid: the body names the field and the problem'),
  404: err('Not found'),
  409: err('Conflict with the stored state'),
  413: err('The body is larger than allowed'),
  422: err('The query would return more than the limits allow'),
  503: err('Storage temporarily unavailable; retry after Retry-After'),
};
