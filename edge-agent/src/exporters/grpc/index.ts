// Public surface of the grpc exporter.
export { grpcExporterFactory, GrpcExporter, GrpcTransport } from './grpc-exporter.js';
export type { GrpcExporterOptions } from './grpc-exporter.js';
export { grpcExporterConfigSchema, grpcTlsConfigSchema } from './config.js';
export type { GrpcExporterConfig } from './config.js';
