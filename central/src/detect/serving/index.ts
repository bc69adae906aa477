// Public surface of Tier-2/3 model serving (issue #7, Deliver 5): the server that follows the
// registry (hot reload), its batching, and its config.
export { Batcher, BatcherError } from './batcher.js';
export type { BatcherErrorCode, BatcherOptions } from './batcher.js';
export { artifactStoreFor, modelsConfigSchema } from './config.js';
export type { ModelsConfig } from './config.js';
export { ModelServer } from './server.js';
export type { LoadedModel, ServingStage, ServingStatus } from './server.js';
