// Self-metrics of the gateway on the injected prom-client registry (no global registry).
// Label values are bounded: `route` is a registered pattern or "(unmatched)", `method` one of
// the HTTP methods node parses (others fold into OTHER), `status` a status code.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { AuthFailureReason } from './auth.js';

export const UNMATCHED_ROUTE = '(unmatched)';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export function methodLabel(m: string | undefined): string {
  return m !== undefined && METHODS.has(m) ? m : 'OTHER';
}

export class GatewayMetrics {
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly duration: Histogram<'route' | 'method'>;
  readonly authFailures: Counter<'reason'>;
  readonly rateLimited: Counter<'limiter'>;
  readonly bodyTooLarge: Counter<'route'>;
  readonly overloaded: Counter;
  readonly clientErrors: Counter<'kind'>;
  readonly inFlight: Gauge;
  readonly bucketEvictions: Counter<'limiter'>;
  readonly auditFailures: Counter;

  constructor(registry: Registry) {
    const reuse = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    const registers = [registry];
    this.requests = reuse('aiops_gateway_requests_total', () => new Counter({ name: 'aiops_gateway_requests_total', help: 'HTTP requests answered, by route pattern, method and status.', labelNames: ['route', 'method', 'status'] as const, registers }));
    this.duration = reuse('aiops_gateway_request_duration_seconds', () => new Histogram({ name: 'aiops_gateway_request_duration_seconds', help: 'Time from request start to the end of the response.', labelNames: ['route', 'method'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }));
    this.authFailures = reuse('aiops_gateway_auth_failures_total', () => new Counter({ name: 'aiops_gateway_auth_failures_total', help: 'Requests refused by authentication (401) or authorization (403), by reason.', labelNames: ['reason'] as const, registers }));
    this.rateLimited = reuse('aiops_gateway_rate_limited_total', () => new Counter({ name: 'aiops_gateway_rate_limited_total', help: 'Requests answered 429, by limiter (key: per API key; auth_failures: per client address after refused credentials).', labelNames: ['limiter'] as const, registers }));
    this.bodyTooLarge = reuse('aiops_gateway_body_too_large_total', () => new Counter({ name: 'aiops_gateway_body_too_large_total', help: 'Requests answered 413 (declared or streamed body over the route limit).', labelNames: ['route'] as const, registers }));
    this.overloaded = reuse('aiops_gateway_overloaded_total', () => new Counter({ name: 'aiops_gateway_overloaded_total', help: 'Requests answered 503 because limits.maxInFlight requests were already being answered.', registers }));
    this.clientErrors = reuse('aiops_gateway_client_errors_total', () => new Counter({ name: 'aiops_gateway_client_errors_total', help: 'Connections refused before a request was formed (header overflow, parse error, timeout).', labelNames: ['kind'] as const, registers }));
    this.inFlight = reuse('aiops_gateway_in_flight_requests', () => new Gauge({ name: 'aiops_gateway_in_flight_requests', help: 'Requests being answered.', registers }));
    this.bucketEvictions = reuse('aiops_gateway_rate_limit_bucket_evictions_total', () => new Counter({ name: 'aiops_gateway_rate_limit_bucket_evictions_total', help: 'Token buckets dropped to stay within maxBuckets (a dropped bucket refills: raise maxBuckets if this grows).', labelNames: ['limiter'] as const, registers }));
    this.auditFailures = reuse('aiops_gateway_audit_failures_total', () => new Counter({ name: 'aiops_gateway_audit_failures_total', help: 'Audit entries the audit log refused (logged).', registers }));
  }

  authFailure(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }
}
