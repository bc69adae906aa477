// Public surface of central's ingest pipeline pieces shared by the receivers.
export { FrameIngest } from './frame-ingest.js';
export type { FrameIngestOptions, FrameSession, RefusalReason, SessionIdentity } from './frame-ingest.js';
export { FeatureSink } from './feature-sink.js';
export type { FeatureSinkOptions } from './feature-sink.js';
export { AlertStoreSink } from './alert-sink.js';
export type { AlertChange, AlertStoreSinkOptions } from './alert-sink.js';
export { Turns, TurnsClosedError } from './turns.js';
export type { TurnsOptions } from './turns.js';
export { TENANT_LABEL, TenantScope } from './tenant-scope.js';
export { FeatureBusSink } from './feature-bus-sink.js';
export type { FeatureBusSinkOptions } from './feature-bus-sink.js';
export { FeatureBusConsumer } from './feature-bus-consumer.js';
export type { FeatureBusConsumerOptions, PartitionedReader } from './feature-bus-consumer.js';
export { decodeFeatureRecord, featureRecordKey, featureRecords, FeatureRecordError } from './feature-records.js';
export type { FeatureRecord } from './feature-records.js';
export { primeFromStore } from './prime.js';
export type { PrimedReader, PrimeOptions } from './prime.js';
