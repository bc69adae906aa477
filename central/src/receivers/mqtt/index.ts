// Public surface of central's MQTT ingest (embedded aedes broker or external-broker subscriber).
export { MqttIngest, mqttIngestFactory } from './mqtt-ingest.js';
export type { MqttIngestFactory } from './mqtt-ingest.js';
export { MqttIngestError } from './ingest-core.js';
export type { MqttIngestDeps, MqttIngestErrorCode } from './ingest-core.js';
export type { AuthFailureReason } from './embedded-broker.js';
export { DEFAULT_MAX_PAYLOAD, MAX_PAYLOAD_LIMIT, mqttIngestConfigSchema } from './config.js';
export type { MqttIngestConfig, MqttIngestConfigInput } from './config.js';
export { AGENT_KINDS } from './topics.js';
export type { AgentKind } from './topics.js';
