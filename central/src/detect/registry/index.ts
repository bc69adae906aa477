// Public surface of the model registry (issue #7, Deliver 4): versions and stages of the Tier-2/3
// models over an artifact store (a filesystem folder by default, or an S3-compatible bucket).
export { ArtifactError, checkArtifactKey, FilesystemArtifactStore } from './artifacts.js';
export type { Artifact, ArtifactErrorCode, ArtifactStore } from './artifacts.js';
export { checkS3Options, S3ArtifactStore } from './s3.js';
export type { S3ArtifactStoreOptions } from './s3.js';
export { checkTier, MODEL_TIERS, ModelRegistry, RegistryError, STAGES } from './registry.js';
export type { HistoryEntry, ModelMetadata, ModelTier, ModelVersion, RegistryErrorCode, Stage } from './registry.js';
