// Public surface of central's HTTP gateway (docs/decisions/016-central-http-gateway.md).
export { createGateway, OPENAPI_PATH } from './gateway.js';
export type { Gateway, GatewaySettings, ReadinessReport } from './gateway.js';
export { GatewayConfigSchema, parseGatewayConfig } from './config.js';
export type { GatewayConfig, GatewayConfigInput } from './config.js';
export { ApiError, GatewayConfigError, GatewayError, RouteDefinitionError } from './errors.js';
export { scopeAllows } from './auth.js';
export type { AuthFailureReason, RouteScope } from './auth.js';
export { ErrorBodySchema } from './openapi.js';
export type { ErrorBody, OpenApiDocument, OpenApiOperation } from './openapi.js';
export { TokenBucketLimiter } from './rate-limit.js';
export type { RateLimit, TakeResult } from './rate-limit.js';
export type {
  GatewayClock,
  GatewayLogger,
  HandlerResult,
  HttpMethod,
  Principal,
  RawBody,
  ReadinessCheck,
  RequestContext,
  ResponseSpec,
  RouteDefinition,
  RouteInfo,
} from './types.js';
