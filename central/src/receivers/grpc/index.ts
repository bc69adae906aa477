// Public surface of central's gRPC agent ingest (aiops.v1.AgentIngest server).
import type { CentralSettings } from '../../component.js';
import { grpcIngestConfigSchema } from './config.js';
import type { GrpcIngestConfig } from './config.js';
import { GrpcIngest } from './grpc-ingest.js';
import type { GrpcIngestDeps } from './grpc-ingest.js';

export { GrpcIngest, GrpcIngestError } from './grpc-ingest.js';
export type { GrpcIngestDeps, GrpcIngestErrorCode } from './grpc-ingest.js';
export { DEFAULT_MAX_MESSAGE, grpcIngestConfigSchema, grpcIngestTlsSchema, isLoopbackHost, MAX_MESSAGE_LIMIT, parseListen } from './config.js';
export type { GrpcIngestConfig, GrpcIngestConfigInput } from './config.js';
export { AGENT_ID_HEADER, AUTH_FAILURE_REASONS, AUTHORIZATION_HEADER } from './auth.js';
export type { AuthenticatedAgent, AuthFailureReason } from './auth.js';

export interface GrpcIngestFactory {
  readonly kind: 'receiver';
  /** The config section / component type. */
  readonly type: 'grpc';
  readonly description: string;
  readonly configSchema: typeof grpcIngestConfigSchema;
  create(settings: CentralSettings, config: GrpcIngestConfig, deps: GrpcIngestDeps): GrpcIngest;
}

export const grpcIngestFactory: GrpcIngestFactory = {
  kind: 'receiver',
  type: 'grpc',
  description: 'Agent ingest over gRPC (aiops.v1.AgentIngest): feature frames per stream with acks and flow control, alert batches, heartbeats; agents authenticated by secret or client certificate.',
  configSchema: grpcIngestConfigSchema,
  create: (settings, config, deps) => new GrpcIngest(settings, config, deps),
};
