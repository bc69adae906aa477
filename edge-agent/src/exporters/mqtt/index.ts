// Public surface of the mqtt exporter.
export { mqttExporterFactory, MqttExporter, MqttTransport, mqttTopics } from './mqtt-exporter.js';
export type { ConfigListener, ConfigMessage, MqttExporterOptions, MqttTopics } from './mqtt-exporter.js';
export { mqttExporterConfigSchema } from './config.js';
export type { MqttExporterConfig } from './config.js';
