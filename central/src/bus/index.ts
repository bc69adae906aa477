// Public surface of central's Bus (ARCHITECTURE sections 4 and 6).
export { InProcessBus } from './in-process-bus.js';
export { KafkaBus } from './kafka-bus.js';
export type { KafkaBusConfig } from './kafka-bus.js';
export type { InProcessBusOptions } from './in-process-bus.js';
export { partitionFor } from './partitioner.js';
export { BusError, BusPermanentError, DLQ_HEADERS, DLQ_SUFFIX, TOPICS } from './types.js';
export type { Assignment, Bus, BusErrorCode, BusMessage, BusRecord, SubscribeOptions, Subscription, TopicSpec } from './types.js';
