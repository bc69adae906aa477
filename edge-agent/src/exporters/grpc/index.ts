// Public surface of the grpc exporter.
export { AGENT_ID_METADATA, AUTHORIZATION_METADATA, grpcExporterFactory, GrpcExporter, GrpcTransport } from './grpc-exporter.js';
export type { GrpcAgentCredentials, GrpcExporterOptions } from './grpc-exporter.js';
export { grpcExporterConfigSchema, grpcTlsConfigSchema } from './config.js';
export type { GrpcExporterConfig } from './config.js';
